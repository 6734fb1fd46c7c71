// What DDIM, PNDM and LCM share in diffusers: indexing alphas_cumprod by timestep and the
// DDPM forward process for add_noise.
#include <cmath>
#include <string>

#include "elementwise.hpp"
#include "scheduler_classes.hpp"

namespace sdwalk::sched {

float AlphaScheduler::alpha_prod(int64_t timestep) const {
  if (timestep < 0) return final_alpha_cumprod_;
  check(timestep < int64_t(alphas_cumprod_.size()), config_.class_name + ": timestep " + std::to_string(timestep) +
                                                        " is outside the " + std::to_string(alphas_cumprod_.size()) +
                                                        " training timesteps");
  return alphas_cumprod_[size_t(timestep)];
}

Tensor AlphaScheduler::add_noise(const Tensor& original, const Tensor& noise, double timestep) const {
  const int64_t t = int64_t(timestep);
  check(t >= 0 && t < int64_t(alphas_cumprod_.size()),
        config_.class_name + ": add_noise timestep " + std::to_string(t) + " is outside the training timesteps");
  const float a = alphas_cumprod_[size_t(t)];
  const float sqrt_alpha = std::sqrt(a);
  const float sqrt_one_minus_alpha = std::sqrt(1.0f - a);
  return map_f32([=](float x, float n) { return sqrt_alpha * x + sqrt_one_minus_alpha * n; }, original, noise);
}

}  // namespace sdwalk::sched
