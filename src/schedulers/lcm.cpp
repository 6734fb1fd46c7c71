// diffusers LCMScheduler (latent consistency models, multistep sampling with fresh noise).
#include <algorithm>
#include <cmath>

#include "elementwise.hpp"
#include "schedule_math.hpp"
#include "scheduler_classes.hpp"

namespace sdwalk::sched {

LCMScheduler::LCMScheduler(SchedulerConfig config) : AlphaScheduler(std::move(config)) {
  final_alpha_cumprod_ = config_.set_alpha_to_one ? 1.0f : alphas_cumprod_.front();
}

void LCMScheduler::set_timesteps(int n) {
  const int N = config_.num_train_timesteps;
  const int original_steps = config_.original_inference_steps;
  check(original_steps >= 1 && original_steps <= N, "LCMScheduler: original_inference_steps must be in [1, " +
                                                         std::to_string(N) + "]");
  check(n >= 1 && n <= original_steps, "LCMScheduler: num_inference_steps must be in [1, " +
                                           std::to_string(original_steps) + "] (original_inference_steps), got " +
                                           std::to_string(n));
  // The distillation schedule k, 2k, ..., minus one (strength 1), reversed; then n evenly spaced picks.
  const int k = N / original_steps;
  std::vector<int64_t> origin;
  for (int i = original_steps; i >= 1; --i) origin.push_back(int64_t(i) * k - 1);
  timesteps_.clear();
  for (double v : np_linspace(0, double(origin.size()), n, /*endpoint=*/false))
    timesteps_.push_back(double(origin[size_t(std::floor(v))]));
  num_inference_steps_ = n;
  reset_step_index();
}

Tensor LCMScheduler::step(const Tensor& model_output, double timestep, const Tensor& sample,
                          TorchGenerator* generator) {
  const int index = current_step_index(timestep);
  const int64_t t = int64_t(timestep);
  const int64_t prev_t = index + 1 < int(timesteps_.size()) ? int64_t(timesteps_[size_t(index) + 1]) : t;
  const float alpha_prod_t = alpha_prod(t);
  const float alpha_prod_t_prev = alpha_prod(prev_t);
  const float beta_prod_t = 1.0f - alpha_prod_t;
  const float beta_prod_t_prev = 1.0f - alpha_prod_t_prev;

  // Boundary-condition scalings (sigma_data = 0.5), float32 like diffusers' tensor arithmetic.
  const float scaled = float(t) * float(config_.timestep_scaling);
  const float d = scaled * scaled + 0.25f;
  const float c_skip = (1.0f / d) * 0.25f;  // 0.25 / tensor is reciprocal * 0.25 in torch
  const float c_out = scaled / std::sqrt(d);

  const float sqrt_alpha = std::sqrt(alpha_prod_t), sqrt_beta = std::sqrt(beta_prod_t);
  Tensor pred;
  if (config_.prediction_type == "epsilon") {
    pred = map_f32([=](float x, float m) { return (x - sqrt_beta * m) / sqrt_alpha; }, sample, model_output);
  } else if (config_.prediction_type == "sample") {
    pred = as_f32(model_output);
  } else {
    pred = map_f32([=](float x, float m) { return sqrt_alpha * x - sqrt_beta * m; }, sample, model_output);
  }
  if (config_.clip_sample) {
    const float r = float(config_.clip_sample_range);
    pred = map_f32([r](float p) { return std::clamp(p, -r, r); }, pred);
  }
  const Tensor denoised = map_f32([=](float p, float x) { return c_out * p + c_skip * x; }, pred, sample);
  step_index_ = index + 1;
  // Fresh noise on every step but the last (none for one-step sampling).
  if (index == num_inference_steps_ - 1) return denoised;
  check(generator != nullptr, "LCMScheduler: step needs a generator (it draws noise)");
  const Tensor noise = generator->randn(model_output.shape());
  const float sa_prev = std::sqrt(alpha_prod_t_prev), sb_prev = std::sqrt(beta_prod_t_prev);
  return map_f32([=](float x, float z) { return sa_prev * x + sb_prev * z; }, denoised, noise);
}

}  // namespace sdwalk::sched
