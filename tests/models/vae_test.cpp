// AutoencoderKL against diffusers' outputs in expected/vae.safetensors (decode of decoder_input,
// encode of encoder_input), from both weight layouts, at 1 and 2 threads.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <map>
#include <memory>
#include <tuple>

#include "common/compare.hpp"
#include "common/fixtures.hpp"
#include "models/model_sources.hpp"
#include "sdwalk/autoencoder_kl.hpp"
#include "sdwalk/error.hpp"
#include "backend/cpu/ops.hpp"

namespace sdwalk {
namespace {

using test::ModelSource;

constexpr double kTolerance = 1e-4;

std::string expected_file() { return test::fixture("expected/vae.safetensors").string(); }

bool all_finite(const Tensor& t) {
  for (int64_t i = 0; i < t.numel(); ++i)
    if (!std::isfinite(t.f32()[i])) return false;
  return true;
}

class VaeFixture : public ::testing::TestWithParam<std::tuple<ModelSource, int>> {
 protected:
  ModelSource source() const { return std::get<0>(GetParam()); }
  int threads() const { return std::get<1>(GetParam()); }
  void SetUp() override {
    SDWALK_REQUIRE_FIXTURE(expected_file());
    SDWALK_REQUIRE_FIXTURE(test::source_fixture(source(), "vae"));
    ops::set_threads(threads());
  }
  void TearDown() override { ops::set_threads(0); }
  const AutoencoderKL& vae() {
    static std::map<ModelSource, std::unique_ptr<AutoencoderKL>> cache;
    auto& m = cache[source()];
    if (!m) {
      const auto& files = test::load_network(source(), "vae");
      m = std::make_unique<AutoencoderKL>(files.config, files.weights);
    }
    return *m;
  }
  void expect_close(const std::string& what, const Tensor& ours, const Tensor& expected) {
    ASSERT_EQ(ours.shape(), expected.shape()) << what;
    const auto d = test::compare(ours, expected);
    std::cout << "[ measured ] vae " << what << " " << test::source_name(source()) << " threads=" << threads() << ": "
              << d.str() << "\n";
    EXPECT_LE(d.rel(), kTolerance) << what << ": " << d.str();
  }
};

TEST_P(VaeFixture, DecodeMatchesDiffusers) {
  const auto ref = SafeTensors::open(expected_file());
  expect_close("decoder_output", vae().decode(ref.get_f32("decoder_input")), ref.get_f32("decoder_output"));
}

TEST_P(VaeFixture, EncodeMatchesDiffusers) {
  const auto ref = SafeTensors::open(expected_file());
  const auto enc = vae().encode(ref.get_f32("encoder_input"));
  expect_close("encoder_mean", enc.mean, ref.get_f32("encoder_mean"));
  expect_close("encoder_logvar", enc.logvar, ref.get_f32("encoder_logvar"));
}

TEST_P(VaeFixture, ScalingFactorFromConfig) {
  const auto ref = SafeTensors::open(expected_file());
  const auto stored = test::metadata_json(ref, "scaling_factor");
  EXPECT_FLOAT_EQ(vae().scaling_factor(), stored.get<float>());
}

// Non-square sizes: shapes follow each side separately, values finite.
TEST_P(VaeFixture, NonSquareShapes) {
  const auto ref = SafeTensors::open(expected_file());
  const Tensor z = ref.get_f32("decoder_input");  // [1, 4, 16, 16]: take a 8x16 window
  Tensor window({1, 4, 8, 16});
  for (int c = 0; c < 4; ++c)
    for (int y = 0; y < 8; ++y)
      for (int x = 0; x < 16; ++x) window.f32()[(c * 8 + y) * 16 + x] = z.f32()[(c * 16 + y) * 16 + x];
  const Tensor image = vae().decode(window);
  ASSERT_EQ(image.shape(), (Shape{1, 3, 64, 128}));
  EXPECT_TRUE(all_finite(image));
  const auto enc = vae().encode(image);
  ASSERT_EQ(enc.mean.shape(), (Shape{1, 4, 8, 16}));
  EXPECT_TRUE(all_finite(enc.mean));
  EXPECT_TRUE(all_finite(enc.logvar));
}

INSTANTIATE_TEST_SUITE_P(Sources, VaeFixture,
                         ::testing::Combine(::testing::Values(ModelSource::DiffusersFolder, ModelSource::Fp16SingleFile),
                                            ::testing::Values(1, 2)),
                         [](const auto& info) {
                           return test::source_name(std::get<0>(info.param)) + "_" +
                                  std::to_string(std::get<1>(info.param)) + "threads";
                         });

TEST(VaeErrors, RejectsUnsupportedConfigAndBadInputs) {
  SDWALK_REQUIRE_FIXTURE(test::source_fixture(ModelSource::DiffusersFolder, "vae"));
  const auto& files = test::load_network(ModelSource::DiffusersFolder, "vae");
  nlohmann::json config = files.config;
  config["shift_factor"] = 0.1159;
  try {
    AutoencoderKL vae(config, files.weights);
    ADD_FAILURE() << "shift_factor accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("shift_factor"), std::string::npos) << e.what();
  }
  config = files.config;
  config["latent_channels"] = 8;
  try {
    AutoencoderKL vae(config, files.weights);
    ADD_FAILURE() << "latent_channels 8 accepted with 4-channel weights";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("conv_out.weight"), std::string::npos) << e.what();
  }
  const AutoencoderKL vae(files.config, files.weights);
  EXPECT_THROW(vae.encode(Tensor({1, 3, 60, 64})), Error);  // not a multiple of 8
  EXPECT_THROW(vae.encode(Tensor({1, 4, 64, 64})), Error);
  EXPECT_THROW(vae.decode(Tensor({1, 3, 8, 8})), Error);
}

// Tiled decoding against whole-picture decoding, in pixel values: within 2/255 everywhere. The latents are the fixture's, mirrored into a 3x3 mosaic so that the
// picture is several tiles wide even with each tile's margins (3x3 cores).
TEST(VaeTiling, TiledDecodeMatchesUntiled) {
  SDWALK_REQUIRE_FIXTURE(expected_file());
  SDWALK_REQUIRE_FIXTURE(test::source_fixture(ModelSource::DiffusersFolder, "vae"));
  const auto& files = test::load_network(ModelSource::DiffusersFolder, "vae");
  const AutoencoderKL vae(files.config, files.weights);
  const auto ref = SafeTensors::open(expected_file());
  const Tensor small = ref.get_f32("decoder_input");
  const int64_t C = small.dim(1), h = small.dim(2), w = small.dim(3);
  Tensor z({1, C, 3 * h, 3 * w});
  for (int64_t c = 0; c < C; ++c)
    for (int64_t y = 0; y < 3 * h; ++y)
      for (int64_t x = 0; x < 3 * w; ++x) {
        const int64_t sy = (y / h) % 2 ? h - 1 - y % h : y % h, sx = (x / w) % 2 ? w - 1 - x % w : x % w;
        z.f32()[(c * 3 * h + y) * 3 * w + x] = small.f32()[(c * h + sy) * w + sx];
      }
  const int64_t side = 3 * std::min(h, w);
  const Tensor whole = vae.decode(z);
  for (const int tile : {int((side + 2) / 3)}) {
    ASSERT_LT(tile + 2 * vae.tile_margin(), side) << "tiles would cover the whole picture";
    AutoencoderKL::Tiling tiling;
    tiling.tile = tile;
    const Tensor tiled = vae.decode_tiled(z, tiling);
    ASSERT_EQ(tiled.shape(), whole.shape());
    double worst = 0, sum = 0;
    for (int64_t i = 0; i < whole.numel(); ++i) {
      const auto pixel = [](float v) { return std::clamp(v / 2.0 + 0.5, 0.0, 1.0); };
      const double d = std::abs(pixel(tiled.f32()[i]) - pixel(whole.f32()[i]));
      worst = std::max(worst, d);
      sum += d;
    }
    std::cout << "[ measured ] vae tiled decode, tile " << tiling.tile << " (margin " << vae.tile_margin() << ") of "
              << side << " latent pixels: max " << worst * 255 << "/255, mean " << sum / double(whole.numel()) * 255
              << "/255\n";
    EXPECT_LE(worst, 2.0 / 255) << "tile " << tiling.tile;
  }
}

}  // namespace
}  // namespace sdwalk
