#pragma once
// diffusers AutoencoderKL (SD 1.x VAE), built from its config.json and weights under diffusers'
// tensor names. NCHW at the API, channels-last inside.
#include <functional>
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
  AutoencoderKL(const nlohmann::json& config, const Weights& weights, Precision precision = Precision::F32,
                     WeightStorage storage = WeightStorage::Auto);
  ~AutoencoderKL();

  // z: [B, latent_channels, h, w], already divided by scaling_factor() -> [B, out_channels,
  // h * downscale_factor(), w * downscale_factor()], unclamped (post_quant_conv + decoder).
  // `after_up_block` (may be empty) runs after each of the decoder's up blocks, when the previous
  // block's activations are freed (the pipeline hands their pages back to the system there).
  Tensor decode(const Tensor& z, const std::function<void()>& after_up_block = nullptr) const;

  // Tiled decoding, for pictures whose activations would not fit; equal to decode() up to float
  // rounding. The decoder's head (conv_in and the mid block, whose attention sees every latent pixel)
  // runs on the whole latents; its local tail (up blocks to conv_out) runs on tiles of at most
  // `tile` x `tile` latent pixels plus a margin of the tail's reach, and each tile writes only its own
  // part of the picture. The tail's GroupNorms need the whole picture's statistics: they are measured
  // one GroupNorm per pass over the tiles (each pass stops at the GroupNorm it measures), so memory
  // follows the tile while time grows to several times decode()'s (about 10x for SD 1.5's VAE).
  struct Tiling {
    int tile = 48;  // latent pixels (8x as many image pixels)
  };
  Tensor decode_tiled(const Tensor& z, const Tiling& tiling) const;
  // The margin decode_tiled adds on each side of a tile's core: the tail's reach, in latent pixels.
  int64_t tile_margin() const;
  // Whether decode() would need more memory than a machine of a few GB has for latents of h x w:
  // above 192 x 192 (1536 x 1536 pixels), where it passes 6 GB for SD 1.5's VAE.
  static bool tiling_advised(int64_t h, int64_t w);

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
  // decode() in parts, NHWC: post_quant_conv + the decoder's head, then its tail.
  Tensor decode_head(const Tensor& z_nhwc) const;
  Tensor decode_tail(const Tensor& h) const;

  struct Impl;
  std::unique_ptr<const Impl> impl_;
};

}  // namespace sdwalk
