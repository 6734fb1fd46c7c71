// UNet2DConditionModel against diffusers' outputs in expected/unet.safetensors, from both weight
// layouts, at 1 and 2 threads. Cases come from the tensor names noise_pred_t<T> / time_embedding_t<T>.
#include <gtest/gtest.h>

#include <cmath>
#include <iostream>
#include <map>
#include <memory>
#include <tuple>

#include "common/compare.hpp"
#include "common/fixtures.hpp"
#include "models/model_sources.hpp"
#include "sdwalk/error.hpp"
#include "backend/cpu/ops.hpp"
#include "sdwalk/unet_2d_condition_model.hpp"

namespace sdwalk {
namespace {

using test::ModelSource;

constexpr double kTolerance = 1e-4;  // max|ours - ref| / max|ref|, the fixtures' single-module bound

std::string expected_file() { return test::fixture("expected/unet.safetensors").string(); }

// Timesteps T of the tensors named <prefix><T>, with the timestep value (timestep_t<T> when stored).
std::vector<std::pair<std::string, double>> timestep_cases(const SafeTensors& ref, const std::string& prefix) {
  std::vector<std::pair<std::string, double>> out;
  for (const auto& name : ref.names()) {
    if (name.rfind(prefix, 0) != 0) continue;
    const std::string t = name.substr(prefix.size());
    double value = std::stod(t);
    if (ref.contains("timestep_t" + t)) {
      const Tensor stored = ref.get("timestep_t" + t);
      value = stored.dtype() == DType::I64 ? double(stored.data<int64_t>()[0]) : double(stored.to_f32().f32()[0]);
      EXPECT_EQ(value, std::stod(t)) << "timestep_t" << t << " disagrees with its name";
    }
    out.emplace_back(t, value);
  }
  return out;
}

bool all_finite(const Tensor& t) {
  const Tensor f = t.to_f32();
  for (int64_t i = 0; i < f.numel(); ++i)
    if (!std::isfinite(f.f32()[i])) return false;
  return true;
}

// A deterministic, non-trivial input (no RNG needed): values spread over about [-2, 2].
Tensor pattern(Shape shape, float phase) {
  Tensor t(shape);
  for (int64_t i = 0; i < t.numel(); ++i) t.f32()[i] = 2.0f * std::sin(0.37f * float(i) + phase) * std::cos(0.011f * float(i));
  return t;
}

class UNetFixture : public ::testing::TestWithParam<std::tuple<ModelSource, int>> {
 protected:
  ModelSource source() const { return std::get<0>(GetParam()); }
  int threads() const { return std::get<1>(GetParam()); }
  void SetUp() override { ops::set_threads(threads()); }
  void TearDown() override { ops::set_threads(0); }
  const UNet2DConditionModel& unet() {
    static std::map<ModelSource, std::unique_ptr<UNet2DConditionModel>> cache;
    auto& m = cache[source()];
    if (!m) {
      const auto& files = test::load_network(source(), "unet");
      m = std::make_unique<UNet2DConditionModel>(files.config, files.weights);
    }
    return *m;
  }
};

TEST_P(UNetFixture, NoisePredictionMatchesDiffusers) {
  SDWALK_REQUIRE_FIXTURE(expected_file());
  SDWALK_REQUIRE_FIXTURE(test::source_fixture(source(), "unet"));
  const auto ref = SafeTensors::open(expected_file());
  const Tensor sample = ref.get_f32("sample"), context = ref.get_f32("encoder_hidden_states");
  const auto cases = timestep_cases(ref, "noise_pred_t");
  ASSERT_FALSE(cases.empty()) << "no noise_pred_t<T> tensors in " << expected_file();
  for (const auto& [t, timestep] : cases) {
    const Tensor expected = ref.get_f32("noise_pred_t" + t);
    const Tensor ours = unet().forward(sample, timestep, context);
    ASSERT_EQ(ours.shape(), expected.shape()) << "t=" << t;
    const auto d = test::compare(ours, expected);
    std::cout << "[ measured ] unet noise_pred_t" << t << " " << test::source_name(source()) << " threads=" << threads()
              << ": " << d.str() << "\n";
    EXPECT_LE(d.rel(), kTolerance) << "noise_pred_t" << t << ": " << d.str();
  }
}

TEST_P(UNetFixture, TimeEmbeddingMatchesDiffusers) {
  SDWALK_REQUIRE_FIXTURE(expected_file());
  SDWALK_REQUIRE_FIXTURE(test::source_fixture(source(), "unet"));
  const auto ref = SafeTensors::open(expected_file());
  const auto cases = timestep_cases(ref, "time_embedding_t");
  ASSERT_FALSE(cases.empty()) << "no time_embedding_t<T> tensors in " << expected_file();
  for (const auto& [t, timestep] : cases) {
    const Tensor expected = ref.get_f32("time_embedding_t" + t);
    const Tensor ours = unet().time_embedding(timestep);
    ASSERT_EQ(ours.shape(), expected.shape()) << "t=" << t;
    const auto d = test::compare(ours, expected);
    std::cout << "[ measured ] unet time_embedding_t" << t << " " << test::source_name(source())
              << " threads=" << threads() << ": " << d.str() << "\n";
    EXPECT_LE(d.rel(), kTolerance) << "time_embedding_t" << t << ": " << d.str();
  }
}

// Non-square latents: right shape, finite, and each batch item equal to its own batch-of-one run
// (catches rows/columns or batch items mixed up, which a square test cannot see).
TEST_P(UNetFixture, NonSquareLatentsKeepBatchItemsApart) {
  SDWALK_REQUIRE_FIXTURE(expected_file());
  SDWALK_REQUIRE_FIXTURE(test::source_fixture(source(), "unet"));
  const auto ref = SafeTensors::open(expected_file());
  const Tensor context = ref.get_f32("encoder_hidden_states");
  ASSERT_GE(context.dim(0), 2);
  const Tensor sample = pattern({2, 4, 16, 24}, 0.5f);
  const Tensor both = unet().forward(sample, 500.0, context.slice0(0, 2));
  ASSERT_EQ(both.shape(), (Shape{2, 4, 16, 24}));
  EXPECT_TRUE(all_finite(both));
  for (int64_t b = 0; b < 2; ++b) {
    const Tensor one = unet().forward(sample.slice0(b, b + 1).clone(), 500.0, context.slice0(b, b + 1).clone());
    const auto d = test::compare(one, both.slice0(b, b + 1));
    EXPECT_LE(d.rel(), 1e-5) << "batch item " << b << ": " << d.str();
  }
}

INSTANTIATE_TEST_SUITE_P(Sources, UNetFixture,
                         ::testing::Combine(::testing::Values(ModelSource::DiffusersFolder, ModelSource::Fp16SingleFile),
                                            ::testing::Values(1, 2)),
                         [](const auto& info) {
                           return test::source_name(std::get<0>(info.param)) + "_" +
                                  std::to_string(std::get<1>(info.param)) + "threads";
                         });

// --- errors ---------------------------------------------------------------------------------

class UNetErrors : public ::testing::Test {
 protected:
  void SetUp() override { SDWALK_REQUIRE_FIXTURE(test::source_fixture(ModelSource::DiffusersFolder, "unet")); }
  const test::NetworkFiles& files() { return test::load_network(ModelSource::DiffusersFolder, "unet"); }
  // The Error message of constructing with `config`, or "" when it did not throw.
  std::string construct_error(const nlohmann::json& config, const Weights& weights) {
    try {
      UNet2DConditionModel m(config, weights);
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  }
};

TEST_F(UNetErrors, RejectsOptionsOutsideSD1) {
  for (const auto& [key, value] : std::vector<std::pair<std::string, nlohmann::json>>{
           {"addition_embed_type", "text_time"},
           {"class_embed_type", "timestep"},
           {"down_block_types", {"CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "SimpleCrossAttnDownBlock2D", "DownBlock2D"}},
           {"num_attention_heads", 8}}) {
    nlohmann::json config = files().config;
    config[key] = value;
    const std::string message = construct_error(config, files().weights);
    EXPECT_NE(message.find(key), std::string::npos) << key << ": got '" << message << "'";
  }
  // time_cond_proj_dim (LCM) is supported: it asks for the guidance embedding's projection.
  nlohmann::json lcm = files().config;
  lcm["time_cond_proj_dim"] = 256;
  const std::string message = construct_error(lcm, files().weights);
  EXPECT_NE(message.find("time_embedding.cond_proj.weight"), std::string::npos) << message;
}

TEST_F(UNetErrors, NamesTheTensorWhenConfigAndWeightsDisagree) {
  nlohmann::json config = files().config;
  config["cross_attention_dim"] = 48;
  EXPECT_NE(construct_error(config, files().weights).find("attn2.to_k.weight"), std::string::npos);

  Weights extra = files().weights;
  extra.add("down_blocks.0.attentions.9.norm.weight", Tensor({32}));
  EXPECT_NE(construct_error(files().config, extra).find("down_blocks.0.attentions.9.norm.weight"), std::string::npos);

  Weights missing("unet", "test");
  for (const auto& name : files().weights.names())
    if (name != "mid_block.resnets.1.conv2.bias") missing.add(name, files().weights.get(name));
  EXPECT_NE(construct_error(files().config, missing).find("mid_block.resnets.1.conv2.bias"), std::string::npos);
}

TEST_F(UNetErrors, RejectsBadInputShapes) {
  const UNet2DConditionModel unet(files().config, files().weights);
  const Tensor context({1, 77, 32});
  EXPECT_THROW(unet.forward(Tensor({1, 4, 12, 16}), 1.0, context), Error);  // 12 is not a multiple of 8
  EXPECT_THROW(unet.forward(Tensor({1, 3, 16, 16}), 1.0, context), Error);  // channels
  EXPECT_THROW(unet.forward(Tensor({1, 4, 16, 16}), 1.0, Tensor({1, 77, 64})), Error);
  EXPECT_THROW(unet.forward(Tensor({2, 4, 16, 16}), 1.0, context), Error);  // batch mismatch
}

}  // namespace
}  // namespace sdwalk
