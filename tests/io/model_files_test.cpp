// Model locations: the fixture diffusers folder and every single-file LDM checkpoint beside it must
// load to the same tensors (names, shapes, values after fp16 -> fp32) and compatible configs.
#include "sdwalk/model_files.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <fstream>
#include <functional>
#include <limits>

#include "common/compare.hpp"
#include "common/error_of.hpp"
#include "common/fixtures.hpp"
#include "io/model_loading.hpp"
#include "sdwalk/error.hpp"
#include "core/python_json.hpp"

namespace sdwalk {
namespace {

namespace fs = std::filesystem;

const char* kFolder = "mini-sd15";

// Single-file checkpoints: the .safetensors files at the top of the fixture folder.
std::vector<fs::path> single_files() { return test::fixture_files("", "", ".safetensors"); }

std::vector<const Weights*> networks(const ModelFiles& m) { return {&m.text_encoder, &m.unet, &m.vae}; }

// Tensors and parameters of a diffusers folder, counted straight from its weight files.
struct FileCounts {
  size_t tensors = 0;
  int64_t parameters = 0;
};
FileCounts count_file(const fs::path& file, const std::string& prefix = "") {
  const SafeTensors f = SafeTensors::open(file);
  FileCounts c;
  for (const auto& name : f.names()) {
    if (name.rfind(prefix, 0) != 0 || name.ends_with("position_ids")) continue;
    ++c.tensors;
    c.parameters += shape_numel(f.info(name).shape);
  }
  return c;
}

using test::error_of;

// A scratch folder under the system temp dir, removed at the end of the test.
struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() / ("sdwalk_loader_test_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

// A copy of the fixture folder made of symlinks, minus `skip` (a relative path).
fs::path link_folder(const fs::path& to, const std::string& skip = "") {
  const fs::path from = test::fixture(kFolder);
  for (const auto& e : fs::recursive_directory_iterator(from)) {
    const fs::path rel = fs::relative(e.path(), from);
    if (!skip.empty() && (rel == skip || rel.string().rfind(skip + "/", 0) == 0)) continue;
    if (e.is_directory()) fs::create_directories(to / rel);
    else fs::create_symlink(e.path(), to / rel);
  }
  return to;
}

void write_bytes(const fs::path& p, const std::string& bytes) {
  std::ofstream(p, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
}

std::string read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(ModelFiles, DiffusersFolderLoadsEveryWeightFile) {
  const fs::path folder = test::fixture(kFolder);
  SDWALK_REQUIRE_FIXTURE(folder / "model_index.json");
  const ModelFiles m = load_model_files(folder);
  EXPECT_EQ(m.layout, ModelLayout::DiffusersFolder);
  EXPECT_EQ(m.tokenizer_dir, folder / "tokenizer");
  EXPECT_EQ(m.weights_dtype, "F32");
  const std::map<std::string, fs::path> files = {{"text_encoder", folder / "text_encoder" / "model.safetensors"},
                                                 {"unet", folder / "unet" / "diffusion_pytorch_model.safetensors"},
                                                 {"vae", folder / "vae" / "diffusion_pytorch_model.safetensors"}};
  for (const Weights* w : networks(m)) {
    const FileCounts c = count_file(files.at(w->network()));
    EXPECT_EQ(w->size(), c.tensors) << w->network();
    EXPECT_EQ(w->parameter_count(), c.parameters) << w->network();
    EXPECT_GT(c.tensors, 0u);
    EXPECT_NO_THROW(check_finite(*w));
  }
  // Configs are the folder's documents (plus defaults for absent keys).
  const auto unet_cfg = io::read_json_file(folder / "unet" / "config.json");
  for (auto it = unet_cfg.begin(); it != unet_cfg.end(); ++it) EXPECT_EQ(m.unet_config[it.key()], it.value()) << it.key();
  EXPECT_EQ(m.scheduler_config, io::read_json_file(folder / "scheduler" / "scheduler_config.json"));
}

TEST(ModelFiles, SchemaFromConfigsIsExactlyTheFolderTensorSet) {
  const fs::path folder = test::fixture(kFolder);
  SDWALK_REQUIRE_FIXTURE(folder / "model_index.json");
  const ModelFiles m = load_model_files(folder);
  const std::map<std::string, io::TensorShapes> schema = {
      {"text_encoder", io::text_encoder_tensor_shapes(m.text_encoder_config)},
      {"unet", io::unet_tensor_shapes(m.unet_config)},
      {"vae", io::vae_tensor_shapes(m.vae_config)}};
  for (const Weights* w : networks(m)) {
    const auto& expected = schema.at(w->network());
    EXPECT_EQ(expected.size(), w->size()) << w->network();
    for (const auto& name : w->names()) {
      ASSERT_TRUE(expected.count(name)) << w->network() << " " << name;
      EXPECT_EQ(expected.at(name), w->get(name).shape()) << name;
    }
  }
}

TEST(ModelFiles, SingleFilesMatchTheFolderTensorByTensor) {
  const fs::path folder = test::fixture(kFolder);
  SDWALK_REQUIRE_FIXTURE(folder / "model_index.json");
  const auto files = single_files();
  if (files.empty()) GTEST_SKIP() << "no single-file checkpoint in " << test::fixtures_dir();
  const ModelFiles ref = load_model_files(folder);
  for (const auto& file : files) {
    for (const bool with_configs : {true, false}) {
      const ModelFiles m = load_model_files(file, {}, with_configs ? folder : fs::path());
      EXPECT_EQ(m.layout, ModelLayout::LdmSingleFile);
      size_t compared = 0;
      int64_t parameters = 0;
      for (size_t n = 0; n < 3; ++n) {
        const Weights& ours = *networks(m)[n];
        const Weights& theirs = *networks(ref)[n];
        EXPECT_EQ(ours.names(), theirs.names()) << file << " " << ours.network();
        for (const auto& name : theirs.names()) {
          if (!ours.contains(name)) continue;  // reported by the names() comparison
          const Tensor& a = ours.get(name);
          const Tensor& b = theirs.get(name);
          ASSERT_EQ(a.shape(), b.shape()) << file << " " << name;
          const test::Diff d = test::compare(a.to_f32(), b.to_f32());
          EXPECT_EQ(d.max_abs, 0.0) << file << " " << name << " " << d.str();
          ++compared;
        }
        parameters += ours.parameter_count();
      }
      // Every tensor of the three LDM prefixes was mapped, and no other.
      const size_t in_file = count_file(file, "model.diffusion_model.").tensors +
                             count_file(file, "first_stage_model.").tensors +
                             count_file(file, "cond_stage_model.transformer.").tensors;
      EXPECT_EQ(compared, in_file) << file;
      EXPECT_EQ(parameters, ref.text_encoder.parameter_count() + ref.unet.parameter_count() + ref.vae.parameter_count());
      std::printf("%s: %zu tensors, %lld parameters equal to the folder's (configs %s)\n", file.filename().c_str(),
                  compared, (long long)parameters, m.config_source.c_str());
    }
  }
}

TEST(ModelFiles, InferredConfigsAgreeWithTheFolderConfigs) {
  const fs::path folder = test::fixture(kFolder);
  SDWALK_REQUIRE_FIXTURE(folder / "model_index.json");
  const auto files = single_files();
  if (files.empty()) GTEST_SKIP() << "no single-file checkpoint in " << test::fixtures_dir();
  const ModelFiles ref = load_model_files(folder);
  for (const auto& file : files) {
    const ModelFiles m = load_model_files(file);
    const std::vector<std::tuple<std::string, io::InferredConfig, const nlohmann::json*>> cases = {
        {"text_encoder", io::infer_text_encoder_config(m.text_encoder), &ref.text_encoder_config},
        {"unet", io::infer_unet_config(m.unet), &ref.unet_config},
        {"vae", io::infer_vae_config(m.vae), &ref.vae_config}};
    for (const auto& [net, inferred, want] : cases) {
      EXPECT_GE(inferred.inferred.size(), 5u) << net;
      for (const auto& key : inferred.inferred)
        EXPECT_EQ(inferred.config[key], (*want)[key]) << file << " " << net << " " << key;
    }
    EXPECT_EQ(m.unet_config, io::infer_unet_config(m.unet).config);
  }
}

TEST(ModelFiles, SingleFileSchedulerIsSd15sPndmConfig) {
  const auto files = single_files();
  const fs::path sched = test::fixture("expected/schedulers.json");
  SDWALK_REQUIRE_FIXTURE(sched);
  if (files.empty()) GTEST_SKIP() << "no single-file checkpoint in " << test::fixtures_dir();
  // Python's json writes -Infinity (DPMSolver's lambda_min_clipped), which JSON parsers reject.
  std::string text = read_bytes(sched);
  for (const std::string& inf : {std::string("-Infinity"), std::string("Infinity")})
    for (size_t at; (at = text.find(inf)) != std::string::npos;) text.replace(at, inf.size(), "null");
  const auto base = nlohmann::json::parse(text)["base_config_sd15"];
  ASSERT_TRUE(base.is_object());
  const ModelFiles m = load_model_files(files.front());
  for (auto it = base.begin(); it != base.end(); ++it) {
    if (it.key() == "_diffusers_version") continue;
    EXPECT_EQ(m.scheduler_config[it.key()], it.value()) << it.key();
  }
}

TEST(ModelFiles, TokenizerFolderComesFromTheFlagOrTheConfigFolder) {
  const fs::path folder = test::fixture(kFolder);
  const auto files = single_files();
  SDWALK_REQUIRE_FIXTURE(folder / "tokenizer" / "vocab.json");
  if (files.empty()) GTEST_SKIP() << "no single-file checkpoint";
  EXPECT_EQ(load_model_files(files.front()).tokenizer_dir, fs::path());
  EXPECT_EQ(load_model_files(files.front(), {}, folder).tokenizer_dir, folder / "tokenizer");
  EXPECT_EQ(load_model_files(files.front(), folder / "tokenizer").tokenizer_dir, folder / "tokenizer");
  EXPECT_NE(error_of([&] { load_model_files(files.front(), folder / "unet"); }).find("missing vocab.json"),
            std::string::npos);
}

TEST(ModelFiles, Fp16VariantIsUsedWhenItIsTheOnlyWeightFile) {
  const fs::path folder = test::fixture(kFolder);
  SDWALK_REQUIRE_FIXTURE(folder / "model_index.json");
  TempDir tmp;
  const fs::path copy = link_folder(tmp.path / "m", "unet/diffusion_pytorch_model.safetensors");
  const SafeTensors src = SafeTensors::open(folder / "unet" / "diffusion_pytorch_model.safetensors");
  std::map<std::string, Tensor> half;
  for (const auto& name : src.names()) half[name] = src.get(name).to(DType::F16);
  save_safetensors(copy / "unet" / "diffusion_pytorch_model.fp16.safetensors", half);
  const ModelFiles m = load_model_files(copy);
  const ModelFiles ref = load_model_files(folder);
  EXPECT_EQ(m.weights_dtype, "mixed");
  EXPECT_EQ(m.unet.get(src.names().front()).dtype(), DType::F16);
  for (const auto& name : ref.unet.names())
    EXPECT_EQ(test::compare(m.unet.get(name).to_f32(), ref.unet.get(name).to_f32()).max_abs, 0.0) << name;
}

TEST(ModelFiles, MissingFolderPartsAreNamed) {
  const fs::path folder = test::fixture(kFolder);
  SDWALK_REQUIRE_FIXTURE(folder / "model_index.json");
  TempDir tmp;
  // Each part of the folder, left out in turn: the error names it.
  for (const auto& e : fs::recursive_directory_iterator(folder)) {
    const std::string rel = fs::relative(e.path(), folder).string();
    if (rel.starts_with("tokenizer/") && !rel.ends_with("vocab.json") && !rel.ends_with("merges.txt")) continue;
    const fs::path copy = link_folder(tmp.path / std::to_string(std::hash<std::string>()(rel)), rel);
    const std::string err = error_of([&] { load_model_files(copy); });
    const std::string name = fs::path(rel).filename().string();
    const bool names_it = err.find(name) != std::string::npos ||
                          (name.ends_with(".safetensors") && err.find("missing weights") != std::string::npos);
    EXPECT_TRUE(names_it) << "without " << rel << ": " << err;
  }
  EXPECT_NE(error_of([&] { load_model_files(tmp.path / "nothing"); }).find("no such file or folder"), std::string::npos);
  write_bytes(tmp.path / "model.ckpt", "PK");
  EXPECT_NE(error_of([&] { load_model_files(tmp.path / "model.ckpt"); }).find("pickle"), std::string::npos);
}

// diffusers saves a DPMSolverMultistepScheduler config with Python's json module, which writes
// the default lambda_min_clipped as a bare -Infinity; strict JSON parsing refused the folder.
TEST(ModelFiles, ConfigsWithPythonsInfinityLoad) {
  SDWALK_REQUIRE_FIXTURE(test::fixture(kFolder) / "model_index.json");
  TempDir tmp;
  const fs::path copy = link_folder(tmp.path / "dpm", "scheduler/scheduler_config.json");
  write_bytes(copy / "scheduler" / "scheduler_config.json",
              R"({"_class_name": "DPMSolverMultistepScheduler", "lambda_min_clipped": -Infinity, "sample_max_value": NaN})");
  const ModelFiles m = load_model_files(copy);
  EXPECT_EQ(json_number(m.scheduler_config.at("lambda_min_clipped"), "lambda_min_clipped"),
            -std::numeric_limits<double>::infinity());
  write_bytes(copy / "scheduler" / "scheduler_config.json", R"({"_class_name": -Inf})");
  EXPECT_NE(error_of([&] { load_model_files(copy); }).find("scheduler_config.json: not valid JSON"), std::string::npos);
}

TEST(ModelFiles, TruncatedCheckpointsFailWithTheirName) {
  const auto files = single_files();
  if (files.empty()) GTEST_SKIP() << "no single-file checkpoint";
  TempDir tmp;
  const std::string bytes = read_bytes(files.front());
  for (const size_t keep : {size_t(0), size_t(5), size_t(100), bytes.size() / 2, bytes.size() - 1}) {
    const fs::path cut = tmp.path / ("cut" + std::to_string(keep) + ".safetensors");
    write_bytes(cut, bytes.substr(0, keep));
    const std::string err = error_of([&] { load_model_files(cut); });
    EXPECT_NE(err.find(cut.string()), std::string::npos) << keep << ": " << err;
  }
}

TEST(ModelFiles, MissingTensorAndWrongShapesAreNamed) {
  const fs::path folder = test::fixture(kFolder);
  const auto files = single_files();
  SDWALK_REQUIRE_FIXTURE(folder / "unet" / "config.json");
  if (files.empty()) GTEST_SKIP() << "no single-file checkpoint";
  TempDir tmp;
  // A single file without one UNet tensor.
  const SafeTensors src = SafeTensors::open(files.front());
  std::map<std::string, Tensor> all;
  std::string dropped;
  for (const auto& name : src.names()) {
    if (dropped.empty() && name.ends_with("in_layers.0.weight")) {
      dropped = name;
      continue;
    }
    all[name] = src.get(name);
  }
  ASSERT_FALSE(dropped.empty());
  save_safetensors(tmp.path / "one_less.safetensors", all);
  const std::string err = error_of([&] { load_model_files(tmp.path / "one_less.safetensors", {}, folder); });
  EXPECT_NE(err.find("unet: missing tensor '"), std::string::npos) << err;
  EXPECT_NE(err.find("norm1.weight"), std::string::npos) << err;

  // A config that disagrees with the weights: the first tensor whose shape differs is named.
  const fs::path copy = link_folder(tmp.path / "m", "unet/config.json");
  auto cfg = io::read_json_file(folder / "unet" / "config.json");
  cfg["block_out_channels"].back() = cfg["block_out_channels"].back().get<int>() * 2;
  std::ofstream(copy / "unet" / "config.json") << cfg.dump();
  const std::string shape_err = error_of([&] { load_model_files(copy); });
  EXPECT_NE(shape_err.find("has shape"), std::string::npos) << shape_err;
  EXPECT_NE(shape_err.find("config implies"), std::string::npos) << shape_err;
}

TEST(ModelFiles, NanOrInfInAWeightIsNamed) {
  TempDir tmp;
  for (const DType dt : {DType::F32, DType::F16, DType::BF16}) {
    for (const float bad : {std::numeric_limits<float>::quiet_NaN(), -std::numeric_limits<float>::infinity()}) {
      Tensor good = Tensor::from_vector({2, 3}, {1, -2, 3, 0.5f, 0, 7});
      Tensor poisoned = Tensor::from_vector({4}, {1, 2, bad, 4});
      const fs::path p = tmp.path / "nan.safetensors";
      save_safetensors(p, {{"conv.weight", good.to(dt)}, {"conv.bias", poisoned.to(dt)}});
      const Weights w = io::weights_from_file("unet", SafeTensors::open(p));
      const std::string err = error_of([&] { check_finite(w); });
      EXPECT_NE(err.find("unet: tensor 'conv.bias' contains NaN/Inf"), std::string::npos) << dtype_name(dt) << ": " << err;
      EXPECT_NE(err.find(p.string()), std::string::npos) << err;
      save_safetensors(p, {{"conv.weight", good.to(dt)}});
      EXPECT_NO_THROW(check_finite(io::weights_from_file("unet", SafeTensors::open(p))));
    }
  }
}

TEST(ModelFiles, UnsupportedArchitecturesAreRecognised) {
  TempDir tmp;
  const Tensor t = Tensor::from_vector({2}, {1, 2});
  const std::vector<std::pair<std::string, std::string>> cases = {
      // SDXL base's conditioner is read (tests/bench/write_sdxl_checkpoint_test); the refiner's is not.
      {"conditioner.embedders.0.model.ln_final.weight", "refiner"},
  };
  for (const auto& [key, what] : cases) {
    const fs::path p = tmp.path / "arch.safetensors";
    save_safetensors(p, {{key, t}, {"model.diffusion_model.input_blocks.0.0.weight", t}});
    const std::string err = error_of([&] { load_model_files(p); });
    EXPECT_NE(err.find(what), std::string::npos) << err;
    EXPECT_NE(err.find(key), std::string::npos) << err;
  }
  // No UNet at all.
  save_safetensors(tmp.path / "vae_only.safetensors", {{"first_stage_model.encoder.conv_in.weight", t}});
  EXPECT_NE(error_of([&] { load_model_files(tmp.path / "vae_only.safetensors"); }).find("model.diffusion_model.*"),
            std::string::npos);

  // A UNet attending to context of another width than the text encoder's (SD 2.x's 1024 here) is named.
  const fs::path folder = test::fixture(kFolder);
  SDWALK_REQUIRE_FIXTURE(folder / "unet" / "config.json");
  const fs::path copy = link_folder(tmp.path / "sd2", "unet/config.json");
  auto cfg = io::read_json_file(folder / "unet" / "config.json");
  cfg["cross_attention_dim"] = 1024;
  std::ofstream(copy / "unet" / "config.json") << cfg.dump();
  EXPECT_NE(error_of([&] { load_model_files(copy); }).find("cross_attention_dim 1024"), std::string::npos);
  // An SDXL pipeline folder.
  const fs::path xl = link_folder(tmp.path / "xl", "model_index.json");
  auto index = io::read_json_file(folder / "model_index.json");
  index["_class_name"] = "StableDiffusionXLPipeline";
  std::ofstream(xl / "model_index.json") << index.dump();
  EXPECT_NE(error_of([&] { load_model_files(xl); }).find("SDXL"), std::string::npos);
}

TEST(ModelFiles, LdmNamesMapOneToOne) {
  const auto files = single_files();
  if (files.empty()) GTEST_SKIP() << "no single-file checkpoint";
  const SafeTensors f = SafeTensors::open(files.front());
  const io::LdmNetworks nets = io::map_ldm_checkpoint(f);
  // Distinct LDM keys give distinct diffusers names (Weights::add rejects a repeat), and an
  // unknown key under a mapped prefix is not silently dropped.
  EXPECT_EQ(io::ldm_unet_name("input_blocks.0.0.weight", 2), "conv_in.weight");
  EXPECT_EQ(io::ldm_unet_name("output_blocks.2.1.conv.weight", 2), "up_blocks.0.upsamplers.0.conv.weight");
  EXPECT_EQ(io::ldm_unet_name("output_blocks.5.2.conv.bias", 2), "up_blocks.1.upsamplers.0.conv.bias");
  EXPECT_EQ(io::ldm_unet_name("label_emb.0.1.weight", 2), "");  // label_emb.0.0 / .0.2: SDXL's add_embedding
  EXPECT_EQ(io::ldm_vae_name("decoder.up.3.block.0.conv1.weight", 4), "decoder.up_blocks.0.resnets.0.conv1.weight");
  EXPECT_EQ(io::ldm_vae_name("encoder.mid.attn_1.proj_out.weight", 4), "encoder.mid_block.attentions.0.to_out.0.weight");
  TempDir tmp;
  const Tensor t = Tensor::from_vector({1}, {1});
  std::map<std::string, Tensor> all;
  for (const auto& name : f.names()) all[name] = f.get(name);
  // What real SD 1.5 files carry beside the weights is ignored.
  for (const char* extra : {"betas", "alphas_cumprod", "model_ema.decay", "first_stage_model.loss.logvar",
                            "cond_stage_model.transformer.text_model.embeddings.position_ids"})
    all[extra] = t;
  save_safetensors(tmp.path / "extras.safetensors", all);
  const ModelFiles with_extras = load_model_files(tmp.path / "extras.safetensors");
  EXPECT_EQ(with_extras.unet.size() + with_extras.vae.size() + with_extras.text_encoder.size(),
            nets.unet.size() + nets.vae.size() + nets.text_encoder.size());
  // A UNet key with no SD 1.x counterpart is an error, not silently dropped.
  all["model.diffusion_model.label_emb.0.1.weight"] = t;
  save_safetensors(tmp.path / "extra.safetensors", all);
  EXPECT_NE(error_of([&] { load_model_files(tmp.path / "extra.safetensors"); }).find("label_emb"), std::string::npos);
}

}  // namespace
}  // namespace sdwalk
