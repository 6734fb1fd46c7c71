// sdwalk generate: one text-to-image run, diffusers' StableDiffusionPipeline semantics, written as PNG.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cctype>
#include <ctime>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "cli/demo_model.hpp"
#include "cli/model_options.hpp"
#include "cli/progress.hpp"
#include "cli/scheduler_flags.hpp"
#include "sdwalk/error.hpp"
#include "sdwalk/image.hpp"
#include "sdwalk/request_checks.hpp"
#include "sdwalk/seed.hpp"
#include "sdwalk/file_checks.hpp"
#include "sdwalk/weights_hash.hpp"

namespace sdwalk::cli {
namespace {

struct GenerateArgs {
  ModelOptions model;
  std::string prompt, negative_prompt, scheduler, output;
  std::string seed;  // "" = random; parsed by parse_seed (one rule for every seed)
  SchedulerOverrides overrides;
  int steps = 50, height = 512, width = 512;
  double guidance_scale = 7.5;
  bool size_given = false, steps_given = false, guidance_given = false, scheduler_given = false;
  bool overwrite = false;
};

// sdwalk-YYYYMMDD-HHMMSS.png, with -1, -2 ... when that name is taken (two runs in one second).
std::string default_png_name() {
  char buf[64];
  const std::time_t now = std::time(nullptr);
  std::strftime(buf, sizeof buf, "sdwalk-%Y%m%d-%H%M%S", std::localtime(&now));
  std::string name = std::string(buf) + ".png";
  for (int i = 1; !what_is_at(name).empty(); ++i) name = std::string(buf) + "-" + std::to_string(i) + ".png";
  return name;
}

// The file is a PNG, so its name says so (PNG bytes in x.jpg would be a wrong result with exit 0).
void check_png_name(const std::string& path) {
  std::string ext = std::filesystem::path(path).extension().string();
  for (char& c : ext) c = char(std::tolower(static_cast<unsigned char>(c)));
  check(ext == ".png", path + ": generate writes a PNG; name the file with a .png extension");
}

void run_generate(GenerateArgs a) {
  if (use_demo_model_if_none(a.model)) {
    const DemoModelDefaults d;
    if (!a.size_given) a.height = a.width = d.size;
    if (!a.steps_given) a.steps = d.steps;
    if (!a.guidance_given) a.guidance_scale = d.guidance_scale;
  }
  // Validate everything before the (slow) model load.
  StableDiffusionPipeline::check_image_size(a.height, a.width);
  check(a.steps >= 1, "--num-inference-steps must be at least 1, got " + std::to_string(a.steps));
  check(std::isfinite(a.guidance_scale), "--guidance-scale must be a finite number");
  if (!a.scheduler.empty()) check_scheduler_name(a.scheduler);  // with the model's config: check_request below
  if (a.output.empty()) a.output = default_png_name();
  check_png_name(a.output);
  check_output_path(a.output, a.overwrite, "pass --overwrite to replace it");
  check_writable_destination(a.output);
  const uint64_t seed = a.seed.empty() ? random_seed() : uint64_t(parse_seed(a.seed, "--seed"));
  std::fprintf(stderr, "seed: %llu\n", static_cast<unsigned long long>(seed));

  auto pipe = load_pipeline(a.model, [&](const ModelFiles& files) {
    // A few-step model's own steps, guidance and scheduler first: the checks below see what will run.
    follow_few_step_model(files, {a.scheduler, a.steps, a.guidance_scale, a.scheduler_given, a.steps_given,
                                  a.guidance_given});
    latent_shape_for(files, 1, a.height, a.width);
    check_scheduler_request(files, a.scheduler, a.steps);
    check_request_memory(a.model, files, 1, a.height, a.width, a.guidance_scale > 1,
                         "generate " + std::to_string(a.width) + "x" + std::to_string(a.height));
  });
  const auto cond = pipe.encode_prompt(a.prompt);
  const auto uncond = pipe.encode_prompt(a.negative_prompt);
  warn_if_truncated(cond, "prompt");
  warn_if_truncated(uncond, "negative prompt");
  auto scheduler = pipe.make_scheduler(a.scheduler, a.overrides);

  TorchGenerator generator(seed);
  const Tensor latents = generator.randn(pipe.latent_shape(1, a.height, a.width));
  Progress progress("denoising", a.steps);
  const Tensor final_latents = pipe.denoise(*scheduler, cond.embeds, uncond.embeds, latents,
                                            {a.steps, a.guidance_scale}, &generator,
                                            [&](int step, int total, const Tensor&) {
                                              progress.set_total(total);
                                              progress.update(step);
                                            });
  progress.finish();
  pipe.release_unet();  // one picture: the decoder's activations take the UNet's place
  const Image image = image_from_float(pipe.decode(final_latents));

  nlohmann::json settings = {{"command", "generate"},       {"model", a.model.model},
                                   {"weights_hash", weights_hash(pipe.files())},
                                   {"prompt", a.prompt},          {"negative_prompt", a.negative_prompt},
                                   {"seed", seed},                {"num_inference_steps", a.steps},
                                   {"guidance_scale", a.guidance_scale}, {"height", a.height},
                                   {"width", a.width},            {"scheduler", scheduler->name()},
                                   {"sdwalk_version", SDWALK_VERSION}};
  if (!a.overrides.prediction_type.empty()) settings["prediction_type"] = a.overrides.prediction_type;
  if (!a.overrides.timestep_spacing.empty()) settings["timestep_spacing"] = a.overrides.timestep_spacing;
  write_png(a.output, image, {{"sdwalk", settings.dump()}}, /*no_clobber=*/!a.overwrite);
  std::printf("%s\n", a.output.c_str());
}

}  // namespace

void add_generate_command(CLI::App& app) {
  auto a = std::make_shared<GenerateArgs>();
  CLI::App* cmd = app.add_subcommand("generate", "Text to image: one picture from a prompt and a seed (PNG)");
  add_model_options(cmd, a->model);
  cmd->add_option("--prompt,-p", a->prompt, "What to draw")->required();
  cmd->add_option("--negative-prompt,-n", a->negative_prompt, "What to steer away from (default: empty)");
  cmd->add_option("--seed", a->seed, "Seed of the initial noise, 0 .. 2^63-1 (default: random, printed)");
  cmd->add_option("--num-inference-steps,--steps", a->steps, "Denoising steps (--steps: the same)")
      ->capture_default_str();
  cmd->add_option("--guidance-scale", a->guidance_scale, "Classifier-free guidance scale")->capture_default_str();
  cmd->add_option("--height", a->height, "Image height in pixels (a multiple of 64 for SD 1.x: 8 * 2^(UNet levels - 1))")->capture_default_str();
  cmd->add_option("--width", a->width, "Image width in pixels (a multiple of 64 for SD 1.x: 8 * 2^(UNet levels - 1))")->capture_default_str();
  cmd->add_option("--scheduler", a->scheduler,
                  "lms, ddim, pndm, euler, euler_a, dpmpp_2m, dpmpp_2m_karras, lcm or a diffusers class name (default: the "
                  "model's own)");
  add_scheduler_override_flags(cmd, a->overrides);
  cmd->add_option("--output,-o", a->output,
                  "PNG file to write, a new file (default: sdwalk-YYYYMMDD-HHMMSS.png); never a device, FIFO, "
                  "folder or symlink");
  cmd->add_flag("--overwrite", a->overwrite, "Replace the --output file if it exists (only a regular file)");
  cmd->callback([a, cmd] {
    a->size_given = cmd->count("--height") + cmd->count("--width") > 0;
    a->steps_given = cmd->count("--num-inference-steps") > 0;
    a->guidance_given = cmd->count("--guidance-scale") > 0;
    a->scheduler_given = cmd->count("--scheduler") > 0;
    run_generate(*a);
  });
}

}  // namespace sdwalk::cli
