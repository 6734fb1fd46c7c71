// Requests that used to give a wrong result with exit 0 (a folder of PNGs instead of an animation,
// GIF bytes in x.mp4, black images from NaN noise or broken configs, a seed silently changed)
// now fail with one line naming what is wrong.
#include <limits>

#include "common/cli_test.hpp"
#include "sdwalk/safetensors.hpp"

namespace sdwalk {
namespace {
namespace fs = std::filesystem;
using test::run_sdwalk;
using test::shell_quote;

class WrongResultsCli : public test::CliTest {
 protected:
  void expect_refused(const std::string& args, const std::string& expect, const std::vector<std::string>& keep = {}) {
    const auto r = run_sdwalk(args);
    EXPECT_NE(r.status, 0) << args;
    EXPECT_NE(r.err.find(expect), std::string::npos) << args << "\nstderr: " << r.err;
    EXPECT_EQ(r.err.find("rendering"), std::string::npos) << args << "\nstderr: " << r.err;
    EXPECT_EQ(entries_except(keep), std::vector<std::string>{}) << args;
  }
};

TEST_F(WrongResultsCli, TheOutputNameMustNameTheFormat) {
  const std::string m = model_flag();
  expect_refused(small_walk(dir() / "name") + m, "extension");
  expect_refused(small_walk(dir() / "fwebp") + " --format webp" + m, "extension");
  expect_refused(small_walk(dir() / "x.mp4") + " --format gif" + m, "mp4");
  expect_refused(small_walk(dir() / "x.png") + m, "--format png");
  // A frames folder is asked for with --format png; then any name is the folder's.
  const auto r = run_sdwalk(small_walk(dir() / "frames") + " --format png" + m);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(fs::exists(dir() / "frames" / "frame_000001.png"));
}

TEST_F(WrongResultsCli, NonFiniteNoiseIsRefusedAtLoad) {
  for (const float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}) {
    const fs::path noise = dir() / "bad.safetensors";
    Tensor t({2, 4, 8, 8});
    for (int64_t i = 0; i < t.numel(); ++i) t.f32()[i] = i == 5 ? bad : 0.5f;
    save_safetensors(noise, {{"latents", t}});
    expect_refused(small_walk(dir() / "out.gif") + " --noise " + shell_quote(noise.string()) + model_flag(),
                   "bad.safetensors", {"bad.safetensors"});
    fs::remove(noise);
  }
}

TEST_F(WrongResultsCli, BrokenModelConfigsAreRefusedAtLoad) {
  const struct {
    std::string file, key;
    nlohmann::json value;
  } cases[] = {
      {"scheduler/scheduler_config.json", "beta_end", 1.5},
      {"unet/config.json", "norm_eps", -1e-5},
      {"text_encoder/config.json", "layer_norm_eps", -1e-5},
      {"vae/config.json", "scaling_factor", 0},
  };
  for (const auto& c : cases) {
    const fs::path model = model_copy("model", {{c.file, {{c.key, c.value}}}});
    expect_refused(small_generate(dir() / "out.png") + " --model " + shell_quote(model.string()), c.key, {"model"});
    fs::remove_all(model);
  }
}

TEST_F(WrongResultsCli, SeedsOutsideZeroToTwoPow63AreRefusedEverywhere) {
  const std::string m = model_flag();
  expect_refused(small_generate(dir() / "out.png") + " --seed -1" + m, "seed");
  expect_refused(small_generate(dir() / "out.png") + " --seed 9223372036854775808" + m, "seed");
  expect_refused(small_walk(dir() / "out.gif") + " --seed -5" + m, "seed");
  expect_refused(small_walk(dir() / "out.gif") + " --seed 18446744073709551615" + m, "seed");
  // Keyframe k uses seed + k: the second keyframe would be 2^63.
  expect_refused("walk keyframes -p a -p b --seed 9223372036854775807 --height 64 --width 64 --frames 2"
                 " --num-inference-steps 1 -o " + shell_quote((dir() / "k.gif").string()) + m, "seed");
  const auto r = run_sdwalk(small_generate(dir() / "max.png") + " --seed 9223372036854775807" + m);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("seed: 9223372036854775807"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace sdwalk
