#pragma once
// Renders a walk into a run folder (settings.json + frame_000000.png ...), one frame file at a time,
// each written atomically; a run can be resumed (only missing frames are rendered). RunFolder
// (run_folder.hpp) names the run and writes its animation; Engine::walk puts the two together.
#include <filesystem>
#include <functional>
#include <vector>

#include "sdwalk/image.hpp"
#include "sdwalk/stable_diffusion_pipeline.hpp"
#include "sdwalk/shard.hpp"
#include "sdwalk/walk.hpp"
#include "sdwalk/walk_curve.hpp"
#include "sdwalk/walk_settings.hpp"

namespace sdwalk {

// The frames of the walk: prompts encoded once each, noise drawn from the seeds as the notebook draws
// it (or read from settings.noise_file), then the mode's planner.
std::vector<Frame> plan_walk(const StableDiffusionPipeline& pipe, const WalkSettings& settings);
// What plan_walk plans from: the prompts encoded and the noises drawn, as a curve that gives a frame
// at any position (walk_curve.hpp); plan_walk is plan_uniform of it, with the LoRA scales per frame.
WalkCurve walk_curve(const StableDiffusionPipeline& pipe, const WalkSettings& settings);
// Each LoRA's scale at every frame of a prompts/keyframes walk, from Frame::t (linear between the
// keyframes' scales); the frames unchanged without LoRAs.
std::vector<Frame> with_lora_scales(std::vector<Frame> frames, const WalkSettings& settings);

// Everything about the walk that depends on the model, from its files alone (run it as
// LoadOptions::check_request): the frame size the UNet can take, the scheduler with the model's
// config and the step count, the noise file. settings.validate() covers the rest.
void check_walk_request(const ModelFiles& files, const WalkSettings& settings);

// Reads settings.noise_file: one tensor holding `count` noises of [channels, h, w] in any shape.
Tensor load_noise_file(const std::filesystem::path& path, int count, const Shape& noise_shape);
// A morph walk's picture i (settings.images), brought to the walk's size as settings.fit says;
// Error naming the file and the sizes when it differs and no fit is given.
Image load_walk_image(const WalkSettings& settings, size_t i);

std::filesystem::path frame_path(const std::filesystem::path& run_dir, size_t index);
// The settings' steps and guidance, with a batch of SDXL frames' pooled embeddings and time ids as
// added_cond_kwargs (frames without them: none).
DenoiseOptions walk_denoise_options(const WalkSettings& settings, const std::vector<const Frame*>& batch);
// The scheduler a walk's frames are denoised with (a morph: the DDIM its inversion undoes).
std::unique_ptr<Scheduler> walk_scheduler(const StableDiffusionPipeline& pipe, const WalkSettings& settings);

struct RenderProgress {
  std::function<void(size_t frame, size_t frames, int step, int steps)> on_step;
  // Every frame of the walk in order, once it is on disk: rendered now, or read back from the run
  // folder when an earlier run left it. An exception thrown here (or in on_step) stops the render;
  // the frames written so far stay, so the run resumes from there.
  std::function<void(size_t frame, const Image& image)> on_frame;
};

// Renders the frames of `shard` whose PNG is missing from run_dir (creating it and settings.json as
// needed); on_frame sees the shard's frames only. Returns how many frames were rendered now. When
// it fails before any frame is on disk, a run folder it created is removed again: it would hold
// nothing to resume.
size_t render_walk(const StableDiffusionPipeline& pipe, const WalkSettings& settings, const std::vector<Frame>& frames,
                   const std::filesystem::path& run_dir, const RenderProgress& progress = {}, const Shard& shard = {});

// Even pacing (settings.pacing == "even", pacing.hpp): each segment of the curve is paced by
// pace_segment, its points rendered into run_dir/pacing/ (image + latents at every step, so a resumed
// run renders none twice), then the chosen ones written as the walk's frames. on_frame sees every
// frame in order; on_step (frame = the point's index) every denoising step.
struct PacedRender {
  size_t frames = 0;           // frames of the walk
  size_t rendered = 0;         // points rendered now (the others were in run_dir/pacing/)
  double unet_steps = 0;       // denoising steps spent on the points, one per frame and step
  double uniform_steps = 0;    // what the uniform walk of as many frames spends
  struct Cut {
    double t = 0, distance = 0;  // t as Frame::t
    bool blended = false;
  };
  std::vector<Cut> cuts;
  std::vector<double> t;       // each frame's Frame::t
};
PacedRender render_paced_walk(const StableDiffusionPipeline& pipe, const WalkSettings& settings,
                              const WalkCurve& curve, const std::filesystem::path& run_dir,
                              const RenderProgress& progress = {});

}  // namespace sdwalk
