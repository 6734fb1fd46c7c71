#include "sdwalk/autoencoder_kl.hpp"

#include <mutex>
#include <optional>

#include "models/config_reader.hpp"
#include "models/local_ops.hpp"
#include "models/vae.hpp"
#include "sdwalk/error.hpp"
#include "backend/cpu/ops.hpp"

namespace sdwalk {

using namespace models;

struct AutoencoderKL::Impl {
  nlohmann::json config;
  int in_channels = 3, out_channels = 3, latent_channels = 4, downscale_factor = 1;
  float scaling_factor = 0.18215f;
  // The encoder only serves images coming in (encode()): it is built once at construction to check
  // its weights, then dropped, and rebuilt from `encoder_weights` (views into the checkpoint, or the
  // caller's tensors) on the first encode(). Text-to-image never holds its weights.
  VaeOptions options;
  Precision precision = Precision::F32;
  WeightStorage storage = WeightStorage::Auto;
  Weights encoder_weights;
  mutable std::mutex encoder_mutex;
  mutable std::optional<Encoder> encoder;
  std::optional<Decoder> decoder;
  ops::Conv2d quant_conv, post_quant_conv;  // undefined when the config turns them off
};

namespace {

void check_block_types(const ConfigReader& c, const std::string& key, const std::string& expected, size_t n) {
  const auto types = c.strings(key, std::vector<std::string>(n, expected));
  check(types.size() == n, c.what() + ": " + key + " has " + std::to_string(types.size()) +
                               " entries, block_out_channels " + std::to_string(n));
  for (const auto& t : types)
    if (t != expected) c.unsupported(key, "only " + expected);
}

}  // namespace

AutoencoderKL::AutoencoderKL(const nlohmann::json& config, const Weights& weights, Precision precision,
                             WeightStorage storage) {
  auto impl = std::make_unique<Impl>();
  impl->config = config;
  const ConfigReader c(config, "vae config");
  if (c.has("_class_name") && c.string("_class_name", "") != "AutoencoderKL")
    c.unsupported("_class_name", "expected AutoencoderKL");
  // The pipeline only knows latents = scaling_factor * z; these would change that formula.
  c.require_null("shift_factor", "the SD 1.x VAE has none");
  c.require_null("latents_mean", "the SD 1.x VAE has none");
  c.require_null("latents_std", "the SD 1.x VAE has none");
  if (c.string("act_fn", "silu") != "silu") c.unsupported("act_fn", "only silu");

  VaeOptions o;
  o.block_out_channels = c.integers("block_out_channels", {64});
  check(!o.block_out_channels.empty(), "vae config: block_out_channels is empty");
  for (int ch : o.block_out_channels) check(ch > 0, "vae config: block_out_channels must be positive");
  const size_t n = o.block_out_channels.size();
  check_block_types(c, "down_block_types", "DownEncoderBlock2D", n);
  check_block_types(c, "up_block_types", "UpDecoderBlock2D", n);
  o.layers_per_block = c.integer("layers_per_block", 1);
  o.norm_num_groups = c.integer("norm_num_groups", 32);
  o.mid_block_add_attention = c.boolean("mid_block_add_attention", true);
  check(o.layers_per_block > 0, "vae config: layers_per_block must be positive");

  impl->in_channels = c.integer("in_channels", 3);
  impl->out_channels = c.integer("out_channels", 3);
  impl->latent_channels = c.integer("latent_channels", 4);
  impl->scaling_factor = float(c.number("scaling_factor", 0.18215));
  impl->downscale_factor = 1 << (n - 1);
  const int64_t L = impl->latent_channels;

  ParamReader p(weights, precision, storage);
  impl->encoder.emplace(p, "encoder", impl->in_channels, L, o);
  impl->encoder.reset();
  impl->options = o;
  impl->precision = precision;
  impl->storage = storage;
  impl->encoder_weights = Weights(weights.network(), weights.source());
  for (const auto& name : weights.names())
    if (name.rfind("encoder.", 0) == 0) impl->encoder_weights.add(name, weights.get(name));
  impl->decoder.emplace(p, "decoder", L, impl->out_channels, o);
  // 1x1 convolutions on the latents: f32 costs nothing.
  if (c.boolean("use_quant_conv", true)) impl->quant_conv = p.conv("quant_conv", 2 * L, 2 * L, 1, 1, 0, Precision::F32);
  if (c.boolean("use_post_quant_conv", true))
    impl->post_quant_conv = p.conv("post_quant_conv", L, L, 1, 1, 0, Precision::F32);
  p.check_all_used();
  impl_ = std::move(impl);
}

AutoencoderKL::~AutoencoderKL() = default;

Tensor AutoencoderKL::decode(const Tensor& z, const std::function<void()>& after_up_block) const {
  const Impl& m = *impl_;
  check(z.ndim() == 4 && z.dim(1) == m.latent_channels && z.dim(0) > 0 && z.dim(2) > 0 && z.dim(3) > 0,
        "vae: latents have shape " + shape_string(z.shape()) + ", expected [B, " + std::to_string(m.latent_channels) +
            ", h, w]");
  Tensor h = ops::nchw_to_nhwc(z.dtype() == DType::F32 ? z : z.to_f32());
  if (m.post_quant_conv.defined()) h = m.post_quant_conv.forward(h);
  return ops::nhwc_to_nchw(m.decoder->forward(h, after_up_block));
}

Tensor AutoencoderKL::decode_head(const Tensor& z_nhwc) const {
  const Impl& m = *impl_;
  return m.decoder->forward_head(m.post_quant_conv.defined() ? m.post_quant_conv.forward(z_nhwc) : z_nhwc);
}

Tensor AutoencoderKL::decode_tail(const Tensor& h) const { return impl_->decoder->forward_tail(h); }

int64_t AutoencoderKL::tile_margin() const { return impl_->decoder->tail_reach(); }

AutoencoderKL::Encoded AutoencoderKL::encode(const Tensor& x) const {
  const Impl& m = *impl_;
  check(x.ndim() == 4 && x.dim(1) == m.in_channels && x.dim(0) > 0,
        "vae: image has shape " + shape_string(x.shape()) + ", expected [B, " + std::to_string(m.in_channels) + ", H, W]");
  const int64_t H = x.dim(2), W = x.dim(3), f = m.downscale_factor;
  check(H > 0 && W > 0 && H % f == 0 && W % f == 0,
        "vae: image size " + std::to_string(H) + "x" + std::to_string(W) + " must be a positive multiple of " +
            std::to_string(f));
  std::unique_lock<std::mutex> lock(m.encoder_mutex);
  if (!m.encoder) {
    ParamReader p(m.encoder_weights, m.precision, m.storage);
    m.encoder.emplace(p, "encoder", m.in_channels, m.latent_channels, m.options);
  }
  lock.unlock();
  Tensor h = m.encoder->forward(ops::nchw_to_nhwc(x.dtype() == DType::F32 ? x : x.to_f32()));
  if (m.quant_conv.defined()) h = m.quant_conv.forward(h);
  const Tensor moments = ops::nhwc_to_nchw(h);
  const int64_t L = m.latent_channels;
  Encoded out{channel_slice_nchw(moments, 0, L), channel_slice_nchw(moments, L, 2 * L)};
  clamp_inplace(out.logvar, -30.0f, 20.0f);
  return out;
}

float AutoencoderKL::scaling_factor() const { return impl_->scaling_factor; }
int AutoencoderKL::latent_channels() const { return impl_->latent_channels; }
int AutoencoderKL::downscale_factor() const { return impl_->downscale_factor; }
const nlohmann::json& AutoencoderKL::config() const { return impl_->config; }

}  // namespace sdwalk
