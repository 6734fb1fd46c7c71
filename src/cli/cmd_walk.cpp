// sdwalk walk MODE: the cookbook's walks (drift, noise, prompts, circle) and keyframe walks, rendered
// by Engine::walk into a resumable run folder and written as GIF, WebP, MP4, WebM or PNG frames.
#include <cstdio>

#include "cli/commands.hpp"
#include "cli/demo_model.hpp"
#include "cli/image_input.hpp"
#include "cli/interrupt_notice.hpp"
#include "cli/model_options.hpp"
#include "cli/mpi_shard.hpp"
#include "cli/progress.hpp"
#include "cli/scheduler_flags.hpp"
#include "cli/walk_flags.hpp"
#include "sdwalk/engine.hpp"
#include "sdwalk/keyframes.hpp"
#include "sdwalk/seed.hpp"
#include "sdwalk/smoothness_report.hpp"

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
  std::vector<Image> images;
  for (const std::string& path : s.images) images.push_back(read_input_image(path));
  if (!size_given) {
    const Image& first = images[0];
    check(first.width % 8 == 0 && first.height % 8 == 0,
          s.images[0] + " is " + std::to_string(first.width) + "x" + std::to_string(first.height) +
              ", a size the model cannot take (sides must be multiples of 8); pass --width and --height with --fit");
    s.width = first.width;
    s.height = first.height;
    size_given = true;
  }
  for (size_t i = 0; i < images.size(); ++i) sized_input_image(images[i], s.images[i], s.width, s.height, s.fit);
}

// A new walk's settings from the flags.
WalkSettings settings_of(WalkArgs& a, bool size_given, SamplingGiven given) {
  WalkSettings s = a.s;
  if (s.mode == "morph") prepare_morph(s, size_given, given);
  use_demo_model_if_none(a.model, {s.height, s.width, s.num_inference_steps, s.guidance_scale, size_given, given});
  if (s.mode == "morph" && !given.guidance) s.guidance_scale = 1.0;  // the demo model's default is 2
  for (const std::string& seed : a.seed_flags) s.seeds.push_back(parse_seed(seed, "--seed"));
  for (const LoraSpec& l : lora_specs(a.model)) s.loras.push_back({l.file.string(), {l.scale}});
  if (!a.keyframes_file.empty()) s.add_keyframes(read_keyframes_file(a.keyframes_file), a.keyframes_file);
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
  // Even pacing where it can run: a walk with positions between its frames, rendered by one process.
  const bool pacable = s.mode == "noise" || s.mode == "prompts" || s.mode == "circle" || s.mode == "keyframes";
  s.pacing = !a.pacing.empty() ? a.pacing : pacable && a.shard.empty() && !a.mpi ? "even" : "uniform";
  return s;
}

// What the walk cost (even pacing) and how smooth it came out: the progress output's last lines.
void print_walk_summary(const WalkResult& r, const WalkSettings& s) {
  if (s.pacing == "even" && r.uniform_steps > 0)
    std::fprintf(stderr, "even pacing: %.0f denoising steps for %zu frames = %.2fx the uniform walk's %.0f%s\n",
                 r.unet_steps, r.frames, r.unet_steps / r.uniform_steps, r.uniform_steps,
                 r.rendered == 0 ? " (all points were in the run folder)" : "");
  for (const auto& c : r.cuts)
    std::fprintf(stderr, "cut at t = %.4f (distance %.3f): %s\n", c.t, c.distance,
                 c.blended ? "bridged by trajectory blending" : "left as it is (--blend off, or no step blended it)");
  if (r.smoothness.distances.empty()) return;
  std::fprintf(stderr, "smoothness: max/median %.2f, 1 - Gini %.2f (report: %s)\n", r.smoothness.max_over_median,
               r.smoothness.one_minus_gini, report_paths(r.output).json.c_str());
}

