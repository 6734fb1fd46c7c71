#pragma once
// CPU kernels the SD networks are built from. Activations are float32 and channels-last:
// images are NHWC [N, H, W, C]; token sequences are [B, T, C]. Convolutions and linear layers go
// through oneDNN with weights reordered once at construction; the rest are our own kernels.
// Every function is thread-parallel over up to ops::threads() OpenMP threads (fewer for small ops:
// threads_for_flops / threads_for_bytes).
#include <memory>
#include <string>
#include <vector>

#include "sdwalk/lora_scales.hpp"
#include "sdwalk/precision.hpp"
#include "sdwalk/tensor.hpp"

namespace sdwalk::ops {

void set_threads(int n);  // n <= 0: all cores
int threads();             // the calling thread's ThreadScope, else set_threads', else OpenMP's default
// The thread count of every op run by the calling thread while the scope lives (n <= 0: all cores);
// scopes nest. Lets two engines in one process run with their own counts (sdwalk::Engine uses it).
class ThreadScope {
 public:
  explicit ThreadScope(int n);
  ~ThreadScope();
  ThreadScope(const ThreadScope&) = delete;
  ThreadScope& operator=(const ThreadScope&) = delete;

 private:
  int saved_, saved_omp_;
};

// How many of threads() one op should run on. Idle OpenMP workers sleep (use_passive_omp_wait) and
// take tens of microseconds to wake, so an op gets another thread only for each ~200 us of work it
// has: small models' ops stay on one thread (on the demo model, waking a second one for every op made
// walks 5x slower than one thread). Results do not depend on it: every op computes the same bits on
// any number of threads.
int threads_for_flops(double flops);  // compute-bound ops (convolution, matmul, attention)
int threads_for_bytes(double bytes);  // memory-bound ops, by the bytes they read and write

// The instruction-set path of our own kernels (attention so far; oneDNN picks its own). Chosen once
// from cpuid, or forced by SDWALK_ISA=avx512|avx2|generic; set_isa forces it in-process (tests and
// benchmarks run every path the CPU supports). Each path has its own register blocking.
enum class Isa { Generic, Avx2, Avx512 };
Isa isa();
void set_isa(Isa isa);  // throws when the CPU cannot run it
bool isa_supported(Isa isa);
std::vector<Isa> supported_isas();
std::string isa_name(Isa isa);
Isa parse_isa(const std::string& text, const std::string& what);

// Makes idle OpenMP workers sleep instead of spin. On a machine shared with other processes, a
// spinning worker holds the core the working thread needs, and every parallel region then waits a
// scheduler slice (measured: 12 ms per small matmul at 2 threads under load, 0.3 ms passive).
// libgomp reads OMP_WAIT_POLICY only at start-up, so unless the variable is already set (the user's
// choice wins) this re-executes the program once with OMP_WAIT_POLICY=passive. Call first in main().
void use_passive_omp_wait(char** argv);

struct LowRankBranch;

// 2-D convolution, PyTorch semantics (cross-correlation, zero padding, square kernel).
class Conv2d {
 public:
  Conv2d() = default;
  // weight: [Cout, Cin, k, k] in any float dtype (converted once into `precision`, kept as `storage`
  // says when that is f32); bias: [Cout] or undefined.
  Conv2d(const Tensor& weight, const Tensor& bias, int stride, int padding, Precision precision = Precision::F32,
         WeightStorage storage = WeightStorage::Auto);
  // x: [N, H, W, Cin] f32 or bf16 (converted to the layer's precision) -> [N, Ho, Wo, Cout] f32. `residual` (f32, the
  // output's shape) is added to the result; `extra_bias` ([Cout] f32) is added to every position. Both fused.
  Tensor forward(const Tensor& x, const Tensor* residual = nullptr, const Tensor* extra_bias = nullptr) const;
  // out += conv(x), written in place (out: f32, the output's shape; its storage must not be shared
  // with a tensor the caller still needs). Saves the copy forward() makes of a residual.
  void accumulate(const Tensor& x, Tensor& out, const Tensor* extra_bias = nullptr) const;
  int in_channels() const;
  int out_channels() const;
  Precision precision() const;
  bool weights_in_f16() const;  // kept as fp16, widened as the layer runs
  bool defined() const { return impl_ != nullptr; }
  int stride() const;
  int padding() const;
  // A run-time LoRA branch added to every result (see LowRankBranch).
  void set_low_rank(std::shared_ptr<const LowRankBranch> branch) { low_rank_ = std::move(branch); }
  const LowRankBranch* low_rank() const { return low_rank_.get(); }

