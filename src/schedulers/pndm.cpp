// diffusers PNDMScheduler with skip_prk_steps (the PLMS sampler SD 1.x ships with).
#include <algorithm>
#include <cmath>

#include "elementwise.hpp"
#include "schedule_math.hpp"
#include "scheduler_classes.hpp"

namespace sdwalk::sched {

PNDMScheduler::PNDMScheduler(SchedulerConfig config) : AlphaScheduler(std::move(config)) {
  check(config_.skip_prk_steps,
        "PNDMScheduler: skip_prk_steps false (Runge-Kutta warm-up steps) is not supported; use skip_prk_steps true");
  check(config_.prediction_type != "sample", "PNDMScheduler: prediction_type 'sample' is not supported (as in diffusers)");
  final_alpha_cumprod_ = config_.set_alpha_to_one ? 1.0f : alphas_cumprod_.front();
}

void PNDMScheduler::set_timesteps(int n) {
  const int N = config_.num_train_timesteps;
  check(n >= 1 && n <= N, "PNDMScheduler: num_inference_steps must be in [1, " + std::to_string(N) + "], got " +
                              std::to_string(n));
  std::vector<int64_t> base;  // diffusers' _timesteps, ascending
  if (config_.timestep_spacing == "linspace") {
    for (double v : np_linspace(0, N - 1, n)) base.push_back(int64_t(np_round(v)));
  } else if (config_.timestep_spacing == "leading") {
    const int ratio = N / n;
    for (int i = 0; i < n; ++i) base.push_back(int64_t(i) * ratio + config_.steps_offset);
  } else {
    for (double v : np_arange(N, 0, -double(N) / n)) base.push_back(int64_t(np_round(v)) - 1);
    std::reverse(base.begin(), base.end());
  }
  // PLMS: _timesteps[:-1], _timesteps[-2:-1] (the second-to-last repeated), _timesteps[-1:], reversed.
  std::vector<int64_t> plms(base.begin(), base.end() - 1);
  if (base.size() >= 2) plms.push_back(base[base.size() - 2]);
  plms.push_back(base.back());
  std::reverse(plms.begin(), plms.end());
  timesteps_.assign(plms.begin(), plms.end());
  num_inference_steps_ = n;
  ets_.clear();
  cur_sample_ = Tensor();
  counter_ = 0;
  reset_step_index();
}

Tensor PNDMScheduler::step(const Tensor& model_output, double timestep, const Tensor& sample,
                           TorchGenerator* /*generator*/) {
  check(num_inference_steps_ > 0, "PNDMScheduler: call set_timesteps before step");
  const int64_t ratio = config_.num_train_timesteps / num_inference_steps_;
  int64_t t = int64_t(timestep);
  int64_t prev_t = t - ratio;
  if (counter_ != 1) {
    while (ets_.size() > 3) ets_.pop_front();
    ets_.push_back(as_f32(model_output));
  } else {
    // The second call at the first timestep: average the two model outputs, step from t + ratio.
    prev_t = t;
    t = t + ratio;
  }

  Tensor eps;
  Tensor x = as_f32(sample);
  const size_t n = ets_.size();
  if (n == 1 && counter_ == 0) {
    eps = as_f32(model_output);
    cur_sample_ = x;
  } else if (n == 1 && counter_ == 1) {
    eps = map_f32([](float m, float e1) { return (m + e1) / 2.0f; }, model_output, ets_[n - 1]);
    x = cur_sample_;
    cur_sample_ = Tensor();
  } else if (n == 2) {
    eps = map_f32([](float e1, float e2) { return (3.0f * e1 - e2) / 2.0f; }, ets_[n - 1], ets_[n - 2]);
  } else if (n == 3) {
    eps = map_f32([](float e1, float e2, float e3) { return (23.0f * e1 - 16.0f * e2 + 5.0f * e3) / 12.0f; },
                  ets_[n - 1], ets_[n - 2], ets_[n - 3]);
  } else {
    const float c = float(1.0 / 24.0);
    eps = map_f32(
        [c](float e1, float e2, float e3, float e4) { return c * (55.0f * e1 - 59.0f * e2 + 37.0f * e3 - 9.0f * e4); },
        ets_[n - 1], ets_[n - 2], ets_[n - 3], ets_[n - 4]);
  }

  // _get_prev_sample: formula (9) of the PNDM paper.
  const float alpha_prod_t = alpha_prod(t);
  const float alpha_prod_t_prev = alpha_prod(prev_t);
  const float beta_prod_t = 1.0f - alpha_prod_t;
  const float beta_prod_t_prev = 1.0f - alpha_prod_t_prev;
  if (config_.prediction_type == "v_prediction") {
    const float sa = std::sqrt(alpha_prod_t), sb = std::sqrt(beta_prod_t);
    eps = map_f32([=](float m, float s) { return sa * m + sb * s; }, eps, x);
  }
  const float sample_coeff = std::sqrt(alpha_prod_t_prev / alpha_prod_t);
  const float denom = alpha_prod_t * std::sqrt(beta_prod_t_prev) +
                      std::sqrt(alpha_prod_t * beta_prod_t * alpha_prod_t_prev);
  const float diff = alpha_prod_t_prev - alpha_prod_t;
  ++counter_;
  return map_f32([=](float s, float m) { return sample_coeff * s - diff * m / denom; }, x, eps);
}

}  // namespace sdwalk::sched
