// What LMS, Euler and EulerAncestral share in diffusers: sigma-scaled inputs, init_noise_sigma,
// timestep spacing in float32 and add_noise.
#include <algorithm>
#include <cmath>

#include "elementwise.hpp"
#include "schedule_math.hpp"
#include "scheduler_classes.hpp"

namespace sdwalk::sched {

float SigmaScheduler::init_noise_sigma() const {
  check(!sigmas_.empty(), config_.class_name + ": call set_timesteps before init_noise_sigma");
  const float max_sigma = float(*std::max_element(sigmas_.begin(), sigmas_.end()));
  if (config_.timestep_spacing == "linspace" || config_.timestep_spacing == "trailing") return max_sigma;
  return std::sqrt(max_sigma * max_sigma + 1.0f);
}

Tensor SigmaScheduler::scale_model_input(const Tensor& sample, double timestep) const {
  const float sigma = float(sigmas_.at(size_t(current_step_index(timestep))));
  const float denom = std::sqrt(sigma * sigma + 1.0f);  // (sigma**2 + 1) ** 0.5
  return map_f32([denom](float x) { return x / denom; }, sample);
}

std::vector<float> SigmaScheduler::spaced_timesteps_f32(int n) const {
  const int N = config_.num_train_timesteps;
  check(n >= 1 && n <= N, config_.class_name + ": num_inference_steps must be in [1, " + std::to_string(N) +
                              "], got " + std::to_string(n));
  std::vector<float> t;
  if (config_.timestep_spacing == "linspace") {
    // np.linspace(0, N - 1, n, dtype=np.float32)[::-1]
    for (double v : np_linspace(0, N - 1, n)) t.push_back(float(v));
    std::reverse(t.begin(), t.end());
  } else if (config_.timestep_spacing == "leading") {
    // (np.arange(0, n) * (N // n)).round()[::-1].astype(np.float32) + steps_offset
    const int ratio = N / n;
    for (int i = n - 1; i >= 0; --i) t.push_back(float(i * ratio) + float(config_.steps_offset));
  } else {
    // np.arange(N, 0, -N / n).round().astype(np.float32) - 1
    for (double v : np_arange(N, 0, -double(N) / n)) t.push_back(float(np_round(v)) - 1.0f);
  }
  return t;
}

int SigmaScheduler::noise_index(double timestep) const {
  if (!begin_index_) return index_for_timestep(timestep);
  if (step_index_) return *step_index_;  // add_noise after the first step (inpainting)
  return *begin_index_;                  // before the first step (img2img)
}

Tensor SigmaScheduler::add_noise(const Tensor& original, const Tensor& noise, double timestep) const {
  const float sigma = float(sigmas_.at(size_t(noise_index(timestep))));
  return map_f32([sigma](float x, float n) { return x + n * sigma; }, original, noise);
}

}  // namespace sdwalk::sched
