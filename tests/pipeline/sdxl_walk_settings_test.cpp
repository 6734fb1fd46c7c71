// SDXL's size conditioning in walk settings: a keyframe file's "original_size" / "crops_coords_top_left"
// per keyframe (the run's flags where a keyframe sets none), kept through settings.json, and refused
// when malformed with the keyframe named.
#include <gtest/gtest.h>

#include "common/error_of.hpp"
#include "sdwalk/error.hpp"
#include "sdwalk/keyframes.hpp"
#include "sdwalk/walk_settings.hpp"

namespace sdwalk {
namespace {

using test::error_of;

TEST(SdxlWalkSettings, KeyframesSetTheirOwnSizes) {
  const auto keys = parse_keyframes_text(R"([
      {"prompt": "a", "seed": 1, "original_size": [96, 80]},
      {"prompt": "b", "seed": 2, "crops_coords_top_left": [8, 4]},
      {"prompt": "c", "seed": 3}])",
                                         "keys.json");
  WalkSettings s;
  s.mode = WalkMode::Keyframes;
  SizeConditioning flags;
  flags.original_size = {1024, 1024};  // the run's --original-size
  s.size_conditioning = {flags};
  s.add_keyframes(keys, "keys.json");
  ASSERT_EQ(s.size_conditioning.size(), 3u);
  EXPECT_EQ(s.size_conditioning_of(0).original_size, (std::array<double, 2>{96, 80}));
  EXPECT_EQ(s.size_conditioning_of(0).crops_coords_top_left, (std::array<double, 2>{0, 0}));
  EXPECT_EQ(s.size_conditioning_of(1).original_size, (std::array<double, 2>{1024, 1024}));
  EXPECT_EQ(s.size_conditioning_of(1).crops_coords_top_left, (std::array<double, 2>{8, 4}));
  EXPECT_EQ(s.size_conditioning_of(2).original_size, (std::array<double, 2>{1024, 1024}));
  // settings.json keeps them (a resumed run samples the same).
  const WalkSettings back = WalkSettings::from_json(s.to_json());
  ASSERT_EQ(back.size_conditioning.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(back.size_conditioning_of(i).original_size, s.size_conditioning_of(i).original_size);
    EXPECT_EQ(back.size_conditioning_of(i).crops_coords_top_left, s.size_conditioning_of(i).crops_coords_top_left);
  }
  // Without any, settings.json has no such key (runs of SD models are as before).
  WalkSettings plain;
  EXPECT_FALSE(plain.to_json().contains("size_conditioning"));
}

TEST(SdxlWalkSettings, MalformedSizesNameTheKeyframe) {
  for (const std::string bad : {R"("original_size": [96])", R"("original_size": [0, 80])", R"("original_size": "96,80")",
                                R"("crops_coords_top_left": [-1, 0])", R"("crops_coords_top_left": [1.5, 0])"}) {
    const std::string text = R"([{"prompt": "a"}, {"prompt": "b", )" + bad + "}]";
    const std::string e = error_of([&] { parse_keyframes_text(text, "keys.json"); });
    EXPECT_NE(e.find("keys.json: keyframe 1"), std::string::npos) << bad << ": " << e;
    EXPECT_NE(e.find("must be two integers"), std::string::npos) << bad << ": " << e;
  }
}

}  // namespace
}  // namespace sdwalk
