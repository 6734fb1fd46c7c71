// The SDXL networks of mini-sdxl (diffusers' SDXL test-size configuration, fp16 variant files) against
// expected/sdxl/: both text encoders (every hidden state, the penultimate one SDXL takes, the pooled
// output and CLIPTextModelWithProjection's text_embeds) and the text_time UNet with added_cond_kwargs
// (add_time_proj, add_embedding and time_embedding on the way), at 1 and 2 threads.
// Tolerance: the fixtures README's single-module bound |ours - ref| <= 1e-4 + 1e-4 |ref|.
#include <gtest/gtest.h>

#include <cstdio>
#include <memory>

#include "common/compare.hpp"
#include "common/fixtures.hpp"
#include "models/text_encoder_outputs.hpp"
#include "sdwalk/clip_text_model.hpp"
#include "sdwalk/error.hpp"
#include "sdwalk/model_files.hpp"
#include "backend/cpu/ops.hpp"
#include "sdwalk/unet_2d_condition_model.hpp"

namespace sdwalk::test {
namespace {

const char* kModel = "mini-sdxl";

const ModelFiles& files() {
  static std::unique_ptr<ModelFiles> f;
  if (!f) f = std::make_unique<ModelFiles>(load_model_files(fixture(kModel)));
  return *f;
}

void expect_close(const Tensor& ours, const Tensor& ref, const std::string& what) {
  ASSERT_TRUE(ours.defined()) << what << ": not computed";
  ASSERT_EQ(ours.numel(), ref.numel()) << what << ": " << shape_string(ours.shape()) << " vs " << shape_string(ref.shape());
  const Closeness c = closeness(ours, ref, kModuleTolerance);
  EXPECT_TRUE(c.ok()) << what << ": " << c.str();
  std::printf("  %-48s %s\n", what.c_str(), c.str().c_str());
}

class SdxlModels : public ::testing::TestWithParam<int> {
 protected:
  std::string tag() const { return std::to_string(GetParam()) + " thread(s): "; }
  void SetUp() override {
    if (!std::filesystem::exists(fixture(kModel))) GTEST_SKIP() << "fixture absent: " << fixture(kModel);
    ops::set_threads(GetParam());
  }
  void TearDown() override { ops::set_threads(0); }
};

TEST_P(SdxlModels, LoadsAsSdxl) {
  const ModelFiles& f = files();
  EXPECT_TRUE(f.is_sdxl());
  EXPECT_TRUE(f.force_zeros_for_empty_prompt);
  EXPECT_EQ(f.tokenizer_2_dir.filename(), "tokenizer_2");
}

TEST_P(SdxlModels, TextEncodersMatchTransformers) {
  const auto path = fixture("expected/sdxl/text_encoders.safetensors");
  SDWALK_REQUIRE_FIXTURE(path);
  const SafeTensors ref = SafeTensors::open(path);
  const ModelFiles& f = files();
  for (const std::string te : {"te1", "te2"}) {
    const bool second = te == "te2";
    const ClipTextModel model(second ? f.text_encoder_2_config : f.text_encoder_config,
                              second ? f.text_encoder_2 : f.text_encoder);
    EXPECT_EQ(model.projection_dim(), second ? 32 : 0);
    const auto out = model.forward(rows_of(ref.get(second ? "input_ids_2" : "input_ids")));
    const Tensor all = ref.get_f32(te + "_hidden_states");
    ASSERT_EQ(int64_t(out.hidden_states.size()), all.dim(1));
    for (size_t l = 0; l < out.hidden_states.size(); ++l)
      expect_close(out.hidden_states[l], hidden_state(all, int64_t(l)),
                   tag() + te + " hidden_states[" + std::to_string(l) + "]");
    expect_close(out.last_hidden_state, ref.get_f32(te + "_last_hidden_state"), tag() + te + " last_hidden_state");
    expect_close(out.hidden_states[out.hidden_states.size() - 2], ref.get_f32(te + "_penultimate_hidden_state"),
                 tag() + te + " penultimate_hidden_state");
    if (second) {
      expect_close(out.text_embeds, ref.get_f32("te2_text_embeds"), tag() + "te2 text_embeds");
    } else {
      expect_close(out.pooler_output, ref.get_f32("te1_pooler_output"), tag() + "te1 pooler_output");
      EXPECT_FALSE(out.text_embeds.defined()) << "CLIPTextModel has no projection";
    }
  }
}

TEST_P(SdxlModels, UNetWithAddedCondMatchesDiffusers) {
  const auto path = fixture("expected/sdxl/unet.safetensors");
  SDWALK_REQUIRE_FIXTURE(path);
  const SafeTensors ref = SafeTensors::open(path);
  const ModelFiles& f = files();
  const UNet2DConditionModel unet(f.unet_config, f.unet);
  ASSERT_TRUE(unet.has_text_time());
  EXPECT_EQ(unet.pooled_dim(), 32);
  const double timestep = double(ref.get("timestep").data<int64_t>()[0]);
  const AddedCondKwargs added{ref.get_f32("text_embeds"), ref.get_f32("time_ids")};
  expect_close(unet.time_embedding(timestep), ref.get_f32("time_embedding"), tag() + "time_embedding");
  expect_close(unet.add_time_proj(added.time_ids), ref.get_f32("add_time_proj"), tag() + "add_time_proj");
  expect_close(unet.add_embedding(added), ref.get_f32("add_embedding"), tag() + "add_embedding");
  expect_close(unet.forward(ref.get_f32("sample"), timestep, ref.get_f32("encoder_hidden_states"), Tensor(), added),
               ref.get_f32("model_output"), tag() + "model_output");
  // A text_time UNet without its added conditioning is an error, not a silent SD 1.x forward.
  EXPECT_THROW(unet.forward(ref.get_f32("sample"), timestep, ref.get_f32("encoder_hidden_states")), Error);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, SdxlModels, ::testing::Values(1, 2),
                         [](const ::testing::TestParamInfo<int>& info) { return std::to_string(info.param) + "threads"; });

}  // namespace
}  // namespace sdwalk::test
