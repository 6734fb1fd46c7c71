// `sdwalk generate` run as a user runs it: a seeded fixture run (no stored latents: the seed draws
// them, as diffusers' generator does) gives the fixture's picture within +-1 per channel, twice
// byte for byte; bad input fails with one error line and writes nothing.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <fstream>
#include <iterator>

#include "common/cli_runner.hpp"
#include "common/fixtures.hpp"
#include "sdwalk/safetensors.hpp"
#include "sdwalk/image.hpp"

namespace sdwalk {
namespace {
namespace fs = std::filesystem;
using test::run_sdwalk;
using test::shell_quote;

std::string bytes_of(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

class GenerateCli : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fs::exists(test::sdwalk_binary())) << test::sdwalk_binary() << " not found: build target sdwalk first";
    if (!fs::exists(test::fixture("mini-sd15"))) GTEST_SKIP() << "fixture absent: " << test::fixture("mini-sd15");
    dir_ = fs::temp_directory_path() / ("sdwalk_generate_cli_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // mini-sd15 with the case's scheduler config in place of its own: the CLI then runs the case's
  // scheduler with every key of it (a class name alone would drop e.g. use_karras_sigmas).
  fs::path model_with_scheduler(const nlohmann::json& scheduler_config) {
    const fs::path model = dir_ / "model";
    fs::remove_all(model);
    fs::copy(test::fixture("mini-sd15"), model, fs::copy_options::recursive);
    std::ofstream(model / "scheduler" / "scheduler_config.json") << scheduler_config.dump(2);
    return model;
  }
  fs::path dir_;
};

TEST_F(GenerateCli, SeededFixtureRunsGiveTheirPictureByteForByteTwice) {
  int cases = 0;
  for (const auto& path : test::fixture_files("expected", "pipeline_", ".safetensors")) {
    const SafeTensors ref = SafeTensors::open(path);
    const auto seed = test::metadata_json(ref, "generator_seed");
    if (!seed.is_number() || ref.contains("latents_in")) continue;  // the CLI draws latents from a seed only
    ++cases;
    const auto str = [&](const char* k) {
      const auto j = test::metadata_json(ref, k);
      return j.is_string() ? j.get<std::string>() : std::string();
    };
    const fs::path model = model_with_scheduler(test::metadata_json(ref, "scheduler_config"));
    const std::string args =
        "generate --model " + shell_quote(model.string()) + " --prompt " + shell_quote(str("prompt")) +
        " --negative-prompt " + shell_quote(str("negative_prompt")) + " --seed " + seed.dump() + " --steps " +
        test::metadata_json(ref, "num_inference_steps").dump() + " --guidance-scale " +
        test::metadata_json(ref, "guidance_scale").dump() + " --height " + test::metadata_json(ref, "height").dump() +
        " --width " + test::metadata_json(ref, "width").dump() + " --precision f32";
    const fs::path a = dir_ / "a.png", b = dir_ / "b.png";
    const auto ra = run_sdwalk(args + " -o " + shell_quote(a.string()));
    ASSERT_EQ(ra.status, 0) << ra.err;
    const auto rb = run_sdwalk(args + " -o " + shell_quote(b.string()));
    ASSERT_EQ(rb.status, 0) << rb.err;
    EXPECT_EQ(bytes_of(a), bytes_of(b)) << "same seed, same threads: the PNG must be byte-identical";

    const Image img = read_png(a);
    const Tensor expected = ref.get_f32("image");
    ASSERT_EQ(int64_t(img.rgb.size()), expected.numel());
    int worst = 0;
    for (size_t i = 0; i < img.rgb.size(); ++i)
      worst = std::max(worst, std::abs(int(img.rgb[i]) - int(std::nearbyint(double(expected.f32()[i]) * 255.0))));
    EXPECT_LE(worst, 1) << path.filename();
    EXPECT_NE(read_png_text(a).at("sdwalk").find("\"seed\":" + seed.dump()), std::string::npos);
  }
  if (cases == 0) GTEST_SKIP() << "no seeded pipeline fixture";
}

TEST_F(GenerateCli, BadInputFailsWithOneLineAndWritesNothing) {
  const std::string base = "generate --model " + shell_quote(test::fixture("mini-sd15").string()) + " -p x";
  const fs::path out = dir_ / "out.png";
  const std::string o = " -o " + shell_quote(out.string());
  const std::vector<std::pair<std::string, std::string>> cases = {
      {base + " --height 100" + o, "multiple of 8"},
      {base + " --width 0" + o, "multiple of 8"},
      {base + " --steps 0" + o, "at least 1"},
      {base + " --scheduler nope" + o, "unknown scheduler"},
      {base + " --guidance-scale nan" + o, "guidance"},
      {base + " -o " + shell_quote((dir_ / "missing/x.png").string()), "does not exist"},
      {base + " --vae-tiling=sideways" + o, "tiling mode"},
      // Without --model the demo model is used, but a tokenizer alone describes no model.
      {"generate -p x --tokenizer " + shell_quote(test::fixture("mini-sd15/tokenizer").string()) + o, "--model"},
  };
  for (const auto& [args, expect] : cases) {
    const auto r = run_sdwalk(args);
    EXPECT_NE(r.status, 0) << args;
    EXPECT_NE(r.err.find(expect), std::string::npos) << args << "\nstderr: " << r.err;
    EXPECT_FALSE(fs::exists(out)) << args;
  }
  // A prompt longer than 77 tokens is run, truncated, with a warning naming what was cut.
  std::string long_prompt;
  for (int i = 0; i < 90; ++i) long_prompt += "cat ";
  const auto r = run_sdwalk(base.substr(0, base.size() - 5) + " -p " + shell_quote(long_prompt) +
                            " --height 64 --width 64 --steps 1" + o);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("truncated"), std::string::npos) << r.err;
  EXPECT_TRUE(fs::exists(out));
}

}  // namespace
}  // namespace sdwalk
