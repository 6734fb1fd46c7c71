// WalkSettings read back from a run's settings.json (--resume): values to_json never writes are
// Errors naming the setting. Found by tests/fuzz/walk_settings_fuzz.
#include "sdwalk/walk_settings.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <limits>

#include "common/error_of.hpp"
#include "sdwalk/error.hpp"

namespace sdwalk {
namespace {

using test::error_of;

WalkSettings keyframes() {
  WalkSettings s;
  s.mode = WalkMode::Keyframes;
  s.prompts = {"a", "b", "c"};
  s.seeds = {7};
  return s;
}

// get<int>() of 1e300 was undefined behaviour (UBSan); 4294967296 wrapped to 0.
TEST(WalkSettings, IntegersThatDoNotFitAreErrors) {
  const nlohmann::json good = keyframes().to_json();
  EXPECT_EQ(WalkSettings::from_json(good).to_json(), good);
  auto with = [&](const char* key, const nlohmann::json& v) {
    nlohmann::json j = good;
    j[key] = v;
    return error_of([&] { WalkSettings::from_json(j); });
  };
  EXPECT_EQ(with("height", 1e300), "walk settings: height must be an integer in [-2147483648, 2147483647], got 1e+300");
  EXPECT_NE(with("num_inference_steps", 4294967296LL).find("num_inference_steps must be an integer"), std::string::npos);
  EXPECT_NE(with("seeds", {18446744073709551615ULL}).find("seeds must be an integer"), std::string::npos);
  EXPECT_NE(with("seeds", {1.5}).find("seeds must be an integer"), std::string::npos);
  EXPECT_NE(with("keyframe_frames", "30").find("keyframe_frames must be a list of integers"), std::string::npos);
  EXPECT_EQ(with("loop", 3), "");
}

// Keyframe k uses seed + k: with the largest int64 seed, plan_walk's sum overflowed.
TEST(WalkSettings, AKeyframeSeedThatWouldOverflowIsAnError) {
  WalkSettings s = keyframes();
  s.seeds = {std::numeric_limits<int64_t>::max() - 2};
  EXPECT_NO_THROW(s.validate());
  s.seeds = {std::numeric_limits<int64_t>::max() - 1};
  EXPECT_EQ(error_of([&] { s.validate(); }),
            "keyframes: --seed 9223372036854775806 + 2 (keyframe k uses seed + k) passes the largest seed "
            "9223372036854775807");
}

}  // namespace
}  // namespace sdwalk
