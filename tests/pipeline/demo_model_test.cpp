// The shipped demo model (models/demo) draws what its captions say: held-out captions (attribute
// combinations never seen in training, listed with their expected look in models/demo/heldout.json)
// are rendered by the pipeline and checked with pixel measures (background colour, the shape's
// dominant colour, its mass centre); and a prompts walk between two captions that differ in colour
// moves the shape's colour monotonically. Skipped when the model is absent.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <fstream>
#include <iostream>
#include <map>

#include "common/fixtures.hpp"
#include "sdwalk/stable_diffusion_pipeline.hpp"
#include "sdwalk/walk.hpp"

namespace sdwalk {
namespace {

using Rgb = std::array<double, 3>;

// Sampling of the checks: the model's own scheduler, few steps (the model card's settings).
constexpr int kSteps = 20;
constexpr double kGuidance = 2.0;
constexpr uint64_t kSeed = 0;
constexpr double kShapeDistance = 80;    // L1 distance (0..765) from the background that makes a pixel "shape"
constexpr double kCentreTolerance = 0.1; // of the image side; positions are >= 0.22 apart
constexpr double kWalkSlack = 0.05;      // allowed step back of the colour along the walk (fraction of the way)

std::filesystem::path checks_file() { return test::demo_model_dir() / "heldout.json"; }

nlohmann::json read_checks() {
  std::ifstream in(checks_file());
  return nlohmann::json::parse(in);
}

const StableDiffusionPipeline& demo_pipeline() {
  static const StableDiffusionPipeline p = StableDiffusionPipeline::load({test::demo_model_dir(), {}, {}});
  return p;
}

Rgb rgb(const nlohmann::json& j) { return {j[0].get<double>(), j[1].get<double>(), j[2].get<double>()}; }
double l1(const Rgb& a, const Rgb& b) { return std::abs(a[0] - b[0]) + std::abs(a[1] - b[1]) + std::abs(a[2] - b[2]); }

// Latent noise for `batch` pictures of size x size: the UNet's channels, the VAE's downscale factor
// (2^(blocks - 1), as diffusers' vae_scale_factor).
Tensor noise(int batch, int size, uint64_t seed) {
  const auto& f = demo_pipeline().files();
  const int factor = 1 << (f.vae_config["block_out_channels"].size() - 1);
  TorchGenerator g(seed);
  return g.randn({batch, f.unet_config["in_channels"].get<int64_t>(), size / factor, size / factor});
}

// Renders one picture per (cond, latents) row: NHWC floats in [0, 1] -> per-picture RGB pixels in 0..255.
std::vector<std::vector<Rgb>> render(const Tensor& cond, const Tensor& uncond, const Tensor& latents) {
  const auto& pipe = demo_pipeline();
  auto scheduler = pipe.make_scheduler("");
  DenoiseOptions o;
  o.num_inference_steps = kSteps;
  o.guidance_scale = kGuidance;
  const Tensor images = pipe.decode(pipe.denoise(*scheduler, cond, uncond, latents, o, nullptr));
  const int64_t B = images.dim(0), n = images.dim(1) * images.dim(2);
  auto out = std::vector<std::vector<Rgb>>(static_cast<size_t>(B), std::vector<Rgb>(static_cast<size_t>(n)));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t i = 0; i < n; ++i)
      for (int c = 0; c < 3; ++c) out[b][i][c] = std::round(images.f32()[(b * n + i) * 3 + c] * 255.0);
  return out;
}

struct Measured {
  std::string background, colour;
  double cx = NAN, cy = NAN;
  double area = 0;
};

// Every pixel takes its nearest palette colour; the most frequent one is the background; pixels far
// from it form the shape, whose most frequent palette colour and mass centre are measured.
Measured measure(const std::vector<Rgb>& px, int side, const nlohmann::json& palette) {
  std::vector<std::string> names;
  std::vector<Rgb> colours;
  for (auto it = palette.begin(); it != palette.end(); ++it) {
    names.push_back(it.key());
    colours.push_back(rgb(it.value()));
  }
  std::vector<size_t> nearest(px.size());
  std::vector<int> counts(names.size());
  for (size_t i = 0; i < px.size(); ++i) {
    size_t best = 0;
    for (size_t k = 1; k < colours.size(); ++k)
      if (l1(px[i], colours[k]) < l1(px[i], colours[best])) best = k;
    nearest[i] = best;
    ++counts[best];
  }
  const size_t bg = size_t(std::max_element(counts.begin(), counts.end()) - counts.begin());
  Measured m;
  m.background = names[bg];
  std::vector<int> shape_counts(names.size());
  double sx = 0, sy = 0, n = 0;
  for (size_t i = 0; i < px.size(); ++i) {
    if (nearest[i] == bg || l1(px[i], colours[bg]) <= kShapeDistance) continue;
    ++shape_counts[nearest[i]];
    sx += double(i % side) + 0.5;
    sy += double(i / side) + 0.5;
    ++n;
  }
  if (n > 0) {
    m.colour = names[size_t(std::max_element(shape_counts.begin(), shape_counts.end()) - shape_counts.begin())];
    m.cx = sx / n / side;
    m.cy = sy / n / side;
  }
  m.area = n / double(px.size());
  return m;
}

TEST(DemoModelPictures, HeldOutCaptionsAreDrawnRight) {
  SDWALK_REQUIRE_FIXTURE(test::demo_model_dir() / "model_index.json");
  SDWALK_REQUIRE_FIXTURE(checks_file());
  const auto checks = read_checks();
  const auto& cases = checks.at("cases");
  const int side = checks.at("image_size").get<int>();
  ASSERT_GE(cases.size(), 10u) << "the issue asks for at least 10 held-out captions";
  const auto& pipe = demo_pipeline();

  std::vector<Tensor> conds, unconds;
  for (const auto& c : cases) {
    conds.push_back(pipe.encode_prompt(c.at("caption").get<std::string>()).embeds);
    unconds.push_back(pipe.encode_prompt("").embeds);
  }
  const auto pictures = render(cat0(conds), cat0(unconds), noise(int(cases.size()), side, kSeed));

  size_t right = 0;
  for (size_t i = 0; i < cases.size(); ++i) {
    const auto& c = cases[i];
    const Measured m = measure(pictures[i], side, checks.at("palette"));
    const double dx = m.cx - c.at("centre")[0].get<double>(), dy = m.cy - c.at("centre")[1].get<double>();
    const double centre_error = std::hypot(dx, dy);
    const bool ok = m.background == c.at("background").get<std::string>() &&
                    m.colour == c.at("colour").get<std::string>() && centre_error <= kCentreTolerance;
    right += ok;
    std::cout << "[ measured ] " << (ok ? "right" : "WRONG") << " \"" << c.at("caption").get<std::string>()
              << "\": background " << m.background << ", shape " << (m.colour.empty() ? "none" : m.colour)
              << ", centre (" << m.cx << ", " << m.cy << ") off by " << centre_error << ", area " << m.area
              << " (expected area " << c.at("area").get<double>() << ")\n";
  }
  const size_t needed = (cases.size() * 9 + 9) / 10;  // at least 9 of 10
  std::cout << "[ measured ] held-out captions drawn right: " << right << "/" << cases.size() << "\n";
  EXPECT_GE(right, needed) << right << " of " << cases.size() << " held-out captions drawn right";
}

TEST(DemoModelPictures, PromptsWalkMovesTheColourMonotonically) {
  SDWALK_REQUIRE_FIXTURE(test::demo_model_dir() / "model_index.json");
  SDWALK_REQUIRE_FIXTURE(checks_file());
  const auto checks = read_checks();
  const auto& walk = checks.at("walk");
  const int side = checks.at("image_size").get<int>();
  const auto& pipe = demo_pipeline();
  const Tensor uncond = pipe.encode_prompt("").embeds;
  const auto frames = plan_prompts({pipe.encode_prompt(walk.at("from").get<std::string>()).embeds,
                                    pipe.encode_prompt(walk.at("to").get<std::string>()).embeds},
                                   {uncond, uncond}, noise(1, side, kSeed), 8, false);
  ASSERT_EQ(frames.size(), 8u);
  std::vector<Tensor> conds, unconds, latents;
  for (const auto& f : frames) {
    conds.push_back(f.cond);
    unconds.push_back(f.uncond);
    latents.push_back(f.latents);
  }
  const auto pictures = render(cat0(conds), cat0(unconds), cat0(latents));

  // Where the shape's mean colour lies on the way from the first colour to the second (0 .. 1).
  const Rgb a = rgb(walk.at("from_rgb")), b = rgb(walk.at("to_rgb")), bg = rgb(walk.at("background_rgb"));
  std::vector<double> along;
  for (const auto& px : pictures) {
    Rgb mean{0, 0, 0};
    double n = 0;
    for (const auto& p : px)
      if (l1(p, bg) > kShapeDistance) {
        for (int c = 0; c < 3; ++c) mean[c] += p[c];
        ++n;
      }
    ASSERT_GT(n, 0) << "a frame without a shape";
    double dot = 0, norm = 0;
    for (int c = 0; c < 3; ++c) {
      dot += (mean[c] / n - a[c]) * (b[c] - a[c]);
      norm += (b[c] - a[c]) * (b[c] - a[c]);
    }
    along.push_back(dot / norm);
  }
  std::cout << "[ measured ] colour along the walk:";
  for (double s : along) std::cout << " " << s;
  std::cout << "\n";
  EXPECT_LT(along.front(), 0.2) << "the first frame is not the first colour";
  EXPECT_GT(along.back(), 0.8) << "the last frame is not the second colour";
  for (size_t i = 1; i < along.size(); ++i)
    EXPECT_GE(along[i], along[i - 1] - kWalkSlack) << "the colour steps back between frames " << i - 1 << " and " << i;
}

}  // namespace
}  // namespace sdwalk
