// LoRA through the CLI on the built-in demo model: a keyframes walk whose LoRA scale goes 0 -> 1
// renders, its frame 0 (scale 0) is the walk without the LoRA bit for bit and its last frame is
// changed by it; and the bad inputs users meet get one clear line before any work. The LoRA is a
// random one in the kohya layout, written from the demo UNet's own layer shapes.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <map>

#include "common/cli_runner.hpp"
#include "common/fixtures.hpp"
#include "sdwalk/image.hpp"
#include "sdwalk/safetensors.hpp"
#include "sdwalk/torch_generator.hpp"

namespace sdwalk {
namespace {
namespace fs = std::filesystem;
using test::run_sdwalk;
using test::shell_quote;

const char* kRed = "a red circle on a white background";
const char* kBlue = "a blue square on a black background";

// Rank-2 kohya factors for every cross-attention key/value projection of the demo UNet, with
// `out_dim_delta` added to the up factor's rows (a LoRA for another architecture when non-zero).
void write_demo_lora(const fs::path& path, int out_dim_delta = 0) {
  const SafeTensors unet = SafeTensors::open(test::demo_model_dir() / "unet" / "diffusion_pytorch_model.safetensors");
  std::map<std::string, Tensor> tensors;
  TorchGenerator g(7);
  for (const std::string& name : unet.names()) {
    const std::string suffix = ".weight";
    if (name.find("attn2.to_k") == std::string::npos && name.find("attn2.to_v") == std::string::npos) continue;
    const Shape w = unet.get(name).shape();
    std::string module = name.substr(0, name.size() - suffix.size());
    for (char& c : module)
      if (c == '.') c = '_';
    const int64_t rank = 2;
    Tensor down = g.randn({rank, w[1]}), up = g.randn({w[0] + out_dim_delta, rank});
    tensors["lora_unet_" + module + ".lora_down.weight"] = down;
    tensors["lora_unet_" + module + ".lora_up.weight"] = up;
    tensors["lora_unet_" + module + ".alpha"] = Tensor::from_vector({}, {2.0f});
  }
  ASSERT_FALSE(tensors.empty()) << "the demo UNet has no attn2.to_k/to_v layers";
  save_safetensors(path, tensors, {});
}

class LoraWalkCli : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fs::exists(test::sdwalk_binary())) << test::sdwalk_binary() << " not found: build target sdwalk first";
    SDWALK_REQUIRE_FIXTURE(test::demo_model_dir() / "model_index.json");
    dir_ = fs::temp_directory_path() / ("sdwalk_lora_cli_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    write_demo_lora(dir_ / "demo_style.safetensors");
  }
  void TearDown() override { fs::remove_all(dir_); }
  // The walk's run folder under `save`: the one directory there.
  static fs::path run_folder(const fs::path& save) {
    for (const auto& e : fs::directory_iterator(save))
      if (e.is_directory()) return e.path();
    return {};
  }
  fs::path dir_;
};

TEST_F(LoraWalkCli, ScaleZeroToOneAcrossKeyframes) {
  std::ofstream(dir_ / "keys.json") << R"([{"prompt": ")" << kRed
                                    << R"(", "seed": 42, "frames": 24, "loras": {"demo_style.safetensors": 0}},
{"prompt": ")" << kBlue << R"(", "seed": 43, "loras": {"demo_style.safetensors": 1}}])";
  const std::string lora = shell_quote((dir_ / "demo_style.safetensors").string());
  const auto with = run_sdwalk("walk keyframes --keyframes " + shell_quote((dir_ / "keys.json").string()) +
                               " --lora " + lora + " --save-path " + shell_quote((dir_ / "with").string()));
  ASSERT_EQ(with.status, 0) << with.err;
  const auto without = run_sdwalk("walk keyframes -p " + shell_quote(kRed) + " -p " + shell_quote(kBlue) +
                                  " --seed 42 --seed 43 --frames 24 --save-path " + shell_quote((dir_ / "without").string()));
  ASSERT_EQ(without.status, 0) << without.err;
  const fs::path a = run_folder(dir_ / "with"), b = run_folder(dir_ / "without");
  ASSERT_FALSE(a.empty());
  ASSERT_FALSE(b.empty());
  int frames = 0;
  for (const auto& e : fs::directory_iterator(a)) frames += e.path().extension() == ".png";
  EXPECT_EQ(frames, 24);
  const Image first_with = read_png(a / "frame_000000.png"), first_without = read_png(b / "frame_000000.png");
  EXPECT_EQ(first_with.rgb, first_without.rgb) << "scale 0 must leave frame 0 as the walk without the LoRA";
  const Image last_with = read_png(a / "frame_000023.png"), last_without = read_png(b / "frame_000023.png");
  EXPECT_NE(last_with.rgb, last_without.rgb) << "scale ~1 at the last frame must change it";
}

TEST_F(LoraWalkCli, BadInputGetsOneLineBeforeAnyWork) {
  write_demo_lora(dir_ / "other_arch.safetensors", 8);
  save_safetensors(dir_ / "not_a_lora.safetensors", {{"conv_in.weight", Tensor({2, 2})}}, {});
  const std::string walk = "walk prompts -p a -p b --seed 1 --num-interpolation-steps 3 --save-path " +
                           shell_quote((dir_ / "bad").string()) + " --lora ";
  struct Case {
    std::string lora, expect;
  };
  const Case cases[] = {
      {(dir_ / "other_arch.safetensors").string(), "another architecture"},
      {(dir_ / "not_a_lora.safetensors").string(), "conv_in.weight"},
      {(dir_ / "demo_style.safetensors").string() + ":strong", "not a number"},
      {(dir_ / "missing.safetensors").string(), "no such file"},
      {dir_.string(), "a folder without pytorch_lora_weights.safetensors"},
  };
  for (const Case& c : cases) {
    const auto r = run_sdwalk(walk + shell_quote(c.lora));
    EXPECT_NE(r.status, 0) << c.lora;
    EXPECT_NE(r.err.find(c.expect), std::string::npos) << c.lora << ": " << r.err;
    EXPECT_EQ(r.err.find("rendering"), std::string::npos) << c.lora << ": started work: " << r.err;
    EXPECT_FALSE(fs::exists(dir_ / "bad") && !fs::is_empty(dir_ / "bad")) << c.lora << ": left a run folder";
  }
}

}  // namespace
}  // namespace sdwalk
