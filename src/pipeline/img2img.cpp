// img2img as diffusers' StableDiffusionImg2ImgPipeline (v0.30.3): the picture's VAE latents are
// noised to the strength's first timestep by the scheduler's add_noise, and the denoising loop runs
// the remaining timesteps.
#include <cmath>

#include "sdwalk/error.hpp"
#include "sdwalk/stable_diffusion_pipeline.hpp"

namespace sdwalk {

Tensor StableDiffusionPipeline::image_to_tensor(const Image& image) {
  check(image.width > 0 && image.height > 0 && image.rgb.size() == size_t(image.width) * size_t(image.height) * 3,
        "image: expected " + std::to_string(image.width) + "x" + std::to_string(image.height) + " RGB pixels");
  const int64_t h = image.height, w = image.width;
  Tensor out({1, 3, h, w});
  float* p = out.f32();
  // VaeImageProcessor: np.float32(u8) / 255, then 2 * x - 1 in float32.
  for (int64_t c = 0; c < 3; ++c)
    for (int64_t y = 0; y < h; ++y)
      for (int64_t x = 0; x < w; ++x) {
        const float v = float(image.rgb[size_t((y * w + x) * 3 + c)]) / 255.0f;
        p[(c * h + y) * w + x] = 2.0f * v - 1.0f;
      }
  return out;
}

AutoencoderKL::Encoded StableDiffusionPipeline::encode(const Tensor& image) const {
  check(image.ndim() == 4 && image.dim(1) == 3,
        "encode: expected an image tensor [batch, 3, height, width], got " + shape_string(image.shape()));
  const int f = vae_->downscale_factor();
  check(image.dim(2) % f == 0 && image.dim(3) % f == 0,
        "encode: the image's sides must be multiples of " + std::to_string(f) + ", got " + shape_string(image.shape()));
  return vae_->encode(image);
}

Tensor StableDiffusionPipeline::image_latents(const AutoencoderKL::Encoded& dist, TorchGenerator* generator) const {
  Tensor out = dist.mean.to_f32().clone();
  float* p = out.f32();
  const float s = vae_->scaling_factor();
  if (generator) {
    // DiagonalGaussianDistribution.sample: mean + std * randn(mean.shape, generator), std = exp(0.5 logvar).
    const Tensor noise = generator->randn(out.shape());
    const Tensor logvar = dist.logvar.to_f32();
    const float* n = noise.f32();
    const float* lv = logvar.f32();
    for (int64_t i = 0; i < out.numel(); ++i) p[i] = p[i] + std::exp(0.5f * lv[i]) * n[i];
  }
  for (int64_t i = 0; i < out.numel(); ++i) p[i] = s * p[i];
  return out;
}

int StableDiffusionPipeline::img2img_begin_index(int steps, double strength) {
  check(std::isfinite(strength) && strength > 0 && strength <= 1,
        "strength must be in (0, 1], got " + std::to_string(strength));
  const int init_timestep = std::min(int(double(steps) * strength), steps);
  check(init_timestep >= 1, "strength " + std::to_string(strength) + " with " + std::to_string(steps) +
                                " steps runs no denoising step (int(steps * strength) = 0); raise the strength or "
                                "the steps");
  return std::max(steps - init_timestep, 0);
}

Tensor StableDiffusionPipeline::denoise_image(Scheduler& scheduler, const Tensor& cond, const Tensor& uncond,
                                              const Tensor& image_latents, const Tensor& noise, double strength,
                                              const DenoiseOptions& options, TorchGenerator* generator,
                                              const StepCallback& on_step) const {
  check(noise.shape() == image_latents.shape(), "img2img: noise " + shape_string(noise.shape()) +
                                                    " does not match the image latents " +
                                                    shape_string(image_latents.shape()));
  const int begin = img2img_begin_index(options.num_inference_steps, strength);
  scheduler.set_timesteps(options.num_inference_steps);
  // Every scheduler here has order 1, so t_start indexes the timesteps directly.
  scheduler.set_begin_index(begin);
  const double t0 = scheduler.timesteps().at(size_t(begin));
  Tensor x = scheduler.add_noise(image_latents.to_f32(), noise.to_f32(), t0);
  return denoise_from(scheduler, cond, uncond, std::move(x), begin, options, generator, on_step);
}

}  // namespace sdwalk
