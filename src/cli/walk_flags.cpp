#include "cli/walk_flags.hpp"

#include <algorithm>
#include <cstdio>

#include "cli/demo_model.hpp"
#include "cli/image_input.hpp"
#include "cli/scheduler_flags.hpp"
#include "sdwalk/error.hpp"
#include "sdwalk/keyframes.hpp"
#include "sdwalk/seed.hpp"

namespace sdwalk::cli {
namespace {

// A morph walk's own defaults: DDIM at guidance 1 (what its inversion undoes), a caption per picture
// ("" when none is given, the one given for all), the first picture's size; the pictures are read
// here so that a bad one fails before the model loads, and their conversions are said.
void prepare_morph(WalkSettings& s, bool& size_given, const SamplingGiven& given) {
  check(s.images.size() >= 2, "walk morph needs at least two pictures (--image A.png --image B.png)");
  if (!given.scheduler) s.scheduler = "ddim";
  if (!given.guidance) s.guidance_scale = 1.0;
  if (s.prompts.empty()) s.prompts.push_back("");
  if (s.prompts.size() == 1) s.prompts.resize(s.images.size(), s.prompts[0]);
  std::vector<Image> images;  // "" is a keyframe file's prompt keyframe: no picture
  for (const std::string& path : s.images) images.push_back(path.empty() ? Image() : read_input_image(path));
  const size_t first = size_t(std::find_if(s.images.begin(), s.images.end(), [](auto& p) { return !p.empty(); }) -
                              s.images.begin());
  check(first < s.images.size(), "walk morph: no picture among its keyframes");
  if (!size_given) {
    const Image& im = images[first];
    check(im.width % 8 == 0 && im.height % 8 == 0,
          s.images[first] + " is " + std::to_string(im.width) + "x" + std::to_string(im.height) +
              ", a size the model cannot take (sides must be multiples of 8); pass --width and --height with --fit");
    s.width = im.width;
    s.height = im.height;
    size_given = true;
  }
  for (size_t i = 0; i < images.size(); ++i)
    if (!s.images[i].empty()) sized_input_image(images[i], s.images[i], s.width, s.height, s.fit);
}

}  // namespace


void add_walk_flags(CLI::App* cmd, WalkArgs& a) {
  WalkSettings& s = a.s;
  cmd->add_option("mode", a.mode,
                  "drift (notebook example 1), noise (2), prompts (3), circle (4), keyframes or morph (between --image pictures)")
      ->check(CLI::IsMember({"drift", "noise", "prompts", "circle", "keyframes", "morph"}));
  add_model_options(cmd, a.model);
  cmd->add_option("--prompt,-p", s.prompts, "Prompt (repeat for prompts/keyframes walks)");
  cmd->add_option("--negative-prompt,-n", s.negative_prompts, "Negative prompt: one for all, or one per prompt");
  cmd->add_option("--seed", a.seed_flags,
                  "Seed of the noise, 0 .. 2^63-1 (default: random, printed); keyframes: one per keyframe");
  cmd->add_option("--guidance-scale", s.guidance_scale, "Classifier-free guidance scale")->capture_default_str();
  cmd->add_option("--num-inference-steps,--steps", s.num_inference_steps, "Denoising steps per frame (--steps: the same)")
      ->capture_default_str();
  cmd->add_option("--num-interpolation-steps", s.num_interpolation_steps, "Frames per walk segment")
      ->capture_default_str();
  cmd->add_option("--height", s.height, "Frame height in pixels (a multiple of 64 for SD 1.x: 8 * 2^(UNet levels - 1))")->capture_default_str();
  cmd->add_option("--width", s.width, "Frame width in pixels (a multiple of 64 for SD 1.x: 8 * 2^(UNet levels - 1))")->capture_default_str();
  cmd->add_option("--step-size", s.step_size, "drift: added to every embedding element per frame")->capture_default_str();
  cmd->add_option("--scheduler", s.scheduler,
                  "lms, ddim, pndm, euler, euler_a, dpmpp_2m, dpmpp_2m_karras, lcm or a diffusers class name")
      ->capture_default_str();
  add_scheduler_override_flags(cmd, a.overrides);
  add_size_conditioning_flags(cmd, a.size);
  cmd->add_option("--save-path", a.save_path, "Folder for the default output name")->capture_default_str();
  cmd->add_option("--output,-o", s.output,
                  "Animation file named with its format's extension (x.gif, x.webp, x.mp4, x.webm), or the frames "
                  "folder for --format png; a missing or disagreeing extension is an error");
  cmd->add_option("--format", s.format, "gif, webp, mp4, webm or png (default: from --output's extension, else gif)")
      ->check(CLI::IsMember({"gif", "webp", "mp4", "webm", "png"}));
  cmd->add_option("--batch-size", s.batch_size, "Frames per UNet batch")->capture_default_str();
  cmd->add_option("--pacing", a.pacing,
                  "uniform (the notebook's even t) or even (frames spaced by how much the picture changes; the "
                  "default for every walk but drift, whose frames are steps of --step-size; shards are uniform)")
      ->check(CLI::IsMember({"uniform", "even"}));
  cmd->add_option("--pacing-budget", s.pacing_budget,
                  "even pacing: renders per output frame it may spend finding the frames (1 .. 16)")
      ->capture_default_str();
  cmd->add_option("--blend", a.blend, "even pacing: auto (bridge cuts by trajectory blending) or off (re-space only)")
      ->check(CLI::IsMember({"auto", "off"}))
      ->capture_default_str();
  cmd->add_option("--max-jump", s.max_jump,
                  "even pacing: add frames while two neighbours differ by more than this distance (CIELAB RMS / 100; "
                  "0: off), as the budget allows");
  cmd->add_option("--image", s.images,
                  "morph: a picture (PNG) to pass through, inverted to noise at guidance 1 (repeat: A, B, ...); "
                  "-p gives each its caption (one for all, or one per picture)");
  cmd->add_option("--fit", s.fit, "morph: bring a picture of another size to --width x --height: crop, pad or stretch")
      ->check(CLI::IsMember({"crop", "pad", "stretch"}));
  cmd->add_option("--noise", s.noise_file, "Safetensors file with the noise latents to use instead of drawing them");
  cmd->add_flag("--seamless", s.seamless, "Drop the frames the notebook renders twice (chain junctions, loop end)");
  cmd->add_option("--embed-interp", a.embed_interp, "keyframes: slerp or lerp for embeddings")
      ->check(CLI::IsMember({"slerp", "lerp"}))
      ->capture_default_str();
  cmd->add_option("--noise-interp", a.noise_interp, "keyframes: slerp or lerp for noises")
      ->check(CLI::IsMember({"slerp", "lerp"}))
      ->capture_default_str();
  cmd->add_option("--frames", s.keyframe_frames, "keyframes: frames from each keyframe to the next");
  cmd->add_option("--keyframes", a.keyframes_file, "keyframes: JSON file [{prompt, negative_prompt, seed, frames}]");
  cmd->add_option("--frame-duration", s.frame_duration_ms, "Milliseconds per frame")->capture_default_str();
  cmd->add_option("--fps", a.fps, "Frames per second (instead of --frame-duration)");
  cmd->add_option("--loop", s.loop, "Loop count for GIF/WebP (0: forever)")->capture_default_str();
  cmd->add_flag("--ping-pong", s.ping_pong, "Play forward then backward (animations; not for --format png)");
  cmd->add_option("--resume", a.resume, "Finish an interrupted run from its run folder");
  cmd->add_option("--shard", a.shard,
                  "K/N: render only frames i with i % N == K (0 <= K < N) into the shared run folder, for N processes "
                  "or machines; auto: K and N from a Slurm array (SLURM_ARRAY_TASK_ID/_COUNT) or, as auto/N, a "
                  "Kubernetes Indexed Job (JOB_COMPLETION_INDEX). Then: sdwalk assemble RUN_FOLDER");
  cmd->add_flag("--mpi", a.mpi, "One shard per MPI rank (mpirun -n N sdwalk walk ... --mpi); rank 0 writes the animation");
}

ModelOptions model_options_of(const WalkSettings& s, const ModelOptions& flags) {
  ModelOptions model = flags;
  model.model = s.model;
  model.tokenizer = s.tokenizer;
  model.config = s.config;
  if (!s.precision.empty()) model.precision = s.precision;
  model.vae_tiling = s.vae_tiling;
  model.weights = s.weight_storage.empty() ? "auto" : s.weight_storage;
  model.loras.clear();  // the settings' (WalkSettings::lora_specs)
  return model;
}

void check_resume_alone(const CLI::App& cmd) {
  for (const CLI::Option* o : cmd.get_options()) {
    const std::string name = o->get_name();
    if (o->count() == 0 || name == "--resume" || name == "--threads" || name == "--shard" || name == "--mpi") continue;
    throw Error(name + " with --resume: a resumed walk takes its settings from the run's settings.json (only "
                       "--threads, --shard and --mpi may be given); start a new walk to change them");
  }
}

// A new walk's settings from the flags.
WalkSettings walk_settings_of(WalkArgs& a, bool size_given, SamplingGiven given) {
  WalkSettings s = a.s;
  s.mode = parse_walk_mode(a.mode);
  s.embed_interp = parse_interp(a.embed_interp, "--embed-interp");
  s.noise_interp = parse_interp(a.noise_interp, "--noise-interp");
  s.blend = a.blend == "auto";
  for (const std::string& seed : a.seed_flags) s.seeds.push_back(parse_seed(seed, "--seed"));
  for (const LoraSpec& l : lora_specs(a.model)) s.loras.push_back({l.file.string(), {l.scale}});
  if (const SizeConditioning size = parse_size_conditioning(a.size); !size.is_default()) s.size_conditioning = {size};
  // A keyframe file with pictures in it makes the walk a morph (WalkSettings::add_keyframes).
  if (!a.keyframes_file.empty()) s.add_keyframes(read_keyframes_file(a.keyframes_file), a.keyframes_file);
  if (s.mode == WalkMode::Morph) prepare_morph(s, size_given, given);
  use_demo_model_if_none(a.model, {s.height, s.width, s.num_inference_steps, s.guidance_scale, size_given, given});
  if (s.mode == WalkMode::Morph && !given.guidance) s.guidance_scale = 1.0;  // the demo model's default is 2
  if (s.seeds.empty()) {
    s.seeds.push_back(int64_t(random_seed()));
    std::fprintf(stderr, "seed: %lld\n", static_cast<long long>(s.seeds[0]));
  }
  if (a.fps > 0) s.frame_duration_ms = 1000.0 / a.fps;
  s.model = a.model.model;
  s.tokenizer = a.model.tokenizer;
  s.config = a.model.config;
  s.precision = precision_name(parse_precision(a.model.precision, "--precision"));
  s.weight_storage = weight_storage_name(parse_weight_storage(a.model.weights, "--weights"));
  s.vae_tiling = a.model.vae_tiling;
  s.prediction_type = a.overrides.prediction_type;
  s.timestep_spacing = a.overrides.timestep_spacing;
  s.pacing = !a.pacing.empty() ? parse_pacing(a.pacing) : default_pacing(s.mode, !a.shard.empty() || a.mpi);
  return s;
}

}  // namespace sdwalk::cli
