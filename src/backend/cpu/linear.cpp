// ops::Linear through oneDNN. f32 layers run as a 1x1 convolution over [1, M, 1, in]: oneDNN's f32
// matmul (gemm:jit) splits the reduction over the threads, so its results change with the thread
// count, while its 1x1 convolution reduces in one fixed order (and is as fast: ops_bench
// BM_LinearAsConv1x1 vs BM_Linear). bf16 layers run as a matmul: x [M, in] x W^T [in, out] + b,
// weights reordered once into the primitive's preferred layout and dtype, one primitive per row
// count M, cached. The residual add is a binary post-op read straight from the residual tensor.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <tuple>

#include "backend/cpu/dnnl_context.hpp"
#include "backend/cpu/op_counters.hpp"
#include "sdwalk/error.hpp"
#include "backend/cpu/ops.hpp"

namespace sdwalk::ops {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

struct Linear::Impl {
  int64_t in = 0, out = 0;
  Precision precision = Precision::F32;
  bool has_bias = false;
  Conv2d as_conv;  // the f32 path; when defined the matmul members below are unused
  memory bias;  // [1, out] f32
  Tensor bias_storage;
  detail::OwnedMemory weights;  // logical [in, out]
  struct Entry {
    dnnl::matmul prim;
    detail::OwnedMemory weights;  // in prim's layout when it differs from Impl::weights
    memory::desc src, dst, residual;
  };
  using Key = std::tuple<int64_t, bool, DType>;  // M, residual, output dtype
  mutable std::mutex mutex;
  mutable std::map<Key, Entry> cache;

  dt compute_type() const { return detail::dnnl_type(precision); }

  dnnl::matmul::primitive_desc make_pd(int64_t m, bool residual, DType out_dtype) const {
    const memory::desc src({m, in}, compute_type(), tag::ab);
    const memory::desc wei({in, out}, compute_type(), tag::any);
    const memory::desc dst({m, out}, detail::dnnl_type(out_dtype), tag::ab);
    dnnl::post_ops po;
    if (residual) po.append_binary(dnnl::algorithm::binary_add, memory::desc({m, out}, dt::f32, tag::ab));
    dnnl::primitive_attr attr;
    attr.set_post_ops(po);
    auto desc = has_bias ? dnnl::matmul::desc(src, wei, memory::desc({1, out}, dt::f32, tag::ab), dst)
                         : dnnl::matmul::desc(src, wei, dst);
    return dnnl::matmul::primitive_desc(desc, attr, detail::cpu_engine());
  }

