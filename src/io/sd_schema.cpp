// The tensors (diffusers/transformers names and shapes) that an SD 1.x config implies, built the way
// UNet2DConditionModel, AutoencoderKL and CLIPTextModel build their modules; and the check of a
// network's weights against them, so a wrong file fails at load with a named tensor.
#include <algorithm>

#include "io/model_loading.hpp"
#include "sdwalk/error.hpp"

namespace sdwalk::io {
namespace {

constexpr int64_t kMaxLayers = 256;
// Bounded counts still multiply (blocks x layers x transformer layers); an SD 1.x UNet has about 700 tensors.
constexpr size_t kMaxTensors = size_t(1) << 16;

struct Reader {
  const json& cfg;
  std::string label;
  // Counts of layers and blocks are bounded so that a corrupt config cannot make the schema huge.
  int64_t integer(const std::string& key, int64_t max = int64_t(1) << 40) const {
    auto it = cfg.find(key);
    if (it == cfg.end() || !it->is_number_integer() || it->get<int64_t>() <= 0 || it->get<int64_t>() > max)
      throw Error(label + ": config key '" + key + "' must be an integer in [1, " + std::to_string(max) + "], found " +
                  (it == cfg.end() ? std::string("nothing") : it->dump()));
    return it->get<int64_t>();
  }
  // An integer, or one integer per block.
  int64_t per_block(const std::string& key, size_t block, size_t blocks) const {
    auto it = cfg.find(key);
    if (it != cfg.end() && it->is_array()) {
      if (it->size() != blocks) throw Error(label + ": config key '" + key + "' needs " + std::to_string(blocks) + " entries");
      const json& v = (*it)[block];
      if (!v.is_number_integer() || v.get<int64_t>() <= 0 || v.get<int64_t>() > kMaxLayers)
        throw Error(label + ": config key '" + key + "' has a bad entry " + v.dump());
      return v.get<int64_t>();
    }
    return integer(key, kMaxLayers);
  }
  std::vector<int64_t> ints(const std::string& key) const {
    auto it = cfg.find(key);
    std::vector<int64_t> out;
    if (it != cfg.end() && it->is_array())
      for (const auto& v : *it)
        if (v.is_number_integer() && v.get<int64_t>() > 0) out.push_back(v.get<int64_t>());
    if (out.empty() || it->size() != out.size() || out.size() > kMaxLayers)
      throw Error(label + ": config key '" + key + "' must be a list of positive integers");
    return out;
  }
  std::vector<std::string> strings(const std::string& key, size_t n) const {
    auto it = cfg.find(key);
    if (it == cfg.end() || !it->is_array() || it->size() != n)
      throw Error(label + ": config key '" + key + "' must list " + std::to_string(n) + " block types");
    std::vector<std::string> out;
    for (const auto& v : *it) out.push_back(v.is_string() ? v.get<std::string>() : v.dump());
    return out;
  }
  // Absent or null: diffusers' default. (json::value(key, true) would throw json's own type_error
  // for a value that is not a boolean.)
  bool flag(const std::string& key, bool fallback = false) const {
    auto it = cfg.find(key);
    if (it == cfg.end() || it->is_null()) return fallback;
    if (!it->is_boolean()) throw Error(label + ": config key '" + key + "' must be true or false, found " + it->dump());
    return it->get<bool>();
  }
};

struct Builder {
  std::string label;
  TensorShapes out;
  void add(const std::string& name, Shape shape) {
    if (out.size() >= kMaxTensors)
      throw Error(label + ": the config implies more than " + std::to_string(kMaxTensors) + " tensors");
    out[name] = std::move(shape);
  }
  void conv(const std::string& p, int64_t cout, int64_t cin, int64_t k) {
    add(p + ".weight", {cout, cin, k, k});
    add(p + ".bias", {cout});
  }
  void linear(const std::string& p, int64_t fout, int64_t fin, bool bias = true) {
    add(p + ".weight", {fout, fin});
    if (bias) add(p + ".bias", {fout});
  }
  void norm(const std::string& p, int64_t c) {
    add(p + ".weight", {c});
    add(p + ".bias", {c});
  }
  // diffusers ResnetBlock2D (temb: time-embedding width, 0 for the VAE's blocks).
  void resnet(const std::string& p, int64_t cin, int64_t cout, int64_t temb) {
    norm(p + ".norm1", cin);
    conv(p + ".conv1", cout, cin, 3);
    if (temb) linear(p + ".time_emb_proj", cout, temb);
    norm(p + ".norm2", cout);
    conv(p + ".conv2", cout, cout, 3);
    if (cin != cout) conv(p + ".conv_shortcut", cout, cin, 1);
  }
  // diffusers Transformer2DModel with BasicTransformerBlock(s), GEGLU feed-forward.
  void transformer(const std::string& p, int64_t c, int64_t context, int64_t layers, bool linear_proj) {
    norm(p + ".norm", c);
    if (linear_proj) {
      linear(p + ".proj_in", c, c);
      linear(p + ".proj_out", c, c);
    } else {
      conv(p + ".proj_in", c, c, 1);
      conv(p + ".proj_out", c, c, 1);
    }
    for (int64_t t = 0; t < layers; ++t) {
      const std::string b = p + ".transformer_blocks." + std::to_string(t);
      for (const char* a : {".attn1", ".attn2"}) {
        const int64_t kv = std::string(a) == ".attn1" ? c : context;
        linear(b + a + ".to_q", c, c, false);
        linear(b + a + ".to_k", c, kv, false);
        linear(b + a + ".to_v", c, kv, false);
        linear(b + a + ".to_out.0", c, c);
      }
      norm(b + ".norm1", c);
      norm(b + ".norm2", c);
      norm(b + ".norm3", c);
      linear(b + ".ff.net.0.proj", 8 * c, c);
      linear(b + ".ff.net.2", c, 4 * c);
    }
  }
  // The VAE mid-block's single-head Attention.
  void vae_attention(const std::string& p, int64_t c) {
    norm(p + ".group_norm", c);
    for (const char* n : {".to_q", ".to_k", ".to_v", ".to_out.0"}) linear(p + n, c, c);
  }
};

void check_heads(const Reader& r, int64_t channels, size_t block, size_t blocks) {
  // diffusers' legacy naming: attention_head_dim is the number of heads when num_attention_heads is null.
  const bool legacy = r.cfg.value("num_attention_heads", json()).is_null();
  const std::string key = legacy ? "attention_head_dim" : "num_attention_heads";
  const int64_t heads = r.per_block(key, block, blocks);
  if (channels % heads != 0)
    throw Error(r.label + ": " + key + " " + std::to_string(heads) + " does not divide the " + std::to_string(channels) +
                " channels of block " + std::to_string(block));
}

}  // namespace

TensorShapes unet_tensor_shapes(const json& cfg) {
  const Reader r{cfg, "unet config"};
  const auto boc = r.ints("block_out_channels");
  const size_t nb = boc.size();
  const int64_t L = r.integer("layers_per_block", kMaxLayers);
  const int64_t in_ch = r.integer("in_channels"), out_ch = r.integer("out_channels");
  const int64_t context = r.integer("cross_attention_dim");
  const int64_t kin = r.integer("conv_in_kernel"), kout = r.integer("conv_out_kernel");
  const bool linear_proj = r.flag("use_linear_projection");
  const int64_t temb = cfg.value("time_embedding_dim", json()).is_number_integer() ? r.integer("time_embedding_dim") : 4 * boc[0];
  const auto down = r.strings("down_block_types", nb);
  const auto up = r.strings("up_block_types", nb);
  Builder b{r.label, {}};
  b.conv("conv_in", boc[0], in_ch, kin);
  b.linear("time_embedding.linear_1", temb, boc[0]);
  b.linear("time_embedding.linear_2", temb, temb);
  // LCM: the guidance embedding w enters through a bias-free projection onto the sinusoidal input.
  if (cfg.value("time_cond_proj_dim", json()).is_number_integer())
    b.linear("time_embedding.cond_proj", boc[0], r.integer("time_cond_proj_dim"), false);
  // SDXL's text_time: add_embedding takes the pooled text and the 6 embedded time ids.
  if (cfg.value("addition_embed_type", json()) == "text_time") {
    b.linear("add_embedding.linear_1", temb, r.integer("projection_class_embeddings_input_dim"));
    b.linear("add_embedding.linear_2", temb, temb);
  }

  int64_t ch = boc[0];
  for (size_t i = 0; i < nb; ++i) {
    const bool attn = down[i] == "CrossAttnDownBlock2D";
    if (!attn && down[i] != "DownBlock2D") throw Error("unet config: down block type '" + down[i] + "' is not supported");
    const std::string p = "down_blocks." + std::to_string(i);
    for (int64_t j = 0; j < L; ++j) {
      b.resnet(p + ".resnets." + std::to_string(j), j == 0 ? ch : boc[i], boc[i], temb);
      if (attn) {
        check_heads(r, boc[i], i, nb);
        b.transformer(p + ".attentions." + std::to_string(j), boc[i], context,
                      r.per_block("transformer_layers_per_block", i, nb), linear_proj);
      }
    }
    if (i + 1 < nb) b.conv(p + ".downsamplers.0.conv", boc[i], boc[i], 3);
    ch = boc[i];
  }

  const std::string mid = cfg.value("mid_block_type", json()).is_string() ? cfg["mid_block_type"].get<std::string>() : "";
  if (mid != "UNetMidBlock2DCrossAttn") throw Error("unet config: mid_block_type '" + mid + "' is not supported");
  b.resnet("mid_block.resnets.0", boc.back(), boc.back(), temb);
  check_heads(r, boc.back(), nb - 1, nb);
  b.transformer("mid_block.attentions.0", boc.back(), context, r.per_block("transformer_layers_per_block", nb - 1, nb),
                linear_proj);
  b.resnet("mid_block.resnets.1", boc.back(), boc.back(), temb);

  std::vector<int64_t> rev(boc.rbegin(), boc.rend());
  for (size_t i = 0; i < nb; ++i) {
    const bool attn = up[i] == "CrossAttnUpBlock2D";
    if (!attn && up[i] != "UpBlock2D") throw Error("unet config: up block type '" + up[i] + "' is not supported");
    const std::string p = "up_blocks." + std::to_string(i);
    const int64_t prev = rev[i == 0 ? 0 : i - 1], out = rev[i], skip_in = rev[std::min(i + 1, nb - 1)];
    for (int64_t j = 0; j <= L; ++j) {
      const int64_t res_skip = j == L ? skip_in : out;
      b.resnet(p + ".resnets." + std::to_string(j), (j == 0 ? prev : out) + res_skip, out, temb);
      if (attn) {
        check_heads(r, out, nb - 1 - i, nb);
        b.transformer(p + ".attentions." + std::to_string(j), out, context,
                      r.per_block("transformer_layers_per_block", nb - 1 - i, nb), linear_proj);
      }
    }
    if (i + 1 < nb) b.conv(p + ".upsamplers.0.conv", out, out, 3);
  }
  b.norm("conv_norm_out", boc[0]);
  b.conv("conv_out", out_ch, boc[0], kout);
  return b.out;
}

TensorShapes vae_tensor_shapes(const json& cfg) {
  const Reader r{cfg, "vae config"};
  const auto boc = r.ints("block_out_channels");
  const size_t nb = boc.size();
  const int64_t L = r.integer("layers_per_block", kMaxLayers);
  const int64_t lat = r.integer("latent_channels");
  for (const auto& t : r.strings("down_block_types", nb))
    if (t != "DownEncoderBlock2D") throw Error("vae config: down block type '" + t + "' is not supported");
  for (const auto& t : r.strings("up_block_types", nb))
    if (t != "UpDecoderBlock2D") throw Error("vae config: up block type '" + t + "' is not supported");
  const bool mid_attn = r.flag("mid_block_add_attention", true);
  Builder b{r.label, {}};
  auto mid_block = [&](const std::string& p) {
    b.resnet(p + ".resnets.0", boc.back(), boc.back(), 0);
    if (mid_attn) b.vae_attention(p + ".attentions.0", boc.back());
    b.resnet(p + ".resnets.1", boc.back(), boc.back(), 0);
  };
  b.conv("encoder.conv_in", boc[0], r.integer("in_channels"), 3);
  int64_t ch = boc[0];
  for (size_t i = 0; i < nb; ++i) {
    const std::string p = "encoder.down_blocks." + std::to_string(i);
    for (int64_t j = 0; j < L; ++j) b.resnet(p + ".resnets." + std::to_string(j), j == 0 ? ch : boc[i], boc[i], 0);
    if (i + 1 < nb) b.conv(p + ".downsamplers.0.conv", boc[i], boc[i], 3);
    ch = boc[i];
  }
  mid_block("encoder.mid_block");
  b.norm("encoder.conv_norm_out", boc.back());
  b.conv("encoder.conv_out", 2 * lat, boc.back(), 3);
  if (r.flag("use_quant_conv", true)) b.conv("quant_conv", 2 * lat, 2 * lat, 1);
  if (r.flag("use_post_quant_conv", true)) b.conv("post_quant_conv", lat, lat, 1);

  std::vector<int64_t> rev(boc.rbegin(), boc.rend());
  b.conv("decoder.conv_in", rev[0], lat, 3);
  mid_block("decoder.mid_block");
  for (size_t i = 0; i < nb; ++i) {
    const std::string p = "decoder.up_blocks." + std::to_string(i);
    const int64_t prev = rev[i == 0 ? 0 : i - 1], out = rev[i];
    for (int64_t j = 0; j <= L; ++j) b.resnet(p + ".resnets." + std::to_string(j), j == 0 ? prev : out, out, 0);
    if (i + 1 < nb) b.conv(p + ".upsamplers.0.conv", out, out, 3);
  }
  b.norm("decoder.conv_norm_out", boc[0]);
  b.conv("decoder.conv_out", r.integer("out_channels"), boc[0], 3);
  return b.out;
}

TensorShapes text_encoder_tensor_shapes(const json& cfg) {
  const Reader r{cfg, "text_encoder config"};
  const int64_t h = r.integer("hidden_size"), inter = r.integer("intermediate_size");
  const int64_t heads = r.integer("num_attention_heads");
  if (h % heads != 0)
    throw Error("text_encoder config: num_attention_heads " + std::to_string(heads) + " does not divide hidden_size " +
                std::to_string(h));
  Builder b{r.label, {}};
  b.add("text_model.embeddings.token_embedding.weight", {r.integer("vocab_size"), h});
  b.add("text_model.embeddings.position_embedding.weight", {r.integer("max_position_embeddings"), h});
  for (int64_t l = 0; l < r.integer("num_hidden_layers", kMaxLayers); ++l) {
    const std::string p = "text_model.encoder.layers." + std::to_string(l);
    for (const char* n : {".self_attn.q_proj", ".self_attn.k_proj", ".self_attn.v_proj", ".self_attn.out_proj"})
      b.linear(p + n, h, h);
    b.norm(p + ".layer_norm1", h);
    b.norm(p + ".layer_norm2", h);
    b.linear(p + ".mlp.fc1", inter, h);
    b.linear(p + ".mlp.fc2", h, inter);
  }
  b.norm("text_model.final_layer_norm", h);
  const json arch = cfg.value("architectures", json());
  if (arch.is_array() && std::find(arch.begin(), arch.end(), json("CLIPTextModelWithProjection")) != arch.end())
    b.linear("text_projection", r.integer("projection_dim"), h, false);
  return b.out;
}

void check_weights(const Weights& w, const TensorShapes& expected, const std::string& config_label) {
  const std::string where = " (looked in " + w.source() + "; config from " + config_label + ")";
  size_t missing = 0;
  std::string first_missing;
  for (const auto& [name, shape] : expected) {
    if (!w.contains(name)) {
      if (missing++ == 0) first_missing = name;
      continue;
    }
    const Shape& got = w.get(name).shape();
    if (got != shape)
      throw Error(w.network() + ": tensor '" + name + "' has shape " + shape_string(got) + ", the config implies " +
                  shape_string(shape) + where);
  }
  if (missing)
    throw Error(w.network() + ": missing tensor '" + first_missing + "'" +
                (missing > 1 ? " and " + std::to_string(missing - 1) + " more" : std::string()) + where);
  for (const auto& name : w.names())
    if (!expected.count(name))
      throw Error(w.network() + ": unexpected tensor '" + name + "', not part of an SD 1.x " + w.network() +
                  " with this config" + where);
}

}  // namespace sdwalk::io
