// CLIPTextModel forward, as transformers' modeling_clip (eager attention, causal mask, no padding mask:
// SD passes none).
#include "sdwalk/clip_text_model.hpp"

#include <algorithm>
#include <cstring>
#include <set>
#include <string>

#include "models/low_rank.hpp"
#include "sdwalk/error.hpp"
#include "core/half.hpp"
#include "backend/cpu/ops.hpp"

namespace sdwalk {

namespace {

struct LayerNorm {
  Tensor gamma, beta;
  float eps = 0;
  DType out = DType::F32;  // BF16 where the result only feeds bf16 linear layers
  Tensor operator()(const Tensor& x) const { return ops::layer_norm(x, gamma, beta, eps, out); }
};

struct EncoderLayer {
  LayerNorm layer_norm1, layer_norm2;
  ops::Linear q_proj, k_proj, v_proj, out_proj, fc1, fc2;
};

template <class T> T config_value(const nlohmann::json& config, const char* key) {
  check(config.contains(key), std::string("text encoder config: missing key '") + key + "'");
  try {
    return config.at(key).get<T>();
  } catch (const nlohmann::json::exception&) {
    throw Error(std::string("text encoder config: key '") + key + "' has the wrong type");
  }
}

}  // namespace

struct ClipTextModel::Impl {
  int64_t hidden = 0, heads = 0, intermediate = 0, vocab = 0, max_positions = 0;
  int64_t eos_token_id = 2;
  bool quick_gelu = true;
  // [vocab, C] as stored (a view into the checkpoint: only the rows looked up are ever read, so the
  // 38M-value table costs no memory), [max_positions, C] f32.
  Tensor token_embedding, position_embedding;
  std::vector<EncoderLayer> layers;
  LayerNorm final_layer_norm;
  ops::Linear text_projection;  // CLIPTextModelWithProjection only (bias-free)

