// sdwalk::Engine: the requests on top of StableDiffusionPipeline. Every call runs under the engine's
// own thread count (ops::ThreadScope); cancellation is an exception thrown from the step callback,
// which unwinds the denoising loop within one step.
#include "sdwalk/engine.hpp"

#include <cmath>

#include "sdwalk/ops.hpp"
#include "sdwalk/request_checks.hpp"
#include "sdwalk/scheduler.hpp"
#include "sdwalk/torch_generator.hpp"
#include "sdwalk/walk_runner.hpp"
#include "sdwalk/weights_hash.hpp"

namespace sdwalk {

namespace {
StepCallback step_callback(const Callbacks& callbacks) {
  if (!callbacks.on_step) return {};
  return [&callbacks](int step, int steps, const Tensor&) {
    if (!callbacks.on_step(step, steps)) throw Cancelled();
  };
}
}  // namespace

Engine::Engine(const EngineOptions& options) : options_(options) {
  const ops::ThreadScope scope(options.threads);  // <= 0: all cores
  threads_ = ops::threads();
  pipe_ = std::make_shared<StableDiffusionPipeline>(StableDiffusionPipeline::load(
      {options.model, options.tokenizer, options.config, options.precision, options.weights, options.vae_tiling,
       options.memory}));
}

void Engine::check(const GenerateRequest& r) const {
  sdwalk::check(std::isfinite(r.guidance_scale), "guidance_scale must be a finite number");
  // Against the model's configs, as the CLI checks before loading: the size multiple its UNet needs,
  // the scheduler built on its config, steps within its training timesteps.
  const Shape shape = latent_shape_for(pipe_->files(), 1, r.height, r.width);
  check_scheduler_request(pipe_->files(), r.scheduler, r.num_inference_steps);
  if (!r.scheduler_overrides.empty())  // a bad override
    make_scheduler(r.scheduler.empty() ? "lms" : r.scheduler, r.scheduler_overrides.applied_to({}));
  if (r.latents.defined())
    sdwalk::check(r.latents.shape() == shape, "latents have shape " + shape_string(r.latents.shape()) + ", expected " +
                                                  shape_string(shape) + " for " + std::to_string(r.width) + "x" +
                                                  std::to_string(r.height));
  for (const Tensor* e : {&r.prompt_embeds, &r.negative_prompt_embeds})
    if (e->defined())
      sdwalk::check(e->ndim() == 3 && e->dim(0) == 1, "prompt embeddings have shape " + shape_string(e->shape()) +
                                                          ", expected [1, tokens, channels]");
}

GenerateResult Engine::generate(const GenerateRequest& r, const Callbacks& callbacks) const {
  check(r);
  const ops::ThreadScope scope(threads_);
  const Tensor cond = r.prompt_embeds.defined() ? r.prompt_embeds : pipe_->encode_prompt(r.prompt).embeds;
  // Without CFG diffusers encodes no negative prompt, and neither do we.
  const bool cfg = pipe_->uses_cfg(r.guidance_scale);
  const Tensor uncond = !cfg                               ? Tensor()
                        : r.negative_prompt_embeds.defined() ? r.negative_prompt_embeds
                                                             : pipe_->encode_prompt(r.negative_prompt).embeds;
  auto scheduler = pipe_->make_scheduler(r.scheduler, r.scheduler_overrides);
  // One generator, as diffusers' pipeline with generator=torch.Generator().manual_seed(seed): the
  // initial noise first, then the ancestral schedulers' draws from the same stream.
  TorchGenerator generator(r.seed);
  const Tensor noise = r.latents.defined() ? r.latents : generator.randn(latent_shape(1, r.height, r.width));
  GenerateResult out;
  out.latents = pipe_->denoise(*scheduler, cond, uncond, noise, {r.num_inference_steps, r.guidance_scale}, &generator,
                               step_callback(callbacks));
  out.image = image_from_float(pipe_->decode(out.latents));
  out.settings = {{"command", "generate"},
                  {"model", options_.model.string()},
                  {"weights_hash", weights_hash(pipe_->files())},
                  {"prompt", r.prompt},
                  {"negative_prompt", r.negative_prompt},
                  {"seed", r.seed},
                  {"num_inference_steps", r.num_inference_steps},
                  {"guidance_scale", r.guidance_scale},
                  {"height", r.height},
                  {"width", r.width},
                  {"scheduler", scheduler->name()},
                  {"sdwalk_version", SDWALK_VERSION}};
  // The overrides, when given, so that the settings still reproduce the image.
  if (!r.scheduler_overrides.prediction_type.empty())
    out.settings["prediction_type"] = r.scheduler_overrides.prediction_type;
  if (!r.scheduler_overrides.timestep_spacing.empty())
    out.settings["timestep_spacing"] = r.scheduler_overrides.timestep_spacing;
  return out;
}

EncodedPrompt Engine::encode_prompt(const std::string& prompt) const {
  const ops::ThreadScope scope(threads_);
  return pipe_->encode_prompt(prompt);
}

Tensor Engine::denoise(const Tensor& cond, const Tensor& uncond, const Tensor& latents, const DenoiseOptions& options,
                       const std::string& scheduler_name, uint64_t seed, const Callbacks& callbacks) const {
  const ops::ThreadScope scope(threads_);
  auto scheduler = pipe_->make_scheduler(scheduler_name);
  sdwalk::check(latents.ndim() == 4 && latents.dim(0) >= 1,
                "latents have shape " + shape_string(latents.shape()) + ", expected [batch, channels, h, w]");
  TorchGenerator generator = TorchGenerator::per_sample(std::vector<uint64_t>(size_t(latents.dim(0)), seed));
  return pipe_->denoise(*scheduler, cond, uncond, latents, options, &generator, step_callback(callbacks));
}

Tensor Engine::decode(const Tensor& latents) const {
  const ops::ThreadScope scope(threads_);
  return pipe_->decode(latents);
}

Shape Engine::latent_shape(int batch, int height, int width) const { return pipe_->latent_shape(batch, height, width); }

std::vector<Frame> Engine::plan(const WalkSettings& settings) const {
  const ops::ThreadScope scope(threads_);
  return plan_walk(*pipe_, settings);
}

size_t Engine::render(const WalkSettings& settings, const std::vector<Frame>& frames,
                      const std::filesystem::path& run_dir, const Callbacks& callbacks) const {
  const ops::ThreadScope scope(threads_);
  RenderProgress progress;
  if (callbacks.on_step)
    progress.on_step = [&](size_t, size_t, int step, int steps) {
      if (!callbacks.on_step(step, steps)) throw Cancelled();
    };
  if (callbacks.on_frame)
    progress.on_frame = [&](size_t frame, const Image& image) {
      if (!callbacks.on_frame(frame, image)) throw Cancelled();
    };
  return render_walk(*pipe_, settings, frames, run_dir, progress);
}

}  // namespace sdwalk
