// ops::Conv2d through oneDNN: NHWC activations, weights reordered once into the primitive's
// preferred (blocked) layout, one primitive per input shape, cached.
#include <cstring>
#include <map>
#include <mutex>
#include <tuple>

#include "backend/cpu/dnnl_context.hpp"
#include "backend/cpu/op_counters.hpp"
#include "sdwalk/error.hpp"
#include "sdwalk/ops.hpp"

namespace sdwalk::ops {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

struct Conv2d::Impl {
  int cout = 0, cin = 0, k = 0, stride = 1, padding = 0;
  bool has_bias = false;
  memory bias;
  // Weights in the layout the first primitive wanted; other layouts are derived on demand.
  memory weights;
  struct Entry {
    dnnl::convolution_forward prim;
    memory weights;  // in prim's weights layout (shares `Impl::weights` when it is the same)
    memory::desc src, dst;
  };
  using Key = std::tuple<int64_t, int64_t, int64_t, bool>;  // N, H, W, residual
  mutable std::mutex mutex;
  mutable std::map<Key, Entry> cache;

  dnnl::convolution_forward::primitive_desc make_pd(int64_t n, int64_t h, int64_t w, bool residual) const {
    const int64_t ho = (h + 2 * padding - k) / stride + 1, wo = (w + 2 * padding - k) / stride + 1;
    const memory::desc src({n, cin, h, w}, dt::f32, tag::nhwc);
    const memory::desc dst({n, cout, ho, wo}, dt::f32, tag::nhwc);
    const memory::desc wei({cout, cin, k, k}, dt::f32, tag::any);
    const memory::desc b({cout}, dt::f32, tag::x);
    dnnl::post_ops po;
    if (residual) po.append_sum(1.0f);
    dnnl::primitive_attr attr;
    attr.set_post_ops(po);
    const memory::dims strides{stride, stride}, pad{padding, padding};
    auto desc = has_bias ? dnnl::convolution_forward::desc(dnnl::prop_kind::forward_inference,
                                                           dnnl::algorithm::convolution_direct, src, wei, b, dst,
                                                           strides, pad, pad)
                         : dnnl::convolution_forward::desc(dnnl::prop_kind::forward_inference,
                                                           dnnl::algorithm::convolution_direct, src, wei, dst,
                                                           strides, pad, pad);
    return dnnl::convolution_forward::primitive_desc(desc, attr, detail::cpu_engine());
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

  const Entry& entry(int64_t n, int64_t h, int64_t w, bool residual) const {
    std::lock_guard<std::mutex> lock(mutex);
    const Key key{n, h, w, residual};
    auto it = cache.find(key);
    if (it != cache.end()) return it->second;
    auto pd = make_pd(n, h, w, residual);
    Entry e{dnnl::convolution_forward(pd), weights_for(pd.weights_desc()), pd.src_desc(), pd.dst_desc()};
    return cache.emplace(key, std::move(e)).first->second;
  }
};

Conv2d::Conv2d(const Tensor& weight, const Tensor& bias, int stride, int padding) : impl_(std::make_shared<Impl>()) {
  check(weight.ndim() == 4 && weight.dim(2) == weight.dim(3),
        "Conv2d: weight has shape " + shape_string(weight.shape()) + ", expected [Cout, Cin, k, k]");
  check(stride >= 1 && padding >= 0, "Conv2d: invalid stride/padding");
  auto& p = *impl_;
  p.cout = int(weight.dim(0));
  p.cin = int(weight.dim(1));
  p.k = int(weight.dim(2));
  p.stride = stride;
  p.padding = padding;
  p.has_bias = bias.defined();
  auto& eng = detail::cpu_engine();
  if (p.has_bias) {
    check(bias.numel() == p.cout, "Conv2d: bias has shape " + shape_string(bias.shape()) + ", expected [" +
                                      std::to_string(p.cout) + "]");
    const Tensor b = bias.to_f32();
    p.bias = memory({{p.cout}, dt::f32, tag::x}, eng);
    std::memcpy(p.bias.get_data_handle(), b.raw(), b.nbytes());
  }
  // Reorder once into the layout oneDNN prefers for a typical SD activation size.
  // f32 weights are read in place (e.g. from the mmap'ed file); others are converted once.
  const Tensor w = weight.dtype() == DType::F32 ? weight : weight.to_f32();
  memory plain({{p.cout, p.cin, p.k, p.k}, dt::f32, tag::oihw}, eng, const_cast<void*>(w.raw()));
  const int64_t typical = std::max<int64_t>(32, p.k);
  auto pd = p.make_pd(1, typical, typical, false);
  p.weights = plain;
  p.weights = p.owned(p.weights_for(pd.weights_desc()), w);
}

Tensor Conv2d::forward(const Tensor& x, const Tensor* residual) const {
  check(impl_ != nullptr, "Conv2d: forward on an empty convolution");
  const auto& p = *impl_;
  check(x.ndim() == 4 && x.dim(3) == p.cin && x.dtype() == DType::F32,
        "Conv2d: input has shape " + shape_string(x.shape()) + ", expected [N, H, W, " + std::to_string(p.cin) + "] f32");
  const int64_t n = x.dim(0), h = x.dim(1), w = x.dim(2);
  const int64_t ho = (h + 2 * p.padding - p.k) / p.stride + 1, wo = (w + 2 * p.padding - p.k) / p.stride + 1;
  check(ho > 0 && wo > 0, "Conv2d: input " + shape_string(x.shape()) + " is smaller than the kernel");
  Tensor y({n, ho, wo, p.cout});
  if (residual) {
    check(residual->shape() == y.shape() && residual->dtype() == DType::F32,
          "Conv2d: residual has shape " + shape_string(residual->shape()) + ", expected " + shape_string(y.shape()));
    std::memcpy(y.raw(), residual->raw(), y.nbytes());
  }
  const auto& e = p.entry(n, h, w, residual != nullptr);
  auto& eng = detail::cpu_engine();
  memory src(e.src, eng, const_cast<void*>(x.raw()));
  memory dst(e.dst, eng, y.raw());
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, e.weights}, {DNNL_ARG_DST, dst}};
  if (p.has_bias) args[DNNL_ARG_BIAS] = p.bias;
  detail::sync_threads();
  detail::CountedCall count(&OpCounters::conv_flops, &OpCounters::conv_s,
                            2.0 * double(n * ho * wo) * double(p.cout) * double(p.cin) * double(p.k * p.k));
  auto& s = detail::cpu_stream();
  e.prim.execute(s, args);
  s.wait();
  return y;
}

int Conv2d::in_channels() const { return impl_ ? impl_->cin : 0; }
int Conv2d::out_channels() const { return impl_ ? impl_->cout : 0; }

}  // namespace sdwalk::ops
