#pragma once
// Key-name pieces of the original LDM layout shared by the reader (ldm_checkpoint.cpp: LDM ->
// diffusers) and the writer of LDM single files (bench/write_ldm_checkpoint.cpp: diffusers -> LDM).
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace sdwalk::io::ldm_names {

using RenameTable = std::vector<std::pair<const char*, const char*>>;  // (LDM prefix, diffusers prefix)

inline bool starts_with(const std::string& s, const std::string& p) { return s.compare(0, p.size(), p) == 0; }

// Splits "12.rest" into (12, "rest"); nullopt when the key does not start with an index.
std::optional<std::pair<int, std::string>> split_index(const std::string& s);

// Replaces the leading prefix of `s` for the first pair that matches: the LDM side by the diffusers
// side, or back with `to_ldm`. "" when none matches.
std::string rename_prefix(const std::string& s, const RenameTable& table, bool to_ldm = false);

// The parts of a resnet block, in the UNet (openaimodel ResBlock) and in the VAE.
extern const RenameTable kUnetResnetParts, kVaeResnetParts;

// SDXL's added embedding (sgm's label_emb, a Sequential Linear-SiLU-Linear) in the UNet.
extern const RenameTable kUnetLabelEmbedding;

// The prefixes of SDXL's two text encoders in an sgm single file: CLIP-L with transformers' names, and
// OpenCLIP ViT-bigG (open_clip_checkpoint.cpp's names, plus text_projection stored transposed).
inline const char* const kSdxlTextEncoder = "conditioner.embedders.0.transformer.";
inline const char* const kSdxlOpenClip = "conditioner.embedders.1.model.";

// The parts of an OpenCLIP resblock other than the stacked in_proj: (OpenCLIP, transformers' CLIP layer).
extern const RenameTable kOpenClipLayerParts;

}  // namespace sdwalk::io::ldm_names
