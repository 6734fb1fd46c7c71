// Without --model, `sdwalk generate` and `sdwalk walk` use the built-in demo model (models/demo) at
// its own default size, steps and guidance, and say so in one notice line. Skipped when the demo
// model is absent.
#include <gif_lib.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "common/cli_runner.hpp"
#include "common/fixtures.hpp"
#include "sdwalk/image.hpp"

namespace sdwalk {
namespace {
namespace fs = std::filesystem;
using test::run_sdwalk;
using test::shell_quote;

class DemoModelCli : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fs::exists(test::sdwalk_binary())) << test::sdwalk_binary() << " not found: build target sdwalk first";
    SDWALK_REQUIRE_FIXTURE(test::demo_model_dir() / "model_index.json");
    dir_ = fs::temp_directory_path() / ("sdwalk_demo_cli_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  // The size the demo model was trained at: its UNet's sample_size times the VAE's downscale factor
  // (diffusers' default height and width).
  static int trained_size() {
    const auto read = [](const fs::path& p) {
      std::ifstream in(p);
      return nlohmann::json::parse(in);
    };
    const auto unet = read(test::demo_model_dir() / "unet" / "config.json");
    const auto vae = read(test::demo_model_dir() / "vae" / "config.json");
    return unet.at("sample_size").get<int>() << (vae.at("block_out_channels").size() - 1);
  }
  fs::path dir_;
};

TEST_F(DemoModelCli, GenerateWithoutModelDrawsWithTheDemoModel) {
  const fs::path png = dir_ / "a.png";
  const auto r = run_sdwalk("generate -p " + shell_quote("a red circle on a white background") + " --seed 1 -o " +
                            shell_quote(png.string()));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("built-in demo model"), std::string::npos) << r.err;
  const Image image = read_png(png);
  EXPECT_EQ(image.width, trained_size());
  EXPECT_EQ(image.height, trained_size());
}

TEST_F(DemoModelCli, WalkWithoutModelWritesAGif) {
  const fs::path gif = dir_ / "walk.gif";
  const auto r = run_sdwalk("walk prompts -p " + shell_quote("a red circle on a white background") + " -p " +
                            shell_quote("a blue square on a black background") +
                            " --seed 1 --num-interpolation-steps 3 -o " + shell_quote(gif.string()));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("built-in demo model"), std::string::npos) << r.err;
  int error = 0;
  GifFileType* g = DGifOpenFileName(gif.c_str(), &error);
  ASSERT_NE(g, nullptr);
  ASSERT_EQ(DGifSlurp(g), GIF_OK);
  EXPECT_EQ(g->ImageCount, 3);
  EXPECT_EQ(g->SWidth, trained_size());
  EXPECT_EQ(g->SHeight, trained_size());
  DGifCloseFile(g, &error);
}

}  // namespace
}  // namespace sdwalk
