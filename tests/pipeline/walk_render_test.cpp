// The cookbook's walks rendered through the library: plan_walk (prompts encoded by sdwalk, the
// stored noise given as a --noise file) + the pipeline reproduce the notebook's frames.
#include <gtest/gtest.h>
#include <unistd.h>

#include "common/compare.hpp"
#include "common/fixtures.hpp"
#include "common/walk_fixture.hpp"
#include "sdwalk/image.hpp"
#include "sdwalk/walk_runner.hpp"

namespace sdwalk {
namespace {

const StableDiffusionPipeline& fixture_pipeline() {
  static const StableDiffusionPipeline p = StableDiffusionPipeline::load({test::fixture("mini-sd15"), {}, {}});
  return p;
}

WalkSettings settings_of(const test::WalkFixture& w, const std::filesystem::path& noise_file) {
  WalkSettings s;
  s.mode = parse_walk_mode(w.mode);
  s.prompts = w.prompts;
  s.negative_prompts = w.negative_prompts;
  s.seeds = {w.seed};
  s.height = w.height;
  s.width = w.width;
  s.num_inference_steps = w.num_inference_steps;
  s.num_interpolation_steps = w.num_interpolation_steps;
  s.guidance_scale = w.guidance_scale;
  if (w.step_size) s.step_size = w.step_size;
  s.scheduler = w.scheduler_class;
  s.noise_file = noise_file.string();
  s.format = "png";
  return s;
}

TEST(WalkRender, EveryCookbookWalkReproducesTheNotebooksFrames) {
  const auto files = test::walk_fixture_files();
  if (files.empty()) GTEST_SKIP() << "no walk fixtures in " << test::fixture("expected/interpolation");
  SDWALK_REQUIRE_FIXTURE(test::fixture("mini-sd15"));
  const auto& pipe = fixture_pipeline();
  for (const auto& path : files) {
    const test::WalkFixture w = test::read_walk_fixture(path);
    ASSERT_FALSE(w.mode.empty()) << path;
    // The walk's scheduler is built on the model's config: the notebook's keyword arguments must agree with it.
    for (const auto& [key, value] : w.scheduler_kwargs.items()) {
      if (pipe.files().scheduler_config.contains(key)) {
        EXPECT_EQ(pipe.files().scheduler_config[key], value) << path << ": scheduler " << key;
      }
    }

    const auto noise_file = std::filesystem::temp_directory_path() / ("sdwalk_noise_" + path.stem().string() + ".safetensors");
    save_safetensors(noise_file, {{"noise", w.noise}});
    const WalkSettings s = settings_of(w, noise_file);
    const std::vector<Frame> frames = plan_walk(pipe, s);
    ASSERT_EQ(int64_t(frames.size()), w.frames.dim(0)) << path;

    double worst = 0;
    for (size_t i = 0; i < frames.size(); ++i) {
      auto scheduler = pipe.make_scheduler(s.scheduler);
      const Tensor latents = pipe.denoise(*scheduler, frames[i].cond, frames[i].uncond, frames[i].latents,
                                          {s.num_inference_steps, s.guidance_scale}, nullptr);
      const auto d = test::compare(pipe.decode(latents), w.frames.slice0(int64_t(i), int64_t(i) + 1));
      EXPECT_LE(d.max_abs, 2e-3) << path.filename() << " frame " << i << ": " << d.str();
      worst = std::max(worst, d.max_abs);
    }
    std::printf("[ %s ] %s: %zu frames, max abs error %.3g\n", path.filename().c_str(), w.mode.c_str(), frames.size(),
                worst);
    std::filesystem::remove(noise_file);
  }
}

// The frame's pixels (its PNG text holds the settings, batch size included).
std::vector<uint8_t> frame_pixels(const std::filesystem::path& path) { return read_png(path).rgb; }

// A frame's ancestral (euler_a) or LCM noise is its own: in every walk mode batch 1 and batch 3
// render the same frames, bit for bit, and so does a run resumed after some frames were deleted.
TEST(WalkRender, FramesDoNotDependOnTheirBatchOrOnResume) {
  SDWALK_REQUIRE_FIXTURE(test::fixture("mini-sd15"));
  const auto& pipe = fixture_pipeline();
  const auto root = std::filesystem::temp_directory_path() / ("sdwalk_batch_" + std::to_string(::getpid()));
  for (const std::string mode : {"drift", "noise", "prompts", "circle", "keyframes"}) {
    for (const std::string scheduler : {"lms", "euler_a", "lcm"}) {
      const std::string name = mode + " / " + scheduler;
      WalkSettings s;
      s.mode = parse_walk_mode(mode);
      const bool two_prompts = s.mode == WalkMode::Prompts || s.mode == WalkMode::Keyframes;
      s.prompts = two_prompts ? std::vector<std::string>{"a red circle", "a blue square"}
                              : std::vector<std::string>{"a red circle"};
      s.seeds = {5};
      s.height = s.width = 64;
      s.num_inference_steps = 3;
      s.num_interpolation_steps = 5;
      s.step_size = 0.05;
      s.scheduler = scheduler;
      s.guidance_scale = scheduler == "lcm" ? 1.0 : 7.5;
      s.format = "png";
      const std::vector<Frame> frames = plan_walk(pipe, s);
      ASSERT_GE(frames.size(), 4u) << name;
      std::vector<std::vector<uint8_t>> by_batch[2];
      for (int pass = 0; pass < 2; ++pass) {
        s.batch_size = pass == 0 ? 1 : 3;
        const auto dir = root / (mode + "_" + scheduler + "_batch" + std::to_string(s.batch_size));
        std::filesystem::remove_all(dir);
        ASSERT_EQ(render_walk(pipe, s, frames, dir), frames.size()) << name;
        for (size_t i = 0; i < frames.size(); ++i) by_batch[pass].push_back(frame_pixels(frame_path(dir, i)));
        if (pass == 1) {  // resume: frames 1 and 2 rendered again, in one batch of their own
          std::filesystem::remove(frame_path(dir, 1));
          std::filesystem::remove(frame_path(dir, 2));
          ASSERT_EQ(render_walk(pipe, s, frames, dir), 2u) << name;
          for (size_t i : {1u, 2u}) EXPECT_EQ(frame_pixels(frame_path(dir, i)), by_batch[0][i]) << name << ": resumed frame " << i;
        }
      }
      for (size_t i = 0; i < frames.size(); ++i)
        EXPECT_EQ(by_batch[0][i], by_batch[1][i]) << name << ": frame " << i << " differs between batch 1 and 3";
      // Neighbouring frames differ: the walk moves (a walk of equal frames would pass the above trivially).
      EXPECT_NE(by_batch[0][0], by_batch[0][frames.size() / 2]) << name;
    }
  }
  std::filesystem::remove_all(root);
}

}  // namespace
}  // namespace sdwalk
