// The shipped demo model (models/demo) against the PyTorch forward it was trained with:
// tools/demo-model/export_reference.py ran the training code's modules on fixed inputs and stored
// inputs and outputs in models/demo/reference.safetensors. sdwalk loads the folder like any SD
// model and must reproduce every output within 1e-4 relative. Skipped when the model is absent.
// The ctest demo_model_pytorch_parity reruns it on a reference PyTorch exports there and then.
#include <gtest/gtest.h>

#include <cstdlib>
#include <iostream>
#include <memory>

#include "common/compare.hpp"
#include "common/fixtures.hpp"
#include "sdwalk/autoencoder_kl.hpp"
#include "sdwalk/clip_text_model.hpp"
#include "sdwalk/model_files.hpp"
#include "sdwalk/safetensors.hpp"
#include "sdwalk/unet_2d_condition_model.hpp"

namespace sdwalk {
namespace {

constexpr double kTolerance = 1e-4;

class DemoModel : public ::testing::Test {
 protected:
  // $SDWALK_DEMO_REFERENCE: a reference just exported by PyTorch (tests/models/demo_pytorch_parity.sh).
  static std::filesystem::path reference_file() {
    if (const char* env = std::getenv("SDWALK_DEMO_REFERENCE"); env && *env) return env;
    return test::demo_model_dir() / "reference.safetensors";
  }
  void SetUp() override {
    SDWALK_REQUIRE_FIXTURE(test::demo_model_dir() / "model_index.json");
    SDWALK_REQUIRE_FIXTURE(reference_file());
  }
  static const ModelFiles& files() {
    static const ModelFiles f = load_model_files(test::demo_model_dir());
    return f;
  }
  static const SafeTensors& ref() {
    static const SafeTensors r = SafeTensors::open(reference_file());
    return r;
  }
  static void expect_close(const std::string& name, const Tensor& ours) {
    const Tensor expected = ref().get_f32(name);
    ASSERT_EQ(ours.shape(), expected.shape()) << name;
    const auto d = test::compare(ours, expected);
    std::cout << "[ measured ] demo model " << name << ": " << d.str() << "\n";
    EXPECT_LE(d.rel(), kTolerance) << name << ": " << d.str();
  }
};

TEST_F(DemoModel, LoadsAsAnSd1Folder) {
  EXPECT_EQ(files().layout, ModelLayout::DiffusersFolder);
  EXPECT_EQ(files().weights_dtype, "F16");
  EXPECT_NO_THROW(check_finite(files().unet));
  EXPECT_FALSE(files().tokenizer_dir.empty());
}

TEST_F(DemoModel, TextEncoderMatchesPyTorch) {
  const Tensor ids = ref().get("text_encoder.input_ids");
  ASSERT_EQ(ids.ndim(), 2);
  std::vector<std::vector<int64_t>> rows;
  for (int64_t b = 0; b < ids.dim(0); ++b)
    rows.emplace_back(ids.data<int64_t>() + b * ids.dim(1), ids.data<int64_t>() + (b + 1) * ids.dim(1));
  const ClipTextModel te(files().text_encoder_config, files().text_encoder);
  expect_close("text_encoder.last_hidden_state", te.encode(rows));
}

TEST_F(DemoModel, UNetMatchesPyTorch) {
  const UNet2DConditionModel unet(files().unet_config, files().unet);
  const double t = ref().get_f32("unet.timestep").f32()[0];
  expect_close("unet.out", unet.forward(ref().get_f32("unet.sample"), t, ref().get_f32("unet.encoder_hidden_states")));
}

TEST_F(DemoModel, VaeMatchesPyTorch) {
  const AutoencoderKL vae(files().vae_config, files().vae);
  expect_close("vae.decoded", vae.decode(ref().get_f32("vae.latents")));
  const auto enc = vae.encode(ref().get_f32("vae.image"));
  expect_close("vae.mean", enc.mean);
  expect_close("vae.logvar", enc.logvar);
}

}  // namespace
}  // namespace sdwalk
