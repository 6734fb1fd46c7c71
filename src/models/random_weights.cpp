// Random SD 1.5-sized weights for benchmarks (see models/random_weights.hpp). Names and shapes come
// from the loader's schema (io/model_loading.hpp), values from a counter-based hash so they are the
// same whatever the thread count and whatever order the tensors are filled in.
#include "models/random_weights.hpp"

#include <algorithm>

#include "io/model_loading.hpp"
#include "sdwalk/error.hpp"
#include "core/half.hpp"
#include "backend/cpu/ops.hpp"

namespace sdwalk {
namespace {

uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

uint64_t name_hash(const std::string& s, uint64_t seed) {
  uint64_t h = splitmix64(seed);
  for (unsigned char c : s) h = splitmix64(h ^ c);
  return h;
}

// 32-bit integer hash (Wellons' lowbias32): cheap and vectorisable.
inline uint32_t hash32(uint32_t x) {
  x ^= x >> 16;
  x *= 0x7FEB352Du;
  x ^= x >> 15;
  x *= 0x846CA68Bu;
  x ^= x >> 16;
  return x;
}

// Approximately N(0, 1): the sum of four 16-bit uniforms (Irwin-Hall), centred and scaled.
// Plenty for timing runs.
inline float approx_normal(uint32_t key, uint32_t i) {
  const uint32_t a = hash32(key ^ (2 * i)), b = hash32(key ^ (2 * i + 1));
  const float sum = float(a & 0xFFFF) + float(a >> 16) + float(b & 0xFFFF) + float(b >> 16);
  constexpr float kMean = 2.0f * 65535.0f, kInvStd = 1.7320508f / 65536.0f;  // 1 / sqrt(4 * 65536^2 / 12)
  return (sum - kMean) * kInvStd;
}

// Norm layers (GroupNorm/LayerNorm) start as the identity, like torch's init; everything else random.
bool is_norm(const std::string& name) {
  const auto dot = name.rfind('.');
  const std::string module = name.substr(0, dot);
  const auto last = module.rfind('.');
  const std::string leaf = last == std::string::npos ? module : module.substr(last + 1);
  return leaf.find("norm") != std::string::npos;
}

template <class T, class Convert>
__attribute__((target_clones("avx512f", "avx2", "default"))) void fill_range(T* out, int64_t begin, int64_t end,
                                                                              uint32_t key, float scale, float offset,
                                                                              Convert convert) {
  for (int64_t i = begin; i < end; ++i) out[i] = convert(offset + scale * approx_normal(key, uint32_t(i)));
}

void fill(Tensor& t, uint64_t key64, float scale, float offset) {
  const int64_t n = t.numel();
  constexpr int64_t kChunk = 1 << 16;
  const int64_t chunks = (n + kChunk - 1) / kChunk;
  const DType dt = t.dtype();
  void* base = t.raw();
  const uint32_t key = uint32_t(key64 ^ (key64 >> 32));
#pragma omp parallel for num_threads(ops::threads()) schedule(static) if (chunks > 1)
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t begin = c * kChunk, end = std::min(n, begin + kChunk);
    if (dt == DType::F32)
      fill_range(static_cast<float*>(base), begin, end, key, scale, offset, [](float v) { return v; });
    else if (dt == DType::F16)
      fill_range(static_cast<uint16_t*>(base), begin, end, key, scale, offset, [](float v) { return float_to_half(v); });
    else
      fill_range(static_cast<uint16_t*>(base), begin, end, key, scale, offset, [](float v) { return float_to_bf16(v); });
  }
}

}  // namespace

Weights random_weights(const std::string& network, const std::map<std::string, Shape>& shapes,
                       const RandomWeightOptions& o) {
  check(o.dtype == DType::F32 || o.dtype == DType::F16 || o.dtype == DType::BF16,
        "random_weights: dtype " + dtype_name(o.dtype) + ", expected F32, F16 or BF16");
  Weights w(network, "random weights (seed " + std::to_string(o.seed) + ")");
  for (const auto& [name, shape] : shapes) {
    Tensor t = Tensor::uninitialized(shape, o.dtype);
    const bool norm = is_norm(name) && shape.size() == 1;
    const bool weight = name.size() > 7 && name.compare(name.size() - 7, 7, ".weight") == 0;
    if (norm)
      fill(t, 0, 0.0f, weight ? 1.0f : 0.0f);
    else
      fill(t, name_hash(network + "/" + name, o.seed), o.stddev, 0.0f);
    w.add(name, std::move(t));
  }
  return w;
}

ModelFiles random_sd15_model(const RandomWeightOptions& o) {
  ModelFiles m;
  m.layout = ModelLayout::DiffusersFolder;
  m.path = "random SD 1.5";
  m.text_encoder_config = io::sd15_text_encoder_config();
  m.unet_config = io::sd15_unet_config();
  m.vae_config = io::sd15_vae_config();
  m.scheduler_config = io::sd15_scheduler_config();
  if (o.text_encoder) m.text_encoder = random_weights("text_encoder", io::text_encoder_tensor_shapes(m.text_encoder_config), o);
  if (o.unet) m.unet = random_weights("unet", io::unet_tensor_shapes(m.unet_config), o);
  if (o.vae) m.vae = random_weights("vae", io::vae_tensor_shapes(m.vae_config), o);
  m.weights_dtype = dtype_name(o.dtype);
  m.config_source = "SD 1.5 configs (built in)";
  return m;
}

ModelFiles random_sdxl_model(const RandomWeightOptions& o) {
  ModelFiles m;
  m.layout = ModelLayout::DiffusersFolder;
  m.path = "random SDXL";
  m.text_encoder_config = io::sd15_text_encoder_config();  // SDXL's first encoder is SD 1.5's CLIP ViT-L
  m.text_encoder_2_config = io::sdxl_text_encoder_2_config();
  m.unet_config = io::sdxl_unet_config();
  m.vae_config = io::sdxl_vae_config();
  m.scheduler_config = io::sdxl_scheduler_config();
  m.force_zeros_for_empty_prompt = true;
  if (o.text_encoder) {
    m.text_encoder = random_weights("text_encoder", io::text_encoder_tensor_shapes(m.text_encoder_config), o);
    m.text_encoder_2 = random_weights("text_encoder_2", io::text_encoder_tensor_shapes(m.text_encoder_2_config), o);
  }
  if (o.unet) m.unet = random_weights("unet", io::unet_tensor_shapes(m.unet_config), o);
  if (o.vae) m.vae = random_weights("vae", io::vae_tensor_shapes(m.vae_config), o);
  m.weights_dtype = dtype_name(o.dtype);
  m.config_source = "SDXL base 1.0 configs (built in)";
  return m;
}

}  // namespace sdwalk
