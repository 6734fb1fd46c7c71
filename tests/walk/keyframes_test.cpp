// Keyframe walks (plan_keyframes) and the keyframe JSON file.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>

#include "common/error_of.hpp"
#include "sdwalk/error.hpp"
#include "sdwalk/keyframes.hpp"
#include "sdwalk/walk.hpp"
#include "common/gaussian.hpp"

namespace sdwalk {
namespace {

using test::gaussian;

double norm(const Tensor& t) {
  double s = 0;
  for (int64_t i = 0; i < t.numel(); ++i) s += double(t.f32()[i]) * t.f32()[i];
  return std::sqrt(s);
}

bool same(const Tensor& a, const Tensor& b) {
  if (a.numel() != b.numel()) return false;
  for (int64_t i = 0; i < a.numel(); ++i)
    if (a.f32()[i] != b.f32()[i]) return false;
  return true;
}

using test::error_of;

Keyframe key(unsigned s, int frames) {
  return {gaussian({1, 77, 16}, s), gaussian({1, 77, 16}, s + 100), gaussian({1, 4, 16, 16}, s + 200),
          int64_t(s), frames};
}

bool is_key(const Frame& f, const Keyframe& k) {
  return same(f.cond, k.cond) && same(f.uncond, k.uncond) && same(f.latents, k.noise) && f.seed == k.seed;
}

TEST(Keyframes, SegmentsIncludeBothEndsLikeStableDiffusionVideos) {
  const std::vector<Keyframe> keys = {key(1, 5), key(2, 4), key(3, 99)};
  const auto frames = plan_keyframes(keys, Interp::Slerp, Interp::Slerp, false);
  ASSERT_EQ(frames.size(), 9u);  // 5 + 4: keyframe 1 ends segment 0 and starts segment 1
  EXPECT_TRUE(is_key(frames[0], keys[0]));
  EXPECT_TRUE(is_key(frames[4], keys[1]));
  EXPECT_TRUE(is_key(frames[5], keys[1]));
  EXPECT_TRUE(is_key(frames[8], keys[2]));
  for (size_t i : {1, 2, 3, 6, 7}) EXPECT_EQ(frames[i].seed, -1) << i;
  EXPECT_DOUBLE_EQ(frames[2].t, 0.5);
  EXPECT_DOUBLE_EQ(frames[7].t, 1.0 + 2.0 / 3.0);
  // In between, the notebook's slerp at linspace(0, 1, 5)[2] = 0.5.
  EXPECT_TRUE(same(frames[2].latents, slerp(0.5, keys[0].noise, keys[1].noise)));
  EXPECT_TRUE(same(frames[2].cond, slerp(0.5, keys[0].cond, keys[1].cond)));
}

TEST(Keyframes, SeamlessGivesEachKeyframeExactlyOnce) {
  const std::vector<Keyframe> keys = {key(1, 5), key(2, 4), key(3, 3), key(4, 0)};
  const auto frames = plan_keyframes(keys, Interp::Lerp, Interp::Slerp, true);
  ASSERT_EQ(frames.size(), size_t(5 + 4 + 3 - 2));
  std::vector<int> seen(keys.size(), 0);
  for (const Frame& f : frames)
    for (size_t k = 0; k < keys.size(); ++k) seen[k] += is_key(f, keys[k]);
  EXPECT_EQ(seen, (std::vector<int>{1, 1, 1, 1}));
  EXPECT_TRUE(is_key(frames.front(), keys.front()));
  EXPECT_TRUE(is_key(frames.back(), keys.back()));
  for (size_t i = 1; i < frames.size(); ++i) EXPECT_GT(frames[i].t, frames[i - 1].t);
  // The seamless frames are the plain walk's minus its repeated junctions, bit for bit.
  const auto all = plan_keyframes(keys, Interp::Lerp, Interp::Slerp, false);
  const std::vector<size_t> kept = {0, 1, 2, 3, 4, 6, 7, 8, 10, 11};
  ASSERT_EQ(kept.size(), frames.size());
  for (size_t j = 0; j < kept.size(); ++j) {
    EXPECT_TRUE(same(frames[j].cond, all[kept[j]].cond)) << j;
    EXPECT_TRUE(same(frames[j].latents, all[kept[j]].latents)) << j;
  }
}

TEST(Keyframes, SlerpKeepsTheNoiseNormWhereLerpShrinksIt) {
  // Independent Gaussian noises are nearly orthogonal: the chord's midpoint has ~1/sqrt(2) of the
  // norm (a washed-out image), the great circle's keeps it.
  const std::vector<Keyframe> keys = {key(11, 3), key(12, 0)};
  const double ends = 0.5 * (norm(keys[0].noise) + norm(keys[1].noise));
  const auto s = plan_keyframes(keys, Interp::Lerp, Interp::Slerp, false);
  const auto l = plan_keyframes(keys, Interp::Lerp, Interp::Lerp, false);
  EXPECT_NEAR(norm(s[1].latents) / ends, 1.0, 0.02);
  EXPECT_NEAR(norm(l[1].latents) / ends, std::sqrt(0.5), 0.05);
  EXPECT_TRUE(same(l[1].latents, lerp(0.5, keys[0].noise, keys[1].noise)));
  // Each choice applies to its own part: the embeddings stayed linear in both.
  EXPECT_TRUE(same(s[1].cond, l[1].cond));
  EXPECT_TRUE(same(s[1].uncond, lerp(0.5, keys[0].uncond, keys[1].uncond)));
}

TEST(Keyframes, RejectBadInputsWithANamedError) {
  EXPECT_NE(error_of([] { plan_keyframes({key(1, 5)}, Interp::Slerp, Interp::Slerp, false); })
                .find("at least two keyframes"),
            std::string::npos);
  EXPECT_NE(error_of([] { plan_keyframes({key(1, 5), key(2, 1), key(3, 4)}, Interp::Slerp, Interp::Slerp, false); })
                .find("keyframe 1: frames to the next keyframe must be at least 2"),
            std::string::npos);
  Keyframe odd = key(2, 4);
  odd.noise = gaussian({1, 4, 8, 8}, 5);
  EXPECT_NE(error_of([&] { plan_keyframes({key(1, 5), odd}, Interp::Slerp, Interp::Slerp, false); })
                .find("keyframe 1 noise"),
            std::string::npos);
}

TEST(KeyframesJson, ParsesTheDocumentedFormat) {
  const auto doc = nlohmann::json::parse(R"({"keyframes": [
      {"prompt": "a red fox", "negative_prompt": "blurry", "seed": 42, "frames": 30},
      {"prompt": "an owl", "seed": 18446744073709551615},
      {"prompt": "a wolf", "negative_prompt": null}]})");
  // 2^64-1 does not fit a seed: reported, not wrapped.
  EXPECT_NE(error_of([&] { parse_keyframes_json(doc); }).find("keyframe 1: \"seed\" must be in 0 .."), std::string::npos);
  const auto ok = parse_keyframes_json(nlohmann::json::parse(R"([
      {"prompt": "a red fox", "negative_prompt": "blurry", "seed": 42, "frames": 30},
      {"prompt": "an owl", "seed": 4294967295}])"));
  ASSERT_EQ(ok.size(), 2u);
  EXPECT_EQ(ok[0].prompt, "a red fox");
  EXPECT_EQ(ok[0].negative_prompt, "blurry");
  EXPECT_EQ(ok[0].seed, 42);
  EXPECT_EQ(ok[0].frames, 30);
  EXPECT_EQ(ok[1].negative_prompt, std::nullopt);
  EXPECT_EQ(ok[1].seed, 4294967295LL);
  EXPECT_EQ(ok[1].frames, std::nullopt);
}

