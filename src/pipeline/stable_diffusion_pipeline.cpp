#include "sdwalk/stable_diffusion_pipeline.hpp"

#include <malloc.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>

#include "sdwalk/error.hpp"
#include "backend/cpu/ops.hpp"
#include "sdwalk/request_checks.hpp"

namespace sdwalk {

struct StableDiffusionPipeline::StageClock {
  std::atomic<int64_t> text_encoder_ns{0}, unet_ns{0}, vae_ns{0};
};

namespace {
// Adds the lifetime of the scope to `total`.
class ScopeTimer {
 public:
  explicit ScopeTimer(std::atomic<int64_t>& total) : total_(total), start_(std::chrono::steady_clock::now()) {}
  ~ScopeTimer() {
    total_ += std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start_).count();
  }
  ScopeTimer(const ScopeTimer&) = delete;
  ScopeTimer& operator=(const ScopeTimer&) = delete;

 private:
  std::atomic<int64_t>& total_;
  std::chrono::steady_clock::time_point start_;
};
}  // namespace

StageTimes StableDiffusionPipeline::stage_times() const {
  return {double(clock_->text_encoder_ns) * 1e-9, double(clock_->unet_ns) * 1e-9, double(clock_->vae_ns) * 1e-9};
}

void StableDiffusionPipeline::reset_stage_times() const {
  clock_->text_encoder_ns = 0;
  clock_->unet_ns = 0;
  clock_->vae_ns = 0;
}

StableDiffusionPipeline StableDiffusionPipeline::load(const LoadOptions& options) {
  StableDiffusionPipeline p;
  p.clock_ = std::make_shared<StageClock>();
  p.files_ = std::make_shared<ModelFiles>(load_model_files(options.model, options.tokenizer_dir, options.config_dir));
  const ModelFiles& f = *p.files_;
  check(!f.tokenizer_dir.empty() || f.is_sdxl(),
        options.model.string() + ": no tokenizer found; pass --tokenizer DIR (a folder with vocab.json and merges.txt)");
  check(!f.is_sdxl() || (!f.tokenizer_dir.empty() && !f.tokenizer_2_dir.empty()),
        options.model.string() + ": an SDXL checkpoint needs two tokenizers (tokenizer/, tokenizer_2/); pass "
                                 "--config DIR (a diffusers SDXL folder with both)");
  if (options.check_request) options.check_request(f);
  p.apply_loras(options);
  check_finite(f.text_encoder);
  check_finite(f.unet);
  check_finite(f.vae);
  p.tokenizer_ = std::make_shared<ClipTokenizer>(ClipTokenizer::load(f.tokenizer_dir));
  p.precision_ = options.precision;
  p.weights_ = options.weights;
  p.memory_ = options.memory;
  const bool lean = options.memory == MemoryPolicy::Lean;
  p.vae_tiling_ = options.vae_tiling;
  // The VAE first: its encoder is built (to check its weights) and dropped again before the big UNet
  // is in memory, so that the two never add up.
  // StableDiffusionXLPipeline decodes in float32 when the VAE's config says force_upcast (SDXL's VAE
  // overflows in half precision); the SD pipelines do not look at it.
  const bool upcast_vae = f.is_sdxl() && f.vae_config.value("force_upcast", true);
  p.vae_ = std::make_shared<AutoencoderKL>(f.vae_config, f.vae, upcast_vae ? Precision::F32 : options.precision,
                                           upcast_vae ? WeightStorage::Auto : options.weights);
  if (lean) malloc_trim(0);
  p.text_encoder_ = std::make_shared<ClipTextModel>(f.text_encoder_config, f.text_encoder, options.precision, options.weights);
  if (f.is_sdxl()) {
    check_finite(f.text_encoder_2);
    p.tokenizer_2_ = std::make_shared<ClipTokenizer>(ClipTokenizer::load(f.tokenizer_2_dir));
    p.text_encoder_2_ =
        std::make_shared<ClipTextModel>(f.text_encoder_2_config, f.text_encoder_2, options.precision, options.weights);
  }
  p.unet_ = std::make_shared<UNet2DConditionModel>(f.unet_config, f.unet, options.precision, options.weights);
  // The models hold converted copies: the checkpoint's pages need not stay resident.
  for (const Weights* w : {&f.text_encoder, &f.text_encoder_2, &f.unet, &f.vae}) release_mapped_pages(*w);
  if (lean) malloc_trim(0);  // and the conversions' freed temporaries need not either
  return p;
}

