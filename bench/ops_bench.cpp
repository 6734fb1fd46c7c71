// The CPU kernels at the shapes of SD 1.5's UNet at 512x512 (batch 2: both CFG halves), each reporting
// GFLOP/s, so a change to one kernel can be judged alone. Threads: SDWALK_THREADS (default: all).
#include <benchmark/benchmark.h>

#include <cstdlib>

#include "backend/cpu/ops.hpp"
#include "models/random_weights.hpp"

namespace {

using namespace sdwalk;

Tensor random_tensor(const Shape& shape, uint64_t seed, float stddev = 1.0f) {
  return random_weights("bench", {{"t", shape}}, {seed, DType::F32, stddev}).get("t");
}

void set_threads() {
  const char* env = std::getenv("SDWALK_THREADS");
  ops::set_threads(env ? std::atoi(env) : 0);
}

// SDWALK_PRECISION: f32, bf16 or auto (the default).
Precision precision() {
  const char* env = std::getenv("SDWALK_PRECISION");
  return parse_precision(env ? env : "auto", "SDWALK_PRECISION");
}

// Inputs in the dtype the layers read, so only the kernel is timed.
DType input_dtype() { return precision() == Precision::BF16 ? DType::BF16 : DType::F32; }

template <class F> void run(benchmark::State& state, F&& f) {
  set_threads();
  f();  // primitive creation
  ops::reset_op_counters();
  for (auto _ : state) f();
  const auto c = ops::op_counters();
  state.counters["GFLOP/s"] = benchmark::Counter(c.flops() * 1e-9, benchmark::Counter::kIsRate);
}

// Conv2d 3x3 (stride 1, pad 1): args hw, cin, cout.
void BM_Conv3x3(benchmark::State& state) {
  const int64_t hw = state.range(0), cin = state.range(1), cout = state.range(2);
  const ops::Conv2d conv(random_tensor({cout, cin, 3, 3}, 1, 0.02f), random_tensor({cout}, 2), 1, 1, precision());
  const Tensor x = random_tensor({2, hw, hw, cin}, 3).to(input_dtype());
  run(state, [&] { benchmark::DoNotOptimize(conv.forward(x)); });
}
BENCHMARK(BM_Conv3x3)->Args({64, 320, 320})->Args({32, 640, 640})->Args({16, 1280, 1280})->Args({64, 640, 320})
    ->UseRealTime()->Unit(benchmark::kMillisecond);

// Linear: args rows, in, out (rows = 2 x tokens).
void BM_Linear(benchmark::State& state) {
  const int64_t m = state.range(0), in = state.range(1), out = state.range(2);
  const ops::Linear lin(random_tensor({out, in}, 1, 0.02f), random_tensor({out}, 2), precision());
  const Tensor x = random_tensor({m, in}, 3).to(input_dtype());
  run(state, [&] { benchmark::DoNotOptimize(lin.forward(x)); });
}
// The same product as a 1x1 convolution over [1, rows, 1, in].
void BM_LinearAsConv1x1(benchmark::State& state) {
  const int64_t m = state.range(0), in = state.range(1), out = state.range(2);
  const ops::Conv2d conv(random_tensor({out, in, 1, 1}, 1, 0.02f), random_tensor({out}, 2), 1, 0, precision());
  const Tensor x = random_tensor({1, m, 1, in}, 3).to(input_dtype());
  run(state, [&] { benchmark::DoNotOptimize(conv.forward(x)); });
}
BENCHMARK(BM_LinearAsConv1x1)->Args({8192, 320, 320})->Args({8192, 320, 2560})->Args({8192, 1280, 320})
    ->Args({2048, 640, 640})->Args({512, 1280, 1280})->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Linear)->Args({8192, 320, 320})->Args({8192, 320, 2560})->Args({8192, 1280, 320})
    ->Args({2048, 640, 640})->Args({2048, 640, 5120})->Args({512, 1280, 1280})->Args({154, 768, 320})
    ->UseRealTime()->Unit(benchmark::kMillisecond);

// Attention: args tokens, key tokens, heads, head dim (batch 2).
void BM_Attention(benchmark::State& state) {
  const int64_t tq = state.range(0), tk = state.range(1), heads = state.range(2), d = state.range(3);
  const Tensor q = random_tensor({2, tq, heads * d}, 1).to(input_dtype()),
               k = random_tensor({2, tk, heads * d}, 2).to(input_dtype()),
               v = random_tensor({2, tk, heads * d}, 3).to(input_dtype());
  run(state, [&] { benchmark::DoNotOptimize(ops::attention(q, k, v, int(heads))); });
}
BENCHMARK(BM_Attention)->Args({4096, 4096, 8, 40})->Args({1024, 1024, 8, 80})->Args({256, 256, 8, 160})
    ->Args({4096, 77, 8, 40})->Args({4096, 4096, 1, 512})->Args({4096, 4096, 5, 64})  // SD 1.5, then SD 2.x / SDXL heads
    ->UseRealTime()->Unit(benchmark::kMillisecond);

// The memory-bound passes around them: GroupNorm(+SiLU) and LayerNorm at the first level.
void BM_GroupNormSilu(benchmark::State& state) {
  const Tensor x = random_tensor({2, 64, 64, 320}, 1);
  const Tensor g = random_tensor({320}, 2), b = random_tensor({320}, 3);
  set_threads();
  for (auto _ : state) benchmark::DoNotOptimize(ops::group_norm(x, 32, g, b, 1e-5f, true));
  state.SetBytesProcessed(state.iterations() * x.nbytes() * 2);
}
BENCHMARK(BM_GroupNormSilu)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_LayerNorm(benchmark::State& state) {
  const Tensor x = random_tensor({2, 4096, 320}, 1);
  const Tensor g = random_tensor({320}, 2), b = random_tensor({320}, 3);
  set_threads();
  for (auto _ : state) benchmark::DoNotOptimize(ops::layer_norm(x, g, b, 1e-5f));
  state.SetBytesProcessed(state.iterations() * x.nbytes() * 2);
}
BENCHMARK(BM_LayerNorm)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
