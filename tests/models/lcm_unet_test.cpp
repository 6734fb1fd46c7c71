// An LCM UNet (time_cond_proj_dim: the guidance embedding w enters the time embedding) against
// expected/lcm/unet.safetensors, at 1 and 2 threads; the fixtures README's module tolerance.
#include <gtest/gtest.h>

#include <cmath>

#include "common/compare.hpp"
#include "common/fixtures.hpp"
#include "sdwalk/error.hpp"
#include "sdwalk/model_files.hpp"
#include "backend/cpu/ops.hpp"
#include "sdwalk/unet_2d_condition_model.hpp"

namespace sdwalk::test {
namespace {

void expect_close(const Tensor& ours, const Tensor& ref, const std::string& what) {
  ASSERT_EQ(ours.numel(), ref.numel()) << what << ": " << shape_string(ours.shape()) << " vs " << shape_string(ref.shape());
  const Closeness c = closeness(ours, ref, kModuleTolerance);
  EXPECT_TRUE(c.ok()) << what << ": " << c.str();
  std::printf("  %-44s %s\n", what.c_str(), c.str().c_str());
}

TEST(LcmUNet, GuidanceEmbeddingAndModelOutputMatchDiffusers) {
  const auto path = fixture("expected/lcm/unet.safetensors");
  SDWALK_REQUIRE_FIXTURE(path);
  SDWALK_REQUIRE_FIXTURE(fixture("mini-lcm/unet"));
  const SafeTensors ref = SafeTensors::open(path);
  const ModelFiles files = load_model_files(fixture("mini-lcm"));
  const UNet2DConditionModel unet(files.unet_config, files.unet);
  const Tensor w_ref = ref.get_f32("w_embedding");
  ASSERT_EQ(unet.time_cond_proj_dim(), files.unet_config.at("time_cond_proj_dim").get<int>());
  ASSERT_EQ(w_ref.dim(1), unet.time_cond_proj_dim());

  const double w = double(ref.get_f32("w").f32()[0]);
  const Tensor w_embedding = guidance_scale_embedding(w, unet.time_cond_proj_dim());
  {
    // sin(1000 w f_j) at arguments up to 1000 w: torch's vectorized exp gives f_j up to 2 ulps away
    // from a correctly rounded one, which moves the float32 argument by up to 2 of its ulps. That is
    // the bound here (4.9e-4 per ulp at w = 7; the module tolerance would need torch's exp bit for bit);
    // the UNet output from this embedding is held to the module tolerance below.
    const double arg_ulp = std::ldexp(1.0, std::ilogb(1000.0 * w) - 23);
    const Closeness c = closeness(w_embedding, w_ref, {2 * arg_ulp, 0});
    EXPECT_TRUE(c.ok()) << "w_embedding: " << c.str();
    std::printf("  %-44s %s (atol %.3g: 2 ulps of the sin argument)\n", "w_embedding", c.str().c_str(), 2 * arg_ulp);
  }
  const double t = double(ref.get("timestep").data<int64_t>()[0]);
  const Tensor sample = ref.get_f32("sample"), context = ref.get_f32("encoder_hidden_states");
  for (int threads : {1, 2}) {
    ops::set_threads(threads);
    const std::string tag = std::to_string(threads) + " thread(s): ";
    expect_close(unet.time_embedding(t, w_ref), ref.get_f32("time_embedding"), tag + "time_embedding");
    expect_close(unet.forward(sample, t, context, w_ref), ref.get_f32("model_output"), tag + "model_output");
    expect_close(unet.forward(sample, t, context), ref.get_f32("model_output_without_timestep_cond"),
                 tag + "model_output_without_timestep_cond");
    // Our own w embedding drives the UNet as well as the stored one.
    expect_close(unet.forward(sample, t, context, w_embedding), ref.get_f32("model_output"),
                 tag + "model_output (our w_embedding)");
  }
  ops::set_threads(0);
  EXPECT_THROW(unet.forward(sample, t, context, Tensor({1, 8})), Error);  // wrong width
}

TEST(LcmUNet, AnSd15UNetRefusesATimestepCondition) {
  SDWALK_REQUIRE_FIXTURE(fixture("mini-sd15/unet"));
  const ModelFiles files = load_model_files(fixture("mini-sd15"));
  const UNet2DConditionModel unet(files.unet_config, files.unet);
  EXPECT_EQ(unet.time_cond_proj_dim(), 0);
  try {
    unet.forward(Tensor({1, 4, 16, 16}), 1.0, Tensor({1, 77, 32}), guidance_scale_embedding(7.0, 256));
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("time_cond_proj_dim"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace sdwalk::test
