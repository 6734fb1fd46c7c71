// ops::Linear through oneDNN matmul: x [M, in] x W^T [in, out] + b, weights reordered once into
// the primitive's preferred layout, one primitive per row count M, cached.
#include <cstring>
#include <map>
#include <mutex>

#include "backend/cpu/dnnl_context.hpp"
#include "backend/cpu/op_counters.hpp"
#include "sdwalk/error.hpp"
#include "sdwalk/ops.hpp"

namespace sdwalk::ops {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

struct Linear::Impl {
  int64_t in = 0, out = 0;
  bool has_bias = false;
  memory bias;     // [1, out]
  memory weights;  // logical [in, out]
  struct Entry {
    dnnl::matmul prim;
    memory weights;
    memory::desc src, dst;
  };
  using Key = std::pair<int64_t, bool>;  // M, residual
  mutable std::mutex mutex;
  mutable std::map<Key, Entry> cache;

  dnnl::matmul::primitive_desc make_pd(int64_t m, bool residual) const {
    const memory::desc src({m, in}, dt::f32, tag::ab);
    const memory::desc wei({in, out}, dt::f32, tag::any);
    const memory::desc dst({m, out}, dt::f32, tag::ab);
    dnnl::post_ops po;
    if (residual) po.append_sum(1.0f);
    dnnl::primitive_attr attr;
    attr.set_post_ops(po);
    auto desc = has_bias ? dnnl::matmul::desc(src, wei, memory::desc({1, out}, dt::f32, tag::ab), dst)
                         : dnnl::matmul::desc(src, wei, dst);
    return dnnl::matmul::primitive_desc(desc, attr, detail::cpu_engine());
  }

  // m itself when it owns its bytes; a copy when it still wraps the caller's tensor `w`.
  static memory owned(const memory& m, const Tensor& w) {
    if (m.get_data_handle() != w.raw()) return m;
    memory copy(m.get_desc(), detail::cpu_engine());
    std::memcpy(copy.get_data_handle(), w.raw(), w.nbytes());
    return copy;
  }

  memory weights_for(const memory::desc& want) const {
    if (weights.get_desc() == want) return weights;
    memory src = weights, m(want, detail::cpu_engine());
    dnnl::reorder(src, m).execute(detail::cpu_stream(), src, m);
    detail::cpu_stream().wait();
    return m;
  }

  const Entry& entry(int64_t m, bool residual) const {
    std::lock_guard<std::mutex> lock(mutex);
    const Key key{m, residual};
    auto it = cache.find(key);
    if (it != cache.end()) return it->second;
    auto pd = make_pd(m, residual);
    Entry e{dnnl::matmul(pd), weights_for(pd.weights_desc()), pd.src_desc(), pd.dst_desc()};
    return cache.emplace(key, std::move(e)).first->second;
  }
};

Linear::Linear(const Tensor& weight, const Tensor& bias) : impl_(std::make_shared<Impl>()) {
  const bool ok = weight.ndim() == 2 || (weight.ndim() == 4 && weight.dim(2) == 1 && weight.dim(3) == 1);
  check(ok, "Linear: weight has shape " + shape_string(weight.shape()) + ", expected [out, in]");
  auto& p = *impl_;
  p.out = weight.dim(0);
  p.in = weight.dim(1);
  p.has_bias = bias.defined();
  auto& eng = detail::cpu_engine();
  if (p.has_bias) {
    check(bias.numel() == p.out, "Linear: bias has shape " + shape_string(bias.shape()) + ", expected [" +
                                     std::to_string(p.out) + "]");
    const Tensor b = bias.to_f32();
    p.bias = memory({{1, p.out}, dt::f32, tag::ab}, eng);
    std::memcpy(p.bias.get_data_handle(), b.raw(), b.nbytes());
  }
  // PyTorch's [out, in] row-major is W^T [in, out] in column-major ("ba").
  // f32 weights are read in place (e.g. from the mmap'ed file); others are converted once.
  const Tensor w = weight.dtype() == DType::F32 ? weight : weight.to_f32();
  memory plain({{p.in, p.out}, dt::f32, tag::ba}, eng, const_cast<void*>(w.raw()));
  p.weights = plain;
  p.weights = p.owned(p.weights_for(p.make_pd(256, false).weights_desc()), w);
}

Tensor Linear::forward(const Tensor& x, const Tensor* residual) const {
  check(impl_ != nullptr, "Linear: forward on an empty layer");
  const auto& p = *impl_;
  check(x.ndim() >= 1 && x.dim(-1) == p.in && x.dtype() == DType::F32,
        "Linear: input has shape " + shape_string(x.shape()) + ", expected [..., " + std::to_string(p.in) + "] f32");
  const int64_t m = x.numel() / p.in;
  Shape shape = x.shape();
  shape.back() = p.out;
  Tensor y(shape);
  if (m == 0) return y;
  if (residual) {
    check(residual->numel() == y.numel() && residual->dim(-1) == p.out && residual->dtype() == DType::F32,
          "Linear: residual has shape " + shape_string(residual->shape()) + ", expected " + shape_string(y.shape()));
    std::memcpy(y.raw(), residual->raw(), y.nbytes());
  }
  const auto& e = p.entry(m, residual != nullptr);
  auto& eng = detail::cpu_engine();
  memory src(e.src, eng, const_cast<void*>(x.raw()));
  memory dst(e.dst, eng, y.raw());
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, e.weights}, {DNNL_ARG_DST, dst}};
  if (p.has_bias) args[DNNL_ARG_BIAS] = p.bias;
  detail::sync_threads();
  detail::CountedCall count(&OpCounters::linear_flops, &OpCounters::linear_s, 2.0 * double(m) * double(p.in) * double(p.out));
  auto& s = detail::cpu_stream();
  e.prim.execute(s, args);
  s.wait();
  return y;
}

int Linear::in_features() const { return impl_ ? int(impl_->in) : 0; }
int Linear::out_features() const { return impl_ ? int(impl_->out) : 0; }

}  // namespace sdwalk::ops
