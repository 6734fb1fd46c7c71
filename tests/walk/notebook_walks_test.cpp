// The cookbook notebook's walks, replayed from expected/interpolation/*: each file's stored
// embeddings and noise go through the planner of its walk, and the planned frames must equal the
// walked / interpolated tensors the notebook fed to the pipeline. The mode comes from the file's
// tensor names, its parameters from __metadata__.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "common/compare.hpp"
#include "common/fixtures.hpp"
#include "common/walk_fixture.hpp"
#include "sdwalk/safetensors.hpp"
#include "sdwalk/walk.hpp"

#if __has_include("sdwalk/torch_generator.hpp")
#include "sdwalk/torch_generator.hpp"
#define SDWALK_HAVE_TORCH_GENERATOR 1
#endif

namespace sdwalk {
namespace {

std::string mode_of(const SafeTensors& f) { return test::walk_mode(f); }

// The tensor holding the noise the walk drew from the generator.
std::string noise_name(const std::string& mode) { return mode == "noise" || mode == "circle" ? "latents_pair" : "latents"; }

std::vector<std::filesystem::path> walk_files() { return test::walk_fixture_files(); }

// Compares frame tensors with rows of a stacked reference; returns the largest difference seen.
struct Worst {
  test::Diff diff;
  void add(const test::Diff& d) {
    if (d.rel() >= diff.rel()) diff = d;
  }
};

Tensor row(const Tensor& stacked, int64_t i) { return stacked.slice0(i, i + 1); }

template <class Get>
Worst compare_rows(const std::vector<Frame>& frames, const Tensor& ref, Get get, const std::string& label) {
  Worst w;
  EXPECT_EQ(int64_t(frames.size()), ref.dim(0)) << label << ": frame count";
  for (size_t i = 0; i < frames.size() && int64_t(i) < ref.dim(0); ++i) {
    const Tensor& ours = get(frames[i]);
    const Tensor theirs = row(ref, int64_t(i));
    EXPECT_EQ(ours.numel(), theirs.numel()) << label << " frame " << i;
    w.add(test::compare(ours, theirs));
  }
  std::cout << "  " << label << ": " << w.diff.str() << "\n";
  return w;
}

const Tensor& cond_of(const Frame& f) { return f.cond; }
const Tensor& uncond_of(const Frame& f) { return f.uncond; }
const Tensor& latents_of(const Frame& f) { return f.latents; }

// Every frame uses the same tensor `ref` (e.g. the drift walk's one noise); exact.
void expect_all_equal(const std::vector<Frame>& frames, const Tensor& (*get)(const Frame&), const Tensor& ref,
                      const std::string& label) {
  for (size_t i = 0; i < frames.size(); ++i)
    EXPECT_EQ(test::compare(get(frames[i]), ref).max_abs, 0.0) << label << " frame " << i;
}

constexpr double kRel = 1e-5;  // the bound for the stored embeddings and latents

// Beyond the bound, the planners reproduce NumPy's float32 order of operations (its pairwise sum,
// OpenBLAS's sdot for the norms, torch's float32 linspace): every stored tensor comes out bit for
// bit. A regression in that emulation shows here first, long before it shows in an image.
void expect_within(const Worst& w, const std::string& label) {
  EXPECT_LE(w.diff.rel(), kRel) << label;
  EXPECT_EQ(w.diff.max_abs, 0.0) << label << ": not bit for bit";
}

TEST(NotebookWalks, EveryFixtureFileHoldsAKnownWalk) {
  const auto files = walk_files();
  if (files.empty()) GTEST_SKIP() << "no walk files in " << test::fixture("expected/interpolation");
  for (const auto& path : files) EXPECT_NE(mode_of(SafeTensors::open(path)), "") << path << ": no known walk tensor";
}

TEST(NotebookWalks, PlannedFramesEqualTheStoredWalks) {
  const auto files = walk_files();
  if (files.empty()) GTEST_SKIP() << "no walk files in " << test::fixture("expected/interpolation");
  for (const auto& path : files) {
    SCOPED_TRACE(path.string());
    const SafeTensors f = SafeTensors::open(path);
    const std::string mode = mode_of(f);
    const std::string name = path.stem().string() + " (" + mode + ")";
    const int n = test::metadata_json(f, "num_interpolation_steps").get<int>();
    std::cout << name << ", N = " << n << "\n";
    if (mode == "drift") {
      const double step = test::metadata_json(f, "step_size").get<double>();
      const auto frames = plan_drift(f.get("prompt_embeds"), f.get("negative_prompt_embeds"), f.get("latents"), n, step);
      // Float32 adds of a float32 offset: bit for bit (walks.json: max_abs_diff_formula 0).
      EXPECT_EQ(compare_rows(frames, f.get("walked_prompt_embeds"), cond_of, name + " cond").diff.max_abs, 0.0);
      EXPECT_EQ(compare_rows(frames, f.get("walked_negative_prompt_embeds"), uncond_of, name + " uncond").diff.max_abs, 0.0);
      expect_all_equal(frames, latents_of, f.get("latents"), name + " latents");
    } else if (mode == "noise") {
      const auto frames = plan_noise(f.get("prompt_embeds"), f.get("negative_prompt_embeds"), f.get("latents_pair"), n);
      expect_within(compare_rows(frames, f.get("interpolated_latents"), latents_of, name + " latents"), name);
      expect_all_equal(frames, cond_of, f.get("prompt_embeds"), name + " cond");
      expect_all_equal(frames, uncond_of, f.get("negative_prompt_embeds"), name + " uncond");
    } else if (mode == "prompts") {
      const auto conds = unstack0(f.get("prompts_embeds"));
      const auto unconds = unstack0(f.get("negative_prompts_embeds"));
      const auto frames = plan_prompts(conds, unconds, f.get("latents"), n, false);
      EXPECT_EQ(frames.size(), (conds.size() - 1) * size_t(n));
      expect_within(compare_rows(frames, f.get("interpolated_prompt_embeds"), cond_of, name + " cond"), name);
      expect_within(compare_rows(frames, f.get("interpolated_negative_prompts_embeds"), uncond_of, name + " uncond"),
                    name);
      expect_all_equal(frames, latents_of, f.get("latents"), name + " latents");
    } else if (mode == "circle") {
      const CircleScales s = circle_scales(n);
      const Tensor sx = Tensor::from_vector({n}, s.x), sy = Tensor::from_vector({n}, s.y);
      const test::Diff dx = test::compare(sx, f.get("walk_scale_x")), dy = test::compare(sy, f.get("walk_scale_y"));
      std::cout << "  " << name << " walk_scale_x: " << dx.str() << "\n  " << name << " walk_scale_y: " << dy.str() << "\n";
      EXPECT_LE(dx.max_abs, 1.2e-7);  // torch's SLEEF cos/sin are within 1 ulp of the rounded value
      EXPECT_LE(dy.max_abs, 1.2e-7);
      const auto frames = plan_circle(f.get("prompt_embeds"), f.get("negative_prompt_embeds"), f.get("latents_pair"), n,
                                      false);
      expect_within(compare_rows(frames, f.get("circular_latents"), latents_of, name + " latents"), name);
      expect_all_equal(frames, cond_of, f.get("prompt_embeds"), name + " cond");
      expect_all_equal(frames, uncond_of, f.get("negative_prompt_embeds"), name + " uncond");
    } else {
      ADD_FAILURE() << "no known walk in " << path;
    }
  }
}

// --seamless drops exactly the frames the notebook renders twice, and nothing else.
TEST(NotebookWalks, SeamlessDropsOnlyTheRepeatedFrames) {
  const auto files = walk_files();
  if (files.empty()) GTEST_SKIP() << "no walk files in " << test::fixture("expected/interpolation");
  int checked = 0;
  for (const auto& path : files) {
    SCOPED_TRACE(path.string());
    const SafeTensors f = SafeTensors::open(path);
    const std::string mode = mode_of(f);
    const int n = test::metadata_json(f, "num_interpolation_steps").get<int>();
    std::vector<Frame> all, seamless;
    std::vector<size_t> dropped;  // indices into `all`
    std::vector<size_t> twin;     // the kept frame each dropped one repeats
    if (mode == "prompts") {
      const auto conds = unstack0(f.get("prompts_embeds"));
      const auto unconds = unstack0(f.get("negative_prompts_embeds"));
      all = plan_prompts(conds, unconds, f.get("latents"), n, false);
      seamless = plan_prompts(conds, unconds, f.get("latents"), n, true);
      for (size_t k = 1; k + 1 < conds.size(); ++k) {
        dropped.push_back(k * size_t(n));
        twin.push_back(k * size_t(n) - 1);
      }
    } else if (mode == "circle") {
      all = plan_circle(f.get("prompt_embeds"), f.get("negative_prompt_embeds"), f.get("latents_pair"), n, false);
      seamless = plan_circle(f.get("prompt_embeds"), f.get("negative_prompt_embeds"), f.get("latents_pair"), n, true);
      dropped.push_back(size_t(n) - 1);
      twin.push_back(0);
    } else {
      continue;
    }
    ++checked;
    ASSERT_EQ(seamless.size() + dropped.size(), all.size());
    // The dropped frames repeat a kept one (up to float32 rounding of the slerp / sin(2 pi)).
    for (size_t d = 0; d < dropped.size(); ++d) {
      const Frame& a = all[dropped[d]];
      const Frame& b = all[twin[d]];
      EXPECT_LE(test::compare(a.cond, b.cond).rel(), 1e-6) << "frame " << dropped[d];
      EXPECT_LE(test::compare(a.uncond, b.uncond).rel(), 1e-6) << "frame " << dropped[d];
      EXPECT_LE(test::compare(a.latents, b.latents).rel(), 1e-6) << "frame " << dropped[d];
    }
    // The kept frames are the notebook's, in order, bit for bit.
    size_t j = 0;
    for (size_t i = 0; i < all.size(); ++i) {
      if (std::find(dropped.begin(), dropped.end(), i) != dropped.end()) continue;
      ASSERT_LT(j, seamless.size());
      EXPECT_EQ(test::compare(seamless[j].cond, all[i].cond).max_abs, 0.0) << "frame " << i;
      EXPECT_EQ(test::compare(seamless[j].uncond, all[i].uncond).max_abs, 0.0) << "frame " << i;
      EXPECT_EQ(test::compare(seamless[j].latents, all[i].latents).max_abs, 0.0) << "frame " << i;
      EXPECT_EQ(seamless[j].t, all[i].t);
      ++j;
    }
  }
  if (checked == 0) GTEST_SKIP() << "no prompts or circle walk among the fixtures";
}

#ifdef SDWALK_HAVE_TORCH_GENERATOR
// The notebook draws every walk's noise from one generator seeded once (walks.json rng_order); a
// file that re-seeds (walk3b) draws from a fresh generator. So each file's stored noise must be the
// next draw of the running chain or the first draw of a fresh generator of its seed.
TEST(NotebookWalks, StoredNoiseIsTheNotebooksChainOfDraws) {
  const auto files = walk_files();
  if (files.empty()) GTEST_SKIP() << "no walk files in " << test::fixture("expected/interpolation");
  std::optional<TorchGenerator> chain;
  int continued = 0;  // files whose noise continued a chain past its first draw
  for (const auto& path : files) {
    SCOPED_TRACE(path.string());
    const SafeTensors f = SafeTensors::open(path);
    const uint64_t seed = test::metadata_json(f, "seed").get<uint64_t>();
    const Tensor stored = f.get(noise_name(mode_of(f)));
    const bool fresh_chain = !chain || chain->initial_seed() != seed;
    if (fresh_chain) chain.emplace(seed);
    TorchGenerator next = *chain;
    const double from_chain = test::compare(next.randn(stored.shape()), stored).max_abs;
    if (from_chain == 0.0) {
      *chain = next;
      if (!fresh_chain) ++continued;
      std::cout << "  " << path.stem().string() << ": next draw of the chain seeded " << seed << "\n";
      continue;
    }
    TorchGenerator fresh(seed);
    EXPECT_EQ(test::compare(fresh.randn(stored.shape()), stored).max_abs, 0.0)
        << "neither the chain's next draw (max diff " << from_chain << ") nor a fresh draw of seed " << seed;
    std::cout << "  " << path.stem().string() << ": first draw of a re-seeded generator (" << seed << ")\n";
  }
  if (files.size() > 1) {
    EXPECT_GE(continued, 1) << "no walk continued the generator of the one before it";
  }
}
#endif

}  // namespace
}  // namespace sdwalk
