// `sdwalk info` run as a user runs it, on the fixture folder and every single-file checkpoint beside it:
// its counts must be those of the files themselves.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "common/fixtures.hpp"

namespace sdwalk {
namespace {

namespace fs = std::filesystem;

std::string quoted(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

struct InfoRun {
  int exit_code = -1;
  std::string out, err;
};

InfoRun run_info(const std::string& args) {
  const fs::path err_path = fs::temp_directory_path() / ("sdwalk_cli_info_" + std::to_string(::getpid()) + ".stderr");
  const std::string cmd = quoted(test::sdwalk_binary().string()) + " info " + args + " 2>" + quoted(err_path.string());
  InfoRun r;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) r.out.append(buf, n);
  const int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ostringstream err;
  err << std::ifstream(err_path).rdbuf();
  r.err = err.str();
  fs::remove(err_path);
  return r;
}

struct Counts {
  size_t tensors = 0;
  int64_t parameters = 0;
  std::string dtype;
};

// Tensors whose names start with `prefix` (position_ids buffers are not weights).
Counts count(const fs::path& file, const std::string& prefix = "") {
  const SafeTensors f = SafeTensors::open(file);
  Counts c;
  for (const auto& name : f.names()) {
    if (!name.starts_with(prefix) || name.ends_with("position_ids")) continue;
    ++c.tensors;
    c.parameters += shape_numel(f.info(name).shape);
    c.dtype = dtype_name(f.info(name).dtype);
  }
  return c;
}

void expect_network(const nlohmann::json& j, const Counts& c, const std::string& what) {
  EXPECT_EQ(j.at("tensors").get<size_t>(), c.tensors) << what;
  EXPECT_EQ(j.at("parameters").get<int64_t>(), c.parameters) << what;
}

class InfoCli : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fs::exists(test::sdwalk_binary())) << test::sdwalk_binary() << " not found: build target sdwalk first";
  }
};

TEST_F(InfoCli, FolderCountsAreThoseOfItsFiles) {
  const fs::path folder = test::fixture("mini-sd15");
  SDWALK_REQUIRE_FIXTURE(folder / "model_index.json");
  const InfoRun r = run_info(quoted(folder.string()) + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["layout"], "diffusers folder");
  const Counts te = count(folder / "text_encoder" / "model.safetensors");
  const Counts unet = count(folder / "unet" / "diffusion_pytorch_model.safetensors");
  const Counts vae = count(folder / "vae" / "diffusion_pytorch_model.safetensors");
  expect_network(j["text_encoder"], te, "text_encoder");
  expect_network(j["unet"], unet, "unet");
  expect_network(j["vae"], vae, "vae");
  EXPECT_EQ(j["weights_dtype"], unet.dtype);
  std::ifstream unet_cfg(folder / "unet" / "config.json"), sched_cfg(folder / "scheduler" / "scheduler_config.json");
  const auto uc = nlohmann::json::parse(unet_cfg), sc = nlohmann::json::parse(sched_cfg);
  EXPECT_EQ(j["unet"]["block_out_channels"], uc["block_out_channels"]);
  EXPECT_EQ(j["unet"]["cross_attention_dim"], uc["cross_attention_dim"]);
  EXPECT_EQ(j["scheduler"], sc["_class_name"]);

  const InfoRun text = run_info(quoted(folder.string()));
  ASSERT_EQ(text.exit_code, 0) << text.err;
  std::printf("%s", text.out.c_str());
  EXPECT_NE(text.out.find("diffusers folder"), std::string::npos);
}

