#include "common/compare.hpp"

#include <cmath>
#include <limits>
#include <sstream>

namespace sdwalk::test {

std::string Diff::str() const {
  std::ostringstream os;
  os << "max_abs=" << max_abs << " max_ref=" << max_ref << " rel=" << rel() << " mean_abs=" << mean_abs;
  return os.str();
}

Diff compare(const Tensor& ours, const Tensor& ref) {
  Diff d;
  if (ours.numel() != ref.numel()) {
    d.max_abs = std::numeric_limits<double>::infinity();
    return d;
  }
  const Tensor a = ours.to_f32(), b = ref.to_f32();
  const float* p = a.f32();
  const float* q = b.f32();
  double sum = 0;
  for (int64_t i = 0; i < a.numel(); ++i) {
    const double e = std::fabs(double(p[i]) - double(q[i]));
    if (std::isnan(e)) d.max_abs = std::numeric_limits<double>::infinity();
    d.max_abs = std::max(d.max_abs, e);
    d.max_ref = std::max(d.max_ref, std::fabs(double(q[i])));
    sum += e;
  }
  d.mean_abs = a.numel() ? sum / double(a.numel()) : 0;
  return d;
}

std::string Closeness::str() const {
  std::ostringstream os;
  os << "max_abs=" << max_abs << " worst err/tol=" << worst;
  return os.str();
}

Closeness closeness(const Tensor& ours, const Tensor& ref, Tolerance tol) {
  Closeness c;
  if (ours.numel() != ref.numel()) {
    c.worst = c.max_abs = std::numeric_limits<double>::infinity();
    return c;
  }
  const Tensor a = ours.to_f32(), b = ref.to_f32();
  for (int64_t i = 0; i < a.numel(); ++i) {
    const double e = std::fabs(double(a.f32()[i]) - double(b.f32()[i]));
    const double ratio = std::isnan(e) ? std::numeric_limits<double>::infinity()
                                       : e / (tol.atol + tol.rtol * std::fabs(double(b.f32()[i])));
    c.worst = std::max(c.worst, ratio);
    c.max_abs = std::max(c.max_abs, e);
  }
  return c;
}

}  // namespace sdwalk::test
