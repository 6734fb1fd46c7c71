// sdwalk generate: one text-to-image run (Engine::generate, diffusers' StableDiffusionPipeline
// semantics), written as a PNG that carries the settings reproducing it.
#include <cstdio>

#include "cli/commands.hpp"
#include "cli/generate_flags.hpp"
#include "cli/model_options.hpp"
#include "cli/progress.hpp"
#include "sdwalk/engine.hpp"
#include "sdwalk/walk_runner.hpp"

namespace sdwalk::cli {
namespace {

void run_generate(GenerateArgs a, bool size_given, SamplingGiven given) {
  prepare_generate(a, size_given, given);
  GenerateRequest& r = a.request;
  EngineOptions options = engine_options(a.model);
  options.check_request = [&](const ModelFiles& files) {
    print_notice(prepare_request(files, options, r, given));
    if (!a.noise.empty()) {  // one noise of the request's latent shape (e.g. from sdwalk invert)
      const Shape one = latent_shape_for(files, 1, r.height, r.width);
      r.latents = load_noise_file(a.noise, 1, Shape(one.begin() + 1, one.end()));
    }
  };
  std::fprintf(stderr, "loading %s\n", a.model.model.c_str());
  const Engine engine(options);
  Progress progress("denoising", r.num_inference_steps);
  Callbacks callbacks;
  callbacks.on_notice = print_notice;
  callbacks.on_step = [&](int step, int steps) {
    progress.set_total(steps);
    progress.update(step);
    if (step == steps) {  // the VAE decode comes next: at 512x512 on 2 cores, seconds to tens of seconds
      progress.finish();
      std::fprintf(stderr, "decoding\n");
    }
    return true;
  };
  const GenerateResult result = engine.generate(r, callbacks);
  progress.finish();
  const StageTimes t = engine.pipeline().stage_times();
  std::fprintf(stderr, "text encoder %.2f s, UNet %.2f s, VAE %.2f s\n", t.text_encoder_s, t.unet_s, t.vae_s);
  write_png(a.output, result.image, {{"sdwalk", result.settings.dump()}}, /*no_clobber=*/!a.overwrite);
  std::printf("%s\n", a.output.c_str());
}

}  // namespace

void add_generate_command(CLI::App& app) {
  auto a = std::make_shared<GenerateArgs>();
  CLI::App* cmd = app.add_subcommand("generate", "Text to image: one picture from a prompt and a seed (PNG)");
  add_generate_flags(cmd, *a);
  cmd->callback([a, cmd] {
    a->strength_given = cmd->count("--strength") > 0;
    run_generate(*a, cmd->count("--height") + cmd->count("--width") > 0, sampling_given(*cmd));
  });
}

}  // namespace sdwalk::cli