 private:
  void run(const Tensor& x, const Tensor* residual, const Tensor* extra_bias, Tensor& y) const;
  struct Impl;
  std::shared_ptr<Impl> impl_;
  std::shared_ptr<const LowRankBranch> low_rank_;
};

// y = x W^T + b, PyTorch nn.Linear semantics.
class Linear {
 public:
  Linear() = default;
  // weight: [out, in] (a [out, in, 1, 1] 1x1-conv weight is accepted too); bias: [out] or undefined.
  Linear(const Tensor& weight, const Tensor& bias, Precision precision = Precision::F32,
         WeightStorage storage = WeightStorage::Auto);
  // x: [..., in] f32 or bf16 (converted to the layer's precision) -> [..., out] in `out_dtype` (F32 or BF16);
  // `residual` (f32, shape of the output) is added when given (fused).
  Tensor forward(const Tensor& x, const Tensor* residual = nullptr, DType out_dtype = DType::F32) const;
  int in_features() const;
  int out_features() const;
  Precision precision() const;
  bool weights_in_f16() const;
  bool defined() const { return impl_ != nullptr; }
  void set_low_rank(std::shared_ptr<const LowRankBranch> branch) { low_rank_ = std::move(branch); }
  const LowRankBranch* low_rank() const { return low_rank_.get(); }

 private:
  Tensor forward_plain(const Tensor& x, const Tensor* residual, DType out_dtype) const;
  struct Impl;
  std::shared_ptr<Impl> impl_;
  std::shared_ptr<const LowRankBranch> low_rank_;
};

// LoRA at run time (diffusers/PEFT's unmerged layers): y = base(x) + sum_a s_a * scaling_a * up_a(down_a(x)),
// s_a read from `scales` at every call (per sample of the batch), so a walk changes a LoRA's
// strength frame by frame without re-merging. For a convolution `down_conv` has the base's kernel,
// stride and padding and `up` is the 1x1 conv as a Linear over channels; for a linear layer
// `down_linear`. Adapters whose scale is 0 for the whole batch are skipped: the layer's result is
// then the plain layer's, bit for bit.
struct LowRankAdapter {
  Linear down_linear;
  Conv2d down_conv;
  Linear up;
  double scaling = 1;
  size_t adapter = 0;  // row of LoraScales
};
struct LowRankBranch {
  std::vector<LowRankAdapter> adapters;
  std::shared_ptr<const LoraScales> scales;
  // Whether some adapter has a non-zero scale for some of `batch` samples.
  bool active(int64_t batch) const;
  // y (f32, [N, ..., out]) += the branch of x ([N, ..., in], or NHWC for a conv).
  void add_to(const Tensor& x, Tensor& y) const;
};

// GroupNorm over the channels of x [N, ..., C] f32 (channels-last; every position between N and C is
// spatial), optionally followed by SiLU. gamma/beta: [C] f32. Statistics in f32/f64; the result is
// written as `out` (F32, or BF16 for a bf16 convolution to read).
Tensor group_norm(const Tensor& x, int groups, const Tensor& gamma, const Tensor& beta, float eps, bool silu = false,
                  DType out = DType::F32);
// group_norm(x, ..., F32) written over x itself (x f32, not shared with anything still needed).
void group_norm_inplace(Tensor& x, int groups, const Tensor& gamma, const Tensor& beta, float eps, bool silu = false);
// Sums of x and x^2 per (sample, group), for GroupNorm statistics gathered piece by piece (tiled decoding).
struct GroupMoments {
  std::vector<double> sum, sum_sq;  // [N * groups]
  double count = 0;                 // elements per (sample, group)
};
// Adds the moments of rows [y0, y1) x columns [x0, x1) of x (f32 [N, H, W, C]) to `acc`.
void group_moments(const Tensor& x, int groups, int64_t y0, int64_t y1, int64_t x0, int64_t x1, GroupMoments& acc);
// group_norm with the statistics of `moments` (the whole picture's) instead of x's own.
Tensor group_norm_with(const Tensor& x, const GroupMoments& moments, int groups, const Tensor& gamma,
                       const Tensor& beta, float eps, bool silu = false, DType out = DType::F32);
// LayerNorm over the last dimension of x f32. gamma/beta: [C] f32. Result as `out` (F32 or BF16).
Tensor layer_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, float eps, DType out = DType::F32);

