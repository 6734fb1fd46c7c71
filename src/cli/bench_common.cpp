#include "cli/bench_common.hpp"

#include <sys/resource.h>

#include "models/random_weights.hpp"

namespace sdwalk::cli {

double peak_rss_mb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

double onednn_conv_gflops(Precision precision, nlohmann::json& detail) {
  struct Shape3x3 {
    int64_t hw, channels;
  };
  double best = 0;
  for (const Shape3x3 s : {Shape3x3{64, 320}, Shape3x3{32, 640}}) {
    const Weights r = random_weights("conv", {{"w", {s.channels, s.channels, 3, 3}}, {"b", {s.channels}}});
    const ops::Conv2d conv(r.get("w"), r.get("b"), 1, 1, precision, WeightStorage::F32);
    // The input in the dtype the convolution reads, so only oneDNN is timed.
    const DType dtype = precision == Precision::BF16 ? DType::BF16 : DType::F32;
    const Tensor x = random_weights("x", {{"x", {2, s.hw, s.hw, s.channels}}}, {1, dtype, 1.0f}).get("x");
    const Timing t = time_best(1, 3, [&] { conv.forward(x); });
    const double gflops = t.ops.conv_flops / t.seconds * 1e-9;
    detail.push_back({{"shape", {2, s.hw, s.hw, s.channels}}, {"out_channels", s.channels}, {"gflops", gflops}});
    best = std::max(best, gflops);
  }
  return best;
}

}  // namespace sdwalk::cli
