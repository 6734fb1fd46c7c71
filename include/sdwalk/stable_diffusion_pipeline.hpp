#pragma once
// StableDiffusionPipeline: text-to-image with diffusers' semantics, taking embeddings and initial
// latents as plain values (the hook the walks use). Loading, prompt encoding, the denoising loop and
// VAE decoding are separate calls so a walk can encode each prompt once and batch frames.
#include <array>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "sdwalk/clip_text_model.hpp"
#include "sdwalk/clip_tokenizer.hpp"
#include "sdwalk/image.hpp"
#include "sdwalk/lora.hpp"
#include "sdwalk/model_files.hpp"
#include "sdwalk/scheduler.hpp"
#include "sdwalk/size_conditioning.hpp"
#include "sdwalk/tensor.hpp"
#include "sdwalk/torch_generator.hpp"
#include "sdwalk/unet_2d_condition_model.hpp"
#include "sdwalk/autoencoder_kl.hpp"

namespace sdwalk {

// VAE decoding in tiles (AutoencoderKL::decode_tiled): the same pixels with memory that follows the
// tile, several times slower. Auto tiles above 1536x1536 (AutoencoderKL::tiling_advised).
enum class VaeTiling { Auto, On, Off };
// "auto" | "on" | "off"; `flag` names the option in the error.
VaeTiling parse_vae_tiling(const std::string& name, const std::string& flag);

// Keep: the text encoder stays loaded between requests (a server, a notebook). Lean: it is dropped
// when denoising starts (rebuilt from the mapped checkpoint for the next prompt), and freed memory
// is handed back to the system with malloc_trim (a one-shot run: peak memory is the UNet's and the VAE's).
enum class MemoryPolicy { Keep, Lean };

struct LoadOptions {
  std::filesystem::path model;          // diffusers folder or single-file checkpoint
  std::filesystem::path tokenizer_dir;  // overrides the model's tokenizer (needed for single files)
  std::filesystem::path config_dir;     // diffusers folder whose config.json files describe a single file
  // Of the networks' convolutions and matmuls; BF16: weights stored bf16, f32 accumulation, norms and
  // softmax in f32 (sdwalk/precision.hpp; default_precision() picks BF16 where the CPU has it).
  Precision precision = Precision::F32;
  // How f32 layers keep their weights: Auto keeps an fp16 checkpoint's weights in fp16 (same results,
  // half the memory), F16 rounds an f32 checkpoint's too.
  WeightStorage weights = WeightStorage::Auto;
  VaeTiling vae_tiling = VaeTiling::Auto;
  MemoryPolicy memory = MemoryPolicy::Lean;
  // Runs on the model's files (configs read, weights mapped) before any network is built: the
  // caller's request checks that need the model (sdwalk/request_checks.hpp), so that a request the
  // model cannot run fails before the slow part and before anything is written.
  std::function<void(const ModelFiles&)> check_request = nullptr;
  // LoRA files on top of the model (sdwalk/lora.hpp), read and checked against it before any network
  // is built. Merge: into the weights at their scales. Branch: run-time branches whose scales
  // set_lora_scales changes between calls (starting at the specs' scales).
  std::vector<LoraSpec> loras = {};
  LoraMode lora_mode = LoraMode::Merge;
};

// What one LoRA of LoadOptions::loras patched.
struct LoraReport {
  LoraSpec spec;
  std::string format;  // "kohya" | "diffusers"
  size_t unet_layers = 0, text_encoder_layers = 0;
  size_t text_encoder_2_layers = 0;  // SDXL's second text encoder
};

struct EncodedPrompt {
  Tensor embeds;            // [1, 77, C]; SDXL: both encoders' hidden_states[-2] side by side [1, 77, C1 + C2]
  Tensor pooled;            // SDXL: [1, projection_dim], the second encoder's text_embeds; undefined otherwise
  TokenizedPrompt tokens;   // to report truncation (SDXL: the first tokenizer's; both cut at the same place)
};

struct DenoiseOptions {
  DenoiseOptions() = default;
  DenoiseOptions(int steps, double guidance) : num_inference_steps(steps), guidance_scale(guidance) {}
  int num_inference_steps = 50;
  double guidance_scale = 7.5;  // classifier-free guidance runs when > 1 (see uses_cfg), as in diffusers
  // SDXL (a text_time UNet) only: added_cond_kwargs of the conditional and of the unconditional batch
  // ([B, projection_dim] pooled text, [B, 6] add_time_ids), in the order of cond / uncond.
  AddedCondKwargs added_cond, negative_added_cond;
};

// add_time_ids [1, 6] = [orig_h, orig_w, crop_top, crop_left, target_h, target_w] for a height x width
// image (zero sizes replaced by it).
Tensor add_time_ids(const SizeConditioning& size, int height, int width);

// Wall time spent in each network (UNet: the denoising loop, scheduler and guidance included), summed
// over every call since the pipeline was loaded or the times were reset. For benchmarks and reports.
struct StageTimes {
  double text_encoder_s = 0, unet_s = 0, vae_s = 0;
};

// How an image is inverted to noise (pipeline/inversion.cpp), always at guidance 1 (no CFG).
// Ddim: diffusers' DDIMInverseScheduler loop (eps at the target timestep): cheap, inexact.
// Exact: each DDIM sampling step is solved for its input by fixed-point iteration,
//   x <- x + (target - ddim_step(unet(x, t), t, x)) / a,  a = the step's coefficient of x,
// whose first iteration is DDIM inversion; regenerating with plain DDIM then gives the image's latents
// back up to `tolerance` (the noise works with any DDIM run of the same steps, prompt and guidance 1).
enum class InversionMethod { Ddim, Exact };
struct InversionOptions {
  int num_inference_steps = 50;
  InversionMethod method = InversionMethod::Exact;
  int max_iterations = 100;  // Exact: UNet evaluations per step at most
  double tolerance = 1e-5;   // Exact: max |ddim_step(x) - target|, relative to max(1, max |target|)
};
struct InversionResult {
  Tensor noise;                             // [B, 4, h, w]: the latents at the last timestep
  std::vector<Tensor> latents, model_outputs;  // Ddim: after / at each inverse step, in order
  double max_residual = 0;                  // Exact: the worst step's final max |ddim_step(x) - target|
  int unet_evaluations = 0;
};

// Called after every scheduler step: (step 1..total, total, latents after the step).
using StepCallback = std::function<void(int step, int total, const Tensor& latents)>;

class StableDiffusionPipeline {
 public:
  static StableDiffusionPipeline load(const LoadOptions& options);

