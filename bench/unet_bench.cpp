// One SD 1.5-sized UNet forward (random weights made in memory, batch 2 = both CFG halves) at 32x32
// and 64x64 latents, with achieved GFLOP/s and, in the same run, oneDNN's GFLOP/s on a large 3x3
// convolution. Environment: SDWALK_THREADS (default: all cores), SDWALK_PRECISION (f32 | bf16).
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <cstdlib>
#include <memory>

#include "backend/cpu/ops.hpp"
#include "sdwalk/precision.hpp"
#include "models/random_weights.hpp"
#include "sdwalk/torch_generator.hpp"
#include "sdwalk/unet_2d_condition_model.hpp"

namespace {

using namespace sdwalk;

// SDWALK_PRECISION: f32 (default) or bf16, of the UNet's and the reference convolution's arithmetic.
Precision precision() {
  const char* env = std::getenv("SDWALK_PRECISION");
  return parse_precision(env && *env ? env : "f32", "SDWALK_PRECISION");
}

void set_threads() {
  const char* env = std::getenv("SDWALK_THREADS");
  ops::set_threads(env ? std::atoi(env) : 0);
}

const UNet2DConditionModel& unet() {
  static const std::unique_ptr<UNet2DConditionModel> model = [] {
    set_threads();
    RandomWeightOptions r;
    r.text_encoder = r.vae = false;
    const ModelFiles files = random_sd15_model(r);
    return std::make_unique<UNet2DConditionModel>(files.unet_config, files.unet, precision());
  }();
  return *model;
}

double peak_rss_mb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_maxrss) / 1024.0;
}

template <class F> void run(benchmark::State& state, F&& f) {
  set_threads();
  f();  // primitive creation and first-touch of the activations
  ops::reset_op_counters();
  for (auto _ : state) f();
  const auto c = ops::op_counters();
  state.counters["GFLOP/s"] = benchmark::Counter(c.flops() * 1e-9, benchmark::Counter::kIsRate);
  state.counters["GFLOP"] = c.flops() * 1e-9 / double(state.iterations());
  state.counters["peak_RSS_MB"] = peak_rss_mb();
}

// arg: latent height = width.
void BM_UNetForward(benchmark::State& state) {
  const auto& model = unet();
  const int64_t s = state.range(0);
  TorchGenerator gen(0);
  const Tensor sample = gen.randn({2, 4, s, s});
  const Tensor context = gen.randn({2, 77, model.cross_attention_dim()});
  run(state, [&] { benchmark::DoNotOptimize(model.forward(sample, 981.0, context)); });
}
BENCHMARK(BM_UNetForward)->Arg(32)->Arg(64)->Iterations(1)->Repetitions(2)->UseRealTime()->Unit(benchmark::kSecond);

// The practical limit on this machine: oneDNN on the UNet's first-level 3x3 convolution.
void BM_OneDnnConv3x3(benchmark::State& state) {
  const Weights w = random_weights("conv", {{"w", {320, 320, 3, 3}}, {"b", {320}}});
  const ops::Conv2d conv(w.get("w"), w.get("b"), 1, 1, precision());
  const Tensor x = random_weights("x", {{"x", {2, 64, 64, 320}}}, {1, DType::F32, 1.0f}).get("x");
  run(state, [&] { benchmark::DoNotOptimize(conv.forward(x)); });
}
BENCHMARK(BM_OneDnnConv3x3)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
