#include "pipeline/sdxl_fixture_run.hpp"

#include <memory>

#include "common/fixtures.hpp"

namespace sdwalk::test {
namespace {

std::string text_of(const nlohmann::json& j) { return j.is_string() ? j.get<std::string>() : ""; }

}  // namespace

SdxlRun run_sdxl_case(const StableDiffusionPipeline& pipe, const SafeTensors& ref) {
  SdxlRun run;
  const double guidance = metadata_json(ref, "guidance_scale").get<double>();
  const int height = metadata_json(ref, "height").get<int>(), width = metadata_json(ref, "width").get<int>();
  run.cond = pipe.encode_prompt(text_of(metadata_json(ref, "prompt")));
  run.uncond = pipe.encode_negative_prompt(text_of(metadata_json(ref, "negative_prompt")));
  SizeConditioning size;
  if (const auto o = metadata_json(ref, "original_size"); o.is_array()) size.original_size = {o[0], o[1]};
  if (const auto c = metadata_json(ref, "crops_coords_top_left"); c.is_array())
    size.crops_coords_top_left = {c[0], c[1]};
  run.time_ids = add_time_ids(size, height, width);
  std::unique_ptr<TorchGenerator> generator;
  if (const auto seed = metadata_json(ref, "generator_seed"); seed.is_number()) {
    generator = std::make_unique<TorchGenerator>(seed.get<uint64_t>());
    run.latents = generator->randn(pipe.latent_shape(1, height, width));
  } else {
    run.latents = ref.get_f32("latents_in");
  }
  auto scheduler = pipe.make_scheduler("");
  DenoiseOptions options(metadata_json(ref, "num_inference_steps").get<int>(), guidance);
  options.added_cond = {run.cond.pooled, run.time_ids};
  options.negative_added_cond = {run.uncond.pooled, run.time_ids};
  run.latents_final = pipe.denoise(*scheduler, run.cond.embeds, run.uncond.embeds, run.latents, options, generator.get(),
                                   [&](int, int, const Tensor& x) { run.steps.push_back(x.clone()); });
  run.timesteps = scheduler->timesteps();
  return run;
}

}  // namespace sdwalk::test
