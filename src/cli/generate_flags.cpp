#include "cli/generate_flags.hpp"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>

#include "cli/demo_model.hpp"
#include "cli/image_input.hpp"
#include "cli/scheduler_flags.hpp"
#include "core/file_checks.hpp"
#include "sdwalk/seed.hpp"

namespace sdwalk::cli {
namespace {

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
void check_output(GenerateArgs& a) {
  if (a.output.empty()) a.output = default_png_name();
  std::string ext = std::filesystem::path(a.output).extension().string();
  for (char& c : ext) c = char(std::tolower(static_cast<unsigned char>(c)));
  check(ext == ".png", a.output + ": generate writes a PNG; name the file with a .png extension");
  check_output_path(a.output, a.overwrite, "pass --overwrite to replace it");
  check_writable_destination(a.output);
}

}  // namespace

void add_generate_flags(CLI::App* cmd, GenerateArgs& a) {
  GenerateRequest& r = a.request;
  add_model_options(cmd, a.model);
  cmd->add_option("--prompt,-p", r.prompt, "What to draw")->required();
  cmd->add_option("--negative-prompt,-n", r.negative_prompt, "What to steer away from (default: empty)");
  cmd->add_option("--seed", a.seed, "Seed of the initial noise, 0 .. 2^63-1 (default: random, printed)");
  cmd->add_option("--num-inference-steps,--steps", r.num_inference_steps, "Denoising steps (--steps: the same)")
      ->capture_default_str();
  cmd->add_option("--guidance-scale", r.guidance_scale, "Classifier-free guidance scale")->capture_default_str();
  cmd->add_option("--height", r.height, "Image height in pixels (a multiple of 64 for SD 1.x: 8 * 2^(UNet levels - 1))")->capture_default_str();
  cmd->add_option("--width", r.width, "Image width in pixels (a multiple of 64 for SD 1.x: 8 * 2^(UNet levels - 1))")->capture_default_str();
  cmd->add_option("--scheduler", r.scheduler,
                  "lms, ddim, pndm, euler, euler_a, dpmpp_2m, dpmpp_2m_karras, lcm or a diffusers class name (default: the "
                  "model's own)");
  add_scheduler_override_flags(cmd, r.scheduler_overrides);
  add_size_conditioning_flags(cmd, a.size);
  cmd->add_option("--output,-o", a.output,
                  "PNG file to write, a new file (default: sdwalk-YYYYMMDD-HHMMSS.png); never a device, FIFO, "
                  "folder or symlink");
  cmd->add_flag("--overwrite", a.overwrite, "Replace the --output file if it exists (only a regular file)");
  cmd->add_option("--image", a.image,
                  "img2img: PNG to redraw (diffusers' StableDiffusionImg2ImgPipeline); its size unless --width/--height");
  cmd->add_option("--strength", r.strength, "img2img: how much of the picture is redrawn, (0, 1]")->capture_default_str();
  cmd->add_option("--fit", a.fit, "img2img: bring an --image of another size to --width x --height: crop, pad or stretch")
      ->check(CLI::IsMember({"crop", "pad", "stretch"}));
  cmd->add_option("--noise", a.noise,
                  "Safetensors file with the initial noise latents (one tensor, e.g. from sdwalk invert) instead of the seed's");
}

void prepare_generate(GenerateArgs& a, bool size_given, SamplingGiven given) {
  GenerateRequest& r = a.request;
  Image image;
  if (!a.image.empty()) {
    image = read_input_image(a.image);
    if (!size_given) {  // the picture's own size, when the model takes it
      check(image.width % 8 == 0 && image.height % 8 == 0,
            a.image + " is " + std::to_string(image.width) + "x" + std::to_string(image.height) +
                ", a size the model cannot take (sides must be multiples of 8); pass --width and --height with --fit "
                "crop|pad|stretch");
      r.width = image.width;
      r.height = image.height;
    }
  } else {
    check(a.fit.empty(), "--fit sizes an --image; there is none");
    check(!a.strength_given, "--strength is img2img's: give --image too");
  }
  use_demo_model_if_none(a.model, {r.height, r.width, r.num_inference_steps, r.guidance_scale,
                                   size_given || !a.image.empty(), given});
  // Everything that needs no model is checked before the (slow) load; the rest as it starts.
  StableDiffusionPipeline::check_image_size(r.height, r.width);
  check(r.num_inference_steps >= 1, "--num-inference-steps must be at least 1, got " + std::to_string(r.num_inference_steps));
  check(std::isfinite(r.guidance_scale), "--guidance-scale must be a finite number");
  if (!r.scheduler.empty()) check_scheduler_name(r.scheduler);
  r.size_conditioning = parse_size_conditioning(a.size);
  if (!a.image.empty()) {
    r.image = sized_input_image(image, a.image, r.width, r.height, a.fit);
    StableDiffusionPipeline::img2img_begin_index(r.num_inference_steps, r.strength);
  }
  if (!a.noise.empty()) check_regular_file(a.noise, "a noise file (safetensors)");
  check_output(a);
  r.seed = a.seed.empty() ? random_seed() : uint64_t(parse_seed(a.seed, "--seed"));
  std::fprintf(stderr, "seed: %llu\n", static_cast<unsigned long long>(r.seed));
}

}  // namespace sdwalk::cli
