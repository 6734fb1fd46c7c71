// SD 2.x's OpenCLIP text encoder in an original single-file checkpoint (cond_stage_model.model.*),
// renamed to transformers' CLIPTextModel (text_model.*), as diffusers' convert_open_clip_checkpoint:
//   token_embedding.weight                 -> embeddings.token_embedding.weight
//   positional_embedding                   -> embeddings.position_embedding.weight
//   ln_final.*                             -> final_layer_norm.*
//   transformer.resblocks.N.ln_1 / ln_2    -> encoder.layers.N.layer_norm1 / layer_norm2
//   transformer.resblocks.N.attn.in_proj_weight [3C, C] / in_proj_bias [3C]
//                                          -> self_attn.{q,k,v}_proj.weight / .bias (thirds, in that order)
//   transformer.resblocks.N.attn.out_proj  -> self_attn.out_proj
//   transformer.resblocks.N.mlp.c_fc / c_proj -> mlp.fc1 / mlp.fc2
// text_projection and logit_scale belong to CLIP's contrastive head, which SD 2.x never uses; SDXL's
// second encoder (CLIPTextModelWithProjection) uses text_projection [C, P], stored transposed to the
// Linear weight text_projection.weight [P, C] (as diffusers' convert_open_clip_checkpoint).
#include <cstring>

#include "io/ldm_names.hpp"
#include "io/model_loading.hpp"
#include "sdwalk/error.hpp"

namespace sdwalk::io {
namespace {

using ldm_names::starts_with;

}  // namespace

Tensor transposed_2d(const Tensor& t) {
  check(t.ndim() == 2, "transposed_2d: expected a matrix, got shape " + shape_string(t.shape()));
  const int64_t rows = t.dim(0), cols = t.dim(1);
  const size_t e = dtype_size(t.dtype());
  Tensor out = Tensor::uninitialized({cols, rows}, t.dtype());
  const auto* src = static_cast<const unsigned char*>(t.raw());
  auto* dst = static_cast<unsigned char*>(out.raw());
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) std::memcpy(dst + (c * rows + r) * e, src + (r * cols + c) * e, e);
  return out;
}

Weights map_open_clip_text_encoder(const SafeTensors& file, const std::string& prefix,
                                   const std::vector<std::string>& keys, const std::string& network,
                                   bool with_projection) {
  Weights out(network, file.label() + " (" + prefix + "*)");
  const std::string tm = "text_model.";
  const std::string blocks = "transformer.resblocks.";
  for (const auto& k : keys) {
    const Tensor t = file.get(prefix + k);
    if (k == "text_projection" && with_projection) {
      check(t.ndim() == 2, file.label() + ": tensor '" + prefix + k + "' has shape " + shape_string(t.shape()) +
                               ", expected [hidden, projection]");
      out.add("text_projection.weight", transposed_2d(t));
      continue;
    }
    if (k == "text_projection" || k == "logit_scale" || k == "attn_mask") continue;
    if (k == "token_embedding.weight") {
      out.add(tm + "embeddings.token_embedding.weight", t);
    } else if (k == "positional_embedding") {
      out.add(tm + "embeddings.position_embedding.weight", t);
    } else if (starts_with(k, "ln_final.")) {
      out.add(tm + "final_layer_norm." + k.substr(9), t);
    } else if (starts_with(k, blocks)) {
      const std::string rest = k.substr(blocks.size());
      const size_t dot = rest.find('.');
      const std::string n = rest.substr(0, dot);
      const std::string part = dot == std::string::npos ? "" : rest.substr(dot + 1);
      check(!n.empty() && n.find_first_not_of("0123456789") == std::string::npos && !part.empty(),
            file.label() + ": tensor '" + prefix + k + "' is not an OpenCLIP text encoder key");
      const std::string layer = tm + "encoder.layers." + n + ".";
      if (part == "attn.in_proj_weight" || part == "attn.in_proj_bias") {
        check(t.ndim() >= 1 && t.dim(0) % 3 == 0,
              file.label() + ": tensor '" + prefix + k + "' has shape " + shape_string(t.shape()) +
                  ", expected [3C, ...] (q, k and v stacked)");
        const int64_t c = t.dim(0) / 3;
        const std::string suffix = part == "attn.in_proj_weight" ? "weight" : "bias";
        const char* names[3] = {"q_proj", "k_proj", "v_proj"};
        for (int i = 0; i < 3; ++i) out.add(layer + "self_attn." + names[i] + "." + suffix, t.slice0(i * c, (i + 1) * c));
        continue;
      }
      const std::string renamed = ldm_names::rename_prefix(part, ldm_names::kOpenClipLayerParts);
      if (renamed.empty())
        throw Error(file.label() + ": tensor '" + prefix + k + "' has no counterpart in an OpenCLIP text encoder");
      out.add(layer + renamed, t);
    } else {
      throw Error(file.label() + ": tensor '" + prefix + k + "' has no counterpart in an OpenCLIP text encoder");
    }
  }
  return out;
}

Weights keep_text_layers(const Weights& text_encoder, int64_t num_layers) {
  const std::string layers = "text_model.encoder.layers.";
  Weights out(text_encoder.network(), text_encoder.source());
  for (const auto& name : text_encoder.names()) {
    if (starts_with(name, layers)) {
      const int64_t n = std::stoll(name.substr(layers.size()));
      if (n >= num_layers) continue;
    }
    out.add(name, text_encoder.get(name));
  }
  return out;
}

}  // namespace sdwalk::io
