#include "quadrature.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace sdwalk::sched {
namespace {

// Nodes and weights of the 21-point Kronrod rule and its embedded 10-point Gauss rule on [-1, 1]
// (positive half; QUADPACK's dqk21 values). Odd positions (0-based 1, 3, ...) are Gauss nodes.
constexpr double kXgk[11] = {0.995657163025808080735527280689003, 0.973906528517171720077964012084452,
                             0.930157491355708226001207180059508, 0.865063366688984510732096688423493,
                             0.780817726586416897063717578345042, 0.679409568299024406234327365114874,
                             0.562757134668604683339000099272694, 0.433395394129247190799265943165784,
                             0.294392862701460198131126603103866, 0.148874338981631210884826001129720,
                             0.0};
constexpr double kWgk[11] = {0.011694638867371874278064396062192, 0.032558162307964727478818972459390,
                             0.054755896574351996031381300244580, 0.075039674810919952767043140916190,
                             0.093125454583697605535065465083366, 0.109387158802297641899210590325805,
                             0.123491976262065851077958109831074, 0.134709217311473325928054001771707,
                             0.142775938577060080797094273138717, 0.147739104901338491374841515972068,
                             0.149445554002916905664936468389821};
constexpr double kWg[5] = {0.066671344308688137593568809893332, 0.149451349150580593145776339657697,
                           0.219086362515982043995534934228163, 0.269266719309996355091226921569469,
                           0.295524224714752870173892994651338};

struct Piece {
  double a, b, value, err;
};

// dqk21: the rule on [a, b] with QUADPACK's error estimate (same summation order).
Piece qk21(const std::function<double(double)>& f, double a, double b) {
  const double epmach = std::numeric_limits<double>::epsilon();
  const double uflow = std::numeric_limits<double>::min();
  const double centr = 0.5 * (a + b);
  const double hlgth = 0.5 * (b - a);
  const double dhlgth = std::fabs(hlgth);
  double fv1[10], fv2[10];
  double resg = 0;
  const double fc = f(centr);
  double resk = kWgk[10] * fc;
  double resabs = std::fabs(resk);
  auto pair = [&](int j, bool gauss, int gauss_index) {
    const double absc = hlgth * kXgk[j];
    const double fval1 = f(centr - absc);
    const double fval2 = f(centr + absc);
    fv1[j] = fval1;
    fv2[j] = fval2;
    const double fsum = fval1 + fval2;
    if (gauss) resg = resg + kWg[gauss_index] * fsum;
    resk = resk + kWgk[j] * fsum;
    resabs = resabs + kWgk[j] * (std::fabs(fval1) + std::fabs(fval2));
  };
  for (int j = 0; j < 5; ++j) pair(2 * j + 1, true, j);
  for (int j = 0; j < 5; ++j) pair(2 * j, false, 0);
  const double reskh = resk * 0.5;
  double resasc = kWgk[10] * std::fabs(fc - reskh);
  for (int j = 0; j < 10; ++j) resasc = resasc + kWgk[j] * (std::fabs(fv1[j] - reskh) + std::fabs(fv2[j] - reskh));
  const double result = resk * hlgth;
  resabs *= dhlgth;
  resasc *= dhlgth;
  double abserr = std::fabs((resk - resg) * hlgth);
  if (resasc != 0 && abserr != 0) abserr = resasc * std::min(1.0, std::pow(200 * abserr / resasc, 1.5));
  if (resabs > uflow / (50 * epmach)) abserr = std::max(epmach * 50 * resabs, abserr);
  return {a, b, result, abserr};
}

}  // namespace

QuadResult quad(const std::function<double(double)>& f, double a, double b, double epsrel, double epsabs, int limit) {
  if (a == b) return {0, 0};
  std::vector<Piece> pieces{qk21(f, a, b)};
  double total = pieces[0].value, err = pieces[0].err;
  // qags' acceptance test after the first rule.
  if (err <= std::max(epsabs, epsrel * std::fabs(total)) || err == 0) return {total, err};
  // Global adaptive bisection: split the piece with the largest error estimate.
  while (int(pieces.size()) < limit) {
    auto worst = std::max_element(pieces.begin(), pieces.end(), [](const Piece& x, const Piece& y) { return x.err < y.err; });
    const Piece p = *worst;
    const double mid = 0.5 * (p.a + p.b);
    *worst = qk21(f, p.a, mid);
    pieces.push_back(qk21(f, mid, p.b));
    total = 0;
    err = 0;
    for (const Piece& q : pieces) {
      total += q.value;
      err += q.err;
    }
    if (err <= std::max(epsabs, epsrel * std::fabs(total))) break;
  }
  return {total, err};
}

}  // namespace sdwalk::sched
