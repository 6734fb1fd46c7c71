#pragma once
// sdwalk bench --walk: a short real walk (plan, render, animation) on a full-sized SD 1.5 model,
// timed per network, with the same run's oneDNN convolution throughput beside it.
#include <string>

namespace sdwalk::cli {

struct WalkBenchOptions {
  std::string model, tokenizer, config;  // no model: random SD 1.5 weights written to a temporary folder
  int height = 512, width = 512;
  int threads = 0;
  std::string precision = "auto", weights = "auto";
  int frames = 4, steps = 4;
  bool keep = false;  // keep the temporary folder (model, run folder, animation)
};

void run_walk_bench(const WalkBenchOptions& options);

}  // namespace sdwalk::cli
