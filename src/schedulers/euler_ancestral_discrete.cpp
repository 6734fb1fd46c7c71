// diffusers EulerAncestralDiscreteScheduler (k-diffusion's Euler ancestral sampler, eta = 1).
#include <cmath>

#include "elementwise.hpp"
#include "schedule_math.hpp"
#include "scheduler_classes.hpp"

namespace sdwalk::sched {

EulerAncestralDiscreteScheduler::EulerAncestralDiscreteScheduler(SchedulerConfig config)
    : SigmaScheduler(std::move(config)) {
  check(config_.prediction_type != "sample",
        "EulerAncestralDiscreteScheduler: prediction_type 'sample' is not supported (as in diffusers)");
  if (config_.rescale_betas_zero_snr) alphas_cumprod_.back() = std::ldexp(1.0f, -24);
}

void EulerAncestralDiscreteScheduler::set_timesteps(int n) {
  const std::vector<float> t32 = spaced_timesteps_f32(n);
  timesteps_.assign(t32.begin(), t32.end());
  sigmas_.clear();
  for (double s : np_interp_arange(timesteps_, train_sigmas(alphas_cumprod_))) sigmas_.push_back(double(float(s)));
  sigmas_.push_back(0.0);
  num_inference_steps_ = n;
  reset_step_index();
}

Tensor EulerAncestralDiscreteScheduler::step(const Tensor& model_output, double timestep, const Tensor& sample,
                                             TorchGenerator* generator) {
  check(generator != nullptr, "EulerAncestralDiscreteScheduler: step needs a generator (it draws noise)");
  const int index = current_step_index(timestep);
  check(index + 1 < int(sigmas_.size()), "EulerAncestralDiscreteScheduler: step called past the last timestep");
  const float sigma = float(sigmas_[size_t(index)]);

  Tensor pred_original_sample;
  if (config_.prediction_type == "epsilon") {
    pred_original_sample = map_f32([sigma](float x, float m) { return x - sigma * m; }, sample, model_output);
  } else {
    const float c_out = -sigma / std::sqrt(sigma * sigma + 1.0f);
    const float c_in = sigma * sigma + 1.0f;
    pred_original_sample = map_f32([=](float x, float m) { return m * c_out + x / c_in; }, sample, model_output);
  }
  const float sigma_from = sigma;
  const float sigma_to = float(sigmas_[size_t(index) + 1]);
  const float to2 = sigma_to * sigma_to, from2 = sigma_from * sigma_from;
  const float sigma_up = std::sqrt(to2 * (from2 - to2) / from2);
  const float sigma_down = std::sqrt(to2 - sigma_up * sigma_up);
  const float dt = sigma_down - sigma;
  const Tensor noise = generator->randn(model_output.shape());
  step_index_ = index + 1;
  return map_f32(
      [=](float x, float p, float z) {
        const float derivative = (x - p) / sigma;
        const float prev = x + derivative * dt;
        return prev + z * sigma_up;
      },
      sample, pred_original_sample, noise);
}

}  // namespace sdwalk::sched
