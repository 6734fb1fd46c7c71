// sdwalk invert IN.png -o noise.safetensors: the picture's noise (Engine::invert), written as the one
// tensor --noise takes, and the PSNR of regenerating the picture from it.
#include <cctype>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "cli/commands.hpp"
#include "cli/demo_model.hpp"
#include "cli/image_input.hpp"
#include "cli/model_options.hpp"
#include "cli/progress.hpp"
#include "sdwalk/engine.hpp"
#include "core/file_checks.hpp"
#include "sdwalk/safetensors.hpp"

namespace sdwalk::cli {
namespace {

struct InvertArgs {
  ModelOptions model;
  InvertRequest request;
  std::string input, output, reconstruction, fit, method = "exact";
  int width = 0, height = 0;
  bool overwrite = false;
};

std::string lower_extension(const std::string& path) {
  std::string ext = std::filesystem::path(path).extension().string();
  for (char& c : ext) c = char(std::tolower(static_cast<unsigned char>(c)));
  return ext;
}

std::string shell_quoted(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

void run_invert(InvertArgs a, SamplingGiven given) {
  InvertRequest& r = a.request;
  check(lower_extension(a.output) == ".safetensors", a.output + ": invert writes a safetensors file; name it x.safetensors");
  check_output_path(a.output, a.overwrite, "pass --overwrite to replace it");
  check_writable_destination(a.output);
  if (!a.reconstruction.empty()) {
    check(lower_extension(a.reconstruction) == ".png", a.reconstruction + ": --reconstruction writes a PNG");
    check_output_path(a.reconstruction, a.overwrite, "pass --overwrite to replace it");
    check_writable_destination(a.reconstruction);
  }
  check(a.method == "exact" || a.method == "ddim", "--method '" + a.method + "': expected exact or ddim");
  r.method = a.method == "exact" ? InversionMethod::Exact : InversionMethod::Ddim;
  const Image image = read_input_image(a.input);
  const bool size_given = a.width > 0 || a.height > 0;
  int width = size_given ? a.width : image.width, height = size_given ? a.height : image.height;
  if (!size_given)
    check(image.width % 8 == 0 && image.height % 8 == 0,
          a.input + " is " + std::to_string(image.width) + "x" + std::to_string(image.height) +
              ", a size the model cannot take (sides must be multiples of 8); pass --width and --height with --fit "
              "crop|pad|stretch");
  double guidance = 1.0;
  std::string scheduler;
  // The demo model's steps when it is used and --steps was not given (its size is the picture's).
  use_demo_model_if_none(a.model, {height, width, r.num_inference_steps, guidance, true, given});
  if (size_given && a.width == 0) width = height;
  if (size_given && a.height == 0) height = width;
  StableDiffusionPipeline::check_image_size(height, width);
  r.image = sized_input_image(image, a.input, width, height, a.fit);
  check(r.num_inference_steps >= 1, "--steps must be at least 1");

  EngineOptions options = engine_options(a.model);
  options.memory = MemoryPolicy::Keep;  // the UNet inverts, then regenerates
  options.check_request = [&](const ModelFiles& files) {
    latent_shape_for(files, 1, height, width);
    check_invertible(files);
  };
  std::fprintf(stderr, "loading %s\n", a.model.model.c_str());
  const Engine engine(options);
  Progress progress("inverting + regenerating", 2 * r.num_inference_steps);
  Callbacks callbacks;
  callbacks.on_notice = print_notice;
  callbacks.on_step = [&](int step, int) {
    progress.update(step);
    return true;
  };
  const InvertResult result = engine.invert(r, callbacks);
  progress.finish();
  std::map<std::string, std::string> meta = {{"sdwalk", result.settings.dump()}};
  save_safetensors(a.output, {{"noise", result.noise}}, meta);
  if (!a.reconstruction.empty())
    write_png(a.reconstruction, result.reconstruction, {{"sdwalk", result.settings.dump()}}, !a.overwrite);
  std::fprintf(stderr, "%s inversion, %d steps, %d UNet evaluations%s\n", a.method.c_str(), r.num_inference_steps,
               result.inversion.unet_evaluations,
               r.method == InversionMethod::Exact
                   ? (", worst step residual " + std::to_string(result.inversion.max_residual)).c_str()
                   : "");
  if (r.method == InversionMethod::Exact && result.inversion.max_residual > 1e-3)
    std::fprintf(stderr,
                 "warning: the fixed-point iteration did not converge (worst residual %g): the noise regenerates the "
                 "picture only approximately; more --steps make each step smaller and easier to undo\n",
                 result.inversion.max_residual);
  std::printf("%s\n", a.output.c_str());
  std::printf("reconstruction PSNR %.2f dB (VAE round trip alone %.2f dB); mean |regenerated - VAE round trip| %.3f/255\n",
              result.psnr, result.vae_psnr, result.mean_abs_vs_round_trip);
  std::fprintf(stderr, "regenerate with: sdwalk generate --noise %s -p %s --scheduler ddim%s --guidance-scale 1 --steps %d "
               "--width %d --height %d%s\n",
               shell_quoted(a.output).c_str(), shell_quoted(r.prompt).c_str(),
               result.overrides.timestep_spacing.empty() ? "" : (" --timestep-spacing " + result.overrides.timestep_spacing).c_str(),
               r.num_inference_steps, width, height,
               a.model.model.empty() ? "" : (" --model " + shell_quoted(a.model.model)).c_str());
}

}  // namespace

void add_invert_command(CLI::App& app) {
  auto a = std::make_shared<InvertArgs>();
  CLI::App* cmd = app.add_subcommand(
      "invert", "Picture to noise: the noise that regenerates IN.png with DDIM at guidance 1 (for --noise, morph walks)");
  add_model_options(cmd, a->model);
  cmd->add_option("image", a->input, "PNG to invert")->required();
  cmd->add_option("--output,-o", a->output, "Safetensors file to write (one tensor \"noise\" [1, 4, h, w])")->required();
  cmd->add_option("--prompt,-p", a->request.prompt, "Caption to invert under (default: empty)");
  cmd->add_option("--num-inference-steps,--steps", a->request.num_inference_steps, "DDIM steps")->capture_default_str();
  cmd->add_option("--method", a->method,
                  "exact: each DDIM step solved by fixed-point iteration (regenerates the VAE round trip); ddim: "
                  "diffusers' DDIMInverseScheduler (one UNet pass a step, inexact)")
      ->capture_default_str();
  cmd->add_option("--width", a->width, "Invert at this width (with --fit; default: the picture's)");
  cmd->add_option("--height", a->height, "Invert at this height (with --fit; default: the picture's)");
  cmd->add_option("--fit", a->fit, "Bring a picture of another size to --width x --height: crop, pad or stretch")
      ->check(CLI::IsMember({"crop", "pad", "stretch"}));
  cmd->add_option("--reconstruction", a->reconstruction, "Also write the picture regenerated from the noise (PNG)");
  cmd->add_flag("--overwrite", a->overwrite, "Replace existing output files (only regular files)");
  cmd->callback([a, cmd] {
    SamplingGiven given;  // only the steps are a flag here: DDIM at guidance 1 is the inversion's own
    given.scheduler = given.guidance = true;
    given.steps = cmd->count("--num-inference-steps") > 0;
    run_invert(*a, given);
  });
}

}  // namespace sdwalk::cli
