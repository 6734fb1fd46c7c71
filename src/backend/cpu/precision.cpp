// Precision names and the CPU's bf16 support (asked of oneDNN: it is the one that runs the products).
#include "sdwalk/precision.hpp"

#include <dnnl.hpp>

#include "backend/cpu/dnnl_context.hpp"
#include "sdwalk/error.hpp"

namespace sdwalk {

bool cpu_has_bf16() {
  static const bool has = [] {
    ops::detail::cap_onednn_isa();
    const auto isa = dnnl::get_effective_cpu_isa();
    return isa == dnnl::cpu_isa::avx512_core_bf16 || isa == dnnl::cpu_isa::avx512_core_amx;
  }();
  return has;
}

Precision default_precision() { return cpu_has_bf16() ? Precision::BF16 : Precision::F32; }

std::string precision_name(Precision p) { return p == Precision::BF16 ? "bf16" : "f32"; }

Precision parse_precision(const std::string& text, const std::string& what) {
  if (text == "f32") return Precision::F32;
  if (text == "bf16") {
    if (!cpu_has_bf16()) throw Error(what + " bf16: this CPU has no AVX512_BF16 or AMX; use f32");
    return Precision::BF16;
  }
  if (text == "auto") return default_precision();
  throw Error(what + " '" + text + "': expected f32, bf16 or auto");
}

std::string weight_storage_name(WeightStorage w) {
  switch (w) {
    case WeightStorage::Auto: return "auto";
    case WeightStorage::F32: return "f32";
    case WeightStorage::F16: return "f16";
  }
  return "?";
}

WeightStorage parse_weight_storage(const std::string& text, const std::string& what) {
  for (WeightStorage w : {WeightStorage::Auto, WeightStorage::F32, WeightStorage::F16})
    if (text == weight_storage_name(w)) return w;
  throw Error(what + " '" + text + "': expected auto, f32 or f16");
}

}  // namespace sdwalk