  // SD: last_hidden_state (diffusers' encode_prompt). SDXL: StableDiffusionXLPipeline.encode_prompt,
  // both encoders' penultimate hidden states concatenated, and the pooled text_embeds.
  EncodedPrompt encode_prompt(const std::string& prompt) const;
  // The unconditional side: encode_prompt, except that an SDXL model with force_zeros_for_empty_prompt
  // takes zeros for an empty negative prompt (diffusers' negative_prompt=None).
  EncodedPrompt encode_negative_prompt(const std::string& negative_prompt) const;
  // Whether the model is SDXL (two text encoders, a text_time UNet: denoise needs added_cond_kwargs).
  bool is_sdxl() const { return files_->is_sdxl(); }
  // Scheduler by short name (lms, ddim, pndm, euler, euler_a, dpmpp_2m, dpmpp_2m_karras, lcm),
  // or the model's own scheduler_config when name is empty; `overrides` as from_config's kwargs.
  std::unique_ptr<Scheduler> make_scheduler(const std::string& name, const SchedulerOverrides& overrides = {}) const;
  // Whether denoise() runs classifier-free guidance (an unconditional batch): guidance_scale > 1 and
  // a UNet without time_cond_proj_dim, diffusers' do_classifier_free_guidance.
  bool uses_cfg(double guidance_scale) const;

  // The denoising loop. cond/uncond: [B, 77, C] (uncond may be undefined when !uses_cfg: only the
  // conditional batch runs); latents: [B, 4, h, w] initial noise before the init_noise_sigma scaling
  // (as diffusers' `latents=` argument). An LCM UNet gets guidance_scale_embedding(guidance - 1).
  // Returns the final latents (LCM: the last step's denoised sample, as diffusers' pipelines).
  // `generator` feeds ancestral/LCM noise (may be null for deterministic schedulers).
  Tensor denoise(Scheduler& scheduler, const Tensor& cond, const Tensor& uncond, const Tensor& latents,
                 const DenoiseOptions& options, TorchGenerator* generator, const StepCallback& on_step = {}) const;

  // img2img (diffusers' StableDiffusionImg2ImgPipeline, pipeline/img2img.cpp). `image_latents`: the
  // scaled VAE latents of the image (image_latents()); `noise` of their shape. set_timesteps(steps),
  // then from t_start = img2img_begin_index(steps, strength): add_noise(image_latents, noise,
  // timesteps[t_start]) and the loop over the remaining timesteps (on_step counts only those).
  Tensor denoise_image(Scheduler& scheduler, const Tensor& cond, const Tensor& uncond, const Tensor& image_latents,
                       const Tensor& noise, double strength, const DenoiseOptions& options,
                       TorchGenerator* generator, const StepCallback& on_step = {}) const;
  // Trajectory blending (pacing.hpp): the loop from timesteps()[begin] on (0 < begin < steps), `x`
  // being latents as they are after `begin` steps of another loop (the StepCallback's, or a slerp of
  // two); the scheduler restarts its history there (Scheduler::restart_at). on_step counts the steps run.
  Tensor denoise_continue(Scheduler& scheduler, const Tensor& cond, const Tensor& uncond, const Tensor& x, int begin,
                          const DenoiseOptions& options, TorchGenerator* generator,
                          const StepCallback& on_step = {}) const;
  // diffusers' get_timesteps: steps - min(int(steps * strength), steps). Error when no step would run.
  static int img2img_begin_index(int num_inference_steps, double strength);
  // vae.encode(image).latent_dist; image [B, 3, H, W] in [-1, 1] (image_to_tensor).
  AutoencoderKL::Encoded encode(const Tensor& image) const;
  // scaling_factor * latent_dist.sample(generator) = scaling_factor * (mean + std * randn(generator)),
  // diffusers' retrieve_latents; without a generator the mean (its "argmax" mode).
  Tensor image_latents(const AutoencoderKL::Encoded& dist, TorchGenerator* generator) const;
  // Image -> [1, 3, H, W] float32, u8 / 255 * 2 - 1 (VaeImageProcessor.preprocess).
  static Tensor image_to_tensor(const Image& image);