// f32 -> bf16, round to nearest even (NaN stays NaN).
Tensor to_bf16(const Tensor& x);

Tensor silu(const Tensor& x);
Tensor gelu(const Tensor& x);        // exact (erf) GELU, torch's default
Tensor quick_gelu(const Tensor& x);  // x * sigmoid(1.702 x), CLIP's
// x [..., 2F] -> [..., F]: x[..., :F] * gelu(x[..., F:]) (diffusers' GEGLU after its projection).
Tensor geglu(const Tensor& x, DType out = DType::F32);  // out: F32 or BF16
Tensor add(const Tensor& a, const Tensor& b);  // same shapes
void add_inplace(Tensor& a, const Tensor& b);  // a += b, same shapes
// x [N, H, W, C] + v [N, C] broadcast over H, W (the resnet's time-embedding add).
void add_channel_bias_inplace(Tensor& x, const Tensor& v);

// Multi-head scaled dot-product attention, softmax(q k^T / sqrt(D)) v, without ever holding the
// full [Tq, Tk] score matrix (tiles + online softmax).
// q: [B, Tq, H*D], k and v: [B, Tk, H*D] -> [B, Tq, H*D]. `causal`: position i sees keys <= i.
// q, k, v f32 or bf16: all bf16 (and no mask) runs the bf16 kernel where the CPU has AVX512_BF16
// (bf16 products, f32 softmax and accumulation); otherwise f32. The result is written as `out`.
Tensor attention(const Tensor& q, const Tensor& k, const Tensor& v, int heads, bool causal = false,
                 DType out = DType::F32);

// [N, H, W, C] f32 -> [N, 2H, 2W, C] as `out` (F32, or BF16 for a bf16 convolution to read).
Tensor upsample_nearest2x(const Tensor& x, DType out = DType::F32);
// [..., Ca] ++ [..., Cb] -> [..., Ca + Cb] in f32 (torch.cat(dim=-1)): NHWC channels, or the width of
// token embeddings; the leading shapes must agree.
Tensor concat_channels(const Tensor& a, const Tensor& b);
Tensor nchw_to_nhwc(const Tensor& x);
Tensor nhwc_to_nchw(const Tensor& x);

// diffusers' get_timestep_embedding: [len(timesteps), dim] sinusoidal embedding.
Tensor timestep_embedding(const std::vector<float>& timesteps, int dim, bool flip_sin_to_cos, float downscale_freq_shift,
                          float scale = 1.0f, float max_period = 10000.0f);

// Work done by the calling thread's Conv2d/Linear/attention calls since the last reset: FLOPs
// counted from the shapes (2 per multiply-add; attention: the q k^T and p v products) and the wall
// time spent inside those calls. For benchmarks.
struct OpCounters {
  double conv_flops = 0, linear_flops = 0, attention_flops = 0;
  double conv_s = 0, linear_s = 0, attention_s = 0;
  double flops() const { return conv_flops + linear_flops + attention_flops; }
  double seconds() const { return conv_s + linear_s + attention_s; }
};
OpCounters op_counters();
void reset_op_counters();

}  // namespace sdwalk::ops
