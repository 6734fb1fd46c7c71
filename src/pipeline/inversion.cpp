// Inversion of image latents to noise at guidance 1: diffusers' DDIM inversion loop, and an exact
// inversion that solves each DDIM sampling step for its input by fixed-point iteration.
//
// Why fixed-point rather than EDICT: EDICT's noise is a coupled pair (x, y) that only its own mixing
// sampler regenerates, at twice the UNet cost per step; the fixed-point noise is one ordinary latent
// that plain DDIM (any tool's) regenerates, that --noise takes and that walks slerp like drawn noise.
// Both are forward-only; the fixed point's convergence is measured (InversionResult::max_residual)
// rather than assumed.
#include <algorithm>
#include <cmath>

#include "sdwalk/error.hpp"
#include "sdwalk/stable_diffusion_pipeline.hpp"

namespace sdwalk {

namespace {

float max_abs(const Tensor& t) {
  const float* p = t.f32();
  float m = 0;
  for (int64_t i = 0; i < t.numel(); ++i) m = std::max(m, std::fabs(p[i]));
  return m;
}

}  // namespace

SchedulerOverrides StableDiffusionPipeline::inversion_overrides() const {
  SchedulerOverrides o;
  const nlohmann::json& c = files_->scheduler_config;
  const std::string spacing =
      c.is_object() && c.contains("timestep_spacing") && c["timestep_spacing"].is_string() ? c["timestep_spacing"].get<std::string>() : "";
  if (spacing != "trailing" && spacing != "leading") o.timestep_spacing = "leading";
  return o;
}

InversionResult StableDiffusionPipeline::invert(const Tensor& image_latents, const Tensor& cond,
                                                const InversionOptions& options, const StepCallback& on_step) const {
  check(unet_ != nullptr, "invert: the UNet was released (release_unet)");
  check(unet_->time_cond_proj_dim() == 0, "invert: an LCM UNet (guidance embedding) cannot be inverted with DDIM");
  const int n = options.num_inference_steps;
  check(n >= 1, "inversion steps must be at least 1, got " + std::to_string(n));
  const int64_t batch = image_latents.dim(0);
  check(cond.ndim() == 3 && cond.dim(0) == batch,
        "invert: embeddings " + shape_string(cond.shape()) + " do not match a batch of " + std::to_string(batch));
  const Tensor context = cond.to_f32();
  const nlohmann::json config = inversion_overrides().applied_to(files_->scheduler_config);
  InversionResult out;
  Tensor x = image_latents.to_f32().clone();

  if (options.method == InversionMethod::Ddim) {
    auto inverse = make_ddim_inverse_scheduler(config);
    inverse->set_timesteps(n);
    const auto& ts = inverse->timesteps();
    for (size_t i = 0; i < ts.size(); ++i) {
      const Tensor eps = unet_->forward(inverse->scale_model_input(x, ts[i]), ts[i], context, Tensor());
      ++out.unet_evaluations;
      x = inverse->step(eps, ts[i], x, nullptr);
      out.model_outputs.push_back(eps);
      out.latents.push_back(x);
      if (on_step) on_step(int(i) + 1, int(ts.size()), x);
    }
    out.noise = x;
    return out;
  }

  // Exact: undo the sampler's steps last to first. Each step is x_prev = a x + b model(x, t) (the
  // DDIM update is affine in x and in the model's output); a is read off the step itself, so every
  // prediction type is handled by the code that samples.
  auto sampler = sdwalk::make_scheduler("ddim", config);
  sampler->set_timesteps(n);
  const std::vector<double> ts = sampler->timesteps();
  Tensor ones(x.shape()), zeros(x.shape());
  std::fill(ones.f32(), ones.f32() + ones.numel(), 1.0f);
  std::fill(zeros.f32(), zeros.f32() + zeros.numel(), 0.0f);
  for (int i = n - 1; i >= 0; --i) {
    const double t = ts[size_t(i)];
    const float a = sampler->step(zeros, t, ones, nullptr).f32()[0];
    check(std::isfinite(a) && a > 0, "invert: the DDIM step at timestep " + std::to_string(t) + " has no inverse");
    const Tensor target = x;
    const float limit = float(options.tolerance) * std::max(1.0f, max_abs(target));
    Tensor best = x;
    float best_residual = INFINITY;
    for (int k = 0; k < options.max_iterations; ++k) {
      const Tensor model_out = unet_->forward(x, t, context, Tensor());
      ++out.unet_evaluations;
      Tensor residual = sampler->step(model_out, t, x, nullptr);
      float* r = residual.f32();
      const float* y = target.f32();
      for (int64_t j = 0; j < residual.numel(); ++j) r[j] = y[j] - r[j];
      const float worst = max_abs(residual);
      check(std::isfinite(worst), "invert: the fixed-point iteration diverged at timestep " + std::to_string(t));
      if (worst < best_residual) {
        best_residual = worst;
        best = x;
      }
      if (worst <= limit) break;
      Tensor next = x.clone();
      float* q = next.f32();
      for (int64_t j = 0; j < next.numel(); ++j) q[j] += r[j] / a;
      x = std::move(next);
    }
    x = best;
    out.max_residual = std::max(out.max_residual, double(best_residual));
    out.latents.push_back(x);
    if (on_step) on_step(n - i, n, x);
  }
  out.noise = x;
  return out;
}

}  // namespace sdwalk
