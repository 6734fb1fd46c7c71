// sdwalk bench --walk. Without --model the random checkpoint is written by a child process, so the
// bench's own peak RSS is the walk's: the model is loaded from disk, mapped and released exactly as
// a user's checkpoint is. The last line is one JSON object for scripts.
#include "cli/bench_walk.hpp"

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "cli/bench_common.hpp"
#include "cli/demo_model.hpp"
#include "cli/model_options.hpp"
#include "sdwalk/error.hpp"
#include "backend/cpu/ops.hpp"
#include "models/random_weights.hpp"
#include "sdwalk/run_folder.hpp"
#include "sdwalk/walk_runner.hpp"

namespace sdwalk::cli {

namespace fs = std::filesystem;

namespace {

// A fresh folder under $TMPDIR, removed with everything in it unless kept.
class TempFolder {
 public:
  explicit TempFolder(bool keep) : keep_(keep) {
    std::string pattern = (fs::temp_directory_path() / "sdwalk-bench-XXXXXX").string();
    check(mkdtemp(pattern.data()) != nullptr, "bench: cannot create a folder in " + fs::temp_directory_path().string());
    path_ = pattern;
  }
  ~TempFolder() {
    std::error_code ec;
    if (keep_) std::fprintf(stderr, "kept %s\n", path_.c_str());
    else fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
  bool keep_;
};

// The random SD 1.5 folder, written by a child process (its memory never counts as ours).
void write_random_model_in_child(const fs::path& dir, DType dtype, const fs::path& tokenizer) {
  std::fflush(nullptr);
  const pid_t pid = fork();
  check(pid >= 0, "bench: fork failed");
  if (pid == 0) {
    try {
      RandomWeightOptions r;
      r.dtype = dtype;
      write_random_sd15_folder(dir, r, tokenizer);
      _exit(0);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "sdwalk: bench: writing the random model: %s\n", e.what());
      _exit(1);
    }
  }
  int status = 0;
  waitpid(pid, &status, 0);
  check(WIFEXITED(status) && WEXITSTATUS(status) == 0, "bench: could not write the random SD 1.5 model to " + dir.string());
}

double share(double part, double whole) { return whole > 0 ? part / whole : 0.0; }

}  // namespace

void run_walk_bench(const WalkBenchOptions& o) {
  check(o.frames >= 2, "bench --walk: --frames must be at least 2, got " + std::to_string(o.frames));
  check(o.steps >= 1, "bench --walk: --steps must be at least 1, got " + std::to_string(o.steps));
  ops::set_threads(o.threads);
  const Precision precision = parse_precision(o.precision, "--precision");
  const WeightStorage storage = parse_weight_storage(o.weights, "--weights");
  TempFolder temp(o.keep);

  ModelOptions model;
  model.threads = o.threads;
  model.precision = precision_name(precision);
  model.weights = weight_storage_name(storage);
  model.config = o.config;
  if (o.model.empty()) {
    fs::path tokenizer = o.tokenizer;
    if (tokenizer.empty()) {
      const auto demo = find_demo_model();
      check(demo.has_value(), "bench --walk: random weights need a CLIP tokenizer: pass --tokenizer DIR (vocab.json, "
                              "merges.txt) or --model");
      tokenizer = *demo / "tokenizer";
    }
    // Stored as a typical checkpoint for this precision and weight format is.
    const DType dtype = precision == Precision::BF16 ? DType::BF16 : storage == WeightStorage::F32 ? DType::F32 : DType::F16;
    std::printf("writing a random SD 1.5 checkpoint (%s) to %s\n", dtype_name(dtype).c_str(), temp.path().c_str());
    std::fflush(stdout);
    write_random_model_in_child(temp.path() / "model", dtype, tokenizer);
    model.model = (temp.path() / "model").string();
  } else {
    model.model = o.model;
    model.tokenizer = o.tokenizer;
  }

  const int threads = ops::threads();
  std::printf("sdwalk bench --walk: %s, %d frames x %d steps at %dx%d, precision %s, weights %s, isa %s, %d threads\n",
              o.model.empty() ? "SD 1.5 with random weights" : o.model.c_str(), o.frames, o.steps, o.width, o.height,
              precision_name(precision).c_str(), weight_storage_name(storage).c_str(), ops::isa_name(ops::isa()).c_str(),
              threads);
  std::fflush(stdout);
  auto t0 = Clock::now();
  const StableDiffusionPipeline pipe = load_pipeline(model);
  const double load_s = seconds_since(t0);

  WalkSettings s;
  s.mode = WalkMode::Prompts;
  s.prompts = {"a red circle on a white background", "a blue square on a black background"};
  s.seeds = {42};
  s.num_inference_steps = o.steps;
  s.num_interpolation_steps = o.frames;
  s.height = o.height;
  s.width = o.width;
  s.model = model.model;
  s.precision = precision_name(precision);
  s.weight_storage = weight_storage_name(storage);
  s.format = "gif";
  s.output = (temp.path() / "walk.gif").string();
  const RunFolder run = RunFolder::create(s);

  pipe.reset_stage_times();
  ops::reset_op_counters();
  t0 = Clock::now();
  const std::vector<Frame> frames = plan_walk(pipe, run.settings());
  RenderProgress progress;
  progress.on_step = [&](size_t frame, size_t total, int step, int steps) {
    if (step == steps) std::fprintf(stderr, "frame %zu/%zu done\n", frame + 1, total);
  };
  render_walk(pipe, run.settings(), frames, run.dir(), progress);
  const double render_s = seconds_since(t0);
  const auto t1 = Clock::now();
  run.write_animation(frames.size());
  const double animation_s = seconds_since(t1);
  const ops::OpCounters ops_done = ops::op_counters();
  const StageTimes st = pipe.stage_times();
  const double rss = peak_rss_mb();

  const double walk_s = render_s + animation_s;
  const double network_gflops = st.unet_s > 0 ? (ops_done.flops() * 1e-9) / (st.unet_s + st.vae_s + st.text_encoder_s) : 0;
  nlohmann::json conv_detail = nlohmann::json::array();
  const double conv_gflops = onednn_conv_gflops(precision, conv_detail);

  std::printf("model load: %.2f s\n", load_s);
  std::printf("walk: %zu frames in %.2f s = %.2f frames/min (render %.2f s, animation %.2f s)\n", frames.size(), walk_s,
              60.0 * double(frames.size()) / walk_s, render_s, animation_s);
  std::printf("  text encoder %.2f s (%.1f%%) | unet %.2f s (%.1f%%) | vae decode %.2f s (%.1f%%) | other %.2f s\n",
              st.text_encoder_s, 100 * share(st.text_encoder_s, walk_s), st.unet_s, 100 * share(st.unet_s, walk_s),
              st.vae_s, 100 * share(st.vae_s, walk_s), walk_s - st.text_encoder_s - st.unet_s - st.vae_s);
  std::printf("  attention %.2f s (%.1f%% of the unet's time)\n", ops_done.attention_s,
              100 * share(ops_done.attention_s, st.unet_s));
  std::printf("  networks %.1f GFLOP at %.1f GFLOP/s; oneDNN 3x3 convolution %.1f GFLOP/s (ratio %.2f)\n",
              ops_done.flops() * 1e-9, network_gflops, conv_gflops, share(network_gflops, conv_gflops));
  std::printf("peak RSS: %.0f MB\n", rss);

  nlohmann::json result{{"bench", "walk"},
                        {"frames", frames.size()},
                        {"steps", o.steps},
                        {"height", o.height},
                        {"width", o.width},
                        {"threads", threads},
                        {"precision", precision_name(precision)},
                        {"weights", weight_storage_name(storage)},
                        {"isa", ops::isa_name(ops::isa())},
                        {"load_s", load_s},
                        {"walk_s", walk_s},
                        {"frames_per_min", 60.0 * double(frames.size()) / walk_s},
                        {"text_encoder_s", st.text_encoder_s},
                        {"unet_s", st.unet_s},
                        {"vae_s", st.vae_s},
                        {"animation_s", animation_s},
                        {"attention_s", ops_done.attention_s},
                        {"network_gflop", ops_done.flops() * 1e-9},
                        {"network_gflops", network_gflops},
                        {"onednn_conv_gflops", conv_gflops},
                        {"onednn_conv", conv_detail},
                        {"ratio", share(network_gflops, conv_gflops)},
                        {"peak_rss_mb", rss}};
  std::printf("%s\n", result.dump().c_str());
}

}  // namespace sdwalk::cli
