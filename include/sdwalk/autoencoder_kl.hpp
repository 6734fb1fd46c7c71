#pragma once
// diffusers AutoencoderKL (SD 1.x VAE), built from its config.json and weights under diffusers'
// tensor names. NCHW at the API, channels-last inside.
#include <memory>
#include <nlohmann/json.hpp>

#include "sdwalk/precision.hpp"
#include "sdwalk/tensor.hpp"
#include "sdwalk/weights.hpp"

namespace sdwalk {

class AutoencoderKL {
 public:
  // Throws Error for unsupported options (e.g. shift_factor, latents_mean) and for any tensor
  // missing, misshapen or left unexplained by the config.
  // precision: of the convolutions and linear layers (BF16: weights stored bf16, f32 accumulation).
  AutoencoderKL(const nlohmann::json& config, const Weights& weights, Precision precision = Precision::F32);
  ~AutoencoderKL();

  // z: [B, latent_channels, h, w], already divided by scaling_factor() -> [B, out_channels,
  // h * downscale_factor(), w * downscale_factor()], unclamped (post_quant_conv + decoder).
  Tensor decode(const Tensor& z) const;

  // diffusers' DiagonalGaussianDistribution of the moments after quant_conv; logvar clamped to [-30, 20].
  struct Encoded {
    Tensor mean, logvar;  // [B, latent_channels, H / f, W / f]
  };
  // x: [B, in_channels, H, W] in [-1, 1], H and W multiples of downscale_factor().
  Encoded encode(const Tensor& x) const;

  float scaling_factor() const;
  int latent_channels() const;
  int downscale_factor() const;  // 8 for SD
  const nlohmann::json& config() const;

 private:
  struct Impl;
  std::unique_ptr<const Impl> impl_;
};

}  // namespace sdwalk
