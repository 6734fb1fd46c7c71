#pragma once
// sdwalk::Engine: one loaded model and the requests it serves — text to image, the pieces of the
// denoising loop (encode_prompt / denoise / decode, diffusers' prompt_embeds= and latents=), and
// walks as plan -> render. Everything an embedding program (the CLI, a server, the Python module)
// needs; the engine's thread count and memory policy are its own, not the process's.
#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "sdwalk/error.hpp"
#include "sdwalk/frame_distance.hpp"
#include "sdwalk/image.hpp"
#include "sdwalk/stable_diffusion_pipeline.hpp"
#include "sdwalk/request_checks.hpp"
#include "sdwalk/run_folder.hpp"
#include "sdwalk/walk.hpp"
#include "sdwalk/walk_runner.hpp"
#include "sdwalk/walk_settings.hpp"

namespace sdwalk {

struct EngineOptions {
  std::filesystem::path model;      // diffusers folder or single-file checkpoint
  std::filesystem::path tokenizer;  // tokenizer folder (single files)
  std::filesystem::path config;     // diffusers folder whose configs describe a single file
  int threads = 0;                  // 0: all cores
  Precision precision = Precision::F32;
  WeightStorage weights = WeightStorage::Auto;
  VaeTiling vae_tiling = VaeTiling::Auto;
  // Keep: a long-lived engine keeps every network between requests. Lean: one request (the CLI):
  // the text encoder goes once prompts are encoded, the UNet before a picture's decode.
  MemoryPolicy memory = MemoryPolicy::Keep;
  // Runs on the model's files before the networks are built: a request's model-aware checks (and
  // defaults) then fail within a second instead of after the load. See request_checks.hpp.
  std::function<void(const ModelFiles&)> check_request;
  MemoryLimit memory_limit;  // what prepare_request allows a request
  // LoRAs on top of the model (sdwalk/lora.hpp): merged at their scales, or run-time branches (a walk
  // whose LoRA scales change frame by frame; Engine::walk and render set them per frame).
  std::vector<LoraSpec> loras = {};
  LoraMode lora_mode = LoraMode::Merge;
};

struct GenerateRequest {
  std::string prompt, negative_prompt;
  int height = 512, width = 512;
  int num_inference_steps = 50;
  double guidance_scale = 7.5;
  std::string scheduler;  // short name or diffusers class name; "" = the model's own
  uint64_t seed = 0;      // torch.Generator seed of the noise (and of ancestral schedulers' noise)
  Tensor latents;         // [1, 4, h, w] initial noise instead of the seed's, when defined
  Tensor prompt_embeds, negative_prompt_embeds;  // [1, 77, C] instead of encoding the prompts, when defined
  // SDXL: [1, projection_dim] pooled embeddings that go with given prompt_embeds / negative_prompt_embeds.
  Tensor pooled_prompt_embeds, negative_pooled_prompt_embeds;
  // SDXL's original_size / crops_coords_top_left (zeros: the image's size, (0, 0)); Error on other models.
  SizeConditioning size_conditioning;
  SchedulerOverrides scheduler_overrides;  // prediction_type / timestep_spacing on top of the model's config
  // img2img (diffusers' StableDiffusionImg2ImgPipeline) when `image` is not empty: the picture, of
  // width x height, is VAE-encoded (latent_dist.sample from the seed's generator, then the noise from
  // it) and redrawn from the strength's first timestep. strength 1 redraws it all.
  Image image;
  double strength = 0.8;
};

// A picture to noise (Engine::invert), at guidance 1 under `prompt`.
struct InvertRequest {
  Image image;  // of a size the model takes
  std::string prompt;
  int num_inference_steps = 50;
  InversionMethod method = InversionMethod::Exact;
};

struct InvertResult {
  Tensor noise;  // [1, 4, h, w]: regenerates the picture with DDIM (regenerate_hint), guidance 1
  Image reconstruction;   // regenerated from the noise
  Image vae_round_trip;   // decode(encode(image)): what an exact inversion can give back at best
  double psnr = 0, vae_psnr = 0;  // dB against the input
  double mean_abs_vs_round_trip = 0;  // mean |reconstruction - vae_round_trip| in 0..255 units
  InversionResult inversion;
  SchedulerOverrides overrides;  // of the DDIM scheduler that regenerates (timestep spacing)
  nlohmann::json settings;
};

struct GenerateResult {
  Image image;
  Tensor latents;           // the final latents [1, 4, h, w]
  nlohmann::json settings;  // what reproduces the image (the CLI writes it into the PNG)
};

// The model-aware part of a request, for EngineOptions::check_request (before the networks are built):
// a few-step model's defaults for the sampling settings `given` leaves open (a resumed walk gives all),
// then the size, scheduler, steps, noise file and memory checks against the model's files. Returns
// the line saying which defaults were taken, "" when none.
std::string prepare_request(const ModelFiles& files, const EngineOptions& options, GenerateRequest& request,
                            const SamplingGiven& given);
std::string prepare_request(const ModelFiles& files, const EngineOptions& options, WalkSettings& walk,
                            const SamplingGiven& given);

// Progress, and the way to stop: a callback that returns false cancels, and the call throws Cancelled
// within one denoising step. A cancelled render leaves the frames it wrote: rendering the same plan
// into the same folder again resumes it.
struct Callbacks {
  std::function<bool(int step, int steps)> on_step;
  std::function<bool(size_t frame, const Image& image)> on_frame;  // walks: every frame, in order
  std::function<void(size_t frames, size_t to_render)> on_plan;    // walk(): once planned, before rendering
  std::function<void(const std::string& line)> on_notice;          // e.g. a prompt cut at 77 tokens
};

struct WalkResult {
  size_t frames = 0;             // frames of the walk
  size_t rendered = 0;           // rendered by this call (the others were on disk)
  std::filesystem::path output;  // the animation, or the frames folder
  bool assembled = false;        // the animation was written (not by a shard of several)
  // Denoising steps spent now (one per frame and step), and what the uniform walk spends on them:
  // their ratio is what even pacing costs.
  double unet_steps = 0, uniform_steps = 0;
  std::vector<PacedRender::Cut> cuts;  // even pacing: the cuts it found (blended or not)
  Smoothness smoothness;               // of the frames, as the report beside the animation says
};

struct Cancelled : Error {
  Cancelled() : Error("cancelled") {}
};

class Engine {
 public:
  explicit Engine(const EngineOptions& options);

