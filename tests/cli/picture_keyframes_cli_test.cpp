// Keyframe files mixing pictures and prompts (photo -> prompt -> photo) on the built-in demo model:
// the walk renders as a morph, its picture keyframes come back exactly as `walk morph` gives them
// (pixel for pixel), the prompt keyframe in between is its own picture, and bad picture keyframes
// get one line before any work.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "common/cli_runner.hpp"
#include "common/fixtures.hpp"
#include "sdwalk/frame_distance.hpp"
#include "sdwalk/image.hpp"

namespace sdwalk {
namespace {
namespace fs = std::filesystem;
using test::run_sdwalk;
using test::shell_quote;

class PictureKeyframesCli : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fs::exists(test::sdwalk_binary())) << test::sdwalk_binary() << " not found: build target sdwalk first";
    SDWALK_REQUIRE_FIXTURE(test::demo_model_dir() / "model_index.json");
    dir_ = fs::temp_directory_path() / ("sdwalk_picture_keys_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    for (const auto& [name, prompt] : {std::pair{"a.png", "a red circle on a white background"},
                                       std::pair{"b.png", "a blue circle on a white background"}}) {
      const auto r = run_sdwalk("generate -p " + shell_quote(prompt) + " --seed 1 -o " + shell_quote((dir_ / name).string()));
      ASSERT_EQ(r.status, 0) << r.err;
    }
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string q(const fs::path& p) const { return shell_quote(p.string()); }
  fs::path dir_;
};

TEST_F(PictureKeyframesCli, PhotoPromptPhotoComesBackAtThePictures) {
  // Relative picture paths are read from the keyframe file's folder.
  std::ofstream(dir_ / "keys.json") << R"([{"image": "a.png", "frames": 6},
    {"prompt": "a blue square on a black background", "seed": 5, "frames": 6}, {"image": "b.png"}])";
  const auto walk = run_sdwalk("walk keyframes --keyframes " + q(dir_ / "keys.json") + " -o " + q(dir_ / "mixed.gif"));
  ASSERT_EQ(walk.status, 0) << walk.err;
  EXPECT_NE(walk.err.find("walk morph: 12 frames"), std::string::npos) << walk.err;
  const auto morph = run_sdwalk("walk morph --image " + q(dir_ / "a.png") + " --image " + q(dir_ / "b.png") +
                                " --frames 11 -o " + q(dir_ / "morph.gif"));
  ASSERT_EQ(morph.status, 0) << morph.err;
  std::ifstream in(dir_ / "mixed" / "settings.json");
  const nlohmann::json settings = nlohmann::json::parse(in);
  EXPECT_EQ(settings["mode"], "morph");
  EXPECT_EQ(settings["images"][1], "");
  const fs::path m = dir_ / "mixed", p = dir_ / "morph";
  EXPECT_EQ(read_png(m / "frame_000000.png").rgb, read_png(p / "frame_000000.png").rgb);
  EXPECT_EQ(read_png(m / "frame_000011.png").rgb, read_png(p / "frame_000010.png").rgb);
  // The prompt keyframe (the end of segment 0, the start of segment 1) is neither picture.
  const Image key = read_png(m / "frame_000005.png");
  EXPECT_EQ(key.rgb, read_png(m / "frame_000006.png").rgb);
  EXPECT_GT(lab_rms_distance(key, read_png(m / "frame_000000.png")), 0.3);
  EXPECT_GT(lab_rms_distance(key, read_png(m / "frame_000011.png")), 0.3);
}

TEST_F(PictureKeyframesCli, BadPictureKeyframesGetOneLine) {
  const std::pair<std::string, std::string> cases[] = {
      {R"([{"image": "missing.png"}, {"prompt": "a red circle"}])", "missing.png"},
      {R"([{"image": ""}, {"prompt": "a red circle"}])", "\"image\" must be a PNG file's path"},
      {R"([{"seed": 3}, {"prompt": "a red circle"}])", "a prompt, an image or both"},
      {R"([{"image": "a.png", "seed": 1}, {"prompt": "x"}])", "seed in every keyframe or in none"},
  };
  for (const auto& [text, expect] : cases) {
    std::ofstream(dir_ / "bad.json") << text;
    const auto r = run_sdwalk("walk keyframes --keyframes " + q(dir_ / "bad.json") + " --save-path " + q(dir_ / "bad"));
    EXPECT_NE(r.status, 0) << text;
    EXPECT_NE(r.err.find(expect), std::string::npos) << text << ": " << r.err;
    EXPECT_EQ(r.err.find("rendering"), std::string::npos) << text << ": " << r.err;
    EXPECT_FALSE(fs::exists(dir_ / "bad") && !fs::is_empty(dir_ / "bad")) << text;
  }
}

}  // namespace
}  // namespace sdwalk
