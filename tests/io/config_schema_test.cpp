// The tensor schema of a config.json (sd_schema.cpp) on configs no model ships: each is refused
// with an Error naming the key, never json's own exceptions or an unbounded schema.
#include <gtest/gtest.h>

#include <functional>

#include "common/error_of.hpp"
#include "io/model_loading.hpp"
#include "sdwalk/error.hpp"

namespace sdwalk {
namespace {

using io::json;

using test::error_of;

// Found by tests/fuzz/model_config_fuzz: json::value("use_quant_conv", true) threw
// nlohmann's type_error for a value that is not a boolean.
TEST(ConfigSchema, VaeFlagsMustBeBooleans) {
  for (const char* key : {"use_quant_conv", "use_post_quant_conv", "mid_block_add_attention"}) {
    const std::string e = error_of([&] { io::vae_tensor_shapes(io::complete_vae_config({{key, "yes"}})); });
    EXPECT_NE(e.find(std::string("vae config: config key '") + key + "' must be true or false, found \"yes\""),
              std::string::npos)
        << e;
  }
  // null is diffusers' default (true), as ConfigReader reads it.
  const auto shapes = io::vae_tensor_shapes(io::complete_vae_config({{"use_quant_conv", nullptr}}));
  EXPECT_TRUE(shapes.count("quant_conv.weight"));
}

// Found reading sd_schema.cpp (model_config_fuzz times out on it): the per-key bounds (256 blocks, layers, transformer layers)
// multiply, so a 3 KB config asked for ~10^8 tensors (minutes, then out of memory).
TEST(ConfigSchema, ConfigsImplyingHugeNetworksAreRefused) {
  const size_t n = 64;
  const json cfg = io::complete_unet_config({{"block_out_channels", std::vector<int>(n, 8)},
                                             {"down_block_types", std::vector<std::string>(n, "CrossAttnDownBlock2D")},
                                             {"up_block_types", std::vector<std::string>(n, "CrossAttnUpBlock2D")},
                                             {"layers_per_block", 256},
                                             {"transformer_layers_per_block", 256},
                                             {"attention_head_dim", 1}});
  const std::string e = error_of([&] { io::unet_tensor_shapes(cfg); });
  EXPECT_NE(e.find("unet config: the config implies more than 65536 tensors"), std::string::npos) << e;
  EXPECT_EQ(io::unet_tensor_shapes(io::sd15_unet_config()).size(), 686u);
}

}  // namespace
}  // namespace sdwalk
