// diffusers EulerDiscreteScheduler (k-diffusion's Euler sampler, s_churn = 0).
#include <cmath>

#include "elementwise.hpp"
#include "schedule_math.hpp"
#include "scheduler_classes.hpp"

namespace sdwalk::sched {

EulerDiscreteScheduler::EulerDiscreteScheduler(SchedulerConfig config) : SigmaScheduler(std::move(config)) {
  check(config_.interpolation_type == "linear",
        "EulerDiscreteScheduler: interpolation_type '" + config_.interpolation_type + "' is not supported (linear)");
  check(config_.timestep_type == "discrete" || config_.timestep_type == "continuous",
        "EulerDiscreteScheduler: timestep_type '" + config_.timestep_type + "' is not supported");
  check(config_.final_sigmas_type == "zero" || config_.final_sigmas_type == "sigma_min",
        "EulerDiscreteScheduler: final_sigmas_type '" + config_.final_sigmas_type + "' is not supported");
  // Zero terminal SNR: diffusers replaces the last alphas_cumprod (0) by 2**-24 so sigma stays finite.
  if (config_.rescale_betas_zero_snr) alphas_cumprod_.back() = std::ldexp(1.0f, -24);
}

void EulerDiscreteScheduler::set_timesteps(int n) {
  const std::vector<float> t32 = spaced_timesteps_f32(n);
  std::vector<double> timesteps(t32.begin(), t32.end());
  const std::vector<float> train = train_sigmas(alphas_cumprod_);
  const std::vector<float> log_sigmas = log_f32(train);
  std::vector<double> sigmas = np_interp_arange(timesteps, train);
  if (config_.use_karras_sigmas) {
    sigmas = karras_sigmas(config_.sigma_min.value_or(sigmas.back()), config_.sigma_max.value_or(sigmas.front()), n);
    timesteps.clear();
    for (double s : sigmas) timesteps.push_back(double(float(sigma_to_t(s, log_sigmas))));
  }
  sigmas_.clear();
  for (double s : sigmas) sigmas_.push_back(double(float(s)));
  if (config_.final_sigmas_type == "sigma_min") {
    const float a0 = alphas_cumprod_.front();
    sigmas_.push_back(double(std::sqrt((1.0f - a0) / a0)));
  } else {
    sigmas_.push_back(0.0);
  }
  if (config_.timestep_type == "continuous" && config_.prediction_type == "v_prediction") {
    timesteps.clear();
    for (size_t i = 0; i + 1 < sigmas_.size(); ++i) timesteps.push_back(double(0.25f * std::log(float(sigmas_[i]))));
  }
  timesteps_ = timesteps;
  num_inference_steps_ = n;
  reset_step_index();
}

Tensor EulerDiscreteScheduler::step(const Tensor& model_output, double timestep, const Tensor& sample,
                                    TorchGenerator* generator) {
  const int index = current_step_index(timestep);
  check(index + 1 < int(sigmas_.size()), "EulerDiscreteScheduler: step called past the last timestep");
  const float sigma = float(sigmas_[size_t(index)]);
  // diffusers draws the churn noise on every step (unused with s_churn = 0); drawing it keeps a
  // shared generator's stream where diffusers leaves it.
  if (generator) generator->randn(model_output.shape());
  const float sigma_hat = sigma * 1.0f;  // sigma * (gamma + 1), gamma = 0

  Tensor pred_original_sample;
  if (config_.prediction_type == "epsilon") {
    pred_original_sample =
        map_f32([sigma_hat](float x, float m) { return x - sigma_hat * m; }, sample, model_output);
  } else if (config_.prediction_type == "v_prediction") {
    const float c_out = -sigma / std::sqrt(sigma * sigma + 1.0f);
    const float c_in = sigma * sigma + 1.0f;
    pred_original_sample = map_f32([=](float x, float m) { return m * c_out + x / c_in; }, sample, model_output);
  } else {
    pred_original_sample = as_f32(model_output);
  }
  const float dt = float(sigmas_[size_t(index) + 1]) - sigma_hat;
  step_index_ = index + 1;
  return map_f32(
      [=](float x, float p) {
        const float derivative = (x - p) / sigma_hat;
        return x + derivative * dt;
      },
      sample, pred_original_sample);
}

}  // namespace sdwalk::sched
