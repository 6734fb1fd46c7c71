// Inversion on the demo model (models/demo): DDIM inversion against the exact (fixed-point) one on
// 10 pictures the model drew (its held-out captions) and 3 it did not (a gradient, discs, a
// texture made here). Exact inversion must regenerate the VAE round trip decode(encode(x)) within
// 1/255 mean; the PSNRs against the input are printed. And a morph walk between two demo pictures
// of different captions: endpoint frames within the same bound, the colour moving monotonically.
#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <cmath>
#include <fstream>
#include <iostream>

#include "common/fixtures.hpp"
#include "sdwalk/image.hpp"
#include "sdwalk/stable_diffusion_pipeline.hpp"
#include "sdwalk/walk_runner.hpp"

namespace sdwalk {
namespace {

constexpr int kSteps = 20;
constexpr double kWalkSlack = 0.05;  // as the demo walk test: a step back of at most 5% of the way

const StableDiffusionPipeline& demo() {
  static const StableDiffusionPipeline p = StableDiffusionPipeline::load({test::demo_model_dir(), {}, {}});
  return p;
}

nlohmann::json checks() {
  std::ifstream in(test::demo_model_dir() / "heldout.json");
  return nlohmann::json::parse(in);
}

// The demo model's own picture of `caption` (its scheduler, 20 steps, guidance 2, seed 0).
Image drawn(const std::string& caption) {
  const auto& pipe = demo();
  auto scheduler = pipe.make_scheduler("");
  const Tensor noise = TorchGenerator(0).randn(pipe.latent_shape(1, 64, 64));
  return image_from_float(pipe.decode(pipe.denoise(*scheduler, pipe.encode_prompt(caption).embeds,
                                                   pipe.encode_prompt("").embeds, noise, {kSteps, 2.0}, nullptr)));
}

// Pictures the model never drew: a two-way gradient, discs over a gradient, a texture of waves.
Image synthetic(int kind) {
  Image im;
  im.width = im.height = 64;
  im.rgb.resize(64 * 64 * 3);
  for (int y = 0; y < 64; ++y)
    for (int x = 0; x < 64; ++x) {
      double c[3] = {x * 4.0, y * 4.0, 255.0 - (x + y) * 2.0};
      if (kind == 1) {
        for (const auto& d : {std::array<double, 5>{20, 22, 10, 255, 40}, std::array<double, 5>{44, 40, 14, 30, 200}})
          if (std::hypot(x - d[0], y - d[1]) < d[2]) c[0] = d[3], c[1] = d[4], c[2] = 60;
      } else if (kind == 2) {
        c[0] = 128 + 100 * std::sin(x * 0.4) * std::cos(y * 0.3);
        c[1] = 128 + 90 * std::sin((x + y) * 0.25);
        c[2] = 128 + 80 * std::cos(x * 0.15 - y * 0.5);
      }
      for (int k = 0; k < 3; ++k) im.rgb[size_t((y * 64 + x) * 3 + k)] = uint8_t(std::clamp(std::lround(c[k]), 0L, 255L));
    }
  return im;
}

double mean_abs(const Tensor& a, const Tensor& b) {
  double s = 0;
  for (int64_t i = 0; i < a.numel(); ++i) s += std::fabs(a.f32()[i] - b.f32()[i]);
  return s / double(a.numel());
}

struct Regenerated {
  double psnr = 0, mean_vs_round_trip = 0;  // dB vs input; mean |regen - decode(encode(x))| (0..1 floats)
  double residual = 0;
};

Regenerated invert_and_regenerate(const Image& image, const std::string& prompt, InversionMethod method) {
  const auto& pipe = demo();
  const Tensor cond = pipe.encode_prompt(prompt).embeds;
  const Tensor x0 = pipe.image_latents(pipe.encode(StableDiffusionPipeline::image_to_tensor(image)), nullptr);
  InversionOptions o;
  o.num_inference_steps = kSteps;
  o.method = method;
  const InversionResult inv = pipe.invert(x0, cond, o);
  auto ddim = pipe.make_scheduler("ddim", pipe.inversion_overrides());
  const Tensor regen = pipe.decode(pipe.denoise(*ddim, cond, Tensor(), inv.noise, {kSteps, 1.0}, nullptr));
  Regenerated r;
  r.psnr = psnr(image_from_float(regen), image);
  r.mean_vs_round_trip = mean_abs(regen, pipe.decode(x0));
  r.residual = inv.max_residual;
  return r;
}

TEST(DemoInversion, ExactInversionRegeneratesTheVaeRoundTrip) {
  SDWALK_REQUIRE_FIXTURE(test::demo_model_dir() / "model_index.json");
  std::vector<std::pair<std::string, Image>> pictures;  // (caption, picture)
  const nlohmann::json all = checks();
  for (const auto& c : all.at("cases")) {
    const std::string caption = c.at("caption").get<std::string>();
    pictures.emplace_back(caption, drawn(caption));
  }
  ASSERT_GE(pictures.size(), 10u);
  pictures.resize(10);
  for (int k = 0; k < 3; ++k) pictures.emplace_back("", synthetic(k));

  std::printf("[ measured ] %-62s %9s %9s %9s %11s\n", "picture (caption)", "VAE dB", "DDIM dB", "exact dB",
              "exact-VAE");
  double sum_vae = 0, sum_ddim = 0, sum_exact = 0;
  for (size_t i = 0; i < pictures.size(); ++i) {
    const auto& [caption, image] = pictures[i];
    const auto& pipe = demo();
    const Tensor x0 = pipe.image_latents(pipe.encode(StableDiffusionPipeline::image_to_tensor(image)), nullptr);
    const double vae = psnr(image_from_float(pipe.decode(x0)), image);
    const Regenerated ddim = invert_and_regenerate(image, caption, InversionMethod::Ddim);
    const Regenerated exact = invert_and_regenerate(image, caption, InversionMethod::Exact);
    const std::string name = i < 10 ? caption : "synthetic " + std::to_string(i - 9) + " (no caption)";
    std::printf("[ measured ] %-62s %9.2f %9.2f %9.2f %8.5f/255\n", name.c_str(), vae, ddim.psnr, exact.psnr,
                exact.mean_vs_round_trip * 255);
    EXPECT_LE(exact.mean_vs_round_trip, 1.0 / 255) << name << ": worst fixed-point residual " << exact.residual;
    sum_vae += vae;
    sum_ddim += ddim.psnr;
    sum_exact += exact.psnr;
  }
  const double n = double(pictures.size());
  std::printf("[ measured ] mean PSNR: VAE round trip %.2f dB, DDIM inversion %.2f dB, exact inversion %.2f dB\n",
              sum_vae / n, sum_ddim / n, sum_exact / n);
}

TEST(DemoInversion, MorphWalkReconstructsItsEndsAndMovesTheColourMonotonically) {
  SDWALK_REQUIRE_FIXTURE(test::demo_model_dir() / "model_index.json");
  const auto walk = checks().at("walk");
  const std::string from = walk.at("from").get<std::string>(), to = walk.at("to").get<std::string>();
  const auto dir = std::filesystem::temp_directory_path() / ("sdwalk_morph_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  write_png(dir / "a.png", drawn(from));
  write_png(dir / "b.png", drawn(to));
  WalkSettings s;
  s.mode = WalkMode::Morph;
  s.images = {(dir / "a.png").string(), (dir / "b.png").string()};
  s.prompts = {from, to};
  s.seeds = {0};
  s.scheduler = "ddim";
  s.guidance_scale = 1.0;
  s.num_inference_steps = kSteps;
  s.num_interpolation_steps = 7;
  s.height = s.width = 64;
  const auto& pipe = demo();
  const std::vector<Frame> frames = plan_walk(pipe, s);
  ASSERT_EQ(frames.size(), 7u);
  std::vector<Tensor> conds, latents;
  for (const auto& f : frames) {
    conds.push_back(f.cond);
    latents.push_back(f.latents);
  }
  auto ddim = pipe.make_scheduler("ddim", pipe.inversion_overrides());
  const Tensor images = pipe.decode(pipe.denoise(*ddim, cat0(conds), Tensor(), cat0(latents), {kSteps, 1.0}, nullptr));
  // The ends regenerate the pictures' VAE round trips.
  for (int end : {0, 1}) {
    const Image picture = read_png(s.images[size_t(end)]);
    const Tensor x0 = pipe.image_latents(pipe.encode(StableDiffusionPipeline::image_to_tensor(picture)), nullptr);
    const int64_t k = end == 0 ? 0 : images.dim(0) - 1;
    const double d = mean_abs(images.slice0(k, k + 1).clone(), pipe.decode(x0));
    std::printf("[ measured ] morph end %d: mean |frame - VAE round trip| %.5f/255, PSNR vs picture %.2f dB\n", end,
                d * 255, psnr(image_from_float(images.slice0(k, k + 1)), picture));
    EXPECT_LE(d, 1.0 / 255);
  }
  // The shape's mean colour along the way from the first colour to the second (the walk test's measure).
  const auto rgb = [](const nlohmann::json& j) { return std::array<double, 3>{j[0], j[1], j[2]}; };
  const auto a = rgb(walk.at("from_rgb")), b = rgb(walk.at("to_rgb")), bg = rgb(walk.at("background_rgb"));
  std::vector<double> along;
  const int64_t n = images.dim(1) * images.dim(2);
  for (int64_t f = 0; f < images.dim(0); ++f) {
    std::array<double, 3> mean{0, 0, 0};
    double count = 0;
    for (int64_t i = 0; i < n; ++i) {
      std::array<double, 3> p;
      for (int c = 0; c < 3; ++c) p[size_t(c)] = std::round(images.f32()[(f * n + i) * 3 + c] * 255.0);
      if (std::fabs(p[0] - bg[0]) + std::fabs(p[1] - bg[1]) + std::fabs(p[2] - bg[2]) <= 80) continue;
      for (int c = 0; c < 3; ++c) mean[size_t(c)] += p[size_t(c)];
      ++count;
    }
    ASSERT_GT(count, 0) << "frame " << f << " has no shape";
    double dot = 0, norm = 0;
    for (size_t c = 0; c < 3; ++c) {
      dot += (mean[c] / count - a[c]) * (b[c] - a[c]);
      norm += (b[c] - a[c]) * (b[c] - a[c]);
    }
    along.push_back(dot / norm);
  }
  std::cout << "[ measured ] morph colour along the walk:";
  for (double v : along) std::cout << " " << v;
  std::cout << "\n";
  for (size_t i = 1; i < along.size(); ++i)
    EXPECT_GE(along[i], along[i - 1] - kWalkSlack) << "the colour steps back between frames " << i - 1 << " and " << i;
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace sdwalk
