#pragma once
// LoRA files (low-rank adapters) on top of an SD 1.x/2.x/SDXL checkpoint: the kohya sd-scripts / A1111
// layout (lora_unet_<module with '.' -> '_'>.lora_down/lora_up/alpha, lora_te_... for the text
// encoder; SDXL: lora_te1_/lora_te2_ for its two encoders and the UNet under the original sgm block
// names, lora_unet_input_blocks_4_1_transformer_blocks_0_attn1_to_q) and diffusers/PEFT's
// (unet.<module>.lora_A/lora_B, text_encoder.<module>..., text_encoder_2.<module>..., and the older
// <attn>.processor.to_q_lora.down/up). A layer W becomes W + scale * (alpha / rank) * up @ down; for
// convolutions `down` is a conv with the layer's kernel (3x3 "LoCon" too) and `up` a 1x1 conv.
// Every key of a file is either used or an error naming it: a LoRA that silently does nothing costs
// users hours.
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "sdwalk/lora_scales.hpp"
#include "sdwalk/tensor.hpp"
#include "sdwalk/weights.hpp"

namespace sdwalk {

// "FILE[:SCALE]" of a --lora flag. The scale defaults to 1.
struct LoraSpec {
  std::filesystem::path file;
  double scale = 1.0;
  // The name keyframes use for it ("loras": {"style.safetensors": 0.8}): the file's name.
  std::string name() const { return file.filename().string(); }
};
// Error (one line naming `flag` and the text) for an empty file name or a scale that is not a finite
// number. A file whose own name holds ':' is taken whole when it exists.
LoraSpec parse_lora_spec(const std::string& text, const std::string& flag = "--lora");

// One adapted layer of one network: module path as in the network's Weights ("down_blocks.0.
// attentions.0.transformer_blocks.0.attn1.to_q", "text_model.encoder.layers.0.self_attn.q_proj").
struct LoraLayer {
  std::string network;  // "unet", "text_encoder" or "text_encoder_2" (SDXL)
  std::string module;
  Tensor down, up;      // f32: [r, in] / [r, in, kh, kw]; [out, r] / [out, r, 1, 1]
  double scaling = 1;   // alpha / rank (diffusers-format files: 1, they store B * alpha / r)
  std::vector<std::string> keys;  // the file's keys it came from
};

// A LoRA file read and resolved against a model.
struct LoraAdapter {
  LoraSpec spec;
  std::string format;  // "kohya" | "diffusers"
  std::vector<LoraLayer> layers;
  size_t layers_in(const std::string& network) const;
};

// Reads `spec.file` and maps every key onto a layer of `unet` / `text_encoder` / `text_encoder_2`
// (the model's networks under diffusers names; text_encoder_2: SDXL's, null for SD 1.x/2.x). Errors,
// each one line naming the file: not a safetensors file, keys in no LoRA layout, keys whose module the
// model has not (listed), a down/up pair whose shapes do not fit the model's layer (a LoRA for another
// architecture), a missing half of a pair, second-encoder keys on a model without one.
LoraAdapter load_lora(const LoraSpec& spec, const Weights& unet, const Weights& text_encoder,
                      const Weights* text_encoder_2 = nullptr);

// The parsing step alone, for tests and the fuzz target: groups keys by module. Throws Error for
// keys that fit no layout. Module names are as the file spells them (kohya: underscored).
struct LoraKey {
  std::string network;  // "unet" | "text_encoder" | "text_encoder_2"
  std::string module;   // kohya: "down_blocks_0_..._to_q" (SDXL: "input_blocks_4_1_..."); diffusers: "down_blocks.0....to_q"
  std::string part;     // "down" | "up" | "alpha"
  std::string format;   // "kohya" | "diffusers"
};
LoraKey parse_lora_key(const std::string& key);  // Error naming the key when it fits no layout

// How a model gets its LoRAs. Merge: into the weights once (no cost per step; scales fixed at load).
// Branch: W x + s * up(down(x)) at run time, scales read from `scales` at every call (walks whose
// LoRA strength changes from frame to frame).
enum class LoraMode { Merge, Branch };

// W += scale * scaling * up @ down for every layer of `adapter` in `network`, the sum formed in f32.
// keep_f32: the merged layers stay f32 (an f32 run then equals diffusers' unfused f32 run up to
// rounding, also for an fp16 checkpoint); otherwise they are stored back in the checkpoint's dtype
// (an fp16 model stays the fp16 size, as fuse_lora on an fp16 model: the merged weights are rounded
// to fp16, a change of ~1e-3 in the outputs). Returns the number of layers patched.
size_t merge_lora(Weights& weights, const std::string& network, const LoraAdapter& adapter, double scale,
                  bool keep_f32 = false);

}  // namespace sdwalk
