#pragma once
// What sdwalk bench's two modes share: clocks, peak memory, and oneDNN's own convolution throughput
// measured in the same run (the machine's practical limit, the denominator of every ratio reported).
#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>

#include "backend/cpu/ops.hpp"
#include "sdwalk/precision.hpp"

namespace sdwalk::cli {

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

double peak_rss_mb();  // of this process so far

// The best of `repeat` timed runs after `warmup` untimed ones, with the ops' counters of that run.
struct Timing {
  double seconds = 0;
  ops::OpCounters ops;
};

template <class F> Timing time_best(int warmup, int repeat, F run) {
  for (int i = 0; i < warmup; ++i) run();
  Timing best{1e300, {}};
  for (int i = 0; i < std::max(1, repeat); ++i) {
    ops::reset_op_counters();
    const auto t0 = Clock::now();
    run();
    const double s = seconds_since(t0);
    if (s < best.seconds) best = {s, ops::op_counters()};
  }
  return best;
}

// oneDNN's throughput on SD-sized 3x3 convolutions (batch 2, the UNet's first two levels at 512x512,
// f32 weights or bf16 as `precision` says): the best GFLOP/s of a few runs of each, through the same
// ops::Conv2d path the models use. Each shape's figure is appended to `detail`.
double onednn_conv_gflops(Precision precision, nlohmann::json& detail);

}  // namespace sdwalk::cli
