#include "schedule_math.hpp"

#include <algorithm>
#include <cfenv>
#include <cmath>
#include <numbers>

#include "sdwalk/error.hpp"

namespace sdwalk::sched {

std::vector<float> torch_linspace_f32(float start, float end, int steps) {
  std::vector<float> out(size_t(std::max(steps, 0)));
  if (steps <= 0) return out;
  if (steps == 1) {
    out[0] = start;
    return out;
  }
  const float step = (end - start) / float(steps - 1);
  const int halfway = steps / 2;
  // The kernel's scalar expression (compiled with FMA contraction): the first half counts up from
  // start, the second half down from end.
  auto value = [&](int idx) {
    return idx < halfway ? std::fma(step, float(idx), start) : std::fma(-step, float(steps - idx - 1), end);
  };
  // Vectorized part (AVX2: 8 floats, two vectors per iteration): base at the vector's first index,
  // then base + k * step within the vector.
  constexpr int kVec = 8;
  int i = 0;
  for (; i <= steps - 2 * kVec; i += 2 * kVec) {
    for (int v = 0; v < 2; ++v) {
      const int first = i + v * kVec;
      const float base = value(first);
      out[size_t(first)] = base;
      for (int k = 1; k < kVec; ++k) out[size_t(first + k)] = std::fma(float(k), step, base);
    }
  }
  for (; i < steps; ++i) out[size_t(i)] = value(i);
  return out;
}

namespace {

// diffusers' betas_for_alpha_bar (cosine), float64 then float32.
std::vector<float> cosine_betas(int n) {
  auto alpha_bar = [](double t) {
    const double c = std::cos((t + 0.008) / 1.008 * std::numbers::pi / 2);
    return c * c;
  };
  std::vector<float> betas(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    const double t1 = double(i) / n, t2 = double(i + 1) / n;
    betas[size_t(i)] = float(std::min(1 - alpha_bar(t2) / alpha_bar(t1), 0.999));
  }
  return betas;
}

// diffusers' rescale_zero_terminal_snr (arXiv 2305.08891, Algorithm 1), float32 torch ops.
std::vector<float> rescale_zero_terminal_snr(const std::vector<float>& betas) {
  const std::vector<float> ac = alphas_cumprod_of(betas);
  std::vector<float> s(ac.size());
  for (size_t i = 0; i < ac.size(); ++i) s[i] = std::sqrt(ac[i]);
  const float s0 = s.front(), sT = s.back();
  const float scale = s0 / (s0 - sT);
  for (float& v : s) {
    v = v - sT;
    v = v * scale;
  }
  std::vector<float> bar(s.size());
  for (size_t i = 0; i < s.size(); ++i) bar[i] = s[i] * s[i];
  std::vector<float> out(s.size());
  for (size_t i = 0; i < s.size(); ++i) out[i] = 1.0f - (i == 0 ? bar[0] : bar[i] / bar[i - 1]);
  return out;
}

}  // namespace

std::vector<float> make_betas(const SchedulerConfig& c) {
  // Bounded so that a corrupt config cannot ask for gigabytes of betas (SD models train on 1000).
  constexpr int kMaxTrainTimesteps = 1000000;
  check(c.num_train_timesteps > 0 && c.num_train_timesteps <= kMaxTrainTimesteps,
        c.class_name + ": num_train_timesteps must be in [1, " + std::to_string(kMaxTrainTimesteps) + "], got " +
            std::to_string(c.num_train_timesteps));
  std::vector<float> betas;
  if (!c.trained_betas.empty()) {
    for (double b : c.trained_betas) betas.push_back(float(b));
  } else if (c.beta_schedule == "linear") {
    betas = torch_linspace_f32(float(c.beta_start), float(c.beta_end), c.num_train_timesteps);
  } else if (c.beta_schedule == "scaled_linear") {
    // torch.linspace(beta_start**0.5, beta_end**0.5, n) ** 2
    betas = torch_linspace_f32(float(std::pow(c.beta_start, 0.5)), float(std::pow(c.beta_end, 0.5)),
                               c.num_train_timesteps);
    for (float& b : betas) b = b * b;
  } else if (c.beta_schedule == "squaredcos_cap_v2") {
    betas = cosine_betas(c.num_train_timesteps);
  } else {
    throw Error(c.class_name + ": beta_schedule '" + c.beta_schedule +
                "' is not supported (linear, scaled_linear, squaredcos_cap_v2)");
  }
  // Outside (0, 1) alphas_cumprod changes sign or reaches 0: NaN or black images, never an error.
  for (size_t i = 0; i < betas.size(); ++i) {
    if (std::isfinite(betas[i]) && betas[i] > 0 && betas[i] < 1) continue;
    const std::string source = !c.trained_betas.empty()
                                   ? "trained_betas"
                                   : "beta_start " + std::to_string(c.beta_start) + ", beta_end " +
                                         std::to_string(c.beta_end) + ", beta_schedule " + c.beta_schedule;
    throw Error(c.class_name + ": betas must lie in (0, 1), got beta[" + std::to_string(i) + "] = " +
                std::to_string(betas[i]) + " from " + source);
  }
  if (c.rescale_betas_zero_snr) betas = rescale_zero_terminal_snr(betas);
  // A beta outside [0, 1] (or NaN, from a config's NaN/Infinity) makes the sigmas and timesteps
  // NaN, and every later float -> int conversion of a timestep undefined.
  for (float b : betas)
    check(b >= 0 && b <= 1, c.class_name + ": the config's betas (beta_start, beta_end, trained_betas) must lie in "
                                           "[0, 1], got " + std::to_string(b));
  return betas;
}

std::vector<float> alphas_cumprod_of(const std::vector<float>& betas) {
  std::vector<float> out(betas.size());
  double acc = 1.0;
  for (size_t i = 0; i < betas.size(); ++i) {
    acc *= double(1.0f - betas[i]);
    out[i] = float(acc);
  }
  return out;
}

std::vector<float> train_sigmas(const std::vector<float>& alphas_cumprod) {
  std::vector<float> out(alphas_cumprod.size());
  for (size_t i = 0; i < out.size(); ++i) {
    const float a = alphas_cumprod[i];
    out[i] = std::sqrt((1.0f - a) / a);
  }
  return out;
}

std::vector<float> log_f32(const std::vector<float>& x) {
  std::vector<float> out(x.size());
  for (size_t i = 0; i < x.size(); ++i) out[i] = std::log(x[i]);
  return out;
}

std::vector<double> np_linspace(double start, double stop, int num, bool endpoint) {
  check(num >= 0, "linspace: negative number of samples");
  std::vector<double> y(static_cast<size_t>(num));
  const int div = endpoint ? num - 1 : num;
  const double delta = stop - start;
  if (div > 0) {
    const double step = delta / div;
    for (int i = 0; i < num; ++i) y[size_t(i)] = (step == 0 ? double(i) / div * delta : double(i) * step) + start;
  } else {
    for (int i = 0; i < num; ++i) y[size_t(i)] = double(i) * delta + start;
  }
  if (endpoint && num > 1) y.back() = stop;
  return y;
}

std::vector<double> np_arange(double start, double stop, double step) {
  check(step != 0, "arange: step must not be zero");
  const double len = std::ceil((stop - start) / step);
  std::vector<double> y;
  if (!(len > 0)) return y;
  y.resize(size_t(len));
  y[0] = start;
  if (y.size() > 1) {
    y[1] = start + step;
    const double d = y[1] - start;  // numpy's fill() re-derives the step from the first two values
    for (size_t i = 2; i < y.size(); ++i) y[i] = start + double(i) * d;
  }
  return y;
}

double np_round(double x) {
  // np.round(x) (decimals=0) rounds half to even, like rint in the default rounding mode.
  return std::nearbyint(x);
}

std::vector<double> np_interp_arange(const std::vector<double>& x, const std::vector<float>& fp) {
  const int n = int(fp.size());
  std::vector<double> out(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const double v = x[i];
    if (std::isnan(v)) {
      out[i] = v;
    } else if (v < 0) {
      out[i] = fp.front();
    } else if (v >= n - 1) {
      out[i] = fp.back();
    } else {
      const int j = int(std::floor(v));
      if (double(j) == v) {
        out[i] = fp[size_t(j)];
      } else {
        const double slope = (double(fp[size_t(j) + 1]) - double(fp[size_t(j)])) / (double(j + 1) - double(j));
        out[i] = slope * (v - double(j)) + double(fp[size_t(j)]);
      }
    }
  }
  return out;
}

std::vector<double> karras_sigmas(double sigma_min, double sigma_max, int n) {
  const double rho = 7.0;
  const std::vector<double> ramp = np_linspace(0, 1, n);
  const double min_inv_rho = std::pow(sigma_min, 1 / rho);
  const double max_inv_rho = std::pow(sigma_max, 1 / rho);
  std::vector<double> out(ramp.size());
  for (size_t i = 0; i < ramp.size(); ++i) out[i] = std::pow(max_inv_rho + ramp[i] * (min_inv_rho - max_inv_rho), rho);
  return out;
}

double sigma_to_t(double sigma, const std::vector<float>& log_sigmas) {
  const int n = int(log_sigmas.size());
  // It interpolates between two neighbouring training sigmas (low_idx, low_idx + 1).
  check(n >= 2, "Karras sigmas need at least 2 training timesteps (num_train_timesteps / trained_betas), got " +
                    std::to_string(n));
  const double log_sigma = std::log(std::max(sigma, 1e-10));
  // low_idx: the last index whose log sigma is <= log_sigma (0 when none), at most n - 2.
  int low = 0;
  for (int i = 0; i < n; ++i)
    if (log_sigma - double(log_sigmas[size_t(i)]) >= 0) low = i;
  low = std::min(low, n - 2);
  const float lo = log_sigmas[size_t(low)], hi = log_sigmas[size_t(low) + 1];
  const float span = lo - hi;  // float32 in diffusers (np.float32 - np.float32)
  double w = (double(lo) - log_sigma) / double(span);
  w = std::clamp(w, 0.0, 1.0);
  return (1 - w) * double(low) + w * double(low + 1);
}

}  // namespace sdwalk::sched