  const Entry& entry(int64_t m, bool residual, DType out_dtype) const {
    std::lock_guard<std::mutex> lock(mutex);
    const Key key{m, residual, out_dtype};
    auto it = cache.find(key);
    if (it != cache.end()) return it->second;
    auto pd = make_pd(m, residual, out_dtype);
    Entry e{dnnl::matmul(pd), {}, pd.src_desc(), pd.dst_desc(), memory::desc({m, out}, dt::f32, tag::ab)};
    if (pd.weights_desc() != weights.memory.get_desc()) {
      if (std::getenv("SDWALK_DEBUG_WEIGHTS"))
        std::fprintf(stderr, "linear %lldx%lld: second weights copy for M=%lld residual=%d\n", (long long)out, (long long)in,
                     (long long)m, int(residual));
      e.weights = detail::owned_memory(pd.weights_desc());
      memory from = weights.memory;
      detail::sync_threads();
      dnnl::reorder(from, e.weights.memory).execute(detail::cpu_stream(), from, e.weights.memory);
      detail::cpu_stream().wait();
    }
    return cache.emplace(key, std::move(e)).first->second;
  }
};

Linear::Linear(const Tensor& weight, const Tensor& bias, Precision precision, WeightStorage storage)
    : impl_(std::make_shared<Impl>()) {
  const bool ok = weight.ndim() == 2 || (weight.ndim() == 4 && weight.dim(2) == 1 && weight.dim(3) == 1);
  check(ok, "Linear: weight has shape " + shape_string(weight.shape()) + ", expected [out, in]");
  auto& p = *impl_;
  p.out = weight.dim(0);
  p.in = weight.dim(1);
  // Without native bf16 the layer runs in f32 (parse_precision refuses an explicit bf16 there).
  p.precision = cpu_has_bf16() ? precision : Precision::F32;
  p.has_bias = bias.defined();
  if (p.precision == Precision::F32) {
    p.as_conv = Conv2d(weight.reshape({p.out, p.in, 1, 1}), bias, 1, 0, Precision::F32, storage);
    return;
  }
  if (p.has_bias) {
    check(bias.numel() == p.out, "Linear: bias has shape " + shape_string(bias.shape()) + ", expected [" +
                                     std::to_string(p.out) + "]");
    p.bias_storage = bias.to_f32();
    p.bias = memory({{1, p.out}, dt::f32, tag::ab}, detail::cpu_engine(), p.bias_storage.raw());
  }
  // PyTorch's [out, in] row-major is W^T [in, out] in column-major ("ba").
  p.weights = detail::reorder_weights(weight, {p.in, p.out}, tag::ba, p.make_pd(1024, false, DType::F32).weights_desc());
}

Tensor Linear::forward(const Tensor& x, const Tensor* residual, DType out_dtype) const {
  if (!low_rank_ || x.ndim() < 1 || !low_rank_->active(x.ndim() >= 2 ? x.dim(0) : 1))
    return forward_plain(x, residual, out_dtype);
  Tensor y = forward_plain(x, residual, DType::F32);
  low_rank_->add_to(x, y);
  return out_dtype == DType::BF16 ? to_bf16(y) : y;
}

Tensor Linear::forward_plain(const Tensor& x, const Tensor* residual, DType out_dtype) const {
  check(impl_ != nullptr, "Linear: forward on an empty layer");
  const auto& p = *impl_;
  check(x.ndim() >= 1 && x.dim(-1) == p.in && (x.dtype() == DType::F32 || x.dtype() == DType::BF16),
        "Linear: input has shape " + shape_string(x.shape()) + " " + dtype_name(x.dtype()) + ", expected [..., " +
            std::to_string(p.in) + "] f32 or bf16");
  check(out_dtype == DType::F32 || out_dtype == DType::BF16, "Linear: output dtype must be F32 or BF16");
  const int64_t m = x.numel() / p.in;
  const ThreadScope op_threads(threads_for_flops(2.0 * double(m) * double(p.in) * double(p.out)));
  Shape shape = x.shape();
  shape.back() = p.out;
  if (m == 0) return Tensor::uninitialized(shape, out_dtype);
  if (residual)
    check(residual->numel() == m * p.out && residual->dim(-1) == p.out && residual->dtype() == DType::F32,
          "Linear: residual has shape " + shape_string(residual->shape()) + ", expected " + shape_string(shape));
  if (p.as_conv.defined()) {
    const Tensor r = residual ? residual->reshape({1, m, 1, p.out}) : Tensor();
    const OpCounters before = detail::op_tally();
    Tensor y32 = p.as_conv.forward(x.reshape({1, m, 1, p.in}), residual ? &r : nullptr).reshape(shape);
    // Counted as the linear layer it is, not as a convolution.
    OpCounters& tally = detail::op_tally();
    tally.linear_flops += tally.conv_flops - before.conv_flops;
    tally.linear_s += tally.conv_s - before.conv_s;
    tally.conv_flops = before.conv_flops;
    tally.conv_s = before.conv_s;
    return out_dtype == DType::BF16 ? to_bf16(y32) : y32;
  }
  const Tensor src_t = detail::as_dtype(x, DType::BF16);
  Tensor y = Tensor::uninitialized(shape, out_dtype);
  const auto& e = p.entry(m, residual != nullptr, out_dtype);
  auto& eng = detail::cpu_engine();
  const memory& weights = e.weights.bytes ? e.weights.memory : p.weights.memory;
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, memory(e.src, eng, const_cast<void*>(src_t.raw()))},
                                       {DNNL_ARG_WEIGHTS, weights},
                                       {DNNL_ARG_DST, memory(e.dst, eng, y.raw())}};
  if (p.has_bias) args[DNNL_ARG_BIAS] = p.bias;
  if (residual)
    args[DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1] = memory(e.residual, eng, const_cast<void*>(residual->raw()));
  detail::sync_threads();
  detail::CountedCall count(&OpCounters::linear_flops, &OpCounters::linear_s, 2.0 * double(m) * double(p.in) * double(p.out));
  auto& s = detail::cpu_stream();
  e.prim.execute(s, args);
  s.wait();
  return y;
}

int Linear::in_features() const { return impl_ ? int(impl_->in) : 0; }
int Linear::out_features() const { return impl_ ? int(impl_->out) : 0; }
Precision Linear::precision() const { return impl_ ? impl_->precision : Precision::F32; }
bool Linear::weights_in_f16() const { return impl_ && impl_->as_conv.weights_in_f16(); }

}  // namespace sdwalk::ops
