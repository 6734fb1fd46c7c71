// diffusers LMSDiscreteScheduler (k-diffusion's linear multistep sampler).
#include <algorithm>
#include <cmath>

#include "elementwise.hpp"
#include "quadrature.hpp"
#include "schedule_math.hpp"
#include "scheduler_classes.hpp"

namespace sdwalk::sched {

LMSDiscreteScheduler::LMSDiscreteScheduler(SchedulerConfig config) : SigmaScheduler(std::move(config)) {}

void LMSDiscreteScheduler::set_timesteps(int n) {
  const std::vector<float> t32 = spaced_timesteps_f32(n);
  std::vector<double> timesteps(t32.begin(), t32.end());
  const std::vector<float> train = train_sigmas(alphas_cumprod_);
  const std::vector<float> log_sigmas = log_f32(train);
  std::vector<double> sigmas = np_interp_arange(timesteps, train);
  if (config_.use_karras_sigmas) {
    sigmas = karras_sigmas(sigmas.back(), sigmas.front(), n);
    timesteps.clear();
    for (double s : sigmas) timesteps.push_back(sigma_to_t(s, log_sigmas));  // float64 in diffusers
  }
  sigmas_.clear();
  for (double s : sigmas) sigmas_.push_back(double(float(s)));
  sigmas_.push_back(0.0);
  timesteps_ = timesteps;
  num_inference_steps_ = n;
  derivatives_.clear();
  reset_step_index();
}

double LMSDiscreteScheduler::lms_coefficient(int order, int t, int current_order) const {
  // diffusers integrates the Lagrange basis polynomial of `current_order` over [sigma_t, sigma_t+1];
  // its integrand runs on float32 torch scalars (tau is rounded to float32 first).
  auto sigma = [this](int i) { return float(sigmas_.at(size_t(i))); };
  auto lms_derivative = [&](double tau) {
    const float tau32 = float(tau);
    float prod = 1.0f;
    for (int k = 0; k < order; ++k) {
      if (k == current_order) continue;
      prod = prod * ((tau32 - sigma(t - k)) / (sigma(t - current_order) - sigma(t - k)));
    }
    return double(prod);
  };
  return quad(lms_derivative, sigmas_.at(size_t(t)), sigmas_.at(size_t(t) + 1), 1e-4).value;
}

Tensor LMSDiscreteScheduler::step(const Tensor& model_output, double timestep, const Tensor& sample,
                                  TorchGenerator* /*generator*/) {
  constexpr int kOrder = 4;  // diffusers' step(order=4) default
  const int index = current_step_index(timestep);
  check(index + 1 < int(sigmas_.size()), "LMSDiscreteScheduler: step called past the last timestep");
  const float sigma = float(sigmas_[size_t(index)]);

  Tensor pred_original_sample;
  if (config_.prediction_type == "epsilon") {
    pred_original_sample = map_f32([sigma](float x, float m) { return x - sigma * m; }, sample, model_output);
  } else if (config_.prediction_type == "v_prediction") {
    const float c_out = -sigma / std::sqrt(sigma * sigma + 1.0f);
    const float c_in = sigma * sigma + 1.0f;
    pred_original_sample = map_f32([=](float x, float m) { return m * c_out + x / c_in; }, sample, model_output);
  } else {
    pred_original_sample = as_f32(model_output);
  }
  // ODE derivative
  derivatives_.push_back(
      map_f32([sigma](float x, float p) { return (x - p) / sigma; }, sample, pred_original_sample));
  if (int(derivatives_.size()) > kOrder) derivatives_.pop_front();

  const int order = std::min(restarted_ ? int(derivatives_.size()) : index + 1, kOrder);
  // prev = sample + sum(coeff_k * derivative_k) over the newest derivatives (Python's zip and sum)
  Tensor acc;
  const int terms = std::min(order, int(derivatives_.size()));
  for (int k = 0; k < terms; ++k) {
    const float coeff = float(lms_coefficient(order, index, k));
    const Tensor& d = derivatives_[derivatives_.size() - 1 - size_t(k)];
    acc = k == 0 ? map_f32([coeff](float v) { return coeff * v; }, d)
                 : map_f32([coeff](float a, float v) { return a + coeff * v; }, acc, d);
  }
  step_index_ = index + 1;
  return map_f32([](float x, float a) { return x + a; }, sample, acc);
}

}  // namespace sdwalk::sched
