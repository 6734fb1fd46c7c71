// SDXL base 1.0's configs (built in for random benchmark models): the loader's schema gives them the
// parameter counts of stabilityai/stable-diffusion-xl-base-1.0's published weights, and
// check_supported takes them (an SDXL pipeline with its two text encoders).
#include <gtest/gtest.h>

#include "io/model_loading.hpp"
#include "sdwalk/error.hpp"

namespace sdwalk {
namespace {

int64_t parameters(const io::TensorShapes& shapes) {
  int64_t n = 0;
  for (const auto& [name, shape] : shapes) n += shape_numel(shape);
  return n;
}

TEST(SdxlConfigs, SchemaGivesSdxlBaseParameterCounts) {
  // diffusers' model.num_parameters() of the published SDXL base 1.0 networks.
  EXPECT_EQ(parameters(io::unet_tensor_shapes(io::sdxl_unet_config())), 2567463684);
  EXPECT_EQ(parameters(io::vae_tensor_shapes(io::sdxl_vae_config())), 83653863);
  EXPECT_EQ(parameters(io::text_encoder_tensor_shapes(io::sd15_text_encoder_config())), 123060480);
  EXPECT_EQ(parameters(io::text_encoder_tensor_shapes(io::sdxl_text_encoder_2_config())), 694659840);
}

TEST(SdxlConfigs, CheckSupportedTakesTheSdxlPipeline) {
  EXPECT_NO_THROW(io::check_supported(io::sdxl_unet_config(), io::sd15_text_encoder_config(),
                                      io::sdxl_text_encoder_2_config(), "sdxl"));
  // Without the second encoder a text_time UNet is refused, naming it.
  try {
    io::check_supported(io::sdxl_unet_config(), io::sd15_text_encoder_config(), nullptr, "sdxl");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no text_encoder_2"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace sdwalk