void StableDiffusionPipeline::apply_loras(const LoadOptions& options) {
  lora_mode_ = options.lora_mode;
  ModelFiles& f = *files_;
  // All files are read and checked against the base weights first: a bad one fails before any merge.
  std::vector<LoraAdapter> adapters;
  Weights* text_encoder_2 = f.is_sdxl() ? &f.text_encoder_2 : nullptr;
  for (const LoraSpec& spec : options.loras) adapters.push_back(load_lora(spec, f.unet, f.text_encoder, text_encoder_2));
  if (adapters.empty()) return;
  lora_scales_ = std::make_shared<LoraScales>();
  for (size_t i = 0; i < adapters.size(); ++i) {
    const LoraAdapter& a = adapters[i];
    LoraReport report{a.spec, a.format, a.layers_in("unet"), a.layers_in("text_encoder"), a.layers_in("text_encoder_2")};
    lora_scales_->by_adapter.push_back({float(a.spec.scale)});
    if (lora_mode_ == LoraMode::Merge) {
      // --weights auto keeps results as the checkpoint's own dtype gives them: merged layers of an fp16
      // checkpoint stay f32 (rounding them back to fp16 would move an f32 run off diffusers' by ~1e-3);
      // --weights f16 asks for half the memory and gets the fp16-rounded merge.
      const bool keep_f32 = options.weights != WeightStorage::F16;
      merge_lora(f.unet, "unet", a, a.spec.scale, keep_f32);
      merge_lora(f.text_encoder, "text_encoder", a, a.spec.scale, keep_f32);
      if (text_encoder_2) merge_lora(*text_encoder_2, "text_encoder_2", a, a.spec.scale, keep_f32);
    } else {
      for (const LoraLayer& l : a.layers) {
        Weights& w = l.network == "unet" ? f.unet : l.network == "text_encoder" ? f.text_encoder : *text_encoder_2;
        w.add_low_rank(l.module, {l.down, l.up, l.scaling, i});
      }
    }
    loras_.push_back(report);
  }
  if (lora_mode_ == LoraMode::Branch) {
    f.unet.set_lora_scales(lora_scales_);
    f.text_encoder.set_lora_scales(lora_scales_);
    if (text_encoder_2) text_encoder_2->set_lora_scales(lora_scales_);
  }
}

void StableDiffusionPipeline::set_lora_scales(const std::vector<std::vector<float>>& by_lora) const {
  check(by_lora.size() == loras_.size(), "LoRA scales: " + std::to_string(by_lora.size()) + " given for " +
                                             std::to_string(loras_.size()) + " LoRA(s)");
  for (size_t i = 0; i < by_lora.size(); ++i) {
    check(!by_lora[i].empty(), "LoRA scales: none given for " + loras_[i].spec.name());
    if (lora_mode_ == LoraMode::Merge)
      for (float v : by_lora[i])
        check(v == float(loras_[i].spec.scale), "LoRA " + loras_[i].spec.name() + " is merged at scale " +
                                                    std::to_string(loras_[i].spec.scale) +
                                                    "; a changing scale needs LoraMode::Branch");
  }
  if (lora_scales_) lora_scales_->by_adapter = by_lora;
}

