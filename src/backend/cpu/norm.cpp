// GroupNorm (channels-last) and LayerNorm. Statistics are accumulated in double, two passes
// (mean, then squared deviations), so large activations do not lose precision.
#include <omp.h>

#include <cmath>
#include <vector>

#include "sdwalk/error.hpp"
#include "sdwalk/ops.hpp"

namespace sdwalk::ops {

namespace {

// Sums over positions [0, positions) of x[p*C + c] (or of (x - mean[c])^2) per channel, in parallel.
std::vector<double> channel_sums(const float* x, int64_t positions, int64_t C, const double* mean) {
  const int nt = threads();
  std::vector<double> partial(size_t(nt) * size_t(C), 0.0);
#pragma omp parallel num_threads(nt)
  {
    const int t = omp_get_thread_num();
    double* acc = partial.data() + size_t(t) * size_t(C);
#pragma omp for schedule(static)
    for (int64_t p = 0; p < positions; ++p) {
      const float* row = x + p * C;
      if (mean) {
        for (int64_t c = 0; c < C; ++c) {
          const double d = double(row[c]) - mean[c];
          acc[c] += d * d;
        }
      } else {
        for (int64_t c = 0; c < C; ++c) acc[c] += double(row[c]);
      }
    }
  }
  std::vector<double> sums(size_t(C), 0.0);
  for (int t = 0; t < nt; ++t)
    for (int64_t c = 0; c < C; ++c) sums[size_t(c)] += partial[size_t(t) * size_t(C) + size_t(c)];
  return sums;
}

inline float silu1(float v) { return v / (1.0f + std::exp(-v)); }

}  // namespace

Tensor group_norm(const Tensor& x, int groups, const Tensor& gamma, const Tensor& beta, float eps, bool silu) {
  check(x.ndim() >= 2 && x.dtype() == DType::F32, "group_norm: input " + shape_string(x.shape()) + " must be f32 [N, ..., C]");
  const int64_t N = x.dim(0), C = x.dim(-1);
  check(groups > 0 && C % groups == 0,
        "group_norm: " + std::to_string(C) + " channels do not split into " + std::to_string(groups) + " groups");
  check(gamma.numel() == C && beta.numel() == C, "group_norm: gamma/beta must have " + std::to_string(C) + " values");
  const int64_t positions = x.numel() / (N * C), cpg = C / groups;
  const float* g = gamma.f32();
  const float* b = beta.f32();
  Tensor y(x.shape());
  const double count = double(positions) * double(cpg);
  for (int64_t n = 0; n < N; ++n) {
    const float* xn = x.f32() + n * positions * C;
    float* yn = y.f32() + n * positions * C;
    std::vector<double> s = channel_sums(xn, positions, C, nullptr);
    std::vector<double> mean(static_cast<size_t>(C));
    for (int64_t k = 0; k < groups; ++k) {
      double m = 0;
      for (int64_t c = k * cpg; c < (k + 1) * cpg; ++c) m += s[size_t(c)];
      m /= count;
      for (int64_t c = k * cpg; c < (k + 1) * cpg; ++c) mean[size_t(c)] = m;
    }
    std::vector<double> sq = channel_sums(xn, positions, C, mean.data());
    std::vector<float> scale(static_cast<size_t>(C)), shift(static_cast<size_t>(C));
    for (int64_t k = 0; k < groups; ++k) {
      double v = 0;
      for (int64_t c = k * cpg; c < (k + 1) * cpg; ++c) v += sq[size_t(c)];
      const double rstd = 1.0 / std::sqrt(v / count + double(eps));
      for (int64_t c = k * cpg; c < (k + 1) * cpg; ++c) {
        scale[size_t(c)] = float(rstd * g[c]);
        shift[size_t(c)] = float(double(b[c]) - mean[size_t(c)] * rstd * g[c]);
      }
    }
    const float* sc = scale.data();
    const float* sh = shift.data();
#pragma omp parallel for num_threads(threads()) schedule(static)
    for (int64_t p = 0; p < positions; ++p) {
      const float* xr = xn + p * C;
      float* yr = yn + p * C;
      for (int64_t c = 0; c < C; ++c) yr[c] = xr[c] * sc[c] + sh[c];
      if (silu)
        for (int64_t c = 0; c < C; ++c) yr[c] = silu1(yr[c]);
    }
  }
  return y;
}

Tensor layer_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, float eps) {
  check(x.ndim() >= 1 && x.dtype() == DType::F32, "layer_norm: input must be f32");
  const int64_t C = x.dim(-1), rows = x.numel() / C;
  check(gamma.numel() == C && beta.numel() == C, "layer_norm: gamma/beta must have " + std::to_string(C) + " values");
  const float* g = gamma.f32();
  const float* b = beta.f32();
  Tensor y(x.shape());
  const float* xs = x.f32();
  float* ys = y.f32();
#pragma omp parallel for num_threads(threads()) schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = xs + r * C;
    float* yr = ys + r * C;
    double m = 0;
    for (int64_t c = 0; c < C; ++c) m += xr[c];
    m /= double(C);
    double v = 0;
    for (int64_t c = 0; c < C; ++c) v += (xr[c] - m) * (xr[c] - m);
    const double rstd = 1.0 / std::sqrt(v / double(C) + double(eps));
    const float fm = float(m), fr = float(rstd);
    for (int64_t c = 0; c < C; ++c) yr[c] = (xr[c] - fm) * fr * g[c] + b[c];
  }
  return y;
}

}  // namespace sdwalk::ops
