// SDXL single files (Stability's sgm layout). bench/write_ldm_checkpoint writes mini-sdxl/ as one; the
// file must hold exactly the keys, dtypes, shapes and values of what diffusers' own
// convert_diffusers_to_original_sdxl.py wrote from the same folder (tests/data/sdxl_single_file_keys.json,
// from tools/reference/sdxl_single_file_and_lora.py: float64 sum, sum of squares and an index-weighted
// sum of every tensor), so our writer is diffusers' converter. Read back through the normal loading
// path, it is SDXL (from its keys), infers mini-sdxl's shapes, holds the folder's weights, and with the
// folder's configs (--config, as from_single_file(config=...)) reproduces expected/sdxl/pipeline_euler
// within the fixtures' tolerances and the folder's own run bit for bit, at 1 and 2 threads.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>

#include "backend/cpu/ops.hpp"
#include "common/cli_runner.hpp"
#include "common/compare.hpp"
#include "common/fixtures.hpp"
#include "pipeline/sdxl_fixture_run.hpp"
#include "sdwalk/error.hpp"
#include "sdwalk/model_family.hpp"
#include "sdwalk/model_files.hpp"
#include "sdwalk/safetensors.hpp"
#include "sdwalk/stable_diffusion_pipeline.hpp"

namespace sdwalk::test {
namespace {

namespace fs = std::filesystem;

fs::path tool() { return fs::path(SDWALK_BINARY_DIR) / "bench" / "write_ldm_checkpoint"; }
fs::path keys_json() { return fs::path(SDWALK_SOURCE_DIR) / "tests" / "data" / "sdxl_single_file_keys.json"; }

class SdxlSingleFile : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!fs::exists(tool()) || !fs::exists(fixture("mini-sdxl"))) return;
    dir_ = fs::temp_directory_path() / ("sdwalk-sdxl-file-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    file_ = dir_ / "mini-sdxl.safetensors";
    const std::string cmd = shell_quote(tool().string()) + " " + shell_quote(fixture("mini-sdxl").string()) + " " +
                            shell_quote(file_.string()) + " >" + shell_quote((dir_ / "out.txt").string()) + " 2>&1";
    if (std::system(cmd.c_str()) != 0) {
      std::ifstream in(dir_ / "out.txt");
      std::getline(in, error_);
      file_.clear();
    }
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }
  void SetUp() override {
    if (!fs::exists(tool())) GTEST_SKIP() << "not built: " << tool() << " (SDWALK_BUILD_BENCH)";
    SDWALK_REQUIRE_FIXTURE(fixture("mini-sdxl"));
    ASSERT_FALSE(file_.empty()) << "write_ldm_checkpoint failed: " << error_;
  }
  static fs::path dir_, file_;
  static std::string error_;
};
fs::path SdxlSingleFile::dir_, SdxlSingleFile::file_;
std::string SdxlSingleFile::error_;

struct Fingerprint {
  double sum = 0, sum_sq = 0, weighted_sum = 0;
};

Fingerprint fingerprint(const Tensor& t) {
  const Tensor f = t.to_f32();
  Fingerprint p;
  for (int64_t i = 0; i < f.numel(); ++i) {
    const double x = f.f32()[i];
    p.sum += x;
    p.sum_sq += x * x;
    p.weighted_sum += x * double(i % 251 + 1);
  }
  return p;
}

bool near(double a, double b) { return std::fabs(a - b) <= 1e-9 * (1 + std::fabs(b)); }

TEST_F(SdxlSingleFile, HasExactlyDiffusersConvertersKeysShapesAndValues) {
  SDWALK_REQUIRE_FIXTURE(keys_json());
  std::ifstream in(keys_json());
  const nlohmann::json doc = nlohmann::json::parse(in);
  const nlohmann::json& want = doc.at("tensors");
  const SafeTensors ours = SafeTensors::open(file_);
  EXPECT_EQ(ours.names().size(), want.size());
  for (const auto& name : ours.names()) EXPECT_TRUE(want.contains(name)) << "not written by diffusers: " << name;
  for (const auto& [name, w] : want.items()) {
    ASSERT_TRUE(ours.contains(name)) << "missing " << name;
    const Tensor t = ours.get(name);
    EXPECT_EQ(dtype_name(t.dtype()), w.at("dtype").get<std::string>()) << name;
    ASSERT_EQ(t.shape(), w.at("shape").get<Shape>()) << name;
    const Fingerprint p = fingerprint(t);
    EXPECT_TRUE(near(p.sum, w.at("sum")) && near(p.sum_sq, w.at("sum_sq")) && near(p.weighted_sum, w.at("weighted_sum")))
        << name << ": sum " << p.sum << " / " << w.at("sum") << ", sum_sq " << p.sum_sq << " / " << w.at("sum_sq")
        << ", weighted " << p.weighted_sum << " / " << w.at("weighted_sum");
  }
}