EncodedPrompt StableDiffusionPipeline::encode_prompt(const std::string& prompt) const {
  EncodedPrompt out;
  out.tokens = tokenizer_->encode(prompt);
  std::lock_guard<std::mutex> lock(*text_encoder_mutex_);
  const ScopeTimer timer(clock_->text_encoder_ns);
  if (!text_encoder_)
    text_encoder_ = std::make_shared<ClipTextModel>(files_->text_encoder_config, files_->text_encoder, precision_, weights_);
  if (!files_->is_sdxl()) {
    out.embeds = text_encoder_->encode({out.tokens.input_ids});
    return out;
  }
  if (!text_encoder_2_)
    text_encoder_2_ =
        std::make_shared<ClipTextModel>(files_->text_encoder_2_config, files_->text_encoder_2, precision_, weights_);
  // StableDiffusionXLPipeline.encode_prompt (clip_skip None): hidden_states[-2] of each encoder, raw
  // (no final LayerNorm); the pooled embedding is the second encoder's text_embeds.
  const ClipTextModel::Output first = text_encoder_->forward({out.tokens.input_ids});
  const ClipTextModel::Output second = text_encoder_2_->forward({tokenizer_2_->encode(prompt).input_ids});
  out.embeds = ops::concat_channels(first.hidden_states[first.hidden_states.size() - 2],
                           second.hidden_states[second.hidden_states.size() - 2]);
  out.pooled = second.text_embeds;
  return out;
}

EncodedPrompt StableDiffusionPipeline::encode_negative_prompt(const std::string& negative_prompt) const {
  if (!(files_->is_sdxl() && files_->force_zeros_for_empty_prompt && negative_prompt.empty()))
    return encode_prompt(negative_prompt);
  // zeros_like(prompt_embeds), zeros_like(pooled_prompt_embeds): the shapes from the configs.
  const int64_t c1 = files_->text_encoder_config.value("hidden_size", 0),
                c2 = files_->text_encoder_2_config.value("hidden_size", 0),
                proj = files_->text_encoder_2_config.value("projection_dim", 0);
  EncodedPrompt out;
  out.tokens = tokenizer_->encode("");
  out.embeds = Tensor({1, int64_t(out.tokens.input_ids.size()), c1 + c2});
  out.pooled = Tensor({1, proj});
  return out;
}

std::unique_ptr<Scheduler> StableDiffusionPipeline::make_scheduler(const std::string& name,
                                                                   const SchedulerOverrides& overrides) const {
  const nlohmann::json config = overrides.applied_to(files_->scheduler_config);
  if (name.empty()) return make_scheduler_from_config(config);
  return sdwalk::make_scheduler(name, config);
}

void StableDiffusionPipeline::check_image_size(int height, int width) {
  check(height > 0 && height % 8 == 0,
        "height " + std::to_string(height) + " must be a positive multiple of 8");
  check(width > 0 && width % 8 == 0, "width " + std::to_string(width) + " must be a positive multiple of 8");
}

Shape StableDiffusionPipeline::latent_shape(int batch, int height, int width) const {
  check_image_size(height, width);
  return latent_shape_for(*files_, batch, height, width);
}

