// diffusers DPMSolverMultistepScheduler: DPM-Solver++ (Lu et al. 2022), orders 1 and 2,
// midpoint/heun second-order update, optional Karras sigmas (DPM++ 2M / DPM++ 2M Karras).
#include <algorithm>
#include <cmath>

#include "elementwise.hpp"
#include "schedule_math.hpp"
#include "scheduler_classes.hpp"

namespace sdwalk::sched {
namespace {

// diffusers' _sigma_to_alpha_sigma_t, float32: alpha_t = 1 / (sigma**2 + 1) ** 0.5, sigma_t = sigma * alpha_t.
struct AlphaSigma {
  float alpha, sigma, lambda;
};
AlphaSigma alpha_sigma(float sigma) {
  AlphaSigma r;
  r.alpha = 1.0f / std::sqrt(sigma * sigma + 1.0f);
  r.sigma = sigma * r.alpha;
  r.lambda = std::log(r.alpha) - std::log(r.sigma);
  return r;
}

}  // namespace

DPMSolverMultistepScheduler::DPMSolverMultistepScheduler(SchedulerConfig config) : Scheduler(std::move(config)) {
  const auto& c = config_;
  check(c.algorithm_type == "dpmsolver++",
        "DPMSolverMultistepScheduler: algorithm_type '" + c.algorithm_type + "' is not supported (dpmsolver++)");
  check(c.solver_order == 1 || c.solver_order == 2,
        "DPMSolverMultistepScheduler: solver_order " + std::to_string(c.solver_order) + " is not supported (1, 2)");
  check(c.solver_type == "midpoint" || c.solver_type == "heun",
        "DPMSolverMultistepScheduler: solver_type '" + c.solver_type + "' is not supported (midpoint, heun)");
  check(!c.use_lu_lambdas, "DPMSolverMultistepScheduler: use_lu_lambdas is not supported");
  check(!c.variance_type, "DPMSolverMultistepScheduler: variance_type '" + c.variance_type.value_or("") +
                              "' is not supported (null)");
  check(c.final_sigmas_type == "zero" || c.final_sigmas_type == "sigma_min",
        "DPMSolverMultistepScheduler: final_sigmas_type '" + c.final_sigmas_type + "' is not supported");
  if (c.rescale_betas_zero_snr) alphas_cumprod_.back() = std::ldexp(1.0f, -24);
}

std::string DPMSolverMultistepScheduler::name() const {
  return "dpmpp_" + std::to_string(config_.solver_order) + "m" + (config_.use_karras_sigmas ? "_karras" : "");
}

void DPMSolverMultistepScheduler::set_timesteps(int n) {
  const int N = config_.num_train_timesteps;
  check(n >= 1 && n <= N, "DPMSolverMultistepScheduler: num_inference_steps must be in [1, " + std::to_string(N) +
                              "], got " + std::to_string(n));
  // Clip the schedule where lambda(t) falls below lambda_min_clipped (none for the default -inf).
  std::vector<float> lambda_flipped;  // torch.flip(lambda_t)
  for (size_t i = alphas_cumprod_.size(); i-- > 0;) {
    const float a = alphas_cumprod_[i];
    lambda_flipped.push_back(std::log(std::sqrt(a)) - std::log(std::sqrt(1.0f - a)));
  }
  const auto clipped = std::lower_bound(lambda_flipped.begin(), lambda_flipped.end(),
                                        float(config_.lambda_min_clipped)) - lambda_flipped.begin();
  const int last_timestep = N - int(clipped);

  std::vector<double> timesteps;
  if (config_.timestep_spacing == "linspace") {
    // np.linspace(0, last - 1, n + 1).round()[::-1][:-1]
    std::vector<double> v = np_linspace(0, last_timestep - 1, n + 1);
    for (int i = n; i >= 1; --i) timesteps.push_back(np_round(v[size_t(i)]));
  } else if (config_.timestep_spacing == "leading") {
    const int ratio = last_timestep / (n + 1);
    for (int i = n; i >= 1; --i) timesteps.push_back(double(i * ratio + config_.steps_offset));
  } else {
    for (double v : np_arange(last_timestep, 0, -double(N) / n)) timesteps.push_back(double(int64_t(np_round(v)) - 1));
  }

  const std::vector<float> train = train_sigmas(alphas_cumprod_);
  std::vector<double> sigmas;
  if (config_.use_karras_sigmas) {
    const std::vector<float> log_sigmas = log_f32(train);
    // in_sigmas = np.flip(train): sigma_min = train[0], sigma_max = train[-1]
    sigmas = karras_sigmas(train.front(), train.back(), n);
    timesteps.clear();
    for (double s : sigmas) timesteps.push_back(np_round(sigma_to_t(s, log_sigmas)));
  } else {
    sigmas = np_interp_arange(timesteps, train);
  }
  double sigma_last = 0.0;
  if (config_.final_sigmas_type == "sigma_min") {
    const float a0 = alphas_cumprod_.front();
    sigma_last = double(std::sqrt((1.0f - a0) / a0));
  }
  sigmas_.clear();
  for (double s : sigmas) sigmas_.push_back(double(float(s)));
  sigmas_.push_back(double(float(sigma_last)));
  for (double& t : timesteps) {
    // Karras timesteps of a schedule whose alphas_cumprod underflow to 0 (infinite sigmas) are NaN.
    check(std::isfinite(t), "DPMSolverMultistepScheduler: the config's beta schedule gives infinite sigmas "
                            "(alphas_cumprod reaches 0); no timesteps can be derived from it");
    t = double(int64_t(t));  // .astype(int64)
  }
  timesteps_ = timesteps;
  num_inference_steps_ = int(timesteps_.size());
  model_outputs_.assign(size_t(config_.solver_order), Tensor());
  lower_order_nums_ = 0;
  reset_step_index();
}

Tensor DPMSolverMultistepScheduler::convert_model_output(const Tensor& model_output, const Tensor& sample,
                                                         int step_index) const {
  // dpmsolver++ works on the data prediction x0.
  const AlphaSigma s = alpha_sigma(float(sigmas_[size_t(step_index)]));
  if (config_.prediction_type == "epsilon")
    return map_f32([=](float x, float m) { return (x - s.sigma * m) / s.alpha; }, sample, model_output);
  if (config_.prediction_type == "v_prediction")
    return map_f32([=](float x, float m) { return s.alpha * x - s.sigma * m; }, sample, model_output);
  return as_f32(model_output);
}

Tensor DPMSolverMultistepScheduler::step(const Tensor& model_output, double timestep, const Tensor& sample,
                                         TorchGenerator* /*generator*/) {
  check(!timesteps_.empty(), "DPMSolverMultistepScheduler: call set_timesteps before step");
  int index;
  if (step_index_) {
    index = *step_index_;
  } else if (begin_index_) {
    index = *begin_index_;
  } else {
    // diffusers' index_for_timestep, which falls back to the last step when t is absent.
    std::vector<int> hits;
    for (size_t i = 0; i < timesteps_.size(); ++i)
      if (timesteps_[i] == timestep) hits.push_back(int(i));
    index = hits.empty() ? int(timesteps_.size()) - 1 : hits.size() > 1 ? hits[1] : hits[0];
  }
  check(index + 1 < int(sigmas_.size()), "DPMSolverMultistepScheduler: step called past the last timestep");
  const int n = int(timesteps_.size());
  // Lower order at the end: more stable for few steps.
  const bool lower_order_final =
      index == n - 1 && (config_.euler_at_final || (config_.lower_order_final && n < 15) ||
                         config_.final_sigmas_type == "zero");

  const Tensor x0 = convert_model_output(model_output, sample, index);
  for (size_t i = 0; i + 1 < model_outputs_.size(); ++i) model_outputs_[i] = model_outputs_[i + 1];
  model_outputs_.back() = x0;

  const AlphaSigma t = alpha_sigma(float(sigmas_[size_t(index) + 1]));
  const AlphaSigma s0 = alpha_sigma(float(sigmas_[size_t(index)]));
  const float h = t.lambda - s0.lambda;
  const float ratio = t.sigma / s0.sigma;
  const float c0 = t.alpha * (std::exp(-h) - 1.0f);  // alpha_t * (exp(-h) - 1)
  Tensor prev;
  if (config_.solver_order == 1 || lower_order_nums_ < 1 || lower_order_final) {
    prev = map_f32([=](float x, float d0) { return ratio * x - c0 * d0; }, sample, x0);
  } else {
    const AlphaSigma s1 = alpha_sigma(float(sigmas_[size_t(index) - 1]));
    const float h0 = s0.lambda - s1.lambda;
    const float r0 = h0 / h;
    const float inv_r0 = 1.0f / r0;
    const Tensor& m0 = model_outputs_[model_outputs_.size() - 1];
    const Tensor& m1 = model_outputs_[model_outputs_.size() - 2];
    const Tensor d1 = map_f32([inv_r0](float a, float b) { return inv_r0 * (a - b); }, m0, m1);
    if (config_.solver_type == "midpoint") {
      const float c1 = 0.5f * c0;
      prev = map_f32([=](float x, float d0, float dd) { return ratio * x - c0 * d0 - c1 * dd; }, sample, m0, d1);
    } else {
      const float c1 = t.alpha * ((std::exp(-h) - 1.0f) / h + 1.0f);
      prev = map_f32([=](float x, float d0, float dd) { return ratio * x - c0 * d0 + c1 * dd; }, sample, m0, d1);
    }
  }
  if (lower_order_nums_ < config_.solver_order) ++lower_order_nums_;
  step_index_ = index + 1;
  return prev;
}

Tensor DPMSolverMultistepScheduler::add_noise(const Tensor& original, const Tensor& noise, double timestep) const {
  int index;
  if (!begin_index_) {
    std::vector<int> hits;
    for (size_t i = 0; i < timesteps_.size(); ++i)
      if (timesteps_[i] == timestep) hits.push_back(int(i));
    index = hits.empty() ? int(timesteps_.size()) - 1 : hits.size() > 1 ? hits[1] : hits[0];
  } else {
    index = step_index_ ? *step_index_ : *begin_index_;
  }
  const AlphaSigma s = alpha_sigma(float(sigmas_.at(size_t(index))));
  return map_f32([=](float x, float z) { return s.alpha * x + s.sigma * z; }, original, noise);
}

}  // namespace sdwalk::sched
