// The SDXL pieces of the original-layout names: the UNet's label_emb in single files, kohya's SDXL
// LoRA names of every kind of UNet layer (sgm blocks -> diffusers modules, on mini-sdxl's real UNet),
// and the refusal of conditioners other than SDXL base's. The whole files are checked against
// diffusers in tests/bench/write_sdxl_checkpoint_test.cpp and tests/lora/sdxl_lora_test.cpp.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <map>

#include "common/fixtures.hpp"
#include "io/lora_sgm_names.hpp"
#include "io/model_loading.hpp"
#include "sdwalk/error.hpp"
#include "sdwalk/model_files.hpp"
#include "sdwalk/safetensors.hpp"

namespace sdwalk {
namespace {

namespace fs = std::filesystem;

TEST(SdxlSingleFileNames, LabelEmbeddingIsTheAddedEmbedding) {
  EXPECT_EQ(io::ldm_unet_name("label_emb.0.0.weight", 2), "add_embedding.linear_1.weight");
  EXPECT_EQ(io::ldm_unet_name("label_emb.0.2.bias", 2), "add_embedding.linear_2.bias");
  EXPECT_EQ(io::ldm_unet_name("label_emb.0.1.weight", 2), "");
}

TEST(SdxlLoraNames, SgmBlocksOfEveryLayerKind) {
  SDWALK_REQUIRE_FIXTURE(test::fixture("mini-sdxl"));
  const ModelFiles m = load_model_files(test::fixture("mini-sdxl"));
  const std::map<std::string, std::string> cases = {
      {"input_blocks_4_1_transformer_blocks_1_attn2_to_k", "down_blocks_1_attentions_0_transformer_blocks_1_attn2_to_k"},
      {"input_blocks_5_1_proj_in", "down_blocks_1_attentions_1_proj_in"},
      {"middle_block_1_proj_out", "mid_block_attentions_0_proj_out"},
      {"output_blocks_2_1_transformer_blocks_1_ff_net_0_proj", "up_blocks_0_attentions_2_transformer_blocks_1_ff_net_0_proj"},
      {"input_blocks_1_0_in_layers_2", "down_blocks_0_resnets_0_conv1"},
      {"input_blocks_2_0_emb_layers_1", "down_blocks_0_resnets_1_time_emb_proj"},
      {"input_blocks_3_0_op", "down_blocks_0_downsamplers_0_conv"},
      {"output_blocks_2_2_conv", "up_blocks_0_upsamplers_0_conv"},
      {"middle_block_2_out_layers_3", "mid_block_resnets_1_conv2"},
      {"output_blocks_3_0_skip_connection", "up_blocks_1_resnets_0_conv_shortcut"},
      {"time_embed_0", "time_embedding_linear_1"},
      {"label_emb_0_2", "add_embedding_linear_2"},
      {"input_blocks_0_0", "conv_in"},
      {"out_2", "conv_out"},
      {"down_blocks_0_resnets_0_conv1", ""},  // already a diffusers name
      {"input_blocks_x_1_proj_in", ""},
      {"middle_block", ""},
  };
  for (const auto& [kohya, want] : cases) {
    EXPECT_EQ(io::sgm_lora_module(kohya, m.unet), want) << kohya;
    if (want.empty()) continue;
    std::string module = want;  // the module is the model's (underscored back: its weight exists)
    bool found = false;
    for (const auto& name : m.unet.names()) {
      std::string u = name;
      for (char& c : u)
        if (c == '.') c = '_';
      found |= u == module + "_weight";
    }
    EXPECT_TRUE(found) << kohya << " -> " << want << ": no such layer in mini-sdxl";
  }
}

TEST(SdxlSingleFileNames, OtherConditionersAreOneClearLine) {
  const fs::path dir = fs::temp_directory_path() / ("sdwalk-sdxl-names-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path file = dir / "refiner.safetensors";
  const Tensor t = Tensor::from_vector({2}, {1.0f, 2.0f});
  save_safetensors(file, {{"model.diffusion_model.input_blocks.0.0.bias", t}, {"first_stage_model.quant_conv.bias", t},
                          {"conditioner.embedders.0.model.ln_final.bias", t}},
                   {});
  try {
    load_model_files(file);
    ADD_FAILURE() << "a refiner-like conditioner was read";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("conditioner.embedders.0.model.ln_final.bias"), std::string::npos) << what;
    EXPECT_NE(what.find("refiner"), std::string::npos) << what;
    EXPECT_EQ(what.find('\n'), std::string::npos) << what;
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
}

}  // namespace
}  // namespace sdwalk