namespace {

// Throws when `t` holds NaN or Inf: clamping would turn them into black pixels with exit 0.
void check_finite_values(const Tensor& t, const std::string& what) {
  const float* p = t.f32();
  for (int64_t i = 0; i < t.numel(); ++i)
    check(std::isfinite(p[i]), what + " hold NaN/Inf (element " + std::to_string(i) +
                                   "): the model's weights or configs, the noise or the guidance scale give "
                                   "numbers out of float range");
}

Tensor scaled(const Tensor& x, float s) {
  Tensor out = x.clone();
  float* p = out.f32();
  for (int64_t i = 0; i < out.numel(); ++i) p[i] *= s;
  return out;
}

// Division, not multiplication by the reciprocal: the same rounding as diffusers' latents / scaling_factor.
Tensor divided(const Tensor& x, float s) {
  Tensor out = x.clone();
  float* p = out.f32();
  for (int64_t i = 0; i < out.numel(); ++i) p[i] /= s;
  return out;
}

// SDXL: the UNet's added_cond_kwargs for the batch it runs ([negative, positive] under CFG, as
// StableDiffusionXLPipeline concatenates them); none for other UNets.
AddedCondKwargs batch_added_cond(const UNet2DConditionModel& unet, const DenoiseOptions& o, int64_t batch, bool cfg) {
  if (!unet.has_text_time()) {
    check(!o.added_cond.defined() && !o.negative_added_cond.defined(),
          "denoise: added conditioning (pooled text, time ids) given to a UNet without text_time (not SDXL)");
    return {};
  }
  auto checked = [&](const AddedCondKwargs& a, const std::string& which) {
    check(a.text_embeds.defined() && a.time_ids.defined(),
          "denoise: an SDXL UNet needs the " + which + " pooled text embeddings and time ids");
    check(a.text_embeds.ndim() == 2 && a.text_embeds.dim(0) == batch && a.time_ids.ndim() == 2 &&
              a.time_ids.dim(0) == batch && a.time_ids.dim(1) == 6,
          "denoise: " + which + " text_embeds " + shape_string(a.text_embeds.shape()) + " / time_ids " +
              shape_string(a.time_ids.shape()) + " do not match a batch of " + std::to_string(batch) +
              " ([B, pooled], [B, 6])");
    return a;
  };
  const AddedCondKwargs pos = checked(o.added_cond, "conditional");
  if (!cfg) return pos;
  const AddedCondKwargs neg = checked(o.negative_added_cond, "unconditional");
  return {cat0({neg.text_embeds.to_f32(), pos.text_embeds.to_f32()}), cat0({neg.time_ids.to_f32(), pos.time_ids.to_f32()})};
}

// eps_uncond + g * (eps_text - eps_uncond), computed as diffusers does in float32.
Tensor guide(const Tensor& eps, int64_t batch, float g) {
  const Tensor u = eps.slice0(0, batch), c = eps.slice0(batch, 2 * batch);
  Tensor out(u.shape());
  const float* pu = u.f32();
  const float* pc = c.f32();
  float* q = out.f32();
  for (int64_t i = 0; i < out.numel(); ++i) q[i] = pu[i] + g * (pc[i] - pu[i]);
  return out;
}

}  // namespace

Tensor StableDiffusionPipeline::denoise(Scheduler& scheduler, const Tensor& cond, const Tensor& uncond,
                                        const Tensor& latents, const DenoiseOptions& options,
                                        TorchGenerator* generator, const StepCallback& on_step) const {
  check(options.num_inference_steps >= 1,
        "num_inference_steps must be at least 1, got " + std::to_string(options.num_inference_steps));
  scheduler.set_timesteps(options.num_inference_steps);
  Tensor x = scaled(latents.to_f32(), scheduler.init_noise_sigma());
  check_finite_values(x, "the initial latents (noise x init_noise_sigma)");
  return denoise_from(scheduler, cond, uncond, std::move(x), 0, options, generator, on_step);
}

Tensor StableDiffusionPipeline::denoise_continue(Scheduler& scheduler, const Tensor& cond, const Tensor& uncond,
                                                 const Tensor& x, int begin, const DenoiseOptions& options,
                                                 TorchGenerator* generator, const StepCallback& on_step) const {
  check(begin > 0 && begin < options.num_inference_steps,
        "denoise: a continued loop starts after step 1 .. " + std::to_string(options.num_inference_steps - 1) +
            ", got " + std::to_string(begin));
  scheduler.set_timesteps(options.num_inference_steps);
  check(size_t(begin) < scheduler.timesteps().size(), "denoise: the scheduler has fewer timesteps than steps");
  scheduler.restart_at(begin);
  return denoise_from(scheduler, cond, uncond, x.to_f32(), begin, options, generator, on_step);
}

