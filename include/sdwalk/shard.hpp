#pragma once
// A walk's frames split over N processes (machines, MPI ranks, Slurm array tasks, Kubernetes
// Indexed Job pods) that share one run folder: shard K of N renders the frames i with i % N == K,
// interleaved so that every shard gets the same share of each part of the walk.
#include <cstddef>
#include <string>

namespace sdwalk {

struct Shard {
  int index = 0;  // K, 0 .. count - 1
  int count = 1;  // N; 1: the whole walk
  bool has(size_t frame) const { return count <= 1 || int(frame % size_t(count)) == index; }
  bool whole() const { return count <= 1; }
  std::string str() const { return std::to_string(index) + "/" + std::to_string(count); }
};

// "K/N" (0 <= K < N); "auto" (Slurm: SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN of
// SLURM_ARRAY_TASK_COUNT; Kubernetes: JOB_COMPLETION_INDEX, with the count given as "auto/N");
// Error naming what is wrong otherwise.
Shard parse_shard(const std::string& text, const std::string& flag = "--shard");

}  // namespace sdwalk
