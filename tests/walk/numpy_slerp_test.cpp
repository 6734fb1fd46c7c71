// The notebook's slerp on inputs whose size is no multiple of 32, against NumPy 1.24 on OpenBLAS's
// Haswell sdot, NumPy on its AVX2 path (tests/walk/data/numpy_slerp_cases.json, made by
// tools/reference/numpy_slerp_cases.py, which says why: under AVX-512 NumPy itself differs).
// The cookbook fixtures hold only multiples of 32 elements, so they never reach sdot's tail loop,
// whose order decides the last bit of the norm (hence of every frame) for SD's real sizes.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "sdwalk/walk.hpp"
#include "walk/numpy_reductions.hpp"

namespace sdwalk {
namespace {

// The generator of numpy_slerp_cases.py: a 64-bit LCG, (state >> 40) / 2^23 - 1, times 2 (exact floats).
std::vector<float> inputs(int64_t n, uint64_t state) {
  std::vector<float> out(static_cast<size_t>(n));
  for (auto& v : out) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    v = float((double(state >> 40) / double(1 << 23) - 1.0) * 2.0);
  }
  return out;
}

std::string bits(float x) {
  uint32_t u;
  std::memcpy(&u, &x, 4);
  char buf[16];
  std::snprintf(buf, sizeof buf, "%08x", u);
  return buf;
}

std::string fnv1a64(const Tensor& t) {
  uint64_t h = 0xCBF29CE484222325ull;
  const auto* p = reinterpret_cast<const unsigned char*>(t.f32());
  for (int64_t i = 0; i < t.numel() * 4; ++i) h = (h ^ p[i]) * 0x100000001B3ull;
  char buf[24];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

Tensor tensor_of(const std::vector<float>& v) {
  Tensor t({int64_t(v.size())});
  std::memcpy(t.f32(), v.data(), v.size() * 4);
  return t;
}

TEST(NumpySlerp, NormsAndFramesEqualNumPyOnOpenBlasBitForBit) {
  const nlohmann::json doc =
      nlohmann::json::parse(std::ifstream(std::string(SDWALK_SOURCE_DIR) + "/tests/walk/data/numpy_slerp_cases.json"));
  ASSERT_FALSE(doc.at("cases").empty());
  for (const auto& c : doc.at("cases")) {
    const int64_t n = c.at("n");
    const std::vector<float> v0 = inputs(n, c.at("seed0"));
    std::vector<float> v1 = inputs(n, c.at("seed1"));
    for (int64_t i = 0; i < n; ++i) v1[size_t(i)] = v0[size_t(i)] + 0.5f * v1[size_t(i)];
    const std::string name = "n = " + std::to_string(n) + ", seed " + c.at("seed0").dump();
    EXPECT_EQ(bits(walk_detail::numpy_norm_f32(v0.data(), n)), c.at("norm_v0")) << name;
    EXPECT_EQ(bits(walk_detail::numpy_norm_f32(v1.data(), n)), c.at("norm_v1")) << name;
    const std::vector<double> t = linspace(0, 1, 5);
    for (size_t i = 0; i < t.size(); ++i)
      EXPECT_EQ(fnv1a64(slerp(t[i], tensor_of(v0), tensor_of(v1))), c.at("frames_fnv1a64")[i]) << name << ", t " << t[i];
  }
}

}  // namespace
}  // namespace sdwalk