  Tensor embed(const std::vector<std::vector<int64_t>>& ids) const;
  Tensor layer_forward(const EncoderLayer& l, const Tensor& x) const;
};

ClipTextModel::ClipTextModel(const nlohmann::json& config, const Weights& weights, Precision precision,
                             WeightStorage storage)
    : impl_(std::make_unique<Impl>()) {
  auto& m = *impl_;
  m.hidden = config_value<int64_t>(config, "hidden_size");
  m.heads = config_value<int64_t>(config, "num_attention_heads");
  m.intermediate = config_value<int64_t>(config, "intermediate_size");
  m.vocab = config_value<int64_t>(config, "vocab_size");
  m.max_positions = config_value<int64_t>(config, "max_position_embeddings");
  const int64_t num_layers = config_value<int64_t>(config, "num_hidden_layers");
  const float eps = config.contains("layer_norm_eps") ? config_value<float>(config, "layer_norm_eps") : 1e-5f;
  m.eos_token_id = config.contains("eos_token_id") ? config_value<int64_t>(config, "eos_token_id") : 2;
  const std::string act = config.contains("hidden_act") ? config_value<std::string>(config, "hidden_act") : "quick_gelu";
  check(act == "quick_gelu" || act == "gelu",
        "text encoder config: hidden_act '" + act + "' is not supported (expected quick_gelu or gelu)");
  m.quick_gelu = act == "quick_gelu";
  check(m.hidden > 0 && m.heads > 0 && m.hidden % m.heads == 0,
        "text encoder config: hidden_size " + std::to_string(m.hidden) + " does not split into " +
            std::to_string(m.heads) + " attention heads");
  check(num_layers > 0 && m.max_positions > 0 && m.vocab > 0 && m.intermediate > 0,
        "text encoder config: num_hidden_layers, max_position_embeddings, vocab_size and intermediate_size must be positive");

  std::set<std::string> used;
  auto take = [&](const std::string& name, const Shape& shape) {
    used.insert(name);
    Tensor t = weights.get_f32(name, shape);
    release_mapped_pages(weights.get(name));  // converted: the checkpoint's pages need not stay resident
    return t;
  };
  auto linear = [&](const std::string& prefix, int64_t in, int64_t out) {
    // In the checkpoint's dtype: WeightStorage::Auto keeps fp16 weights as fp16.
    const std::string name = prefix + ".weight";
    used.insert(name);
    const Tensor& w = weights.get(name);
    check(w.shape() == Shape{out, in}, weights.network() + ": tensor '" + name + "' has shape " +
                                           shape_string(w.shape()) + ", expected " + shape_string({out, in}));
    ops::Linear layer(w, take(prefix + ".bias", {out}), precision, storage);
    models::attach_low_rank(layer, weights, prefix);
    release_mapped_pages(w);
    return layer;
  };
  const DType act_dtype = precision == Precision::BF16 && cpu_has_bf16() ? DType::BF16 : DType::F32;
  auto layer_norm = [&](const std::string& prefix, DType out) {
    Tensor g = take(prefix + ".weight", {m.hidden});
    return LayerNorm{g, take(prefix + ".bias", {m.hidden}), eps, out};
  };
  const int64_t C = m.hidden;
  {
    const std::string name = "text_model.embeddings.token_embedding.weight";
    used.insert(name);
    m.token_embedding = weights.get(name);
    check(m.token_embedding.shape() == Shape{m.vocab, C} &&
              (m.token_embedding.dtype() == DType::F32 || m.token_embedding.dtype() == DType::F16 ||
               m.token_embedding.dtype() == DType::BF16),
          weights.network() + ": tensor '" + name + "' has shape " + shape_string(m.token_embedding.shape()) + " " +
              dtype_name(m.token_embedding.dtype()) + ", expected " + shape_string({m.vocab, C}) + " float (" +
              weights.source() + ")");
  }
  m.position_embedding = take("text_model.embeddings.position_embedding.weight", {m.max_positions, C});
  for (int64_t i = 0; i < num_layers; ++i) {
    const std::string p = "text_model.encoder.layers." + std::to_string(i) + ".";
    EncoderLayer l;
    l.layer_norm1 = layer_norm(p + "layer_norm1", act_dtype);
    l.layer_norm2 = layer_norm(p + "layer_norm2", act_dtype);
    l.q_proj = linear(p + "self_attn.q_proj", C, C);
    l.k_proj = linear(p + "self_attn.k_proj", C, C);
    l.v_proj = linear(p + "self_attn.v_proj", C, C);
    l.out_proj = linear(p + "self_attn.out_proj", C, C);
    l.fc1 = linear(p + "mlp.fc1", C, m.intermediate);
    l.fc2 = linear(p + "mlp.fc2", m.intermediate, C);
    m.layers.push_back(std::move(l));
  }
  m.final_layer_norm = layer_norm("text_model.final_layer_norm", DType::F32);
  if (weights.contains("text_projection.weight")) {
    const std::string name = "text_projection.weight";
    used.insert(name);
    const Tensor& w = weights.get(name);
    const int64_t proj = config.contains("projection_dim") ? config_value<int64_t>(config, "projection_dim") : C;
    check(w.shape() == Shape{proj, C}, weights.network() + ": tensor '" + name + "' has shape " +
                                           shape_string(w.shape()) + ", expected " + shape_string({proj, C}));
    // One row per prompt: f32 keeps the pooled embedding exact.
    m.text_projection = ops::Linear(w, Tensor(), Precision::F32, storage);
    release_mapped_pages(w);
  }
  // position_ids is a buffer (arange) some files carry; everything else must be explained by the config.
  for (const auto& name : weights.names())
    check(used.count(name) != 0 || name == "text_model.embeddings.position_ids",
          weights.network() + ": unexpected tensor '" + name + "' (" + weights.source() +
              "): the config does not describe these weights");
}

ClipTextModel::~ClipTextModel() = default;
ClipTextModel::ClipTextModel(ClipTextModel&&) noexcept = default;
ClipTextModel& ClipTextModel::operator=(ClipTextModel&&) noexcept = default;

int ClipTextModel::hidden_size() const { return int(impl_->hidden); }
int ClipTextModel::num_layers() const { return int(impl_->layers.size()); }
int ClipTextModel::max_position_embeddings() const { return int(impl_->max_positions); }
int ClipTextModel::projection_dim() const {
  return impl_->text_projection.defined() ? impl_->text_projection.out_features() : 0;
}

Tensor ClipTextModel::Impl::embed(const std::vector<std::vector<int64_t>>& ids) const {
  check(!ids.empty(), "text encoder: no input sequences");
  const int64_t B = int64_t(ids.size()), T = int64_t(ids[0].size()), C = hidden;
  check(T > 0 && T <= max_positions, "text encoder: sequence length " + std::to_string(T) + ", expected 1.." +
                                         std::to_string(max_positions));
  Tensor x({B, T, C});
  for (int64_t b = 0; b < B; ++b) {
    check(int64_t(ids[size_t(b)].size()) == T, "text encoder: sequence " + std::to_string(b) + " has " +
                                                   std::to_string(ids[size_t(b)].size()) + " ids, expected " +
                                                   std::to_string(T) + " like the first");
    for (int64_t t = 0; t < T; ++t) {
      const int64_t id = ids[size_t(b)][size_t(t)];
      check(id >= 0 && id < vocab, "text encoder: token id " + std::to_string(id) + " outside the vocabulary [0, " +
                                       std::to_string(vocab) + ")");
      const float* pe = position_embedding.f32() + t * C;
      float* row = x.f32() + (b * T + t) * C;
      // The stored row widened exactly to f32 (as get_f32 would), then the position added.
      if (token_embedding.dtype() == DType::F32) {
        const float* te = token_embedding.f32() + id * C;
        for (int64_t c = 0; c < C; ++c) row[c] = te[c] + pe[c];
      } else {
        const uint16_t* te = token_embedding.data<uint16_t>() + id * C;
        const bool half = token_embedding.dtype() == DType::F16;
        for (int64_t c = 0; c < C; ++c) row[c] = (half ? half_to_float(te[c]) : bf16_to_float(te[c])) + pe[c];
      }
    }
  }
  return x;
}

Tensor ClipTextModel::Impl::layer_forward(const EncoderLayer& l, const Tensor& x) const {
  // Self-attention block: x + out_proj(attn(layer_norm1(x))), causal.
  const Tensor h = l.layer_norm1(x);
  const Tensor attn = ops::attention(l.q_proj.forward(h), l.k_proj.forward(h), l.v_proj.forward(h), int(heads), true);
  const Tensor x1 = l.out_proj.forward(attn, &x);
  // MLP block: x1 + fc2(act(fc1(layer_norm2(x1)))).
  const Tensor f = l.fc1.forward(l.layer_norm2(x1));
  return l.fc2.forward(quick_gelu ? ops::quick_gelu(f) : ops::gelu(f), &x1);
}

ClipTextModel::Output ClipTextModel::forward(const std::vector<std::vector<int64_t>>& input_ids) const {
  const auto& m = *impl_;
  Output out;
  Tensor x = m.embed(input_ids);
  out.hidden_states.push_back(x);
  for (const auto& l : m.layers) {
    x = m.layer_forward(l, x);
    out.hidden_states.push_back(x);
  }
  out.last_hidden_state = m.final_layer_norm(x);
  // Pooled output: transformers' legacy rule (eos_token_id == 2, as SD 1.x configs say) takes the
  // position of the largest id, which is <|endoftext|> in CLIP's vocabulary; otherwise the first eos.
  const int64_t B = x.dim(0), T = x.dim(1), C = m.hidden;
  out.pooler_output = Tensor({B, C});
  for (int64_t b = 0; b < B; ++b) {
    const auto& ids = input_ids[size_t(b)];
    int64_t pos = 0;
    if (m.eos_token_id == 2) {
      pos = std::max_element(ids.begin(), ids.end()) - ids.begin();
    } else {
      auto it = std::find(ids.begin(), ids.end(), m.eos_token_id);
      pos = it == ids.end() ? 0 : it - ids.begin();
    }
    std::memcpy(out.pooler_output.f32() + b * C, out.last_hidden_state.f32() + (b * T + pos) * C,
                size_t(C) * sizeof(float));
  }
  if (m.text_projection.defined()) out.text_embeds = m.text_projection.forward(out.pooler_output);
  return out;
}

Tensor ClipTextModel::encode(const std::vector<std::vector<int64_t>>& input_ids, int clip_skip) const {
  const int layers = num_layers();
  check(clip_skip >= 0 && clip_skip <= layers, "text encoder: clip_skip " + std::to_string(clip_skip) +
                                                   " outside 0.." + std::to_string(layers));
  if (clip_skip == 0) return forward(input_ids).last_hidden_state;
  const auto& m = *impl_;
  // Only the layers up to the one wanted need to run.
  Tensor x = m.embed(input_ids);
  for (int i = 0; i < layers - clip_skip; ++i) x = m.layer_forward(m.layers[size_t(i)], x);
  return m.final_layer_norm(x);
}

}  // namespace sdwalk
