#include "io/weights_hash.hpp"

#include <cstdio>
#include <cstring>
#include <vector>

namespace sdwalk {
namespace {

constexpr uint64_t kMul = 0x9E3779B97F4A7C15ull;

uint64_t mix(uint64_t h, uint64_t v) {
  h ^= v + kMul + (h << 6) + (h >> 2);
  return h * 0xBF58476D1CE4E5B9ull;
}

uint64_t hash_bytes(const unsigned char* p, size_t n, uint64_t h) {
  // Word at a time: fast enough to hash a 2-4 GB checkpoint in about a second per core.
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    h = (h ^ w) * kMul;
    h ^= h >> 29;
  }
  uint64_t tail = 0;
  std::memcpy(&tail, p + i, n - i);
  return mix(h, tail ^ n);
}

uint64_t hash_string(const std::string& s, uint64_t h) {
  return hash_bytes(reinterpret_cast<const unsigned char*>(s.data()), s.size(), h);
}

void hash_weights(const Weights& w, std::vector<uint64_t>& out) {
  const auto names = w.names();  // sorted
  const size_t base = out.size();
  out.resize(base + names.size());
#pragma omp parallel for schedule(dynamic)
  for (size_t i = 0; i < names.size(); ++i) {
    const Tensor& t = w.get(names[i]);
    uint64_t h = hash_string(w.network() + "." + names[i] + ":" + dtype_name(t.dtype()) + shape_string(t.shape()), 0);
    out[base + i] = hash_bytes(static_cast<const unsigned char*>(t.raw()), t.nbytes(), h);
    release_mapped_pages(t);  // the checkpoint's pages need not stay resident after hashing
  }
}

}  // namespace

namespace {

std::string hex(uint64_t h) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

}  // namespace

std::string bytes_hash(const void* data, size_t size) {
  return hex(hash_bytes(static_cast<const unsigned char*>(data), size, 0));
}

std::string weights_hash(const ModelFiles& files) {
  std::vector<uint64_t> parts;
  hash_weights(files.text_encoder, parts);
  hash_weights(files.unet, parts);
  hash_weights(files.vae, parts);
  hash_weights(files.text_encoder_2, parts);  // SDXL's; empty (no parts) for SD 1.x/2.x
  uint64_t h = 0;
  for (uint64_t p : parts) h = mix(h, p);
  return hex(h);
}

}  // namespace sdwalk
