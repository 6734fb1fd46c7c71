// The SD 2 single-file checkpoint (single-files/mini-sd21.fp16.safetensors: OpenCLIP text encoder keys,
// fused in_proj) against the mini-sd21 diffusers folder: the same tensors bit for bit once mapped,
// SD 2.1's defaults where shapes cannot tell, and OpenCLIP's extra keys (resblocks.23,
// text_projection, logit_scale) left out as diffusers' converter leaves them.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstring>

#include "common/fixtures.hpp"
#include "io/model_loading.hpp"
#include "sdwalk/model_files.hpp"
#include "sdwalk/safetensors.hpp"

namespace sdwalk {
namespace {

namespace fs = std::filesystem;

const char* kSingleFile = "single-files/mini-sd21.fp16.safetensors";

bool same_bits(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && a.dtype() == b.dtype() && std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0;
}

void expect_same_networks(const ModelFiles& a, const ModelFiles& b) {
  for (const auto& [x, y] : {std::pair{&a.text_encoder, &b.text_encoder}, {&a.unet, &b.unet}, {&a.vae, &b.vae}}) {
    EXPECT_EQ(x->names(), y->names()) << x->network();
    for (const auto& name : x->names())
      if (y->contains(name)) {
        const Tensor& p = x->get(name);
        const Tensor& q = y->get(name);
        // proj_in/proj_out are [C, C] in both; the VAE's 1x1 attention convs were reshaped to [C, C].
        EXPECT_TRUE(same_bits(p, q.reshape(p.shape()))) << x->network() << " " << name;
      }
  }
}

TEST(Sd2Checkpoint, MapsToTheFolderTensorsBitForBit) {
  SDWALK_REQUIRE_FIXTURE(test::fixture(kSingleFile));
  SDWALK_REQUIRE_FIXTURE(test::fixture("mini-sd21"));
  const ModelFiles folder = load_model_files(test::fixture("mini-sd21"));
  const ModelFiles single = load_model_files(test::fixture(kSingleFile), {}, test::fixture("mini-sd21"));
  expect_same_networks(single, folder);
}

TEST(Sd2Checkpoint, InfersSd21DefaultsWithoutAConfig) {
  SDWALK_REQUIRE_FIXTURE(test::fixture(kSingleFile));
  SDWALK_REQUIRE_FIXTURE(test::fixture("mini-sd21"));
  const ModelFiles m = load_model_files(test::fixture(kSingleFile));
  const ModelFiles folder = load_model_files(test::fixture("mini-sd21"));
  EXPECT_EQ(m.text_encoder_config["hidden_act"], "gelu");
  for (const char* key : {"num_hidden_layers", "hidden_size", "intermediate_size", "max_position_embeddings"})
    EXPECT_EQ(m.text_encoder_config[key], folder.text_encoder_config[key]) << key;
  for (const char* key : {"use_linear_projection", "cross_attention_dim", "block_out_channels", "upcast_attention"})
    EXPECT_EQ(m.unet_config[key], folder.unet_config[key]) << key;
  // As diffusers' from_single_file without a config: SD 2.1's DDIM v-prediction scheduler.
  EXPECT_EQ(m.scheduler_config["_class_name"], "DDIMScheduler");
  EXPECT_EQ(m.scheduler_config["prediction_type"], "v_prediction");
  EXPECT_NE(m.config_source.find("SD 2.1"), std::string::npos) << m.config_source;
}

// A real SD 2 file has OpenCLIP's 24th layer and its contrastive head; SD 2 uses 23 layers.
TEST(Sd2Checkpoint, LeavesOutTheLastOpenClipLayerAndTheContrastiveHead) {
  SDWALK_REQUIRE_FIXTURE(test::fixture(kSingleFile));
  SDWALK_REQUIRE_FIXTURE(test::fixture("mini-sd21"));
  const SafeTensors f = SafeTensors::open(test::fixture(kSingleFile));
  std::map<std::string, Tensor> all;
  const std::string last = "cond_stage_model.model.transformer.resblocks.22.";
  for (const auto& name : f.names()) {
    all[name] = f.get(name);
    if (name.rfind(last, 0) == 0) all["cond_stage_model.model.transformer.resblocks.23." + name.substr(last.size())] = f.get(name);
  }
  const int64_t width = f.get("cond_stage_model.model.ln_final.weight").dim(0);
  all["cond_stage_model.model.text_projection"] = Tensor({width, width});
  all["cond_stage_model.model.logit_scale"] = Tensor::from_vector({1}, {4.6f});
  const fs::path dir = fs::temp_directory_path() / ("sdwalk_sd2_ckpt_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  save_safetensors(dir / "sd2_full.safetensors", all);
  const ModelFiles full = load_model_files(dir / "sd2_full.safetensors");
  EXPECT_EQ(full.text_encoder_config["num_hidden_layers"], 23);
  EXPECT_FALSE(full.text_encoder.contains("text_model.encoder.layers.23.mlp.fc1.weight"));
  const ModelFiles folder = load_model_files(test::fixture("mini-sd21"));
  expect_same_networks(full, folder);
  fs::remove_all(dir);
}

TEST(Sd2Checkpoint, NamesAnUnknownOpenClipKey) {
  SDWALK_REQUIRE_FIXTURE(test::fixture(kSingleFile));
  const SafeTensors f = SafeTensors::open(test::fixture(kSingleFile));
  std::map<std::string, Tensor> all;
  for (const auto& name : f.names()) all[name] = f.get(name);
  all["cond_stage_model.model.transformer.resblocks.0.attn.mystery"] = Tensor({2});
  const fs::path dir = fs::temp_directory_path() / ("sdwalk_sd2_bad_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  save_safetensors(dir / "bad.safetensors", all);
  std::string message;
  try {
    load_model_files(dir / "bad.safetensors");
  } catch (const std::exception& e) {
    message = e.what();
  }
  EXPECT_NE(message.find("resblocks.0.attn.mystery"), std::string::npos) << message;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace sdwalk
