// ops::Conv2d through oneDNN: NHWC activations, weights reordered once into the primitive's
// preferred (blocked) layout and dtype, one primitive per input shape, cached. The residual add is a
// sum post-op over the residual copied into the output: a binary post-op would read it in place but
// makes oneDNN 2.6 pick its slower jit kernel over brgconv, with a second weights layout (a second
// copy of the weights); the copy costs far less. An extra per-channel bias (the resnet's time
// embedding) is folded into the bias. With fp16 weight storage (WeightStorage::F16) the weights
// are kept as fp16 in that layout and widened to f32 into a scratch buffer before each run.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <tuple>

#include "backend/cpu/dnnl_context.hpp"
#include "backend/cpu/half_weights.hpp"
#include "backend/cpu/op_counters.hpp"
#include "sdwalk/error.hpp"
#include "backend/cpu/ops.hpp"

namespace sdwalk::ops {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

namespace {
// dst = src (same size), spread over the threads.
void copy_parallel(Tensor& dst, const Tensor& src) {
  const auto* s = static_cast<const std::byte*>(src.raw());
  auto* d = static_cast<std::byte*>(dst.raw());
  const int64_t n = int64_t(src.nbytes()), chunk = int64_t(1) << 20;
#pragma omp parallel for num_threads(threads()) schedule(static) if (n > chunk)
  for (int64_t i = 0; i < n; i += chunk) std::memcpy(d + i, s + i, size_t(std::min(chunk, n - i)));
}
}  // namespace

struct Conv2d::Impl {
  int cout = 0, cin = 0, k = 0, stride = 1, padding = 0;
  Precision precision = Precision::F32;
  Tensor bias;  // [cout] f32 (zeros when the layer has none)
  // Weights in the layout the first primitive wanted (f32/bf16 `weights`, or fp16 `half_weights`
  // when stored as fp16); other layouts are derived on demand.
  detail::OwnedMemory weights;
  detail::HalfWeights half_weights;
  struct Entry {
    dnnl::convolution_forward prim;
    detail::OwnedMemory weights;  // in prim's layout when it differs from Impl::weights
    detail::HalfWeights half_weights;
    memory::desc src, dst;
  };
  using Key = std::tuple<int64_t, int64_t, int64_t, bool>;  // N, H, W, residual
  mutable std::mutex mutex;
  mutable std::map<Key, Entry> cache;

  dt compute_type() const { return detail::dnnl_type(precision); }

  dnnl::convolution_forward::primitive_desc make_pd(int64_t n, int64_t h, int64_t w, bool residual) const {
    const int64_t ho = (h + 2 * padding - k) / stride + 1, wo = (w + 2 * padding - k) / stride + 1;
    const memory::desc src({n, cin, h, w}, compute_type(), tag::nhwc);
    const memory::desc dst({n, cout, ho, wo}, dt::f32, tag::nhwc);
    const memory::desc wei({cout, cin, k, k}, compute_type(), tag::any);
    const memory::desc b({cout}, dt::f32, tag::x);
    dnnl::post_ops po;
    if (residual) po.append_sum(1.0f);
    dnnl::primitive_attr attr;
    attr.set_post_ops(po);
    const memory::dims strides{stride, stride}, pad{padding, padding};
    const dnnl::convolution_forward::desc desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
                                               src, wei, b, dst, strides, pad, pad);
    return dnnl::convolution_forward::primitive_desc(desc, attr, detail::cpu_engine());
  }

  const Entry& entry(int64_t n, int64_t h, int64_t w, bool residual) const {
    std::lock_guard<std::mutex> lock(mutex);
    const Key key{n, h, w, residual};
    auto it = cache.find(key);
    if (it != cache.end()) return it->second;
    auto pd = make_pd(n, h, w, residual);
    Entry e{dnnl::convolution_forward(pd), {}, {}, pd.src_desc(), pd.dst_desc()};
    const memory::desc stored = half_weights.defined() ? half_weights.desc : weights.memory.get_desc();
    if (pd.weights_desc() != stored) {
      if (std::getenv("SDWALK_DEBUG_WEIGHTS"))
        std::fprintf(stderr, "conv %dx%dx%dx%d: second weights copy for N=%lld H=%lld W=%lld residual=%d\n", cout, cin, k, k,
                     (long long)n, (long long)h, (long long)w, int(residual));
      e.weights = detail::owned_memory(pd.weights_desc());
      memory from = half_weights.defined() ? detail::widen(half_weights) : weights.memory;
      detail::sync_threads();
      dnnl::reorder(from, e.weights.memory).execute(detail::cpu_stream(), from, e.weights.memory);
      detail::cpu_stream().wait();
      if (half_weights.defined()) {
        e.half_weights = detail::to_half(e.weights.memory);
        e.weights = {};
      }
    }
    return cache.emplace(key, std::move(e)).first->second;
  }
};

