// sdwalk bench: times SD 1.5's three networks at a given size, precision and thread count, next to
// oneDNN's own throughput on a large 3x3 convolution measured in the same run (the machine's
// practical limit). Random SD 1.5-sized weights made in memory, or a model from --model.
// --walk times a short real walk instead (bench_walk.hpp). The last line is one JSON object for scripts.
#include <memory>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/bench_common.hpp"
#include "cli/bench_lora.hpp"
#include "cli/bench_walk.hpp"
#include "cli/commands.hpp"
#include "sdwalk/autoencoder_kl.hpp"
#include "sdwalk/clip_text_model.hpp"
#include "sdwalk/error.hpp"
#include "sdwalk/model_files.hpp"
#include "backend/cpu/ops.hpp"
#include "models/random_weights.hpp"
#include "sdwalk/torch_generator.hpp"
#include "sdwalk/unet_2d_condition_model.hpp"

namespace sdwalk::cli {
namespace {

struct BenchOptions {
  std::string model, tokenizer, config;
  int height = 512, width = 512;
  int threads = 0;
  std::string precision = "auto", weights = "auto";
  int warmup = 1, repeat = 1;
  bool skip_vae = false;
  bool walk = false;
  int frames = 4, steps = 4;
  bool keep = false;
  int lora_rank = 0;
  std::string arch = "sd15";  // the random weights' architecture: sd15 or sdxl
};

std::string breakdown(const Timing& t) {
  const auto& o = t.ops;
  char buf[512];
  const double other = std::max(0.0, t.seconds - o.seconds());
  std::snprintf(buf, sizeof buf,
                "    conv %.1f GFLOP in %.2f s (%.0f GFLOP/s) | linear %.1f GFLOP in %.2f s (%.0f GFLOP/s) | "
                "attention %.1f GFLOP in %.2f s (%.0f GFLOP/s) | other %.2f s",
                o.conv_flops * 1e-9, o.conv_s, o.conv_s > 0 ? o.conv_flops / o.conv_s * 1e-9 : 0.0, o.linear_flops * 1e-9,
                o.linear_s, o.linear_s > 0 ? o.linear_flops / o.linear_s * 1e-9 : 0.0, o.attention_flops * 1e-9,
                o.attention_s, o.attention_s > 0 ? o.attention_flops / o.attention_s * 1e-9 : 0.0, other);
  return buf;
}

void run(const BenchOptions& o) {
  check(o.height > 0 && o.height % 8 == 0 && o.width > 0 && o.width % 8 == 0,
        "bench: --height/--width must be positive multiples of 8, got " + std::to_string(o.height) + "x" +
            std::to_string(o.width));
  ops::set_threads(o.threads);
  const int threads = ops::threads();
  const Precision precision = parse_precision(o.precision, "--precision");
  const WeightStorage storage = parse_weight_storage(o.weights, "--weights");
  nlohmann::json result;
  result["precision"] = precision_name(precision);
  result["weights"] = weight_storage_name(storage);
  result["isa"] = ops::isa_name(ops::isa());
  result["height"] = o.height;
  result["width"] = o.width;
  result["threads"] = threads;

  const bool sdxl_random = o.model.empty() && o.arch == "sdxl";
  std::printf("sdwalk bench: %s, %dx%d, precision %s, weights %s, isa %s, %d threads\n",
              !o.model.empty() ? o.model.c_str() : sdxl_random ? "SDXL with random weights" : "SD 1.5 with random weights", o.width, o.height,
              precision_name(precision).c_str(), weight_storage_name(storage).c_str(), ops::isa_name(ops::isa()).c_str(),
              threads);
  // One network at a time, its source weights dropped once the model holds its own copy.
  auto t0 = Clock::now();
  std::unique_ptr<ModelFiles> files;
  auto source = [&](bool text_encoder, bool unet, bool vae) -> const ModelFiles& {
    if (!o.model.empty()) {
      if (!files) files = std::make_unique<ModelFiles>(load_model_files(o.model, o.tokenizer, o.config));
      return *files;
    }
    RandomWeightOptions r;
    r.text_encoder = text_encoder;
    r.unet = unet;
    r.vae = vae;
    // As a typical checkpoint for this precision and weight format is stored.
    r.dtype = precision == Precision::BF16 ? DType::BF16 : storage == WeightStorage::F32 ? DType::F32 : DType::F16;
    files = std::make_unique<ModelFiles>(sdxl_random ? random_sdxl_model(r) : random_sd15_model(r));
    return *files;
  };
  const ModelFiles& te_files = source(true, false, false);
  const ClipTextModel text_encoder(te_files.text_encoder_config, te_files.text_encoder, precision, storage);
  // SDXL's second text encoder (OpenCLIP bigG), timed beside the first.
  std::unique_ptr<ClipTextModel> text_encoder_2;
  if (te_files.is_sdxl())
    text_encoder_2 = std::make_unique<ClipTextModel>(te_files.text_encoder_2_config, te_files.text_encoder_2, precision, storage);
  const ModelFiles& unet_files = source(false, true, false);
  const UNet2DConditionModel unet(unet_files.unet_config, unet_files.unet, precision, storage);
  // --lora-rank: the same UNet with a random LoRA as run-time branches (LoraMode::Branch), and the
  // time merging it takes (LoraMode::Merge: after that a step costs what the plain one does).
  std::unique_ptr<UNet2DConditionModel> lora_unet;
  double lora_merge_s = 0;
  size_t lora_layers = 0;
  if (o.lora_rank > 0) {
    Weights& w = files->unet;
    const LoraAdapter lora = random_unet_lora(w, o.lora_rank);
    lora_layers = lora.layers.size();
    for (const LoraLayer& l : lora.layers) w.add_low_rank(l.module, {l.down, l.up, l.scaling, 0});
    w.set_lora_scales(std::make_shared<LoraScales>(LoraScales{{{1.0f}}}));
    lora_unet = std::make_unique<UNet2DConditionModel>(unet_files.unet_config, w, precision, storage);
    const auto m0 = Clock::now();
    merge_lora(w, "unet", lora, 1.0);
    lora_merge_s = seconds_since(m0);
  }
  const ModelFiles& vae_files = source(false, false, true);
  const AutoencoderKL vae(vae_files.vae_config, vae_files.vae, precision, storage);
  files.reset();
  std::printf("models built in %.2f s\n", seconds_since(t0));
  std::fflush(stdout);

  // Text encoder: the prompt and the negative prompt of a CFG run, full 77-token rows.
  const int64_t seq = text_encoder.max_position_embeddings();
  std::vector<std::vector<int64_t>> ids(2, std::vector<int64_t>(size_t(seq), 0));
  for (size_t r = 0; r < ids.size(); ++r)
    for (int64_t i = 0; i < seq; ++i) ids[r][size_t(i)] = (int64_t(r) * 7919 + i * 104729) % 49406;
  Tensor context;
  const Timing te = time_best(o.warmup, o.repeat, [&] { context = text_encoder.encode(ids); });
  std::printf("text encoder (2 x %lld tokens): %.3f s, %.1f GFLOP/s\n", (long long)seq, te.seconds,
              te.ops.flops() / te.seconds * 1e-9);
  TorchGenerator gen(0);
  // SDXL: the UNet's context is both encoders' states side by side, plus the pooled embedding and
  // the size conditioning; random values of those shapes cost the UNet what real ones do.
  AddedCondKwargs added;
  if (text_encoder_2) {
    const Timing te2 = time_best(o.warmup, o.repeat, [&] { text_encoder_2->encode(ids); });
    std::printf("text encoder 2 (2 x %lld tokens): %.3f s, %.1f GFLOP/s\n", (long long)seq, te2.seconds,
                te2.ops.flops() / te2.seconds * 1e-9);
    result["text_encoder_2_s"] = te2.seconds;
  }
  if (unet.has_text_time()) {
    context = gen.randn({2, seq, unet.cross_attention_dim()});
    added.text_embeds = gen.randn({2, unet.pooled_dim()});
    added.time_ids = Tensor({2, 6});
    const float sizes[6] = {float(o.height), float(o.width), 0, 0, float(o.height), float(o.width)};
    for (int i = 0; i < 12; ++i) added.time_ids.f32()[i] = sizes[i % 6];
  }

  // One CFG step: the UNet on the batched unconditional + conditional halves.
  const int64_t lh = o.height / vae.downscale_factor(), lw = o.width / vae.downscale_factor();
  const Tensor latents = gen.randn({2, unet.in_channels(), lh, lw});
  const Timing u = time_best(o.warmup, o.repeat, [&] { unet.forward(latents, 981.0, context, Tensor(), added); });
  const double unet_gflops = u.ops.flops() / u.seconds * 1e-9;
  std::printf("unet CFG step (batch 2, %lldx%lld latents): %.3f s, %.1f GFLOP -> %.1f GFLOP/s\n", (long long)lw,
              (long long)lh, u.seconds, u.ops.flops() * 1e-9, unet_gflops);
  std::printf("%s\n", breakdown(u).c_str());
  Timing ul;
  if (lora_unet) {
    ul = time_best(o.warmup, o.repeat, [&] { lora_unet->forward(latents, 981.0, context, Tensor(), added); });
    std::printf("unet CFG step with a rank-%d LoRA on %zu layers as run-time branches: %.3f s (+%.1f%%); "
                "merging it instead: %.3f s once, then the plain step\n",
                o.lora_rank, lora_layers, ul.seconds, (ul.seconds / u.seconds - 1) * 100, lora_merge_s);
    lora_unet.reset();
  }
  std::fflush(stdout);

  nlohmann::json conv_detail = nlohmann::json::array();
  const double conv_gflops = onednn_conv_gflops(precision, conv_detail);
  std::printf("oneDNN 3x3 convolution: %.1f GFLOP/s (best of [2,64,64,320]->320 and [2,32,32,640]->640)\n",
              conv_gflops);
  std::printf("unet / oneDNN conv: %.2f\n", unet_gflops / conv_gflops);
  std::fflush(stdout);

  Timing v;
  if (!o.skip_vae) {
    const Tensor z = gen.randn({1, vae.latent_channels(), lh, lw});
    v = time_best(o.warmup, o.repeat, [&] { vae.decode(z); });
    std::printf("vae decode (1 image, %dx%d): %.3f s, %.1f GFLOP -> %.1f GFLOP/s\n", o.width, o.height, v.seconds,
                v.ops.flops() * 1e-9, v.ops.flops() / v.seconds * 1e-9);
    std::printf("%s\n", breakdown(v).c_str());
  }
  const double rss = peak_rss_mb();
  std::printf("peak RSS: %.0f MB\n", rss);

  result["text_encoder_s"] = te.seconds;
  result["unet_step_s"] = u.seconds;
  result["unet_gflop"] = u.ops.flops() * 1e-9;
  result["unet_gflops"] = unet_gflops;
  result["unet_attention_s"] = u.ops.attention_s;
  result["onednn_conv_gflops"] = conv_gflops;
  result["onednn_conv"] = conv_detail;
  result["unet_ratio"] = unet_gflops / conv_gflops;
  if (!o.skip_vae) {
    result["vae_decode_s"] = v.seconds;
    result["vae_gflops"] = v.ops.flops() / v.seconds * 1e-9;
  } else {
    result["vae_decode_s"] = nullptr;
  }
  if (o.lora_rank > 0) {
    result["lora_rank"] = o.lora_rank;
    result["lora_layers"] = lora_layers;
    result["unet_step_lora_branch_s"] = ul.seconds;
    result["lora_merge_s"] = lora_merge_s;
  }
  result["peak_rss_mb"] = rss;
  std::printf("%s\n", result.dump().c_str());
}

}  // namespace

void add_bench_command(CLI::App& app) {
  auto o = std::make_shared<BenchOptions>();
  auto* cmd = app.add_subcommand(
      "bench", "Time the text encoder, one CFG UNet step and the VAE decoder (SD 1.5-sized random weights or --model)");
  cmd->add_option("--arch", o->arch, "Architecture of the random weights: sd15 or sdxl (SDXL base 1.0 shapes)")
      ->check(CLI::IsMember({"sd15", "sdxl"}))
      ->capture_default_str();
  cmd->add_option("--model", o->model, "Diffusers folder or single-file checkpoint (default: random SD 1.5 weights)");
  cmd->add_option("--tokenizer", o->tokenizer, "Tokenizer folder (single-file checkpoints; not needed to time)");
  cmd->add_option("--config", o->config, "Diffusers folder whose config.json files describe a single-file checkpoint");
  cmd->add_option("--height", o->height, "Image height in pixels (multiple of 8)")->capture_default_str();
  cmd->add_option("--width", o->width, "Image width in pixels (multiple of 8)")->capture_default_str();
  cmd->add_option("--threads", o->threads, "CPU threads (0: all cores)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--precision", o->precision,
                  "f32, bf16 or auto (bf16 where the CPU has AVX512_BF16/AMX): convolutions and matmuls")
      ->capture_default_str();
  cmd->add_option("--warmup", o->warmup, "Untimed runs of each network first (primitive creation, caches)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--repeat", o->repeat, "Timed runs of each network; the best is reported")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--weights", o->weights,
                  "How f32 layers keep their weights: auto, f32 or f16 (random weights are made fp16 unless f32)")
      ->capture_default_str();
  cmd->add_flag("--skip-vae", o->skip_vae, "Do not time the VAE decoder");
  cmd->add_flag("--walk", o->walk,
                "Time a short real walk instead (two prompts, --frames x --steps, GIF out): frames/minute, each "
                "network's share, peak RSS; random weights are written to a temporary folder and loaded from there");
  cmd->add_option("--frames", o->frames, "--walk: frames of the walk")->check(CLI::Range(2, 1000))->capture_default_str();
  cmd->add_option("--steps", o->steps, "--walk: denoising steps per frame")->check(CLI::Range(1, 1000))->capture_default_str();
  cmd->add_option("--lora-rank", o->lora_rank,
                  "Also time a random LoRA of this rank on the UNet's attention and feed-forward layers: one step "
                  "with it as run-time branches, and merging it into the weights")
      ->check(CLI::Range(0, 1024));
  cmd->add_flag("--keep", o->keep, "--walk: keep the temporary folder (model, frames, animation)");
  cmd->callback([o] {
    check(!o->walk || o->lora_rank == 0, "bench: --lora-rank times one UNet step; it does not go with --walk");
    check(o->arch == "sd15" || (!o->walk && o->model.empty()),
          "bench: --arch sdxl picks the random weights of the network timings; it does not go with --walk or --model");
    if (!o->walk) return run(*o);
    run_walk_bench({o->model, o->tokenizer, o->config, o->height, o->width, o->threads, o->precision, o->weights,
                    o->frames, o->steps, o->keep});
  });
}

}  // namespace sdwalk::cli
