#include "sdwalk/unet_2d_condition_model.hpp"

#include <algorithm>
#include <optional>
#include <vector>

#include "models/config_reader.hpp"
#include "models/embeddings.hpp"
#include "models/local_ops.hpp"
#include "models/unet_2d_blocks.hpp"
#include "sdwalk/error.hpp"

namespace sdwalk {

using namespace models;

namespace {

const char* kCrossDown = "CrossAttnDownBlock2D";
const char* kDown = "DownBlock2D";
const char* kCrossUp = "CrossAttnUpBlock2D";
const char* kUp = "UpBlock2D";

// Rejects every option that changes the network away from the SD 1.x/2.x family.
void reject_unsupported(const ConfigReader& c) {
  const std::string sd1 = "sdwalk runs the SD 1.x/2.x UNet";
  if (c.has("_class_name") && c.string("_class_name", "") != "UNet2DConditionModel")
    c.unsupported("_class_name", "expected UNet2DConditionModel");
  // addition_embed_type "text_time" (SDXL) is read by the constructor; every other one is refused.
  if (c.has("addition_embed_type") && c.string("addition_embed_type", "") != "text_time")
    c.unsupported("addition_embed_type", "only \"text_time\" (SDXL)");
  for (const char* key : {"class_embed_type", "num_class_embeds", "encoder_hid_dim", "encoder_hid_dim_type",
                          "timestep_post_act", "time_embedding_act_fn", "cross_attention_norm",
                          "reverse_transformer_layers_per_block"})
    c.require_null(key, sd1);
  // diffusers itself refuses num_attention_heads here (its attention_head_dim means heads).
  c.require_null("num_attention_heads", "use attention_head_dim, which diffusers reads as the number of heads");
  if (c.boolean("center_input_sample", false)) c.unsupported("center_input_sample", sd1);
  if (c.boolean("dual_cross_attention", false)) c.unsupported("dual_cross_attention", sd1);
  if (c.boolean("resnet_skip_time_act", false)) c.unsupported("resnet_skip_time_act", sd1);
  if (c.boolean("class_embeddings_concat", false)) c.unsupported("class_embeddings_concat", sd1);
  if (c.string("time_embedding_type", "positional") != "positional") c.unsupported("time_embedding_type", sd1);
  if (c.string("resnet_time_scale_shift", "default") != "default") c.unsupported("resnet_time_scale_shift", sd1);
  if (c.string("act_fn", "silu") != "silu") c.unsupported("act_fn", "only silu");
  if (c.string("attention_type", "default") != "default") c.unsupported("attention_type", sd1);
  if (c.string("mid_block_type", "UNetMidBlock2DCrossAttn") != "UNetMidBlock2DCrossAttn")
    c.unsupported("mid_block_type", "only UNetMidBlock2DCrossAttn");
}

}  // namespace

struct UNet2DConditionModel::Impl {
  nlohmann::json config;
  int in_channels = 4, out_channels = 4, cross_attention_dim = 768, downscale_factor = 1;
  int64_t time_embed_dim = 0;
  Timesteps time_proj;
  TimestepEmbedding time_embedding;
  // SDXL's text_time: add_time_proj embeds each of the 6 time ids, add_embedding takes them with the pooled text.
  bool text_time = false;
  int pooled_dim = 0;
  Timesteps add_time_proj;
  TimestepEmbedding add_embedding;
  ops::Conv2d conv_in, conv_out;
  std::vector<CrossAttnDownBlock2D> down_blocks;
  std::optional<UNetMidBlock2DCrossAttn> mid_block;
  std::vector<CrossAttnUpBlock2D> up_blocks;
  GroupNorm conv_norm_out;
};

namespace {

// only_cross_attention is a bool or one bool per block; SD 1.x has none.
void reject_only_cross_attention(const nlohmann::json& config, const ConfigReader& c) {
  auto it = config.find("only_cross_attention");
  if (it == config.end() || it->is_null()) return;
  bool any = it->is_boolean() ? it->get<bool>() : false;
  if (it->is_array())
    for (const auto& e : *it) any = any || (e.is_boolean() && e.get<bool>());
  else if (!it->is_boolean())
    c.unsupported("only_cross_attention", "expected true/false or a list of them");
  if (any) c.unsupported("only_cross_attention", "sdwalk runs the SD 1.x UNet");
}

}  // namespace

UNet2DConditionModel::UNet2DConditionModel(const nlohmann::json& config, const Weights& weights, Precision precision,
                                           WeightStorage storage) {
  auto impl = std::make_unique<Impl>();
  impl->config = config;
  const ConfigReader c(config, "unet config");
  reject_unsupported(c);
  reject_only_cross_attention(config, c);

  const std::vector<std::string> down_types =
      c.strings("down_block_types", {kCrossDown, kCrossDown, kCrossDown, kDown});
  const std::vector<std::string> up_types = c.strings("up_block_types", {kUp, kCrossUp, kCrossUp, kCrossUp});
  const std::vector<int> channels = c.integers("block_out_channels", {320, 640, 1280, 1280});
  const size_t n = down_types.size();
  check(n > 0 && channels.size() == n && up_types.size() == n,
        "unet config: down_block_types, up_block_types and block_out_channels must have the same, non-zero length");
  for (const auto& t : down_types)
    if (t != kCrossDown && t != kDown) c.unsupported("down_block_types", "block '" + t + "'");
  for (const auto& t : up_types)
    if (t != kCrossUp && t != kUp) c.unsupported("up_block_types", "block '" + t + "'");
  for (int ch : channels) check(ch > 0, "unet config: block_out_channels must be positive");

  const std::vector<int> layers = c.per_block("layers_per_block", 2, n);
  // SD's quirk: attention_head_dim is the number of heads (num_attention_heads must be null).
  const std::vector<int> heads = c.per_block("attention_head_dim", 8, n);
  const std::vector<int> transformer_layers = c.per_block("transformer_layers_per_block", 1, n);
  const std::vector<int> cross_dims = c.per_block("cross_attention_dim", 1280, n);
  for (size_t i = 0; i < n; ++i) {
    check(heads[i] > 0 && layers[i] > 0 && transformer_layers[i] > 0 && cross_dims[i] > 0,
          "unet config: attention_head_dim, layers_per_block, transformer_layers_per_block and cross_attention_dim "
          "must be positive");
    check(cross_dims[i] == cross_dims[0], "unet config: cross_attention_dim must be the same for every block");
  }
  const int groups = c.integer("norm_num_groups", 32);
  // An explicit null means "no output norm" in diffusers, which SD never uses.
  check(c.has("norm_num_groups") || !config.contains("norm_num_groups"),
        "unet config: norm_num_groups = null (no output norm) is not supported");
  const float eps = float(c.number("norm_eps", 1e-5));
  const bool linear_proj = c.boolean("use_linear_projection", false);
  const int conv_in_kernel = c.integer("conv_in_kernel", 3), conv_out_kernel = c.integer("conv_out_kernel", 3);
  check(conv_in_kernel % 2 == 1 && conv_out_kernel % 2 == 1, "unet config: conv_in_kernel/conv_out_kernel must be odd");

  impl->in_channels = c.integer("in_channels", 4);
  impl->out_channels = c.integer("out_channels", 4);
  impl->cross_attention_dim = cross_dims[0];
  impl->time_embed_dim = c.integer("time_embedding_dim", channels[0] * 4);

  ParamReader p(weights, precision, storage);
  // Time embedding.
  impl->time_proj = Timesteps{channels[0], c.boolean("flip_sin_to_cos", true), float(c.number("freq_shift", 0))};
  const int cond_proj_dim = c.has("time_cond_proj_dim") ? c.integer("time_cond_proj_dim", 0) : 0;
  check(cond_proj_dim >= 0, "unet config: time_cond_proj_dim must be positive");
  impl->time_embedding = TimestepEmbedding(p, "time_embedding", channels[0], impl->time_embed_dim, cond_proj_dim);
  if (c.has("addition_embed_type")) {  // "text_time" (reject_unsupported refused the others)
    const int time_dim = c.integer("addition_time_embed_dim", 0);
    const int input_dim = c.integer("projection_class_embeddings_input_dim", 0);
    check(time_dim > 0 && input_dim > 6 * time_dim,
          "unet config: addition_embed_type \"text_time\" needs addition_time_embed_dim > 0 and "
          "projection_class_embeddings_input_dim > 6 x addition_time_embed_dim (the pooled text width on top)");
    impl->text_time = true;
    impl->pooled_dim = input_dim - 6 * time_dim;
    impl->add_time_proj = Timesteps{time_dim, c.boolean("flip_sin_to_cos", true), float(c.number("freq_shift", 0))};
    impl->add_embedding = TimestepEmbedding(p, "add_embedding", input_dim, impl->time_embed_dim);
  }
  // The first and last convolutions touch 4 channels: f32 costs little and keeps the noise prediction exact.
  impl->conv_in = p.conv("conv_in", impl->in_channels, channels[0], conv_in_kernel, 1, (conv_in_kernel - 1) / 2,
                         Precision::F32);

  auto block_options = [&](size_t i, int num_layers, bool cross) {
    UNetBlockOptions o;
    o.num_layers = num_layers;
    o.temb_channels = impl->time_embed_dim;
    o.resnet_groups = groups;
    o.resnet_eps = eps;
    if (cross) {
      Transformer2DOptions t;
      t.heads = heads[i];
      t.num_layers = transformer_layers[i];
      t.cross_attention_dim = cross_dims[i];
      t.use_linear_projection = linear_proj;
      o.attention = t;
    }
    return o;
  };

  // Down blocks: every one but the last halves the resolution.
  const int downsample_padding = c.integer("downsample_padding", 1);
  int64_t out_ch = channels[0];
  for (size_t i = 0; i < n; ++i) {
    const int64_t in_ch = out_ch;
    out_ch = channels[i];
    const bool last = i + 1 == n;
    impl->down_blocks.emplace_back(p, "down_blocks." + std::to_string(i), in_ch, out_ch, !last, downsample_padding,
                                   block_options(i, layers[i], down_types[i] == kCrossDown));
    if (!last) impl->downscale_factor *= 2;
  }

  // Mid block: heads, layers and cross dim of the last level; its own resnet scale factor.
  UNetBlockOptions mid = block_options(n - 1, /*one (attention, resnet) pair*/ 1, true);
  mid.output_scale_factor = float(c.number("mid_block_scale_factor", 1.0));
  impl->mid_block.emplace(p, "mid_block", channels[n - 1], mid);

  // Up blocks: mirror image, each with one more resnet than its down block (one per skip).
  out_ch = channels[n - 1];
  for (size_t i = 0; i < n; ++i) {
    const size_t r = n - 1 - i;  // the per-block lists, reversed
    const int64_t prev_out = out_ch;
    out_ch = channels[r];
    const int64_t in_ch = channels[r == 0 ? 0 : r - 1];
    const bool last = i + 1 == n;
    impl->up_blocks.emplace_back(p, "up_blocks." + std::to_string(i), in_ch, out_ch, prev_out, !last,
                                 block_options(r, layers[r] + 1, up_types[i] == kCrossUp));
  }

  impl->conv_norm_out = p.group_norm("conv_norm_out", channels[0], groups, eps);
  impl->conv_norm_out.out = DType::F32;
  impl->conv_out = p.conv("conv_out", channels[0], impl->out_channels, conv_out_kernel, 1, (conv_out_kernel - 1) / 2,
                          Precision::F32);
  p.check_all_used();
  impl_ = std::move(impl);
}

UNet2DConditionModel::~UNet2DConditionModel() = default;

Tensor UNet2DConditionModel::time_embedding(double timestep, const Tensor& timestep_cond) const {
  return impl_->time_embedding.forward(impl_->time_proj.forward(timestep),
                                       timestep_cond.defined() ? &timestep_cond : nullptr);
}

int UNet2DConditionModel::time_cond_proj_dim() const { return int(impl_->time_embedding.cond_proj_dim()); }
bool UNet2DConditionModel::has_text_time() const { return impl_->text_time; }
int UNet2DConditionModel::pooled_dim() const { return impl_->pooled_dim; }

Tensor UNet2DConditionModel::add_time_proj(const Tensor& time_ids) const {
  const Impl& m = *impl_;
  check(m.text_time, "unet: time_ids given to a UNet without addition_embed_type \"text_time\"");
  check(time_ids.ndim() == 2 && time_ids.dim(1) == 6 && time_ids.dim(0) > 0,
        "unet: time_ids has shape " + shape_string(time_ids.shape()) + ", expected [B, 6]");
  const Tensor ids = time_ids.to_f32();
  const std::vector<float> flat(ids.f32(), ids.f32() + ids.numel());
  // [B * 6, dim] row-major is already [B, 6 * dim].
  return ops::timestep_embedding(flat, m.add_time_proj.num_channels, m.add_time_proj.flip_sin_to_cos,
                                 m.add_time_proj.downscale_freq_shift)
      .reshape({ids.dim(0), 6 * int64_t(m.add_time_proj.num_channels)});
}

Tensor UNet2DConditionModel::add_embedding(const AddedCondKwargs& added) const {
  const Impl& m = *impl_;
  check(m.text_time, "unet: added_cond_kwargs given to a UNet without addition_embed_type \"text_time\"");
  check(added.text_embeds.defined() && added.time_ids.defined(),
        "unet: an SDXL (text_time) UNet needs text_embeds and time_ids in added_cond_kwargs");
  const Tensor time_embeds = add_time_proj(added.time_ids);
  const int64_t B = time_embeds.dim(0);
  check(added.text_embeds.ndim() == 2 && added.text_embeds.dim(0) == B && added.text_embeds.dim(1) == m.pooled_dim,
        "unet: text_embeds has shape " + shape_string(added.text_embeds.shape()) + ", expected [" + std::to_string(B) +
            ", " + std::to_string(m.pooled_dim) + "]");
  return m.add_embedding.forward(ops::concat_channels(added.text_embeds, time_embeds));
}

Tensor UNet2DConditionModel::forward(const Tensor& sample, double timestep, const Tensor& encoder_hidden_states,
                                     const Tensor& timestep_cond, const AddedCondKwargs& added) const {
  const Impl& m = *impl_;
  check(sample.ndim() == 4 && sample.dim(1) == m.in_channels,
        "unet: sample has shape " + shape_string(sample.shape()) + ", expected [B, " + std::to_string(m.in_channels) +
            ", h, w]");
  const int64_t B = sample.dim(0), h = sample.dim(2), w = sample.dim(3);
  check(B > 0 && h > 0 && w > 0 && h % m.downscale_factor == 0 && w % m.downscale_factor == 0,
        "unet: latent size " + std::to_string(h) + "x" + std::to_string(w) + " must be a positive multiple of " +
            std::to_string(m.downscale_factor));
  check(encoder_hidden_states.ndim() == 3 && encoder_hidden_states.dim(0) == B &&
            encoder_hidden_states.dim(2) == m.cross_attention_dim && encoder_hidden_states.dim(1) > 0,
        "unet: encoder_hidden_states has shape " + shape_string(encoder_hidden_states.shape()) + ", expected [" +
            std::to_string(B) + ", S, " + std::to_string(m.cross_attention_dim) + "]");
  const Tensor context = encoder_hidden_states.dtype() == DType::F32 ? encoder_hidden_states : encoder_hidden_states.to_f32();
  const Tensor x_in = sample.dtype() == DType::F32 ? sample : sample.to_f32();

  // Every resnet adds time_emb_proj(silu(temb)); silu is taken once here. One timestep for the whole
  // batch: one row, which the resnets fold into their conv1 bias.
  Tensor temb = time_embedding(timestep, timestep_cond);
  check(m.text_time == added.defined(), m.text_time ? "unet: an SDXL (text_time) UNet needs added_cond_kwargs "
                                                      "(text_embeds and time_ids)"
                                                    : "unet: added_cond_kwargs given to a UNet without text_time");
  if (m.text_time) {
    // emb + aug_emb: the one time row broadcast over the batch's own added embeddings.
    Tensor aug = add_embedding(added);
    check(aug.dim(0) == B, "unet: added_cond_kwargs have " + std::to_string(aug.dim(0)) + " rows for a batch of " +
                               std::to_string(B));
    const int64_t D = aug.dim(1);
    for (int64_t b = 0; b < B; ++b)
      for (int64_t d = 0; d < D; ++d) aug.f32()[b * D + d] = temb.f32()[d] + aug.f32()[b * D + d];
    temb = std::move(aug);
  }
  const Tensor temb_act = ops::silu(temb);

  Tensor x = m.conv_in.forward(ops::nchw_to_nhwc(x_in));
  std::vector<Tensor> skips{x};
  for (const auto& block : m.down_blocks) x = block.forward(x, temb_act, context, skips);
  x = m.mid_block->forward(x, temb_act, context);
  for (const auto& block : m.up_blocks) x = block.forward(x, temb_act, context, skips);
  check(skips.empty(), "unet: skip connections left over");
  x = m.conv_out.forward(m.conv_norm_out.forward(x, /*silu=*/true));
  return ops::nhwc_to_nchw(x);
}

const nlohmann::json& UNet2DConditionModel::config() const { return impl_->config; }
int UNet2DConditionModel::in_channels() const { return impl_->in_channels; }
int UNet2DConditionModel::out_channels() const { return impl_->out_channels; }
int UNet2DConditionModel::cross_attention_dim() const { return impl_->cross_attention_dim; }
int UNet2DConditionModel::downscale_factor() const { return impl_->downscale_factor; }

}  // namespace sdwalk
