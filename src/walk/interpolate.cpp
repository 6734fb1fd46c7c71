// linspace, slerp and lerp with the exact float32/float64 steps of NumPy / PyTorch.
// The area is compiled with -ffp-contract=off: a fused a*x + b*y would not be NumPy's result.
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include "sdwalk/error.hpp"
#include "sdwalk/walk.hpp"
#include "walk/numpy_reductions.hpp"

namespace sdwalk {

std::vector<double> linspace(double a, double b, int n) {
  check(n >= 0, "linspace: the number of samples must be >= 0, got " + std::to_string(n));
  std::vector<double> out(static_cast<size_t>(n));
  if (n == 0) return out;
  if (n == 1) {
    out[0] = a;
    return out;
  }
  // numpy: y = arange(n) * step + start, then y[-1] = stop.
  const double step = (b - a) / double(n - 1);
  for (int i = 0; i < n; ++i) out[size_t(i)] = double(i) * step + a;
  out[size_t(n - 1)] = b;
  return out;
}

namespace {

Tensor f32_of(const Tensor& t, const char* what) {
  check(t.defined(), std::string(what) + ": tensor is empty");
  return t.dtype() == DType::F32 ? t : t.to_f32();
}

// out = a * v0 + b * v1, each product rounded to float32, then the float32 sum (NumPy's order).
void combine(float a, const float* v0, float b, const float* v1, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = a * v0[i] + b * v1[i];
}

}  // namespace

Tensor slerp(double t, const Tensor& v0_in, const Tensor& v1_in, double dot_threshold) {
  const Tensor v0 = f32_of(v0_in, "slerp v0");
  const Tensor v1 = f32_of(v1_in, "slerp v1");
  check(v0.numel() == v1.numel(), "slerp: v0 " + shape_string(v0.shape()) + " and v1 " +
                                      shape_string(v1.shape()) + " have different element counts");
  const int64_t n = v0.numel();
  const float* a = v0.f32();
  const float* b = v1.f32();
  Tensor out(v0.shape());
  float* o = out.f32();

  // dot = np.sum(v0 * v1 / (norm(v0) * norm(v1))): float32 elementwise, then NumPy's sum.
  const float denom = walk_detail::numpy_norm_f32(a, n) * walk_detail::numpy_norm_f32(b, n);
  std::vector<float> terms(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) terms[size_t(i)] = (a[i] * b[i]) / denom;
  const float dot = walk_detail::numpy_sum_f32(terms.data(), n);

  // NaN (a zero or non-finite norm): slerp is undefined there, the linear branch is not.
  if (std::isnan(dot) || std::fabs(double(dot)) > dot_threshold) {
    // (1 - t) * v0 + t * v1: float64 scalars times a float32 array are float32 (NumPy 1.x).
    combine(float(1.0 - t), a, float(t), b, o, n);
    return out;
  }
  // theta_0 = np.arccos(dot) and np.sin(theta_0) are float32 scalars; theta_0 * t is float64.
  const float theta0 = float(std::acos(double(dot)));
  const float sin_theta0 = float(std::sin(double(theta0)));
  const double theta_t = double(theta0) * t;
  const double s0 = std::sin(double(theta0) - theta_t) / double(sin_theta0);
  const double s1 = std::sin(theta_t) / double(sin_theta0);
  combine(float(s0), a, float(s1), b, o, n);
  return out;
}

Tensor lerp(double t, const Tensor& v0_in, const Tensor& v1_in) {
  const Tensor v0 = f32_of(v0_in, "lerp v0");
  const Tensor v1 = f32_of(v1_in, "lerp v1");
  check(v0.numel() == v1.numel(), "lerp: v0 " + shape_string(v0.shape()) + " and v1 " +
                                      shape_string(v1.shape()) + " have different element counts");
  const int64_t n = v0.numel();
  const float* a = v0.f32();
  const float* b = v1.f32();
  Tensor out(v0.shape());
  float* o = out.f32();
  // torch's lerp_vec: fmadd(coeff, end - start, base) with coeff = w, base = start when |w| < 0.5,
  // else coeff = w - 1, base = end.
  const float w = float(t);
  const bool small = std::fabs(w) < 0.5f;
  const float coeff = small ? w : w - 1.0f;
  for (int64_t i = 0; i < n; ++i) o[i] = std::fma(coeff, b[i] - a[i], small ? a[i] : b[i]);
  return out;
}

}  // namespace sdwalk
