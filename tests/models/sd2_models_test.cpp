// The SD 2.x networks (mini-sd21: gelu text encoder with 23 layers, linear projections, per-block
// heads) against expected/sd21/, from the diffusers folder (fp16 variant files) and from the SD 2
// single-file checkpoint (OpenCLIP text encoder keys, configs from the folder), at 1 and 2 threads.
// Tolerance: the fixtures README's single-module bound |ours - ref| <= 1e-4 + 1e-4 |ref|.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <tuple>

#include "common/compare.hpp"
#include "common/fixtures.hpp"
#include "models/text_encoder_outputs.hpp"
#include "sdwalk/autoencoder_kl.hpp"
#include "sdwalk/clip_text_model.hpp"
#include "sdwalk/model_files.hpp"
#include "backend/cpu/ops.hpp"
#include "sdwalk/unet_2d_condition_model.hpp"

namespace sdwalk::test {
namespace {

enum class Sd2Source { Folder, SingleFile };

std::filesystem::path source_path(Sd2Source s) {
  return s == Sd2Source::Folder ? fixture("mini-sd21") : fixture("single-files/mini-sd21.fp16.safetensors");
}

const ModelFiles& files(Sd2Source s) {
  static std::map<Sd2Source, std::unique_ptr<ModelFiles>> cache;
  auto& f = cache[s];
  if (!f)
    f = std::make_unique<ModelFiles>(s == Sd2Source::Folder ? load_model_files(source_path(s))
                                                            : load_model_files(source_path(s), {}, fixture("mini-sd21")));
  return *f;
}

void expect_close(const Tensor& ours, const Tensor& ref, const std::string& what) {
  ASSERT_EQ(ours.numel(), ref.numel()) << what << ": " << shape_string(ours.shape()) << " vs " << shape_string(ref.shape());
  const Closeness c = closeness(ours, ref, kModuleTolerance);
  EXPECT_TRUE(c.ok()) << what << ": " << c.str();
  std::printf("  %-48s %s\n", what.c_str(), c.str().c_str());
}


class Sd2Models : public ::testing::TestWithParam<std::tuple<Sd2Source, int>> {
 protected:
  Sd2Source source() const { return std::get<0>(GetParam()); }
  std::string tag() const {
    return std::string(source() == Sd2Source::Folder ? "folder" : "single file") + ", " +
           std::to_string(std::get<1>(GetParam())) + " thread(s): ";
  }
  void SetUp() override {
    if (!std::filesystem::exists(source_path(source()))) GTEST_SKIP() << "fixture absent: " << source_path(source());
    if (!std::filesystem::exists(fixture("mini-sd21"))) GTEST_SKIP() << "fixture absent: " << fixture("mini-sd21");
    ops::set_threads(std::get<1>(GetParam()));
  }
  void TearDown() override { ops::set_threads(0); }
};

TEST_P(Sd2Models, TextEncoderMatchesTransformers) {
  const auto path = fixture("expected/sd21/text_encoder.safetensors");
  SDWALK_REQUIRE_FIXTURE(path);
  const SafeTensors ref = SafeTensors::open(path);
  const ModelFiles& f = files(source());
  const ClipTextModel model(f.text_encoder_config, f.text_encoder);
  const auto ids = rows_of(ref.get("input_ids"));
  const auto out = model.forward(ids);
  const Tensor all = ref.get_f32("hidden_states");
  ASSERT_EQ(int64_t(out.hidden_states.size()), all.dim(1)) << "layers + 1 (SD 2 keeps 23 of OpenCLIP's 24)";
  for (size_t l = 0; l < out.hidden_states.size(); ++l)
    expect_close(out.hidden_states[l], hidden_state(all, int64_t(l)), tag() + "hidden_states[" + std::to_string(l) + "]");
  expect_close(out.last_hidden_state, ref.get_f32("last_hidden_state"), tag() + "last_hidden_state");
  expect_close(out.pooler_output, ref.get_f32("pooler_output"), tag() + "pooler_output");
  expect_close(out.hidden_states[out.hidden_states.size() - 2], ref.get_f32("penultimate_hidden_state"),
               tag() + "penultimate_hidden_state");
  expect_close(model.encode(ids), ref.get_f32("last_hidden_state"), tag() + "encode()");
  expect_close(model.encode(ids, 1), ref.get_f32("clip_skip1_prompt_embeds"), tag() + "encode(clip_skip 1)");
}

TEST_P(Sd2Models, UNetMatchesDiffusers) {
  const auto path = fixture("expected/sd21/unet.safetensors");
  SDWALK_REQUIRE_FIXTURE(path);
  const SafeTensors ref = SafeTensors::open(path);
  const ModelFiles& f = files(source());
  const UNet2DConditionModel unet(f.unet_config, f.unet);
  const Tensor sample = ref.get_f32("sample"), context = ref.get_f32("encoder_hidden_states");
  int cases = 0;
  for (const auto& name : ref.names()) {
    if (name.rfind("model_output_t", 0) != 0) continue;
    const std::string t = name.substr(std::string("model_output_t").size());
    const Tensor stored = ref.get("timestep_t" + t);
    const double timestep = double(stored.data<int64_t>()[0]);
    expect_close(unet.time_embedding(timestep), ref.get_f32("time_embedding_t" + t), tag() + "time_embedding t=" + t);
    expect_close(unet.forward(sample, timestep, context), ref.get_f32(name), tag() + "model_output t=" + t);
    ++cases;
  }
  EXPECT_GT(cases, 0) << "no model_output_t* in " << path;
}

TEST_P(Sd2Models, VaeDecoderMatchesDiffusers) {
  const auto path = fixture("expected/sd21/vae.safetensors");
  SDWALK_REQUIRE_FIXTURE(path);
  const SafeTensors ref = SafeTensors::open(path);
  const ModelFiles& f = files(source());
  const AutoencoderKL vae(f.vae_config, f.vae);
  expect_close(vae.decode(ref.get_f32("decoder_input")), ref.get_f32("decoder_output"), tag() + "decoder_output");
}

std::string case_name(const ::testing::TestParamInfo<std::tuple<Sd2Source, int>>& info) {
  return std::string(std::get<0>(info.param) == Sd2Source::Folder ? "Folder" : "SingleFile") + "_" +
         std::to_string(std::get<1>(info.param)) + "threads";
}

INSTANTIATE_TEST_SUITE_P(Fixtures, Sd2Models,
                         ::testing::Combine(::testing::Values(Sd2Source::Folder, Sd2Source::SingleFile),
                                            ::testing::Values(1, 2)),
                         case_name);

}  // namespace
}  // namespace sdwalk::test