TEST(KeyframesJson, RejectsMistakesWithOneClearLine) {
  auto err = [](const char* text) {
    return error_of([&] { parse_keyframes_json(nlohmann::json::parse(text), "k.json"); });
  };
  EXPECT_NE(err(R"([{"prompt": "a"}])").find("k.json: a keyframe walk needs at least two keyframes, got 1"),
            std::string::npos);
  EXPECT_NE(err(R"([{"prompt": "a"}, {"negative-prompt": "b", "prompt": "c"}])")
                .find("k.json: keyframe 1: unknown key \"negative-prompt\""),
            std::string::npos);
  EXPECT_NE(err(R"([{"prompt": "a"}, {"seed": 3}])").find("keyframe 1: \"prompt\" is missing"), std::string::npos);
  EXPECT_NE(err(R"([{"prompt": "a", "seed": -1}, {"prompt": "b"}])").find("keyframe 0: \"seed\" must be in"),
            std::string::npos);
  EXPECT_NE(err(R"([{"prompt": "a", "seed": 1.5}, {"prompt": "b"}])").find("\"seed\" must be an integer"),
            std::string::npos);
  EXPECT_NE(err(R"([{"prompt": "a", "frames": 1}, {"prompt": "b"}])").find("\"frames\""), std::string::npos);
  EXPECT_NE(err(R"([{"prompt": 3}, {"prompt": "b"}])").find("\"prompt\" must be a string"), std::string::npos);
  EXPECT_NE(err(R"({"frames": []})").find("unknown top-level key \"frames\""), std::string::npos);
  EXPECT_NE(err(R"("a fox")").find("expected a list of keyframes"), std::string::npos);
}

TEST(KeyframesJson, FileErrorsNameThePathAndTheLine) {
  const auto dir = std::filesystem::temp_directory_path() / ("sdwalk_keyframes_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto good = dir / "good.json", bad = dir / "bad.json";
  std::ofstream(good) << R"([{"prompt": "a", "frames": 3}, {"prompt": "b"}])";
  std::ofstream(bad) << "[\n  {\"prompt\": \"a\"},\n  {\"prompt\": \"b\",}\n]\n";
  EXPECT_EQ(read_keyframes_file(good).size(), 2u);
  const std::string e = error_of([&] { read_keyframes_file(bad); });
  EXPECT_NE(e.find(bad.string() + ": not valid JSON"), std::string::npos) << e;
  EXPECT_NE(e.find("line 3"), std::string::npos) << e;
  EXPECT_NE(error_of([&] { read_keyframes_file(dir / "absent.json"); }).find("absent.json: cannot open"),
            std::string::npos);
  std::filesystem::remove_all(dir);
}

// Found by tests/fuzz/keyframes_fuzz: nlohmann::json reports a number beyond double's range as
// out_of_range, which escaped read_keyframes_file as a non-sdwalk exception.
TEST(KeyframesJson, NumberOutOfDoubleRangeIsAJsonError) {
  const std::string e =
      error_of([] { parse_keyframes_text(R"([{"prompt": "a", "frames": 1e999}, {"prompt": "b"}])", "k.json"); });
  EXPECT_NE(e.find("k.json: not valid JSON: number overflow parsing '1e999'"), std::string::npos) << e;
}

}  // namespace
}  // namespace sdwalk
