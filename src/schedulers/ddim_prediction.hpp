#pragma once
// What DDIMScheduler and DDIMInverseScheduler both derive from a model output: the predicted
// original sample x0 (clipped when the config says so) and the predicted noise, for epsilon, sample
// and v_prediction models (diffusers' step(), formula (12) of the DDIM paper).
#include <algorithm>
#include <cmath>

#include "elementwise.hpp"
#include "sdwalk/scheduler.hpp"

namespace sdwalk::sched {

struct DdimPrediction {
  Tensor original_sample, epsilon;
};

inline DdimPrediction ddim_prediction(const SchedulerConfig& config, const Tensor& sample, const Tensor& model_output,
                                      float alpha_prod_t) {
  const float sqrt_alpha = std::sqrt(alpha_prod_t), sqrt_beta = std::sqrt(1.0f - alpha_prod_t);
  DdimPrediction p;
  if (config.prediction_type == "epsilon") {
    p.original_sample = map_f32([=](float x, float m) { return (x - sqrt_beta * m) / sqrt_alpha; }, sample, model_output);
    p.epsilon = as_f32(model_output);
  } else if (config.prediction_type == "sample") {
    p.original_sample = as_f32(model_output);
    p.epsilon = map_f32([=](float x, float o) { return (x - sqrt_alpha * o) / sqrt_beta; }, sample, p.original_sample);
  } else {  // v_prediction
    p.original_sample = map_f32([=](float x, float m) { return sqrt_alpha * x - sqrt_beta * m; }, sample, model_output);
    p.epsilon = map_f32([=](float x, float m) { return sqrt_alpha * m + sqrt_beta * x; }, sample, model_output);
  }
  if (config.clip_sample) {
    const float r = float(config.clip_sample_range);
    p.original_sample = map_f32([r](float o) { return std::clamp(o, -r, r); }, p.original_sample);
  }
  return p;
}

}  // namespace sdwalk::sched
