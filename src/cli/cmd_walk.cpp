// sdwalk walk MODE: the cookbook's walks (drift, noise, prompts, circle) and keyframe walks, rendered
// by Engine::walk into a resumable run folder and written as GIF, WebP, MP4, WebM or PNG frames.
#include <cstdio>

#include "cli/commands.hpp"
#include "cli/interrupt_notice.hpp"
#include "cli/model_options.hpp"
#include "cli/mpi_shard.hpp"
#include "cli/progress.hpp"
#include "cli/walk_flags.hpp"
#include "cli/walk_summary.hpp"
#include "sdwalk/engine.hpp"

namespace sdwalk::cli {
namespace {

// Renders this process's part of the walk: all of it, or one shard (--shard, --mpi).
WalkResult render_part(WalkArgs& a, const Shard& shard, bool size_given, SamplingGiven given) {
  RunFolder run = !a.resume.empty() ? RunFolder::open(a.resume)
                  : shard.whole()   ? RunFolder::create(walk_settings_of(a, size_given, given), a.save_path)
                                    : RunFolder::create_shared(walk_settings_of(a, size_given, given));
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
    std::fprintf(stderr, "walk %s: %zu frames of %dx%d, %d steps each\n", walk_mode_name(s.mode), frames, s.width, s.height,
                 s.num_inference_steps);
    if (s.pacing == Pacing::Even)
      std::fprintf(stderr, "even pacing: up to %.2fx the uniform walk's denoising steps to place the frames (--pacing-budget; "
                           "--pacing uniform: 1x)\n", s.pacing_budget);
    if (!shard.whole()) std::fprintf(stderr, "shard %s: %zu of them to render here\n", shard.str().c_str(), to_render);
    batches = (to_render + size_t(s.batch_size) - 1) / size_t(s.batch_size);
    // Even pacing renders its points one by one (blends run fewer steps): the budget's steps at most.
    if (s.pacing == Pacing::Even) batches = to_render;
  };
  // Counted in batch steps: each batch of --batch-size frames runs the scheduler's timesteps once.
  callbacks.on_step = [&](int, int steps) {
    progress.set_total(int(batches) * (s.pacing == Pacing::Even ? s.num_inference_steps : steps));
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
      check(!a->mode.empty(), "walk: give a MODE (drift, noise, prompts, circle, keyframes, morph) or --resume DIR");
    else
      check_resume_alone(*cmd);
    run_walk(*a, cmd->count("--height") + cmd->count("--width") > 0, sampling_given(*cmd));
  });
}

}  // namespace sdwalk::cli
