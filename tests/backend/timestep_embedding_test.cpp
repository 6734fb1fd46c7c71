// timestep_embedding against diffusers' time_proj outputs stored in expected/unet.safetensors.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "common/compare.hpp"
#include "common/fixtures.hpp"
#include "backend/cpu/ops.hpp"

namespace sdwalk::test {
namespace {

TEST(TimestepEmbedding, MatchesDiffusersTimeProj) {
  const auto path = fixture("expected/unet.safetensors");
  const auto config_path = fixture("mini-sd15/unet/config.json");
  SDWALK_REQUIRE_FIXTURE(path);
  SDWALK_REQUIRE_FIXTURE(config_path);
  const nlohmann::json config = nlohmann::json::parse(std::ifstream(config_path));
  const SafeTensors file = SafeTensors::open(path);
  int cases = 0;
  for (const std::string& name : file.names()) {
    if (name.rfind("time_proj_t", 0) != 0) continue;
    const std::string suffix = name.substr(std::string("time_proj_").size());  // "t981"
    const Tensor expected = file.get_f32(name);
    const float t = float(file.get("timestep_" + suffix).data<int64_t>()[0]);
    const Tensor ours = ops::timestep_embedding({t}, int(expected.dim(-1)), config.at("flip_sin_to_cos").get<bool>(),
                                                config.at("freq_shift").get<float>());
    ASSERT_EQ(ours.shape(), expected.shape());
    const Diff d = compare(ours, expected);
    EXPECT_LE(d.rel(), 1e-5) << name << ": " << d.str();
    ++cases;
  }
  EXPECT_GT(cases, 0) << "no time_proj_t* tensors in " << path;
}

TEST(TimestepEmbedding, OrderAndShiftFollowDiffusers) {
  // dim 6, t = 0: sin terms 0, cos terms 1; flip puts cos first.
  const Tensor a = ops::timestep_embedding({0.0f, 2.0f}, 6, false, 1.0f);
  ASSERT_EQ(a.shape(), (Shape{2, 6}));
  EXPECT_EQ(a.f32()[0], 0.0f);
  EXPECT_EQ(a.f32()[3], 1.0f);
  // shift 1: exponent = -ln(1e4) * i / (half - 1); the last frequency is 1e-4.
  EXPECT_NEAR(a.f32()[6 + 2], std::sin(2.0 * 1e-4), 1e-7);
  EXPECT_NEAR(a.f32()[6 + 0], std::sin(2.0), 1e-7);
  const Tensor b = ops::timestep_embedding({0.0f}, 6, true, 0.0f);
  EXPECT_EQ(b.f32()[0], 1.0f);
  EXPECT_EQ(b.f32()[3], 0.0f);
}

}  // namespace
}  // namespace sdwalk::test