Conv2d::Conv2d(const Tensor& weight, const Tensor& bias, int stride, int padding, Precision precision,
               WeightStorage storage)
    : impl_(std::make_shared<Impl>()) {
  check(weight.ndim() == 4 && weight.dim(2) == weight.dim(3),
        "Conv2d: weight has shape " + shape_string(weight.shape()) + ", expected [Cout, Cin, k, k]");
  check(stride >= 1 && padding >= 0, "Conv2d: invalid stride/padding");
  auto& p = *impl_;
  p.cout = int(weight.dim(0));
  p.cin = int(weight.dim(1));
  p.k = int(weight.dim(2));
  p.stride = stride;
  p.padding = padding;
  // Without native bf16 the layer runs in f32 (parse_precision refuses an explicit bf16 there).
  p.precision = cpu_has_bf16() ? precision : Precision::F32;
  if (bias.defined()) {
    check(bias.numel() == p.cout, "Conv2d: bias has shape " + shape_string(bias.shape()) + ", expected [" +
                                      std::to_string(p.cout) + "]");
    p.bias = bias.to_f32().reshape({p.cout});
  } else {
    p.bias = Tensor({p.cout});
  }
  // Reorder once into the layout oneDNN prefers for a typical SD activation size.
  const int64_t typical = std::max<int64_t>(32, p.k);
  const auto pd = p.make_pd(2, typical, typical, false);
  p.weights = detail::reorder_weights(weight, {p.cout, p.cin, p.k, p.k}, tag::oihw, pd.weights_desc());
  const bool half = p.precision == Precision::F32 &&
                    (storage == WeightStorage::F16 || (storage == WeightStorage::Auto && weight.dtype() == DType::F16));
  if (half) {
    p.half_weights = detail::to_half(p.weights.memory);
    p.weights = {};
  }
}

Tensor Conv2d::forward(const Tensor& x, const Tensor* residual, const Tensor* extra_bias) const {
  Tensor y;
  run(x, residual, extra_bias, y);
  if (low_rank_ && low_rank_->active(x.dim(0))) low_rank_->add_to(x, y);
  return y;
}

void Conv2d::accumulate(const Tensor& x, Tensor& out, const Tensor* extra_bias) const {
  check(out.defined(), "Conv2d: accumulate into an empty tensor");
  run(x, nullptr, extra_bias, out);
  if (low_rank_ && low_rank_->active(x.dim(0))) low_rank_->add_to(x, out);
}

// y = conv(x) (+ residual) when y is undefined; y += conv(x) in place when it is defined.
void Conv2d::run(const Tensor& x, const Tensor* residual, const Tensor* extra_bias, Tensor& y) const {
  check(impl_ != nullptr, "Conv2d: forward on an empty convolution");
  const auto& p = *impl_;
  check(x.ndim() == 4 && x.dim(3) == p.cin && (x.dtype() == DType::F32 || x.dtype() == DType::BF16),
        "Conv2d: input has shape " + shape_string(x.shape()) + " " + dtype_name(x.dtype()) + ", expected [N, H, W, " +
            std::to_string(p.cin) + "] f32 or bf16");
  const int64_t n = x.dim(0), h = x.dim(1), w = x.dim(2);
  const int64_t ho = (h + 2 * p.padding - p.k) / p.stride + 1, wo = (w + 2 * p.padding - p.k) / p.stride + 1;
  check(ho > 0 && wo > 0, "Conv2d: input " + shape_string(x.shape()) + " is smaller than the kernel");
  // The primitive is made and run under the same count (oneDNN fixes its split when it is made).
  const ThreadScope op_threads(
      threads_for_flops(2.0 * double(n * ho * wo) * double(p.cout) * double(p.cin) * double(p.k * p.k)));
  const Tensor src_t = detail::as_dtype(x, p.precision == Precision::BF16 ? DType::BF16 : DType::F32);
  const bool in_place = y.defined();
  if (in_place)
    check(y.shape() == Shape{n, ho, wo, p.cout} && y.dtype() == DType::F32,
          "Conv2d: accumulator has shape " + shape_string(y.shape()) + ", expected " +
              shape_string({n, ho, wo, p.cout}) + " f32");
  else
    y = Tensor::uninitialized({n, ho, wo, p.cout});
  if (residual) {
    check(residual->shape() == y.shape() && residual->dtype() == DType::F32,
          "Conv2d: residual has shape " + shape_string(residual->shape()) + ", expected " + shape_string(y.shape()));
    copy_parallel(y, *residual);
  }
  Tensor bias = p.bias;
  if (extra_bias) {
    check(extra_bias->numel() == p.cout && extra_bias->dtype() == DType::F32,
          "Conv2d: extra bias has shape " + shape_string(extra_bias->shape()) + ", expected [" + std::to_string(p.cout) +
              "] f32");
    bias = Tensor::uninitialized({p.cout});
    for (int c = 0; c < p.cout; ++c) bias.f32()[c] = p.bias.f32()[c] + extra_bias->f32()[c];
  }
  const auto& e = p.entry(n, h, w, residual != nullptr || in_place);
  auto& eng = detail::cpu_engine();
  detail::sync_threads();
  // Counted from here: widening fp16 weights is part of what the layer costs.
  detail::CountedCall count(&OpCounters::conv_flops, &OpCounters::conv_s,
                            2.0 * double(n * ho * wo) * double(p.cout) * double(p.cin) * double(p.k * p.k));
  const memory weights = p.half_weights.defined()
                             ? detail::widen(e.half_weights.defined() ? e.half_weights : p.half_weights)
                             : (e.weights.bytes ? e.weights.memory : p.weights.memory);
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, memory(e.src, eng, const_cast<void*>(src_t.raw()))},
                                       {DNNL_ARG_WEIGHTS, weights},
                                       {DNNL_ARG_BIAS, memory({{p.cout}, dt::f32, tag::x}, eng, bias.raw())},
                                       {DNNL_ARG_DST, memory(e.dst, eng, y.raw())}};
  auto& s = detail::cpu_stream();
  e.prim.execute(s, args);
  s.wait();
}

int Conv2d::stride() const { return impl_ ? impl_->stride : 1; }
int Conv2d::padding() const { return impl_ ? impl_->padding : 0; }
int Conv2d::in_channels() const { return impl_ ? impl_->cin : 0; }
int Conv2d::out_channels() const { return impl_ ? impl_->cout : 0; }
Precision Conv2d::precision() const { return impl_ ? impl_->precision : Precision::F32; }
bool Conv2d::weights_in_f16() const { return impl_ && impl_->half_weights.defined(); }

}  // namespace sdwalk::ops
