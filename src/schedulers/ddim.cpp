// diffusers DDIMScheduler (Song et al. 2020), eta from SchedulerConfig::eta (0 = deterministic).
#include <algorithm>
#include <cmath>

#include "ddim_prediction.hpp"
#include "elementwise.hpp"
#include "schedule_math.hpp"
#include "scheduler_classes.hpp"

namespace sdwalk::sched {

DDIMScheduler::DDIMScheduler(SchedulerConfig config) : AlphaScheduler(std::move(config)) {
  final_alpha_cumprod_ = config_.set_alpha_to_one ? 1.0f : alphas_cumprod_.front();
}

void DDIMScheduler::set_timesteps(int n) {
  const int N = config_.num_train_timesteps;
  check(n >= 1 && n <= N, "DDIMScheduler: num_inference_steps must be in [1, " + std::to_string(N) + "], got " +
                              std::to_string(n));
  timesteps_.clear();
  if (config_.timestep_spacing == "linspace") {
    // np.linspace(0, N - 1, n).round()[::-1].astype(np.int64)
    for (double v : np_linspace(0, N - 1, n)) timesteps_.push_back(np_round(v));
    std::reverse(timesteps_.begin(), timesteps_.end());
  } else if (config_.timestep_spacing == "leading") {
    const int ratio = N / n;
    for (int i = n - 1; i >= 0; --i) timesteps_.push_back(double(i * ratio + config_.steps_offset));
  } else {
    for (double v : np_arange(N, 0, -double(N) / n)) timesteps_.push_back(double(int64_t(np_round(v)) - 1));
  }
  num_inference_steps_ = n;
  reset_step_index();
}

Tensor DDIMScheduler::step(const Tensor& model_output, double timestep, const Tensor& sample,
                           TorchGenerator* generator) {
  check(num_inference_steps_ > 0, "DDIMScheduler: call set_timesteps before step");
  const int64_t t = int64_t(timestep);
  const int64_t prev_t = t - config_.num_train_timesteps / num_inference_steps_;
  const float alpha_prod_t = alpha_prod(t);
  const float alpha_prod_t_prev = alpha_prod(prev_t);
  const float beta_prod_t = 1.0f - alpha_prod_t;
  const auto [pred_original_sample, pred_epsilon] = ddim_prediction(config_, sample, model_output, alpha_prod_t);
  // sigma_t(eta), formula (16)
  const float beta_prod_t_prev = 1.0f - alpha_prod_t_prev;
  const float variance = (beta_prod_t_prev / beta_prod_t) * (1.0f - alpha_prod_t / alpha_prod_t_prev);
  const float std_dev_t = float(config_.eta) * std::sqrt(variance);
  const float direction_coeff = std::sqrt(1.0f - alpha_prod_t_prev - std_dev_t * std_dev_t);
  const float sqrt_alpha_prev = std::sqrt(alpha_prod_t_prev);
  Tensor prev = map_f32([=](float p, float e) { return sqrt_alpha_prev * p + direction_coeff * e; },
                        pred_original_sample, pred_epsilon);
  if (config_.eta > 0) {
    check(generator != nullptr, "DDIMScheduler: step with eta > 0 needs a generator (it draws noise)");
    const Tensor noise = generator->randn(model_output.shape());
    prev = map_f32([std_dev_t](float x, float z) { return x + std_dev_t * z; }, prev, noise);
  }
  return prev;
}

}  // namespace sdwalk::sched
