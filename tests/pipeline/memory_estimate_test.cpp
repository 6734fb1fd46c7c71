// The memory estimate that lets impossible requests fail before any allocation.
#include "sdwalk/memory_estimate.hpp"

#include <gtest/gtest.h>

#include "common/fixtures.hpp"
#include "sdwalk/error.hpp"

namespace sdwalk {
namespace {

const ModelFiles& files() {
  static const ModelFiles f = load_model_files(test::fixture("mini-sd15"));
  return f;
}

TEST(MemoryEstimate, WeightsCountAsTheLayersKeepThem) {
  SDWALK_REQUIRE_FIXTURE(test::fixture("mini-sd15"));
  const double params = double(files().text_encoder.parameter_count() + files().unet.parameter_count() +
                               files().vae.parameter_count());
  ASSERT_EQ(files().weights_dtype, "F32");
  const auto f32 = estimate_memory(files(), Precision::F32, WeightStorage::Auto, 1, 64, 64, true, VaeTiling::Auto);
  const auto f16 = estimate_memory(files(), Precision::F32, WeightStorage::F16, 1, 64, 64, true, VaeTiling::Auto);
  const auto bf16 = estimate_memory(files(), Precision::BF16, WeightStorage::F32, 1, 64, 64, true, VaeTiling::Auto);
  EXPECT_EQ(f32.weights_bytes, 4 * params);
  EXPECT_EQ(f16.weights_bytes, 2 * params);
  EXPECT_EQ(bf16.weights_bytes, 2 * params);
}

TEST(MemoryEstimate, GrowsWithSizeBatchAndGuidanceAndTilingBoundsTheDecoder) {
  SDWALK_REQUIRE_FIXTURE(test::fixture("mini-sd15"));
  auto peak = [](int images, int h, int w, bool cfg, VaeTiling t = VaeTiling::Off) {
    return estimate_memory(files(), Precision::F32, WeightStorage::Auto, images, h, w, cfg, t);
  };
  EXPECT_LT(peak(1, 256, 256, true).peak_bytes(), peak(1, 512, 512, true).peak_bytes());
  EXPECT_LT(peak(1, 512, 512, true).unet_activation_bytes, peak(3, 512, 512, true).unet_activation_bytes);
  EXPECT_EQ(peak(1, 512, 512, false).unet_activation_bytes * 2, peak(1, 512, 512, true).unet_activation_bytes);
  EXPECT_LT(peak(1, 4096, 4096, true, VaeTiling::On).vae_activation_bytes,
            peak(1, 4096, 4096, true, VaeTiling::Off).vae_activation_bytes / 10);
  EXPECT_GT(peak(1, 100000, 100000, true, VaeTiling::Auto).peak_bytes(), 1e11);  // far beyond any machine
}

TEST(MemoryEstimate, CheckNamesWhatItWouldTakeAndTheLimit) {
  SDWALK_REQUIRE_FIXTURE(test::fixture("mini-sd15"));
  const auto e = estimate_memory(files(), Precision::F32, WeightStorage::Auto, 1, 100000, 100000, true, VaeTiling::Auto);
  try {
    check_memory(e, 8e9, "--max-memory", "generate 100000x100000");
    FAIL() << "no error";
  } catch (const Error& err) {
    const std::string msg = err.what();
    EXPECT_NE(msg.find("generate 100000x100000 needs about"), std::string::npos) << msg;
    EXPECT_NE(msg.find("--max-memory is 8.0 GB"), std::string::npos) << msg;
  }
  const auto small = estimate_memory(files(), Precision::F32, WeightStorage::Auto, 1, 64, 64, true, VaeTiling::Auto);
  EXPECT_NO_THROW(check_memory(small, 8e9, "--max-memory", "generate"));
  EXPECT_NO_THROW(check_memory(e, 0, "unknown", "generate"));  // no limit known: nothing to check
  EXPECT_GT(available_memory_bytes(), 0);  // Linux has /proc/meminfo
}

}  // namespace
}  // namespace sdwalk