  // Throws Error naming what is wrong with the request (before any work).
  void check(const GenerateRequest& request) const;
  GenerateResult generate(const GenerateRequest& request, const Callbacks& callbacks = {}) const;

  // The pieces, for callers that write their own loops (the cookbook's walks, in Python).
  EncodedPrompt encode_prompt(const std::string& prompt) const;
  // The unconditional side as generate() encodes it (SDXL with force_zeros_for_empty_prompt: zeros for "").
  EncodedPrompt encode_negative_prompt(const std::string& negative_prompt) const;
  // SDXL: one half's added_cond_kwargs for denoise() on latents [B, 4, h, w] (DenoiseOptions::added_cond /
  // negative_added_cond): `pooled` [1 or B, P] and the add_time_ids of the picture the latents decode to,
  // under `size` (its zeros: that picture's size and (0, 0)), as StableDiffusionXLPipeline builds them.
  AddedCondKwargs added_cond(const Tensor& pooled, const Tensor& latents, const SizeConditioning& size = {}) const;
  // latents: [B, 4, h, w] noise before init_noise_sigma; cond/uncond [B, 77, C]. `seed` feeds the
  // ancestral schedulers' noise (one stream per sample).
  Tensor denoise(const Tensor& cond, const Tensor& uncond, const Tensor& latents, const DenoiseOptions& options,
                 const std::string& scheduler, uint64_t seed, const Callbacks& callbacks = {}) const;
  Tensor decode(const Tensor& latents) const;  // -> NHWC [B, H, W, 3] in [0, 1]
  // Inverts a picture to noise and regenerates it from that noise (pipeline/inversion.cpp).
  InvertResult invert(const InvertRequest& request, const Callbacks& callbacks = {}) const;
  Shape latent_shape(int batch, int height, int width) const;

  // Walks: the frames (embeddings, noises, seeds, t), then their pictures, rendered into run_dir
  // (frames already there are kept and handed to on_frame again). Returns the frames rendered now.
  std::vector<Frame> plan(const WalkSettings& settings) const;
  size_t render(const WalkSettings& settings, const std::vector<Frame>& frames, const std::filesystem::path& run_dir,
                const Callbacks& callbacks = {}, const Shard& shard = {}) const;
  // A whole walk into its run folder: frames already there must have been rendered under the same
  // fingerprint (settings, weights, configs, noise file), then plan, render what is missing, write
  // the animation. Cancelling (a callback returns false) leaves a run that RunFolder::open resumes.
  // A shard (of several) agrees its settings with the others' (RunFolder::share_settings), renders
  // its frames only and writes no animation: RunFolder::assemble does, once every shard is done.
  WalkResult walk(RunFolder& run, const Callbacks& callbacks = {}, const Shard& shard = {}) const;

  int threads() const { return threads_; }
  const StableDiffusionPipeline& pipeline() const { return *pipe_; }

 private:
  WalkResult walk_paced(RunFolder& run, const Callbacks& callbacks, const Shard& shard) const;  // pacing even

  EngineOptions options_;
  int threads_ = 0;
  std::shared_ptr<StableDiffusionPipeline> pipe_;
};

}  // namespace sdwalk