  // Inversion of scaled image latents to noise under `cond` [B, 77, C] at guidance 1
  // (pipeline/inversion.cpp). The noise regenerates the latents through denoise() with
  // make_scheduler("ddim", inversion_overrides()), the same steps and cond, guidance 1.
  InversionResult invert(const Tensor& image_latents, const Tensor& cond, const InversionOptions& options,
                         const StepCallback& on_step = {}) const;
  // The spacing both inversion schedulers use: the model's, except linspace (which DDIMInverseScheduler
  // does not take) becomes leading.
  SchedulerOverrides inversion_overrides() const;

  // latents [B, 4, h, w] -> images NHWC [B, 8h, 8w, 3] in [0, 1]: clamp(vae.decode(latents / scaling) / 2 + 0.5),
  // tiled as LoadOptions::vae_tiling says.
  Tensor decode(const Tensor& latents) const;

  // Frees the UNet's weights and hands their pages back: a one-picture run needs only the VAE once
  // denoise() is done, and the decoder's activations then fit where the UNet was. denoise() and
  // unet() fail afterwards.
  void release_unet();

  // Shape of the initial noise for a batch of `batch` images of height x width pixels.
  Shape latent_shape(int batch, int height, int width) const;
  // Throws Error unless height and width are positive multiples of 8.
  static void check_image_size(int height, int width);

  // The LoRAs of LoadOptions::loras, in order, and how they are applied.
  const std::vector<LoraReport>& loras() const { return loras_; }
  LoraMode lora_mode() const { return lora_mode_; }
  // The scale of every LoRA (LoadOptions::loras' order) for the calls that follow: one value per LoRA
  // for the whole batch, or one per sample of the batch (a walk's frames). Merged LoRAs keep the
  // scale they were merged at: asking for another is an Error.
  void set_lora_scales(const std::vector<std::vector<float>>& by_lora) const;

  StageTimes stage_times() const;
  void reset_stage_times() const;

  const ModelFiles& files() const { return *files_; }
  const ClipTokenizer& tokenizer() const { return *tokenizer_; }
  const UNet2DConditionModel& unet() const;

 private:
  // The loop from timesteps()[begin] on, after set_timesteps: `x` is the starting sample as the
  // scheduler takes it (init_noise_sigma or add_noise applied).
  Tensor denoise_from(Scheduler& scheduler, const Tensor& cond, const Tensor& uncond, Tensor x, int begin,
                      const DenoiseOptions& options, TorchGenerator* generator, const StepCallback& on_step) const;

  std::shared_ptr<ModelFiles> files_;
  std::shared_ptr<ClipTokenizer> tokenizer_;
  // Under MemoryPolicy::Lean the text encoder lives from an encode_prompt until the next denoise: prompts are encoded first,
  // and its weights are not needed while the UNet and the VAE run (a later encode_prompt rebuilds it
  // from the mapped checkpoint). Keeps the peak memory at the UNet's and the VAE's.
  Precision precision_ = Precision::F32;
  WeightStorage weights_ = WeightStorage::Auto;
  MemoryPolicy memory_ = MemoryPolicy::Lean;
  VaeTiling vae_tiling_ = VaeTiling::Auto;
  std::shared_ptr<std::mutex> text_encoder_mutex_ = std::make_shared<std::mutex>();
  mutable std::shared_ptr<ClipTextModel> text_encoder_, text_encoder_2_;  // the second: SDXL only
  std::shared_ptr<ClipTokenizer> tokenizer_2_;
  std::shared_ptr<UNet2DConditionModel> unet_;
  std::shared_ptr<AutoencoderKL> vae_;
  void apply_loras(const LoadOptions& options);
  std::vector<LoraReport> loras_;
  LoraMode lora_mode_ = LoraMode::Merge;
  std::shared_ptr<LoraScales> lora_scales_;
  struct StageClock;
  std::shared_ptr<StageClock> clock_;
};

}  // namespace sdwalk
