#pragma once
// `sdwalk walk --mpi`: each MPI rank is one shard of the walk (rank r of n renders frames i % n == r
// into the shared run folder); only status travels over MPI, the frames go through the folder.
#include <memory>

#include "sdwalk/shard.hpp"

namespace sdwalk::cli {

class MpiSession {
 public:
  MpiSession();  // MPI_Init; Error when this sdwalk was built without MPI
  ~MpiSession();  // MPI_Finalize
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;

  Shard shard() const { return {rank_, size_}; }
  bool root() const { return rank_ == 0; }
  // Every rank says whether its part succeeded; all learn whether every rank's did (a collective:
  // each rank must call it once, also after a failure, or the others wait forever).
  bool all_succeeded(bool mine) const;

 private:
  int rank_ = 0, size_ = 1;
};

}  // namespace sdwalk::cli
