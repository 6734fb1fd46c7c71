// Engine::invert: a picture to noise, then the picture regenerated from that noise with plain DDIM
// (guidance 1) and measured against the input and against the VAE's own round trip.
#include "sdwalk/engine.hpp"
#include "backend/cpu/ops.hpp"
#include "io/weights_hash.hpp"

namespace sdwalk {

InvertResult Engine::invert(const InvertRequest& r, const Callbacks& callbacks) const {
  sdwalk::check(r.image.width > 0 && r.image.height > 0, "invert: the image is empty");
  latent_shape_for(pipe_->files(), 1, r.image.height, r.image.width);  // a size the model takes
  check_invertible(pipe_->files());
  sdwalk::check(r.num_inference_steps >= 1, "invert: steps must be at least 1");
  const ops::ThreadScope scope(threads_);
  const EncodedPrompt prompt = pipe_->encode_prompt(r.prompt);
  if (prompt.tokens.truncated && callbacks.on_notice) callbacks.on_notice("warning: the prompt was cut at 77 tokens");
  StepCallback on_step;
  int done = 0;
  if (callbacks.on_step)
    on_step = [&](int, int, const Tensor&) {
      if (!callbacks.on_step(++done, 2 * r.num_inference_steps)) throw Cancelled();
    };
  const AutoencoderKL::Encoded dist = pipe_->encode(StableDiffusionPipeline::image_to_tensor(r.image));
  // The mean, not a sample: the picture itself, as diffusers' inversion examples take it.
  const Tensor x0 = pipe_->image_latents(dist, nullptr);
  InvertResult out;
  InversionOptions options;
  options.num_inference_steps = r.num_inference_steps;
  options.method = r.method;
  out.inversion = pipe_->invert(x0, prompt.embeds, options, on_step);
  out.noise = out.inversion.noise;
  out.overrides = pipe_->inversion_overrides();
  auto ddim = pipe_->make_scheduler("ddim", out.overrides);
  const Tensor regen = pipe_->denoise(*ddim, prompt.embeds, Tensor(), out.noise, {r.num_inference_steps, 1.0}, nullptr,
                                      on_step);
  // Decoded one by one, as generate decodes: --noise then gives these very pixels.
  out.reconstruction = image_from_float(pipe_->decode(regen));
  out.vae_round_trip = image_from_float(pipe_->decode(x0));
  out.psnr = psnr(out.reconstruction, r.image);
  out.vae_psnr = psnr(out.vae_round_trip, r.image);
  out.mean_abs_vs_round_trip = mean_abs_difference(out.reconstruction, out.vae_round_trip);
  out.settings = {{"command", "invert"},
                  {"model", options_.model.string()},
                  {"weights_hash", weights_hash(pipe_->files())},
                  {"prompt", r.prompt},
                  {"method", r.method == InversionMethod::Exact ? "exact" : "ddim"},
                  {"num_inference_steps", r.num_inference_steps},
                  {"guidance_scale", 1.0},
                  {"scheduler", "ddim"},
                  {"timestep_spacing", out.overrides.timestep_spacing},
                  {"height", r.image.height},
                  {"width", r.image.width},
                  {"psnr_db", out.psnr},
                  {"vae_round_trip_psnr_db", out.vae_psnr},
                  {"sdwalk_version", SDWALK_VERSION}};
  return out;
}

}  // namespace sdwalk
