// diffusers DDIMInverseScheduler (v0.30.3): the DDIM update run backwards, image -> noise. Used by
// DDIM inversion (pipeline/inversion.cpp); eta is always 0.
#include <algorithm>
#include <cmath>

#include "ddim_prediction.hpp"
#include "elementwise.hpp"
#include "schedule_math.hpp"
#include "scheduler_classes.hpp"

namespace sdwalk::sched {

DDIMInverseScheduler::DDIMInverseScheduler(SchedulerConfig config) : AlphaScheduler(std::move(config)) {
  // diffusers' initial_alpha_cumprod: the alpha of the step below timestep 0.
  final_alpha_cumprod_ = config_.set_alpha_to_one ? 1.0f : alphas_cumprod_.front();
  const std::string& s = config_.timestep_spacing;
  check(s == "leading" || s == "trailing",
        "DDIMInverseScheduler: timestep_spacing '" + s + "' is not supported (leading, trailing; as diffusers)");
}

void DDIMInverseScheduler::set_timesteps(int n) {
  const int N = config_.num_train_timesteps;
  check(n >= 1 && n <= N, "DDIMInverseScheduler: num_inference_steps must be in [1, " + std::to_string(N) +
                              "], got " + std::to_string(n));
  timesteps_.clear();
  if (config_.timestep_spacing == "leading") {
    // (np.arange(0, n) * (N // n)).round() + steps_offset, ascending
    const int ratio = N / n;
    for (int i = 0; i < n; ++i) timesteps_.push_back(double(i * ratio + config_.steps_offset));
  } else {
    // np.round(np.arange(N, 0, -N / n)[::-1]) - 1
    std::vector<double> v = np_arange(N, 0, -double(N) / n);
    std::reverse(v.begin(), v.end());
    for (double x : v) timesteps_.push_back(double(int64_t(np_round(x)) - 1));
  }
  num_inference_steps_ = n;
  reset_step_index();
}

Tensor DDIMInverseScheduler::step(const Tensor& model_output, double timestep, const Tensor& sample, TorchGenerator*) {
  check(num_inference_steps_ > 0, "DDIMInverseScheduler: call set_timesteps before step");
  const int64_t N = config_.num_train_timesteps;
  // The latent comes from `from` and goes to `timestep` (diffusers names them the other way round).
  const int64_t to = int64_t(timestep);
  const int64_t from = std::min(to - N / num_inference_steps_, N - 1);
  const float alpha_prod_t = alpha_prod(from);  // final_alpha_cumprod_ below 0
  const float alpha_prod_t_next = alpha_prod(to);
  const auto [pred_original_sample, pred_epsilon] = ddim_prediction(config_, sample, model_output, alpha_prod_t);
  const float direction_coeff = std::sqrt(1.0f - alpha_prod_t_next);
  const float sqrt_alpha_next = std::sqrt(alpha_prod_t_next);
  return map_f32([=](float p, float e) { return sqrt_alpha_next * p + direction_coeff * e; }, pred_original_sample,
                 pred_epsilon);
}

}  // namespace sdwalk::sched
