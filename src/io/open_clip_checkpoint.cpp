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
// text_projection and logit_scale belong to CLIP's contrastive head, which SD never uses.
#include "io/model_loading.hpp"
#include "sdwalk/error.hpp"

namespace sdwalk::io {
namespace {

bool starts_with(const std::string& s, const std::string& p) { return s.compare(0, p.size(), p) == 0; }

}  // namespace

Weights map_open_clip_text_encoder(const SafeTensors& file, const std::string& prefix,
                                   const std::vector<std::string>& keys) {
  Weights out("text_encoder", file.label() + " (" + prefix + "*)");
  const std::string tm = "text_model.";
  const std::string blocks = "transformer.resblocks.";
  for (const auto& k : keys) {
    const Tensor t = file.get(prefix + k);
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
      static const std::pair<const char*, const char*> table[] = {{"ln_1.", "layer_norm1."},
                                                                  {"ln_2.", "layer_norm2."},
                                                                  {"attn.out_proj.", "self_attn.out_proj."},
                                                                  {"mlp.c_fc.", "mlp.fc1."},
                                                                  {"mlp.c_proj.", "mlp.fc2."}};
      bool mapped = false;
      for (const auto& [from, to] : table)
        if (starts_with(part, from)) {
          out.add(layer + to + part.substr(std::string(from).size()), t);
          mapped = true;
          break;
        }
      if (!mapped)
        throw Error(file.label() + ": tensor '" + prefix + k + "' has no counterpart in an SD 2.x text encoder");
    } else {
      throw Error(file.label() + ": tensor '" + prefix + k + "' has no counterpart in an SD 2.x text encoder");
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