TEST_F(InfoCli, SingleFileCountsAreThoseOfItsPrefixes) {
  const fs::path folder = test::fixture("mini-sd15");
  const auto files = test::fixture_files("", "", ".safetensors");
  if (files.empty()) GTEST_SKIP() << "no single-file checkpoint in " << test::fixtures_dir();
  for (const auto& file : files) {
    std::string args = quoted(file.string()) + " --json";
    if (fs::exists(folder / "model_index.json")) args += " --config " + quoted(folder.string());
    const InfoRun r = run_info(args);
    ASSERT_EQ(r.exit_code, 0) << file << ": " << r.err;
    const auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["layout"], "single-file LDM checkpoint");
    const Counts te = count(file, "cond_stage_model.transformer.");
    const Counts unet = count(file, "model.diffusion_model.");
    const Counts vae = count(file, "first_stage_model.");
    expect_network(j["text_encoder"], te, "text_encoder");
    expect_network(j["unet"], unet, "unet");
    expect_network(j["vae"], vae, "vae");
    EXPECT_EQ(j["total"]["tensors"].get<size_t>(), te.tensors + unet.tensors + vae.tensors);
    EXPECT_EQ(j["weights_dtype"], unet.dtype);

    const InfoRun text = run_info(quoted(file.string()));
    ASSERT_EQ(text.exit_code, 0) << text.err;
    std::printf("%s", text.out.c_str());
    EXPECT_NE(text.out.find("inferred from tensor shapes"), std::string::npos);
  }
}

// Each LoRA factor pair adapts one layer: the layers `info --lora` counts per network are the file's
// down factors (kohya lora_down, PEFT lora_A, the older *_lora.down) under that network's prefix.
struct LoraLayerCounts {
  size_t unet = 0, text_encoder = 0;
};
LoraLayerCounts lora_down_factors(const fs::path& file) {
  LoraLayerCounts c;
  const SafeTensors f = SafeTensors::open(file);
  for (const auto& name : f.names()) {
    const bool down = name.find(".lora_down.") != std::string::npos || name.find(".lora_A.") != std::string::npos ||
                      name.find("_lora.down.") != std::string::npos;
    if (!down) continue;
    const bool te = name.starts_with("lora_te_") || name.starts_with("text_encoder.");
    ++(te ? c.text_encoder : c.unet);
  }
  return c;
}

TEST_F(InfoCli, LoraLayersPatchedAreTheFilesFactorPairs) {
  const fs::path folder = test::fixture("mini-sd15");
  SDWALK_REQUIRE_FIXTURE(folder / "model_index.json");
  const fs::path lora_dir = test::fixture("lora");
  if (!fs::is_directory(lora_dir)) GTEST_SKIP() << "no lora/ folder in " << test::fixtures_dir();
  int checked = 0;
  for (const auto& e : fs::directory_iterator(lora_dir)) {
    // A folder is passed as it is (diffusers' save_lora_weights layout); its file holds the keys.
    const fs::path file = e.is_directory() ? e.path() / "pytorch_lora_weights.safetensors" : e.path();
    if (file.extension() != ".safetensors" || !fs::is_regular_file(file)) continue;
    const InfoRun r = run_info(quoted(folder.string()) + " --json --lora " + quoted(e.path().string() + ":0.5"));
    ASSERT_EQ(r.exit_code, 0) << e.path() << ": " << r.err;
    const auto loras = nlohmann::json::parse(r.out).at("loras");
    ASSERT_EQ(loras.size(), 1u);
    const LoraLayerCounts want = lora_down_factors(file);
    EXPECT_EQ(loras[0].at("unet_layers").get<size_t>(), want.unet) << file;
    EXPECT_EQ(loras[0].at("text_encoder_layers").get<size_t>(), want.text_encoder) << file;
    EXPECT_EQ(loras[0].at("layers").get<size_t>(), want.unet + want.text_encoder) << file;
    EXPECT_EQ(loras[0].at("scale").get<double>(), 0.5) << file;
    ++checked;
  }
  if (checked == 0) GTEST_SKIP() << "no LoRA file in " << lora_dir;
}

TEST_F(InfoCli, BadModelIsOneLineAndExitCode1) {
  const InfoRun r = run_info(quoted((fs::temp_directory_path() / "sdwalk_no_such_model").string()));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(r.err.starts_with("sdwalk: error: ")) << r.err;
  EXPECT_NE(r.err.find("sdwalk_no_such_model"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

}  // namespace
}  // namespace sdwalk