// Renders this process's part of the walk: all of it, or one shard (--shard, --mpi).
WalkResult render_part(WalkArgs& a, const Shard& shard, bool size_given, SamplingGiven given) {
  RunFolder run = !a.resume.empty() ? RunFolder::open(a.resume)
                  : shard.whole()   ? RunFolder::create(settings_of(a, size_given, given), a.save_path)
                                    : RunFolder::create_shared(settings_of(a, size_given, given));
  WalkSettings& s = run.settings();
  EngineOptions options = engine_options(model_options_of(s, a.model));
  // Constant LoRA scales are merged into the weights once; changing ones run as branches (per frame).
  options.loras = s.lora_specs();
  options.lora_mode = s.loras_vary() ? LoraMode::Branch : LoraMode::Merge;
  // A resumed run keeps its sampling settings whatever the model's defaults.
  const SamplingGiven kept = run.resumed() ? SamplingGiven{true, true, true} : given;
  options.check_request = [&](const ModelFiles& files) { print_notice(prepare_request(files, options, s, kept)); };
  std::fprintf(stderr, "loading %s\n", s.model.c_str());
  const Engine engine(options);

  const std::string part = shard.whole() ? "" : " --shard " + shard.str();
  std::fprintf(stderr, "run folder: %s%s\n", run.dir().c_str(), part.empty() ? "" : (" (shard " + shard.str() + ")").c_str());
  const InterruptNotice notice("interrupted: the frames so far are in " + run.dir().string() +
                               "; finish the walk with: sdwalk walk --resume " + shell_word(run.dir().string()) + part);
  Progress progress("rendering", 1);
  size_t batches = 0;
  int done = 0;
  Callbacks callbacks;
  callbacks.on_notice = print_notice;
  callbacks.on_plan = [&](size_t frames, size_t to_render) {
    std::fprintf(stderr, "walk %s: %zu frames of %dx%d, %d steps each\n", s.mode.c_str(), frames, s.width, s.height,
                 s.num_inference_steps);
    if (s.pacing == "even")
      std::fprintf(stderr, "even pacing: up to %.2fx the uniform walk's denoising steps to place the frames (--pacing-budget; "
                           "--pacing uniform: 1x)\n", s.pacing_budget);
    if (!shard.whole()) std::fprintf(stderr, "shard %s: %zu of them to render here\n", shard.str().c_str(), to_render);
    batches = (to_render + size_t(s.batch_size) - 1) / size_t(s.batch_size);
    // Even pacing renders its points one by one (blends run fewer steps): the budget's steps at most.
    if (s.pacing == "even") batches = to_render;
  };
  // Counted in batch steps: each batch of --batch-size frames runs the scheduler's timesteps once.
  callbacks.on_step = [&](int, int steps) {
    progress.set_total(int(batches) * (s.pacing == "even" ? s.num_inference_steps : steps));
    progress.update(++done);
    return true;
  };
  WalkResult result = engine.walk(run, callbacks, shard);
  progress.finish();
  print_walk_summary(result, s);
  if (!result.assembled) result.output = run.dir();
  return result;
}

void run_walk(WalkArgs& a, bool size_given, SamplingGiven given) {
  if (!a.mpi) {
    const WalkResult r = render_part(a, a.shard.empty() ? Shard{} : parse_shard(a.shard), size_given, given);
    if (!r.assembled) std::fprintf(stderr, "when every shard is done: sdwalk assemble %s\n", shell_word(r.output).c_str());
    std::printf("%s\n", r.output.c_str());
    return;
  }
  check(a.shard.empty(), "--mpi makes each rank a shard: give --mpi or --shard, not both");
  const MpiSession mpi;
  std::string failure;
  WalkResult r;
  try {
    r = render_part(a, mpi.shard(), size_given, given);
  } catch (const std::exception& e) {
    failure = e.what();
  }
  const bool all = mpi.all_succeeded(failure.empty());  // every rank reaches this, also after a failure
  check(failure.empty(), failure);
  check(all, "another MPI rank failed; its frames are missing: run the same command with --resume " +
                 shell_word(r.output) + " --mpi to render them");
  if (!mpi.root()) return;
  RunFolder::open(r.output).assemble();
  std::printf("%s\n", RunFolder::open(r.output).settings().output.c_str());
}

}  // namespace

void add_walk_command(CLI::App& app) {
  auto a = std::make_shared<WalkArgs>();
  CLI::App* cmd = app.add_subcommand("walk", "Render an interpolation walk as an animation");
  add_walk_flags(cmd, *a);
  cmd->callback([a, cmd] {
    if (a->resume.empty())
      check(!a->s.mode.empty(), "walk: give a MODE (drift, noise, prompts, circle, keyframes, morph) or --resume DIR");
    else
      check_resume_alone(*cmd);
    run_walk(*a, cmd->count("--height") + cmd->count("--width") > 0, sampling_given(*cmd));
  });
}

}  // namespace sdwalk::cli
