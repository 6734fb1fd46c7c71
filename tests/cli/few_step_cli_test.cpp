// The CLI on the SD 2.x and LCM fixture models: `sdwalk info` names the family, prediction type and
// spacing; `sdwalk generate` with diffusers' from_config overrides as flags reproduces the
// SD-Turbo-like fixture pictures (within +-1 per channel); an LCM model's own few-step defaults are
// used and announced in one line; a bad override value fails with one line naming the flag.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>

#include "common/cli_runner.hpp"
#include "common/fixtures.hpp"
#include "sdwalk/image.hpp"

namespace sdwalk {
namespace {
namespace fs = std::filesystem;
using test::run_sdwalk;
using test::shell_quote;

class FewStepCli : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fs::exists(test::sdwalk_binary())) << test::sdwalk_binary() << " not found: build target sdwalk first";
    dir_ = fs::temp_directory_path() / ("sdwalk_few_step_cli_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

// Largest |png - round(255 x)| over the pixels.
int worst_pixel(const fs::path& png, const Tensor& expected) {
  const Image img = read_png(png);
  if (int64_t(img.rgb.size()) != expected.numel()) return 256;
  int worst = 0;
  for (size_t i = 0; i < img.rgb.size(); ++i)
    worst = std::max(worst, std::abs(int(img.rgb[i]) - int(std::nearbyint(double(expected.f32()[i]) * 255.0))));
  return worst;
}

TEST_F(FewStepCli, InfoNamesFamilyPredictionTypeAndSpacing) {
  struct Case {
    std::string args, family, scheduler;
  };
  const std::string sd21 = test::fixture("mini-sd21").string();
  const std::vector<Case> cases = {
      {shell_quote(sd21), "family:        SD 2.x", "prediction_type v_prediction, timestep_spacing leading"},
      {shell_quote(test::fixture("single-files/mini-sd21.fp16.safetensors").string()) + " --config " + shell_quote(sd21),
       "family:        SD 2.x", "prediction_type v_prediction, timestep_spacing leading"},
      {shell_quote(test::fixture("mini-lcm").string()), "family:        SD 1.x LCM",
       "LCMScheduler, prediction_type epsilon, timestep_spacing leading"},
      {shell_quote(test::fixture("mini-sd15").string()), "family:        SD 1.x",
       "prediction_type epsilon, timestep_spacing linspace"},
  };
  int ran = 0;
  for (const auto& c : cases) {
    const std::string model = c.args.substr(1, c.args.find('\'', 1) - 1);
    if (!fs::exists(model)) continue;
    const auto r = run_sdwalk("info " + c.args);
    ASSERT_EQ(r.status, 0) << c.args << "\n" << r.err;
    EXPECT_NE(r.out.find(c.family + "\n"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find(c.scheduler), std::string::npos) << r.out;
    ++ran;
  }
  if (ran == 0) GTEST_SKIP() << "no fixture model";
  if (fs::exists(test::fixture("mini-lcm"))) {
    const auto r = run_sdwalk("info " + shell_quote(test::fixture("mini-lcm").string()));
    EXPECT_NE(r.out.find("few-step:"), std::string::npos) << r.out;
  }
}

TEST_F(FewStepCli, TurboLikeRunsReproduceTheFixturePictures) {
  if (!fs::exists(test::fixture("mini-sd21"))) GTEST_SKIP() << "fixture absent: " << test::fixture("mini-sd21");
  int cases = 0;
  for (const auto& path : test::fixture_files("expected/sd21", "pipeline_turbo", ".safetensors")) {
    const SafeTensors ref = SafeTensors::open(path);
    const auto kwargs = test::metadata_json(ref, "scheduler_from_config_kwargs");
    const auto seed = test::metadata_json(ref, "generator_seed");
    ASSERT_TRUE(seed.is_number()) << path;
    const fs::path out = dir_ / "turbo.png";
    fs::remove(out);
    const std::string args =
        "generate --model " + shell_quote(test::fixture("mini-sd21").string()) + " --prompt " +
        shell_quote(test::metadata_json(ref, "prompt").get<std::string>()) + " --seed " + seed.dump() + " --steps " +
        test::metadata_json(ref, "num_inference_steps").dump() + " --guidance-scale " +
        test::metadata_json(ref, "guidance_scale").dump() + " --height " + test::metadata_json(ref, "height").dump() +
        " --width " + test::metadata_json(ref, "width").dump() + " --scheduler " +
        test::metadata_json(ref, "scheduler_class").get<std::string>() + " --prediction-type " +
        kwargs.at("prediction_type").get<std::string>() + " --timestep-spacing " +
        kwargs.at("timestep_spacing").get<std::string>() + " --precision f32 -o " + shell_quote(out.string());
    const auto r = run_sdwalk(args);
    ASSERT_EQ(r.status, 0) << args << "\n" << r.err;
    EXPECT_LE(worst_pixel(out, ref.get_f32("image")), 1) << path.filename();
    EXPECT_NE(read_png_text(out).at("sdwalk").find("\"timestep_spacing\":\"trailing\""), std::string::npos);
    ++cases;
  }
  if (cases == 0) GTEST_SKIP() << "no pipeline_turbo* fixture";
}

// No --scheduler/--steps/--guidance-scale: the LCM model's own defaults, said in one line.
TEST_F(FewStepCli, LcmModelDefaultsAreUsedAndAnnounced) {
  if (!fs::exists(test::fixture("mini-lcm"))) GTEST_SKIP() << "fixture absent: " << test::fixture("mini-lcm");
  const fs::path out = dir_ / "lcm.png";
  const auto r = run_sdwalk("generate --model " + shell_quote(test::fixture("mini-lcm").string()) +
                            " -p 'a red circle' --seed 3 --height 64 --width 64 --precision f32 -o " +
                            shell_quote(out.string()));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("few-step defaults"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("scheduler lcm, 4 step(s), guidance 8.5"), std::string::npos) << r.err;
  EXPECT_NE(read_png_text(out).at("sdwalk").find("\"scheduler\":\"lcm\""), std::string::npos);
}

TEST_F(FewStepCli, BadOverrideValuesFailWithOneLineNamingTheFlag) {
  if (!fs::exists(test::fixture("mini-sd21"))) GTEST_SKIP() << "fixture absent: " << test::fixture("mini-sd21");
  const std::string model = " --model " + shell_quote(test::fixture("mini-sd21").string());
  const fs::path out = dir_ / "bad.png";
  for (const std::string& args :
       {"generate" + model + " -p x --prediction-type foo -o " + shell_quote(out.string()),
        "generate" + model + " -p x --timestep-spacing sideways -o " + shell_quote(out.string()),
        "walk drift" + model + " -p x --prediction-type foo -o " + shell_quote((dir_ / "w.gif").string())}) {
    const auto r = run_sdwalk(args);
    EXPECT_NE(r.status, 0) << args;
    const std::string flag = args.find("--prediction-type") != std::string::npos ? "--prediction-type" : "--timestep-spacing";
    EXPECT_NE(r.err.find(flag), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "one line: " << r.err;
    EXPECT_FALSE(fs::exists(out));
  }
}

}  // namespace
}  // namespace sdwalk