Tensor StableDiffusionPipeline::denoise_from(Scheduler& scheduler, const Tensor& cond, const Tensor& uncond, Tensor x,
                                             int begin, const DenoiseOptions& options, TorchGenerator* generator,
                                             const StepCallback& on_step) const {
  check(unet_ != nullptr, "denoise: the UNet was released (release_unet)");
  check(options.num_inference_steps >= 1,
        "num_inference_steps must be at least 1, got " + std::to_string(options.num_inference_steps));
  check(std::isfinite(options.guidance_scale), "guidance scale must be a finite number");
  const int64_t batch = x.dim(0);
  const bool cfg = uses_cfg(options.guidance_scale);
  // Without CFG the unconditional embeddings are not used (and may be left undefined).
  check(cond.ndim() == 3 && cond.dim(0) == batch && (uncond.shape() == cond.shape() || (!cfg && !uncond.defined())),
        "embeddings " + shape_string(cond.shape()) + " / " + shape_string(uncond.shape()) +
            " do not match a batch of " + std::to_string(batch) + " latents");
  {
    std::lock_guard<std::mutex> lock(*text_encoder_mutex_);
    if (text_encoder_ && memory_ == MemoryPolicy::Lean) {
      text_encoder_.reset();  // prompts are encoded by now (see pipeline.hpp)
      // Its weights were many heap blocks below malloc's mmap threshold: hand the freed pages back to
      // the system, or they stay in the resident set beside the UNet's activations.
      malloc_trim(0);
    }
  }
  const Tensor context = cfg ? cat0({uncond.to_f32(), cond.to_f32()}) : cond.to_f32();
  const AddedCondKwargs added = batch_added_cond(*unet_, options, batch, cfg);
  // An LCM UNet takes the guidance as an embedding of w = guidance_scale - 1 (diffusers' pipelines).
  const Tensor timestep_cond = unet_->time_cond_proj_dim() > 0
                                   ? guidance_scale_embedding(options.guidance_scale - 1.0, unet_->time_cond_proj_dim())
                                   : Tensor();

  const ScopeTimer timer(clock_->unet_ns);
  const auto& timesteps = scheduler.timesteps();
  const int total = int(timesteps.size());
  for (int i = begin; i < total; ++i) {
    const double t = timesteps[size_t(i)];
    const Tensor model_in = scheduler.scale_model_input(cfg ? cat0({x, x}) : x, t);
    const Tensor eps = unet_->forward(model_in, t, context, timestep_cond, added);
    const Tensor guided = cfg ? guide(eps, batch, float(options.guidance_scale)) : eps;
    x = scheduler.step(guided, t, x, generator);
    check_finite_values(x, "the latents after denoising step " + std::to_string(i + 1 - begin) + " of " +
                               std::to_string(total - begin));
    if (on_step) on_step(i + 1 - begin, total - begin, x);
  }
  return x;
}

bool StableDiffusionPipeline::uses_cfg(double guidance_scale) const {
  check(unet_ != nullptr, "the UNet was released (release_unet)");
  return guidance_scale > 1.0 && unet_->time_cond_proj_dim() == 0;
}

const UNet2DConditionModel& StableDiffusionPipeline::unet() const {
  check(unet_ != nullptr, "the UNet was released (release_unet)");
  return *unet_;
}

void StableDiffusionPipeline::release_unet() {
  unet_.reset();
  if (memory_ == MemoryPolicy::Lean) malloc_trim(0);
}

Tensor StableDiffusionPipeline::decode(const Tensor& latents) const {
  const ScopeTimer timer(clock_->vae_ns);
  // Freed activations stay in the heap (tensor.cpp keeps them for speed). The decoder's activations change size
  // from block to block (128-256 MB each at 512x512), so each block would leave holes the next cannot
  // reuse, all resident: under Lean they go back to the system before decoding and after every up
  // block (a 512x512 f32 walk's peak: 2.80-2.98 GB -> 2.60 GB; the pages fault back in as 2 MiB ones).
  const bool lean = memory_ == MemoryPolicy::Lean;
  if (lean) malloc_trim(0);
  const auto hand_back = lean ? std::function<void()>([] { malloc_trim(0); }) : std::function<void()>();
  const Tensor z = divided(latents.to_f32(), vae_->scaling_factor());
  const bool tiled = vae_tiling_ == VaeTiling::On ||
                     (vae_tiling_ == VaeTiling::Auto && AutoencoderKL::tiling_advised(z.dim(2), z.dim(3)));
  const Tensor image = tiled ? vae_->decode_tiled(z, {}) : vae_->decode(z, hand_back);
  Tensor nhwc = ops::nchw_to_nhwc(image);
  check_finite_values(nhwc, "the decoded images");
  float* p = nhwc.f32();
  for (int64_t i = 0; i < nhwc.numel(); ++i) p[i] = std::clamp(p[i] / 2.0f + 0.5f, 0.0f, 1.0f);
  return nhwc;
}

}  // namespace sdwalk
