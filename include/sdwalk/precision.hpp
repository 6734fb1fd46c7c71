#pragma once
// The arithmetic of the convolutions and matrix products: F32 throughout, or BF16 (bf16 weights and
// inputs, f32 accumulation and f32 outputs; norms, softmax and the residual stream stay f32).
#include <string>

namespace sdwalk {

enum class Precision { F32, BF16 };

// True where the CPU multiplies bf16 natively (AVX512_BF16 or AMX), as oneDNN sees it.
bool cpu_has_bf16();
// BF16 where cpu_has_bf16(), else F32.
Precision default_precision();
std::string precision_name(Precision p);  // "f32" / "bf16"
// "f32", "bf16" or "auto" (default_precision()); Error naming `what` (e.g. "--precision") otherwise,
// and for "bf16" on a CPU without native bf16. (Layers asked for BF16 there run in f32.)
Precision parse_precision(const std::string& text, const std::string& what = "precision");

// How f32 layers keep their weights in memory. F16: half the bytes, each layer's weights widened to
// f32 (F16C) into a scratch buffer as it runs; exact for a checkpoint stored in fp16, rounded for an
// f32 one. Auto: F16 for weights the checkpoint stores as fp16, F32 otherwise, so results never
// change. BF16 layers keep bf16 weights whatever this says.
enum class WeightStorage { Auto, F32, F16 };
std::string weight_storage_name(WeightStorage w);  // "auto" / "f32" / "f16"
// "auto", "f32" or "f16"; Error naming `what` (e.g. "--weights") otherwise.
WeightStorage parse_weight_storage(const std::string& text, const std::string& what = "weights");

}  // namespace sdwalk
