#pragma once
// Straightforward double-precision references for the backend tests, and random inputs.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "sdwalk/tensor.hpp"

namespace sdwalk::test {

inline Tensor random_tensor(Shape shape, uint32_t seed, float scale = 1.0f, float offset = 0.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  Tensor t(std::move(shape));
  float* p = t.f32();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = offset + scale * dist(rng);
  return t;
}

// Applies f to every element in double, returns f32.
template <class F> Tensor map_ref(const Tensor& x, F f) {
  Tensor y(x.shape());
  for (int64_t i = 0; i < x.numel(); ++i) y.f32()[i] = float(f(double(x.f32()[i])));
  return y;
}

inline double gelu_ref(double v) { return 0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0))); }
inline double silu_ref(double v) { return v / (1.0 + std::exp(-v)); }

// NHWC convolution; weight OIHW.
inline Tensor conv2d_ref(const Tensor& x, const Tensor& w, const Tensor* bias, int stride, int pad) {
  const int64_t N = x.dim(0), H = x.dim(1), W = x.dim(2), Ci = x.dim(3), Co = w.dim(0), k = w.dim(2);
  const int64_t Ho = (H + 2 * pad - k) / stride + 1, Wo = (W + 2 * pad - k) / stride + 1;
  Tensor y({N, Ho, Wo, Co});
  for (int64_t n = 0; n < N; ++n)
    for (int64_t oh = 0; oh < Ho; ++oh)
      for (int64_t ow = 0; ow < Wo; ++ow)
        for (int64_t co = 0; co < Co; ++co) {
          double acc = bias ? bias->f32()[co] : 0.0;
          for (int64_t kh = 0; kh < k; ++kh)
            for (int64_t kw = 0; kw < k; ++kw) {
              const int64_t ih = oh * stride - pad + kh, iw = ow * stride - pad + kw;
              if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
              for (int64_t ci = 0; ci < Ci; ++ci)
                acc += double(x.f32()[((n * H + ih) * W + iw) * Ci + ci]) *
                       double(w.f32()[((co * Ci + ci) * k + kh) * k + kw]);
            }
          y.f32()[((n * Ho + oh) * Wo + ow) * Co + co] = float(acc);
        }
  return y;
}

// Attention in double with the full score matrix.
inline Tensor attention_ref(const Tensor& q, const Tensor& k, const Tensor& v, int heads, bool causal) {
  const int64_t B = q.dim(0), Tq = q.dim(1), HD = q.dim(2), Tk = k.dim(1), D = HD / heads;
  Tensor o(q.shape());
  std::vector<double> s(static_cast<size_t>(Tk));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < heads; ++h)
      for (int64_t i = 0; i < Tq; ++i) {
        double mx = -INFINITY;
        const int64_t nk = causal ? std::min(Tk, i + 1) : Tk;
        for (int64_t j = 0; j < nk; ++j) {
          double acc = 0;
          for (int64_t d = 0; d < D; ++d)
            acc += double(q.f32()[(b * Tq + i) * HD + h * D + d]) * double(k.f32()[(b * Tk + j) * HD + h * D + d]);
          s[size_t(j)] = acc / std::sqrt(double(D));
          mx = std::max(mx, s[size_t(j)]);
        }
        double sum = 0;
        for (int64_t j = 0; j < nk; ++j) sum += (s[size_t(j)] = std::exp(s[size_t(j)] - mx));
        for (int64_t d = 0; d < D; ++d) {
          double acc = 0;
          for (int64_t j = 0; j < nk; ++j) acc += s[size_t(j)] * double(v.f32()[(b * Tk + j) * HD + h * D + d]);
          o.f32()[(b * Tq + i) * HD + h * D + d] = float(acc / sum);
        }
      }
  return o;
}

}  // namespace sdwalk::test
