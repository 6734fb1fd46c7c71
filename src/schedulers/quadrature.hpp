#pragma once
// Definite integrals as scipy.integrate.quad computes them (QUADPACK qags): the 21-point
// Gauss-Kronrod rule on the whole interval, accepted when its error estimate meets the tolerance,
// else adaptive bisection. diffusers' LMS coefficients are integrals of cubic (or lower)
// polynomials, which the first rule already accepts.
#include <functional>

namespace sdwalk::sched {

struct QuadResult {
  double value = 0;
  double abserr = 0;
};

// Integral of f from a to b (a > b allowed), with scipy's defaults epsabs = 1.49e-8 and the given
// epsrel; at most `limit` subintervals.
QuadResult quad(const std::function<double(double)>& f, double a, double b, double epsrel,
                double epsabs = 1.49e-8, int limit = 50);

}  // namespace sdwalk::sched