TEST_F(SdxlSingleFile, LoadsAsSdxlWithTheFoldersWeightsAndShapes) {
  const ModelFiles file = load_model_files(file_), folder = load_model_files(fixture("mini-sdxl"));
  EXPECT_EQ(file.layout, ModelLayout::LdmSingleFile);
  ASSERT_TRUE(file.is_sdxl());
  EXPECT_EQ(model_family(file).name, "SDXL");
  EXPECT_TRUE(file.force_zeros_for_empty_prompt);
  // What the keys imply (the rest is SDXL base's: heads of width 64, norm groups 32, ...).
  const nlohmann::json& u = file.unet_config;
  EXPECT_EQ(u["block_out_channels"], nlohmann::json({2, 4}));
  EXPECT_EQ(u["down_block_types"], folder.unet_config["down_block_types"]);
  EXPECT_EQ(u["up_block_types"], folder.unet_config["up_block_types"]);
  EXPECT_EQ(u["transformer_layers_per_block"], nlohmann::json({1, 2}));
  EXPECT_EQ(u["addition_embed_type"], "text_time");
  EXPECT_EQ(u["addition_time_embed_dim"], 8);
  EXPECT_EQ(u["projection_class_embeddings_input_dim"], 80);
  EXPECT_EQ(u["cross_attention_dim"], 64);
  EXPECT_EQ(u["use_linear_projection"], true);
  EXPECT_EQ(file.text_encoder_2_config["projection_dim"], 32);
  EXPECT_EQ(file.text_encoder_2_config["num_hidden_layers"], 5);
  EXPECT_EQ(file.text_encoder_2_config["architectures"], nlohmann::json({"CLIPTextModelWithProjection"}));
  EXPECT_EQ(file.scheduler_config["_class_name"], "EulerDiscreteScheduler");
  EXPECT_EQ(file.vae_config["block_out_channels"], nlohmann::json({32, 64}));
  for (const auto& [a, b] : {std::pair{&file.unet, &folder.unet}, std::pair{&file.vae, &folder.vae},
                             std::pair{&file.text_encoder, &folder.text_encoder},
                             std::pair{&file.text_encoder_2, &folder.text_encoder_2}}) {
    EXPECT_EQ(a->names(), b->names()) << a->network();
    for (const auto& name : b->names()) {
      if (!a->contains(name)) continue;
      const Tensor x = a->get(name).to_f32(), y = b->get(name).to_f32();
      ASSERT_EQ(x.shape(), y.shape()) << a->network() << " " << name;
      EXPECT_EQ(std::memcmp(x.raw(), y.raw(), x.nbytes()), 0) << a->network() << " " << name;
    }
  }
}

TEST_F(SdxlSingleFile, InfoSaysSdxl) {
  const RunResult r = run_sdwalk("info " + shell_quote(file_.string()));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("SDXL"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("single-file"), std::string::npos) << r.out;
}

TEST_F(SdxlSingleFile, WithoutConfigAPipelineNeedsTheSecondTokenizer) {
  LoadOptions o;
  o.model = file_;
  o.tokenizer_dir = fixture("mini-sdxl/tokenizer");
  try {
    StableDiffusionPipeline::load(o);
    FAIL() << "loaded without tokenizer_2";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--config"), std::string::npos) << e.what();
  }
}

class SdxlSingleFilePipeline : public SdxlSingleFile, public ::testing::WithParamInterface<int> {};

TEST_P(SdxlSingleFilePipeline, MatchesDiffusersAndTheFolderBitForBit) {
  const fs::path path = fixture("expected/sdxl/pipeline_euler.safetensors");
  SDWALK_REQUIRE_FIXTURE(path);
  const SafeTensors ref = SafeTensors::open(path);
  static std::unique_ptr<StableDiffusionPipeline> single, folder;
  if (!single) {
    LoadOptions o;
    o.model = file_;
    o.config_dir = fixture("mini-sdxl");
    single = std::make_unique<StableDiffusionPipeline>(StableDiffusionPipeline::load(o));
    o.model = fixture("mini-sdxl");
    o.config_dir.clear();
    folder = std::make_unique<StableDiffusionPipeline>(StableDiffusionPipeline::load(o));
  }
  ASSERT_TRUE(single->is_sdxl());
  ops::set_threads(GetParam());
  const SdxlRun a = run_sdxl_case(*single, ref), b = run_sdxl_case(*folder, ref);
  const Tensor image = single->decode(a.latents_final);
  const Closeness latents = closeness(a.latents_final, ref.get_f32("latents_final"), kLatentsTolerance);
  const Closeness pixels = closeness(image, ref.get_f32("image"), kImageTolerance);
  EXPECT_TRUE(latents.ok()) << latents.str();
  EXPECT_TRUE(pixels.ok()) << pixels.str();
  ASSERT_EQ(a.latents_final.shape(), b.latents_final.shape());
  EXPECT_EQ(std::memcmp(a.latents_final.raw(), b.latents_final.raw(), a.latents_final.nbytes()), 0)
      << "the single file's run differs from the folder's";
  ops::set_threads(0);
  std::printf("  single file, %d thread(s): worst err/tol final latents %.3g, image %.3g; = folder bit for bit\n",
              GetParam(), latents.worst, pixels.worst);
}

INSTANTIATE_TEST_SUITE_P(Threads, SdxlSingleFilePipeline, ::testing::Values(1, 2),
                         [](const ::testing::TestParamInfo<int>& info) { return std::to_string(info.param) + "threads"; });

}  // namespace
}  // namespace sdwalk::test
