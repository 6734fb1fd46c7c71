// sdwalk walk MODE: the cookbook's walks (drift, noise, prompts, circle) and keyframe walks,
// rendered into a resumable run folder and written as GIF, WebP, MP4, WebM or PNG frames.
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>

#include "cli/commands.hpp"
#include "cli/demo_model.hpp"
#include "cli/model_options.hpp"
#include "cli/interrupt_notice.hpp"
#include "cli/progress.hpp"
#include "cli/scheduler_flags.hpp"
#include "sdwalk/animation.hpp"
#include "sdwalk/atomic_file.hpp"
#include "sdwalk/error.hpp"
#include "sdwalk/keyframes.hpp"
#include "sdwalk/run_fingerprint.hpp"
#include "sdwalk/file_checks.hpp"
#include "sdwalk/seed.hpp"
#include "sdwalk/walk_runner.hpp"

namespace sdwalk::cli {
namespace {
namespace fs = std::filesystem;

struct WalkArgs {
  WalkSettings s;
  ModelOptions model;
  std::vector<std::string> seed_flags;  // parsed by parse_seed (one rule for every seed)
  std::vector<int64_t> seeds;
  std::string save_path = "output/";
  std::string keyframes_file, resume;
  double fps = 0;
  bool size_given = false, steps_given = false, guidance_given = false, scheduler_given = false;
  SchedulerOverrides overrides;
};

std::string timestamp_name() {
  char buf[64];
  const std::time_t now = std::time(nullptr);
  std::strftime(buf, sizeof buf, "sdwalk-%Y%m%d-%H%M%S", std::localtime(&now));
  return buf;
}

// The run folder holds the frames and settings.json: the output itself for PNG frames, else a
// folder beside the animation with its name minus the extension.
fs::path run_dir_of(const WalkSettings& s) {
  if (s.format == "png") return s.output;
  fs::path p(s.output);
  return p.parent_path() / p.stem();
}

void choose_output(WalkArgs& a) {
  WalkSettings& s = a.s;
  if (!s.output.empty()) s.format = extension_of(output_format(s.output, s.format));
  if (s.format.empty()) s.format = "gif";
  format_from_name(s.format);  // validates
  if (s.output.empty()) {
    std::error_code ec;
    fs::create_directories(a.save_path, ec);
    check(fs::is_directory(a.save_path), a.save_path + ": cannot create the save folder (" + ec.message() + ")");
    const std::string ext = s.format == "png" ? "" : "." + s.format;
    const std::string stem = timestamp_name();
    fs::path p = fs::path(a.save_path) / (stem + ext);
    for (int i = 1; !what_is_at(p).empty() || !what_is_at(p.parent_path() / p.stem()).empty(); ++i)
      p = fs::path(a.save_path) / (stem + "-" + std::to_string(i) + ext);
    s.output = p.string();
  } else {
    if (s.format != "png")
      check_output_path(s.output, false, "sdwalk never overwrites an output (use --resume for an interrupted run)");
    const fs::path run = run_dir_of(s);
    const std::string at_run = what_is_at(run);
    check(at_run.empty() || at_run == "a folder", run.string() + ": is " + at_run + "; the run folder needs this name");
    check(at_run.empty(), run.string() + ": a run folder of that name exists; resume it with --resume " + run.string());
  }
  const fs::path out(s.output);
  const fs::path dir = out.has_parent_path() ? out.parent_path() : fs::path(".");
  check(fs::is_directory(dir), s.output + ": folder " + dir.string() + " does not exist");
  s.output = fs::absolute(out).string();
}

void run_walk(WalkArgs a) {
  WalkSettings s;
  fs::path run_dir;
  if (!a.resume.empty()) {
    run_dir = a.resume;
    s = WalkSettings::read_run_folder(run_dir);
  } else {
    if (use_demo_model_if_none(a.model)) {
      const DemoModelDefaults d;
      if (!a.size_given) a.s.height = a.s.width = d.size;
      if (!a.steps_given) a.s.num_inference_steps = d.steps;
      if (!a.guidance_given) a.s.guidance_scale = d.guidance_scale;
    }
    for (const std::string& seed : a.seed_flags) a.seeds.push_back(parse_seed(seed, "--seed"));
    if (!a.keyframes_file.empty()) {
      check(a.s.mode == "keyframes", "--keyframes FILE is for the keyframes mode");
      const auto keys = read_keyframes_file(a.keyframes_file);
      check(a.s.prompts.empty(), "give keyframes either with --keyframes FILE or with --prompt flags, not both");
      check(a.s.negative_prompts.size() <= 1, "with --keyframes FILE, give at most one --negative-prompt (the default)");
      const std::string default_negative = a.s.negative_prompts.empty() ? "" : a.s.negative_prompts[0];
      a.s.negative_prompts.clear();
      for (size_t i = 0; i < keys.size(); ++i) {
        const KeyframeSpec& k = keys[i];
        a.s.prompts.push_back(k.prompt);
        a.s.negative_prompts.push_back(k.negative_prompt.value_or(default_negative));
        if (k.seed) a.seeds.push_back(*k.seed);
        a.s.keyframe_frames.push_back(k.frames.value_or(a.s.num_interpolation_steps));
      }
      check(a.seeds.empty() || a.seeds.size() == keys.size(),
            a.keyframes_file + ": give a seed in every keyframe or in none");
      a.s.keyframe_frames.pop_back();  // the last keyframe has no transition after it
    }
    const bool seed_drawn = a.seeds.empty();
    if (seed_drawn) a.seeds.push_back(int64_t(random_seed()));
    a.s.seeds = a.seeds;
    if (a.fps > 0) a.s.frame_duration_ms = 1000.0 / a.fps;
    // Absolute paths, so that --resume works from any folder.
    auto absolute = [](const std::string& p) { return p.empty() ? p : fs::absolute(p).lexically_normal().string(); };
    a.s.model = absolute(a.model.model);
    a.s.tokenizer = absolute(a.model.tokenizer);
    a.s.config = absolute(a.model.config);
    a.s.precision = precision_name(parse_precision(a.model.precision, "--precision"));
    a.s.weight_storage = weight_storage_name(parse_weight_storage(a.model.weights, "--weights"));
    a.s.vae_tiling = a.model.vae_tiling;
    if (!a.s.noise_file.empty()) a.s.noise_file = fs::absolute(a.s.noise_file).string();
    a.s.prediction_type = a.overrides.prediction_type;
    a.s.timestep_spacing = a.overrides.timestep_spacing;
    a.s.validate();
    choose_output(a);
    if (seed_drawn) std::fprintf(stderr, "seed: %lld\n", static_cast<long long>(a.seeds[0]));  // once it is used
    s = a.s;
    run_dir = run_dir_of(s);
  }

  // The run's own model settings; the rest (--threads) from the flags.
  ModelOptions model = a.model;
  model.model = s.model;
  model.tokenizer = s.tokenizer;
  model.config = s.config;
  if (!s.precision.empty()) model.precision = s.precision;
  model.vae_tiling = s.vae_tiling;
  model.weights = s.weight_storage.empty() ? "auto" : s.weight_storage;
  const auto pipe = load_pipeline(model, [&](const ModelFiles& files) {
    // A new walk takes a few-step model's own steps, guidance and scheduler; the checks see those.
    if (a.resume.empty())
      follow_few_step_model(files, {s.scheduler, s.num_inference_steps, s.guidance_scale, a.scheduler_given,
                                    a.steps_given, a.guidance_given});
    check_walk_request(files, s);
    check_request_memory(model, files, s.batch_size, s.height, s.width, s.guidance_scale > 1,
                         "walk " + std::to_string(s.width) + "x" + std::to_string(s.height) + " (batch " +
                             std::to_string(s.batch_size) + ")");
  });
  // What the pixels depend on; frames already on disk must have been rendered under the same.
  const nlohmann::json fingerprint = run_fingerprint(s, pipe.files());
  check_run_frames(run_dir, fingerprint);
  s.fingerprint = fingerprint;
  const std::string hash = fingerprint["weights"];
  check(s.weights_hash.empty() || s.weights_hash == hash,
        s.model + ": the weights changed since this run started (hash " + hash + ", the run has " + s.weights_hash +
            "); its frames would not match");
  s.weights_hash = hash;
  const std::vector<Frame> frames = plan_walk(pipe, s);
  std::fprintf(stderr, "walk %s: %zu frames of %dx%d, %d steps each\n", s.mode.c_str(), frames.size(), s.width,
               s.height, s.num_inference_steps);
  std::fprintf(stderr, "run folder: %s\n", run_dir.string().c_str());
  // Every frame on disk is complete and the settings are written first: an interrupted run resumes.
  const InterruptNotice notice("interrupted: the frames so far are in " + run_dir.string() +
                               "; finish the walk with: sdwalk walk --resume " + shell_word(run_dir.string()));

  // Counted in batch steps: each batch of --batch-size frames runs the scheduler's timesteps once.
  const int batches = int((frames.size() + size_t(s.batch_size) - 1) / size_t(s.batch_size));
  Progress progress("rendering", batches * s.num_inference_steps);
  int done = 0;
  RenderProgress on_render;
  on_render.on_step = [&](size_t, size_t, int, int steps) {
    progress.set_total(batches * steps);
    progress.update(++done);
  };
  const size_t rendered = render_walk(pipe, s, frames, run_dir, on_render);
  progress.finish();
  if (rendered < frames.size())
    std::fprintf(stderr, "%zu of %zu frames were already rendered\n", frames.size() - rendered, frames.size());
  if (what_is_at(s.output) != "a file" || s.format == "png") {  // a resumed run may have written it
    write_animation(s, run_dir, frames.size());
    if (s.format != "png") {
      // The settings beside the animation, so the run can be repeated.
      const fs::path json = fs::path(s.output).replace_extension(".json");
      if (!fs::exists(json)) {
        AtomicFile f(json);
        const std::string text = s.to_json().dump(2) + "\n";
        f.write(text.data(), text.size());
        f.commit();
      }
    }
  }
  std::printf("%s\n", s.output.c_str());
}

// The run's settings.json holds every setting: a flag beside --resume would be ignored or would mix
// two runs. Only --threads (how fast, not what) may come with it.
void check_resume_alone(const CLI::App& cmd) {
  for (const CLI::Option* o : cmd.get_options()) {
    const std::string name = o->get_name();
    if (o->count() == 0 || name == "--resume" || name == "--threads") continue;
    throw Error(name + " with --resume: a resumed walk takes its settings from the run's settings.json (only "
                       "--threads may be given); start a new walk to change them");
  }
}

}  // namespace

void add_walk_command(CLI::App& app) {
  auto a = std::make_shared<WalkArgs>();
  WalkSettings& s = a->s;
  CLI::App* cmd = app.add_subcommand("walk", "Render an interpolation walk as an animation");
  cmd->add_option("mode", s.mode,
                  "drift (notebook example 1), noise (2), prompts (3), circle (4) or keyframes")
      ->check(CLI::IsMember({"drift", "noise", "prompts", "circle", "keyframes"}));
  add_model_options(cmd, a->model);
  cmd->add_option("--prompt,-p", s.prompts, "Prompt (repeat for prompts/keyframes walks)");
  cmd->add_option("--negative-prompt,-n", s.negative_prompts, "Negative prompt: one for all, or one per prompt");
  cmd->add_option("--seed", a->seed_flags,
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
  add_scheduler_override_flags(cmd, a->overrides);
  cmd->add_option("--save-path", a->save_path, "Folder for the default output name")->capture_default_str();
  cmd->add_option("--output,-o", s.output,
                  "Animation file named with its format's extension (x.gif, x.webp, x.mp4, x.webm), or the frames "
                  "folder for --format png; a missing or disagreeing extension is an error");
  cmd->add_option("--format", s.format, "gif, webp, mp4, webm or png (default: from --output's extension, else gif)")
      ->check(CLI::IsMember({"gif", "webp", "mp4", "webm", "png"}));
  cmd->add_option("--batch-size", s.batch_size, "Frames per UNet batch")->capture_default_str();
  cmd->add_option("--noise", s.noise_file, "Safetensors file with the noise latents to use instead of drawing them");
  cmd->add_flag("--seamless", s.seamless, "Drop the frames the notebook renders twice (chain junctions, loop end)");
  cmd->add_option("--embed-interp", s.embed_interp, "keyframes: slerp or lerp for embeddings")->capture_default_str();
  cmd->add_option("--noise-interp", s.noise_interp, "keyframes: slerp or lerp for noises")->capture_default_str();
  cmd->add_option("--frames", s.keyframe_frames, "keyframes: frames from each keyframe to the next");
  cmd->add_option("--keyframes", a->keyframes_file, "keyframes: JSON file [{prompt, negative_prompt, seed, frames}]");
  cmd->add_option("--frame-duration", s.frame_duration_ms, "Milliseconds per frame")->capture_default_str();
  cmd->add_option("--fps", a->fps, "Frames per second (instead of --frame-duration)");
  cmd->add_option("--loop", s.loop, "Loop count for GIF/WebP (0: forever)")->capture_default_str();
  cmd->add_flag("--ping-pong", s.ping_pong, "Play forward then backward");
  cmd->add_option("--resume", a->resume, "Finish an interrupted run from its run folder");
  cmd->callback([a, cmd] {
    a->size_given = cmd->count("--height") + cmd->count("--width") > 0;
    a->steps_given = cmd->count("--num-inference-steps") > 0;
    a->guidance_given = cmd->count("--guidance-scale") > 0;
    a->scheduler_given = cmd->count("--scheduler") > 0;
    if (a->resume.empty())
      check(!a->s.mode.empty(), "walk: give a MODE (drift, noise, prompts, circle, keyframes) or --resume DIR");
    else
      check_resume_alone(*cmd);
    run_walk(*a);
  });
}

}  // namespace sdwalk::cli
