// sdwalk::Engine: the requests on top of StableDiffusionPipeline. Every call runs under the engine's
// own thread count (ops::ThreadScope); cancellation is an exception thrown from the step callback,
// which unwinds the denoising loop within one step.
#include "sdwalk/engine.hpp"

#include <cmath>

#include "backend/cpu/ops.hpp"
#include "sdwalk/request_checks.hpp"
#include "pipeline/run_fingerprint.hpp"
#include "sdwalk/scheduler.hpp"
#include "sdwalk/torch_generator.hpp"
#include "sdwalk/walk_runner.hpp"
#include "io/weights_hash.hpp"

namespace sdwalk {

namespace {
StepCallback step_callback(const Callbacks& callbacks) {
  if (!callbacks.on_step) return {};
  return [&callbacks](int step, int steps, const Tensor&) {
    if (!callbacks.on_step(step, steps)) throw Cancelled();
  };
}

// diffusers warns the same way when the tokenizer cuts a prompt.
void notice_truncation(const EncodedPrompt& prompt, const std::string& which, const Callbacks& callbacks) {
  if (!prompt.tokens.truncated || !callbacks.on_notice) return;
  callbacks.on_notice("warning: " + which + " is " + std::to_string(prompt.tokens.untruncated_ids.size()) +
                      " tokens, truncated to " + std::to_string(prompt.tokens.input_ids.size()) + "; removed: \"" +
                      prompt.tokens.removed_text + "\"");
}

// The given embeddings, or the prompt's (negative: encode_negative_prompt, SDXL's zeros for "").
EncodedPrompt embeddings_of(const StableDiffusionPipeline& pipe, const Tensor& given, const Tensor& given_pooled,
                            const std::string& prompt, const std::string& which, const Callbacks& callbacks,
                            bool negative) {
  if (given.defined()) {
    sdwalk::check(!pipe.is_sdxl() || given_pooled.defined(),
                  "SDXL: given " + which + " embeddings need their pooled embeddings too");
    EncodedPrompt out;
    out.embeds = given;
    out.pooled = given_pooled;
    return out;
  }
  const EncodedPrompt encoded = negative ? pipe.encode_negative_prompt(prompt) : pipe.encode_prompt(prompt);
  notice_truncation(encoded, which, callbacks);
  return encoded;
}
}  // namespace

std::string prepare_request(const ModelFiles& files, const EngineOptions& o, GenerateRequest& r,
                            const SamplingGiven& given) {
  // The model's own steps, guidance and scheduler first: the checks below see what will run.
  const std::string notice =
      follow_few_step_model(files, {r.scheduler, r.num_inference_steps, r.guidance_scale, given});
  latent_shape_for(files, 1, r.height, r.width);
  check_size_conditioning(files, r.size_conditioning);
  check_scheduler_request(files, r.scheduler, r.num_inference_steps);
  check_request_memory(files, o.precision, o.weights, o.vae_tiling, 1, r.height, r.width, r.guidance_scale > 1,
                       o.memory_limit, "generate " + std::to_string(r.width) + "x" + std::to_string(r.height));
  return notice;
}

std::string prepare_request(const ModelFiles& files, const EngineOptions& o, WalkSettings& s,
                            const SamplingGiven& given) {
  const std::string notice =
      follow_few_step_model(files, {s.scheduler, s.num_inference_steps, s.guidance_scale, given});
  check_walk_request(files, s);
  check_request_memory(files, o.precision, o.weights, o.vae_tiling, s.batch_size, s.height, s.width,
                       s.guidance_scale > 1, o.memory_limit,
                       "walk " + std::to_string(s.width) + "x" + std::to_string(s.height) + " (batch " +
                           std::to_string(s.batch_size) + ")");
  return notice;
}

Engine::Engine(const EngineOptions& options) : options_(options) {
  const ops::ThreadScope scope(options.threads);  // <= 0: all cores
  threads_ = ops::threads();
  LoadOptions load;
  load.model = options.model;
  load.tokenizer_dir = options.tokenizer;
  load.config_dir = options.config;
  load.precision = options.precision;
  load.weights = options.weights;
  load.vae_tiling = options.vae_tiling;
  load.memory = options.memory;
  load.check_request = options.check_request;
  load.loras = options.loras;
  load.lora_mode = options.lora_mode;
  pipe_ = std::make_shared<StableDiffusionPipeline>(StableDiffusionPipeline::load(load));
}

void Engine::check(const GenerateRequest& r) const {
  sdwalk::check(std::isfinite(r.guidance_scale), "guidance_scale must be a finite number");
  // Against the model's configs, as the CLI checks before loading: the size multiple its UNet needs,
  // the scheduler built on its config, steps within its training timesteps.
  const Shape shape = latent_shape_for(pipe_->files(), 1, r.height, r.width);
  check_size_conditioning(pipe_->files(), r.size_conditioning);
  check_scheduler_request(pipe_->files(), r.scheduler, r.num_inference_steps);
  if (!r.scheduler_overrides.empty())  // a bad override
    make_scheduler(r.scheduler.empty() ? "lms" : r.scheduler, r.scheduler_overrides.applied_to({}));
  if (r.latents.defined())
    sdwalk::check(r.latents.shape() == shape, "latents have shape " + shape_string(r.latents.shape()) + ", expected " +
                                                  shape_string(shape) + " for " + std::to_string(r.width) + "x" +
                                                  std::to_string(r.height));
  if (r.image.width > 0) {
    sdwalk::check(r.image.width == r.width && r.image.height == r.height,
                  "img2img: the image is " + std::to_string(r.image.width) + "x" + std::to_string(r.image.height) +
                      ", the request " + std::to_string(r.width) + "x" + std::to_string(r.height) +
                      "; fit it first (fit_image)");
    StableDiffusionPipeline::img2img_begin_index(r.num_inference_steps, r.strength);  // a strength that runs no step
  }
  for (const Tensor* e : {&r.prompt_embeds, &r.negative_prompt_embeds})
    if (e->defined())
      sdwalk::check(e->ndim() == 3 && e->dim(0) == 1, "prompt embeddings have shape " + shape_string(e->shape()) +
                                                          ", expected [1, tokens, channels]");
}

GenerateResult Engine::generate(const GenerateRequest& r, const Callbacks& callbacks) const {
  check(r);
  const ops::ThreadScope scope(threads_);
  const EncodedPrompt positive =
      embeddings_of(*pipe_, r.prompt_embeds, r.pooled_prompt_embeds, r.prompt, "prompt", callbacks, false);
  // Without CFG diffusers encodes no negative prompt, and neither do we.
  const bool cfg = pipe_->uses_cfg(r.guidance_scale);
  const EncodedPrompt negative = cfg ? embeddings_of(*pipe_, r.negative_prompt_embeds, r.negative_pooled_prompt_embeds,
                                                     r.negative_prompt, "negative prompt", callbacks, true)
                                     : EncodedPrompt();
  const Tensor& cond = positive.embeds;
  const Tensor& uncond = negative.embeds;
  auto scheduler = pipe_->make_scheduler(r.scheduler, r.scheduler_overrides);
  // One generator, as diffusers' pipeline with generator=torch.Generator().manual_seed(seed): the
  // initial noise first, then the ancestral schedulers' draws from the same stream.
  TorchGenerator generator(r.seed);
  GenerateResult out;
  DenoiseOptions denoise_options{r.num_inference_steps, r.guidance_scale};
  if (pipe_->is_sdxl()) {  // the same add_time_ids for both halves, as StableDiffusionXLPipeline by default
    const Tensor time_ids = add_time_ids(r.size_conditioning, r.height, r.width);
    denoise_options.added_cond = {positive.pooled, time_ids};
    if (cfg) denoise_options.negative_added_cond = {negative.pooled, time_ids};
  }
  if (r.image.width > 0) {
    // img2img: the VAE sample is drawn first, then the noise, from the one generator (diffusers).
    const Tensor init = pipe_->image_latents(pipe_->encode(StableDiffusionPipeline::image_to_tensor(r.image)), &generator);
    const Tensor noise = r.latents.defined() ? r.latents : generator.randn(init.shape());
    out.latents = pipe_->denoise_image(*scheduler, cond, uncond, init, noise, r.strength, denoise_options, &generator,
                                       step_callback(callbacks));
  } else {
    const Tensor noise = r.latents.defined() ? r.latents : generator.randn(latent_shape(1, r.height, r.width));
    out.latents = pipe_->denoise(*scheduler, cond, uncond, noise, denoise_options, &generator, step_callback(callbacks));
  }
  if (options_.memory == MemoryPolicy::Lean) pipe_->release_unet();  // the decoder's activations take its place
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
  if (r.image.width > 0) out.settings["strength"] = r.strength;
  if (pipe_->is_sdxl()) {
    const Tensor ids = add_time_ids(r.size_conditioning, r.height, r.width);
    out.settings["original_size"] = {ids.f32()[0], ids.f32()[1]};
    out.settings["crops_coords_top_left"] = {ids.f32()[2], ids.f32()[3]};
  }
  return out;
}

EncodedPrompt Engine::encode_prompt(const std::string& prompt) const {
  const ops::ThreadScope scope(threads_);
  return pipe_->encode_prompt(prompt);
}

EncodedPrompt Engine::encode_negative_prompt(const std::string& negative_prompt) const {
  const ops::ThreadScope scope(threads_);
  return pipe_->encode_negative_prompt(negative_prompt);
}

AddedCondKwargs Engine::added_cond(const Tensor& pooled, const Tensor& latents, const SizeConditioning& size) const {
  sdwalk::check(pipe_->is_sdxl(), options_.model.string() + " is not SDXL: it takes no pooled embeddings or size conditioning");
  sdwalk::check(latents.ndim() == 4 && latents.dim(0) >= 1,
                "latents have shape " + shape_string(latents.shape()) + ", expected [batch, channels, h, w]");
  const int64_t batch = latents.dim(0);
  sdwalk::check(pooled.ndim() == 2 && (pooled.dim(0) == 1 || pooled.dim(0) == batch),
                "pooled embeddings have shape " + shape_string(pooled.shape()) + ", expected [1 or " +
                    std::to_string(batch) + ", width]");
  check_size_conditioning(pipe_->files(), size);
  const int f = vae_scale_factor(pipe_->files());
  const Tensor time_ids = add_time_ids(size, int(latents.dim(2)) * f, int(latents.dim(3)) * f);
  auto per_sample = [batch](const Tensor& t) {
    return t.dim(0) == batch ? t.to_f32() : cat0(std::vector<Tensor>(size_t(batch), t.to_f32()));
  };
  return {per_sample(pooled), per_sample(time_ids)};
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

namespace {

// The engine's callbacks as the walk runner's: a false answer becomes Cancelled.
RenderProgress render_progress(const Callbacks& callbacks) {
  RenderProgress progress;
  if (callbacks.on_step)
    progress.on_step = [on_step = callbacks.on_step](size_t, size_t, int step, int steps) {
      if (!on_step(step, steps)) throw Cancelled();
    };
  if (callbacks.on_frame)
    progress.on_frame = [on_frame = callbacks.on_frame](size_t frame, const Image& image) {
      if (!on_frame(frame, image)) throw Cancelled();
    };
  return progress;
}

}  // namespace

size_t Engine::render(const WalkSettings& settings, const std::vector<Frame>& frames,
                      const std::filesystem::path& run_dir, const Callbacks& callbacks, const Shard& shard) const {
  const ops::ThreadScope scope(threads_);
  const RenderProgress progress = render_progress(callbacks);
  return render_walk(*pipe_, settings, frames, run_dir, progress, shard);
}

WalkResult Engine::walk(RunFolder& run, const Callbacks& callbacks, const Shard& shard) const {
  WalkSettings& s = run.settings();
  // What the pixels depend on; frames already on disk must have been rendered under the same.
  const nlohmann::json fingerprint = run_fingerprint(s, pipe_->files());
  const std::string hash = fingerprint["weights"];
  sdwalk::check(s.weights_hash.empty() || s.weights_hash == hash,
                s.model + ": the weights changed since this run started (hash " + hash + ", the run has " +
                    s.weights_hash + "); its frames would not match");
  s.fingerprint = fingerprint;
  s.weights_hash = hash;
  if (s.pacing == Pacing::Even) return walk_paced(run, callbacks, shard);
  const std::vector<Frame> frames = plan(s);
  s.frame_count = int64_t(frames.size());
  // Shards agree on the settings first: a shard with other flags is told so, not that frames differ.
  if (!shard.whole() && !run.resumed()) run.share_settings();  // a resumed run has its settings.json
  run.check_frames(fingerprint);
  if (callbacks.on_plan) {
    size_t to_render = 0;
    for (size_t i : run.missing_frames(frames.size())) to_render += shard.has(i);
    callbacks.on_plan(frames.size(), to_render);
  }
  WalkResult result;
  result.frames = frames.size();
  result.rendered = render(s, frames, run.dir(), callbacks, shard);
  result.output = s.output;
  result.unet_steps = result.uniform_steps = double(result.rendered) * double(s.num_inference_steps);
  if (shard.whole()) {
    run.write_animation(frames.size());
    result.assembled = true;
    result.smoothness = run.write_report();
  }
  return result;
}

WalkResult Engine::walk_paced(RunFolder& run, const Callbacks& callbacks, const Shard& shard) const {
  WalkSettings& s = run.settings();
  sdwalk::check(shard.whole(), "--pacing even chooses each frame from the ones before it: it cannot be split over "
                               "shards (use --pacing uniform with --shard / --mpi)");
  const ops::ThreadScope scope(threads_);
  const WalkCurve curve = walk_curve(*pipe_, s);
  run.check_frames(s.fingerprint);
  if (callbacks.on_plan) {
    const size_t frames = curve.uniform_frame_count();
    callbacks.on_plan(frames, size_t(std::ceil(double(frames) * s.pacing_budget)));
  }
  const RenderProgress progress = render_progress(callbacks);
  const PacedRender paced = render_paced_walk(*pipe_, s, curve, run.dir(), progress);
  s.frame_count = int64_t(paced.frames);
  run.save_settings();  // the frame count is known now
  WalkResult result;
  result.frames = paced.frames;
  result.rendered = paced.rendered;
  result.unet_steps = paced.unet_steps;
  result.uniform_steps = paced.uniform_steps;
  result.cuts = paced.cuts;
  result.output = s.output;
  run.write_animation(paced.frames);
  result.assembled = true;
  result.smoothness = run.write_report();
  return result;
}

}  // namespace sdwalk
