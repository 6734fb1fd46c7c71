#include "pipeline/fixture_pipeline_run.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <sstream>

#include "common/compare.hpp"
#include "common/fixtures.hpp"

namespace sdwalk::test {
namespace {

std::string text_of(const nlohmann::json& j) { return j.is_string() ? j.get<std::string>() : ""; }

double check(const Tensor& ours, const Tensor& ref, Tolerance tol, const std::string& what) {
  const Closeness c = closeness(ours, ref, tol);
  EXPECT_TRUE(c.ok()) << what << ": " << c.str();
  return c.worst;
}

}  // namespace

std::string PipelineRunReport::str() const {
  std::ostringstream os;
  os << "worst err/tol: embeds " << embeds << ", step latents " << steps << ", final latents " << latents << ", image "
     << image;
  return os.str();
}

PipelineRunReport replay_pipeline_case(const StableDiffusionPipeline& pipe, const SafeTensors& ref,
                                       Scheduler& scheduler, const std::string& final_name) {
  PipelineRunReport report;
  const double guidance = metadata_json(ref, "guidance_scale").get<double>();
  // The fixture stores negative embeddings exactly when diffusers ran CFG.
  const bool cfg = ref.contains("negative_prompt_embeds");
  EXPECT_EQ(pipe.uses_cfg(guidance), cfg) << "guidance " << guidance;
  if (ref.metadata().count("do_classifier_free_guidance")) {
    EXPECT_EQ(metadata_json(ref, "do_classifier_free_guidance").get<bool>(), cfg);
  }

  const auto cond = pipe.encode_prompt(text_of(metadata_json(ref, "prompt")));
  report.embeds = check(cond.embeds, ref.get("prompt_embeds"), kModuleTolerance, "prompt_embeds");
  Tensor uncond;  // left undefined without CFG: denoise must not need it
  if (cfg) {
    uncond = pipe.encode_prompt(text_of(metadata_json(ref, "negative_prompt"))).embeds;
    report.embeds =
        std::max(report.embeds, check(uncond, ref.get("negative_prompt_embeds"), kModuleTolerance, "negative_prompt_embeds"));
  }

  const int height = metadata_json(ref, "height").get<int>(), width = metadata_json(ref, "width").get<int>();
  std::unique_ptr<TorchGenerator> generator;
  if (const auto seed = metadata_json(ref, "generator_seed"); seed.is_number())
    generator = std::make_unique<TorchGenerator>(seed.get<uint64_t>());
  Tensor latents;
  if (generator) {
    // The generator draws the initial noise first, then the schedulers' noise from the same stream.
    latents = generator->randn(pipe.latent_shape(1, height, width));
    if (ref.contains("latents_in")) {
      const Tensor stored = ref.get_f32("latents_in");
      EXPECT_EQ(std::memcmp(latents.raw(), stored.raw(), stored.nbytes()), 0) << "initial noise differs from latents_in";
    }
  } else {
    latents = ref.get_f32("latents_in");
  }

  DenoiseOptions options;
  options.num_inference_steps = metadata_json(ref, "num_inference_steps").get<int>();
  options.guidance_scale = guidance;
  std::vector<Tensor> steps;
  const Tensor final_latents = pipe.denoise(scheduler, cond.embeds, uncond, latents, options, generator.get(),
                                            [&](int, int, const Tensor& x) { steps.push_back(x.clone()); });
  if (ref.contains("timesteps")) {
    const Tensor t = ref.get("timesteps").to_f32();  // I64 or F32 as diffusers holds them; exact either way
    EXPECT_EQ(scheduler.timesteps(), std::vector<double>(t.f32(), t.f32() + t.numel()));
  }
  const Tensor ref_steps = ref.get_f32("step_latents");
  EXPECT_EQ(int64_t(steps.size()), ref_steps.dim(0));
  for (size_t i = 0; i < steps.size() && int64_t(i) < ref_steps.dim(0); ++i)
    report.steps = std::max(report.steps, check(steps[i], ref_steps.slice0(int64_t(i), int64_t(i) + 1),
                                                kLatentsTolerance, "step " + std::to_string(i)));
  report.latents = check(final_latents, ref.get(final_name), kLatentsTolerance, final_name);
  report.image = check(pipe.decode(final_latents), ref.get("image"), kImageTolerance, "image");
  return report;
}

}  // namespace sdwalk::test
