// img2img and DDIM inversion against diffusers (expected/img2img/, fixtures README section 12):
// the input picture and its VAE latent_dist, StableDiffusionImg2ImgPipeline with DDIM and LMS at
// strengths 0.6 and 1.0, and DDIMInverseScheduler's loop with its DDIM regeneration.
#include <gtest/gtest.h>

#include <cstring>

#include "common/compare.hpp"
#include "common/fixtures.hpp"
#include "sdwalk/image.hpp"
#include "sdwalk/stable_diffusion_pipeline.hpp"
#include "sdwalk/torch_generator.hpp"

namespace sdwalk {
namespace {

const StableDiffusionPipeline& mini_sd15() {
  static const StableDiffusionPipeline p = StableDiffusionPipeline::load({test::fixture("mini-sd15"), {}, {}});
  return p;
}

std::filesystem::path img2img_file(const std::string& name) { return test::fixture("expected/img2img/" + name); }

#define EXPECT_CLOSE(ours, ref, tol)                                  \
  do {                                                                \
    const auto c_ = test::closeness((ours), (ref), (tol));            \
    EXPECT_TRUE(c_.ok()) << #ours << " vs " << #ref << ": " << c_.str(); \
  } while (0)

Image input_image() { return read_png(img2img_file("input_image.png")); }

TEST(Img2ImgInput, PngPixelsPreprocessingAndLatentDistMatchDiffusers) {
  SDWALK_REQUIRE_FIXTURE(img2img_file("input_and_vae.safetensors"));
  SDWALK_REQUIRE_FIXTURE(test::fixture("mini-sd15"));
  const SafeTensors ref = SafeTensors::open(img2img_file("input_and_vae.safetensors"));
  const Image image = input_image();
  const Tensor u8 = ref.get("image_uint8");
  ASSERT_EQ(u8.nbytes(), image.rgb.size());
  EXPECT_EQ(std::memcmp(u8.raw(), image.rgb.data(), image.rgb.size()), 0);
  const Tensor x = StableDiffusionPipeline::image_to_tensor(image);
  EXPECT_EQ(test::compare(x, ref.get("image_preprocessed")).max_abs, 0.0);

  const auto& pipe = mini_sd15();
  const AutoencoderKL::Encoded dist = pipe.encode(x);
  // The VAE test's metric for the encoder (max |diff| / max |ref|; fp32 vs fp64 differ by 8e-5 of 21).
  EXPECT_LE(test::compare(dist.mean, ref.get_f32("latent_mean")).rel(), 1e-4);
  EXPECT_CLOSE(dist.logvar, ref.get_f32("latent_logvar"), test::kModuleTolerance);
  TorchGenerator generator(51002);
  const Tensor sample = pipe.image_latents(dist, &generator);  // scaled by 0.18215
  Tensor ref_sample = ref.get_f32("latent_sample").clone();
  for (int64_t i = 0; i < ref_sample.numel(); ++i) ref_sample.f32()[i] *= 0.18215f;
  EXPECT_LE(test::compare(sample, ref_sample).rel(), 1e-4);
}

class Img2ImgCase : public ::testing::TestWithParam<std::string> {};

TEST_P(Img2ImgCase, MatchesStableDiffusionImg2ImgPipeline) {
  const auto path = img2img_file("img2img_" + GetParam() + ".safetensors");
  SDWALK_REQUIRE_FIXTURE(path);
  SDWALK_REQUIRE_FIXTURE(test::fixture("mini-sd15"));
  const SafeTensors ref = SafeTensors::open(path);
  const auto& pipe = mini_sd15();
  const std::string prompt = test::metadata_json(ref, "prompt").get<std::string>();
  const nlohmann::json negative = test::metadata_json(ref, "negative_prompt");
  const double strength = test::metadata_json(ref, "strength").get<double>();
  const int steps = test::metadata_json(ref, "num_inference_steps").get<int>();
  const double guidance = test::metadata_json(ref, "guidance_scale").get<double>();
  const uint64_t seed = test::metadata_json(ref, "generator_seed").get<uint64_t>();
  const std::string cls = test::metadata_json(ref, "scheduler_class").get<std::string>();

  const Tensor cond = pipe.encode_prompt(prompt).embeds;
  const Tensor uncond = pipe.encode_prompt(negative.is_string() ? negative.get<std::string>() : "").embeds;
  EXPECT_CLOSE(cond, ref.get_f32("prompt_embeds"), test::kModuleTolerance);
  EXPECT_CLOSE(uncond, ref.get_f32("negative_prompt_embeds"), test::kModuleTolerance);

  // One generator: the VAE sample first, then the noise (diffusers' prepare_latents).
  TorchGenerator generator(seed);
  const Tensor init = pipe.image_latents(pipe.encode(StableDiffusionPipeline::image_to_tensor(input_image())), &generator);
  EXPECT_CLOSE(init, ref.get_f32("init_latents"), test::kLatentsTolerance);
  const Tensor noise = generator.randn(init.shape());
  EXPECT_EQ(test::compare(noise, ref.get_f32("noise")).max_abs, 0.0);

  // The case's scheduler config (SD 1.5's), not mini-sd15's own.
  auto scheduler = make_scheduler(cls, test::metadata_json(ref, "scheduler_config"));
  std::vector<Tensor> steps_seen;
  const Tensor final_latents =
      pipe.denoise_image(*scheduler, cond, uncond, init, noise, strength, {steps, guidance}, &generator,
                         [&](int, int, const Tensor& x) { steps_seen.push_back(x.clone()); });
  // The timesteps run: all_timesteps[t_start:].
  const Tensor all = ref.get_f32("all_timesteps"), run = ref.get_f32("timesteps");
  ASSERT_EQ(int64_t(scheduler->timesteps().size()), all.numel());
  for (int64_t i = 0; i < all.numel(); ++i) EXPECT_EQ(scheduler->timesteps()[size_t(i)], all.f32()[i]);
  EXPECT_EQ(StableDiffusionPipeline::img2img_begin_index(steps, strength), all.numel() - run.numel());

  const Tensor ref_steps = ref.get_f32("step_latents");
  ASSERT_EQ(int64_t(steps_seen.size()), ref_steps.dim(0));
  for (size_t i = 0; i < steps_seen.size(); ++i)
    EXPECT_CLOSE(steps_seen[i], ref_steps.slice0(int64_t(i), int64_t(i) + 1), test::kLatentsTolerance);
  EXPECT_CLOSE(final_latents, ref.get_f32("latents_final"), test::kLatentsTolerance);
  const Tensor image = pipe.decode(final_latents);
  EXPECT_CLOSE(image, ref.get_f32("image"), test::kImageTolerance);
  std::printf("[ img2img %s ] latents %s\n", GetParam().c_str(),
              test::compare(final_latents, ref.get_f32("latents_final")).str().c_str());
}

INSTANTIATE_TEST_SUITE_P(Fixtures, Img2ImgCase, ::testing::Values("ddim_s0.6", "ddim_s1.0", "lms_s0.6", "lms_s1.0"),
                         [](const auto& info) {
                           std::string name = info.param;
                           for (char& c : name) c = c == '.' ? '_' : c;
                           return name;
                         });

class InversionCase : public ::testing::TestWithParam<int> {};

TEST_P(InversionCase, DdimInversionAndRegenerationMatchDiffusers) {
  const auto path = img2img_file("inversion_prompt" + std::to_string(GetParam()) + ".safetensors");
  SDWALK_REQUIRE_FIXTURE(path);
  SDWALK_REQUIRE_FIXTURE(test::fixture("mini-sd15"));
  const SafeTensors ref = SafeTensors::open(path);
  const auto& pipe = mini_sd15();
  const std::string prompt = test::metadata_json(ref, "prompt").get<std::string>();
  const int steps = test::metadata_json(ref, "num_inference_steps").get<int>();
  const Tensor cond = pipe.encode_prompt(prompt).embeds;
  EXPECT_CLOSE(cond, ref.get_f32("prompt_embeds"), test::kModuleTolerance);

  const Tensor x0 = pipe.image_latents(pipe.encode(StableDiffusionPipeline::image_to_tensor(input_image())), nullptr);
  EXPECT_CLOSE(x0, ref.get_f32("x0_latents"), test::kModuleTolerance);
  InversionOptions options;
  options.num_inference_steps = steps;
  options.method = InversionMethod::Ddim;
  // From the fixture's x0, so that each step's check sees only the step's own error.
  const InversionResult inv = pipe.invert(ref.get_f32("x0_latents"), cond, options);
  const nlohmann::json config = test::metadata_json(ref, "scheduler_config");
  auto inverse = make_ddim_inverse_scheduler(config);
  inverse->set_timesteps(steps);
  const Tensor ts = ref.get_f32("inverse_timesteps");
  ASSERT_EQ(int64_t(inverse->timesteps().size()), ts.numel());
  for (int64_t i = 0; i < ts.numel(); ++i) EXPECT_EQ(inverse->timesteps()[size_t(i)], ts.f32()[i]);
  const Tensor ref_lat = ref.get_f32("inversion_latents"), ref_eps = ref.get_f32("inversion_model_outputs");
  ASSERT_EQ(int64_t(inv.latents.size()), ref_lat.dim(0));
  for (size_t i = 0; i < inv.latents.size(); ++i) {
    SCOPED_TRACE("inverse step " + std::to_string(i));
    EXPECT_CLOSE(inv.model_outputs[i], ref_eps.slice0(int64_t(i), int64_t(i) + 1), test::kLatentsTolerance);
    EXPECT_CLOSE(inv.latents[i], ref_lat.slice0(int64_t(i), int64_t(i) + 1), test::kLatentsTolerance);
  }
  EXPECT_CLOSE(inv.noise, ref.get_f32("inverted_latents"), test::kLatentsTolerance);

  // Regeneration: DDIM, the same prompt, guidance 1, latents = the inverted ones.
  auto ddim = make_scheduler("ddim", config);
  ddim->set_timesteps(steps);
  const Tensor regen_ts = ref.get_f32("regen_timesteps");
  for (int64_t i = 0; i < regen_ts.numel(); ++i) EXPECT_EQ(ddim->timesteps()[size_t(i)], regen_ts.f32()[i]);
  // What invert() and Engine::invert regenerate with on this model: the same schedule.
  auto ours = pipe.make_scheduler("ddim", pipe.inversion_overrides());
  ours->set_timesteps(steps);
  EXPECT_EQ(ours->timesteps(), ddim->timesteps());
  const Tensor regen = pipe.denoise(*ddim, cond, Tensor(), ref.get_f32("inverted_latents"), {steps, 1.0}, nullptr);
  EXPECT_CLOSE(regen, ref.get_f32("regen_latents_final"), test::kLatentsTolerance);
  EXPECT_CLOSE(pipe.decode(regen), ref.get_f32("regen_image"), test::kImageTolerance);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, InversionCase, ::testing::Values(0, 1));

}  // namespace
}  // namespace sdwalk
