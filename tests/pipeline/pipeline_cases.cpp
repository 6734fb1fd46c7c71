#include "pipeline/pipeline_cases.hpp"

#include <cctype>

#include "common/fixtures.hpp"
#include "sdwalk/error.hpp"
#include "sdwalk/torch_generator.hpp"

namespace sdwalk::test {

std::vector<std::string> pipeline_cases() {
  std::vector<std::string> out;
  for (const auto& p : fixture_files("expected", "pipeline_", ".safetensors")) out.push_back(p.filename().string());
  if (out.empty()) out.push_back("pipeline_absent.safetensors");  // reported as skipped
  return out;
}

std::string pipeline_case_name(const ::testing::TestParamInfo<std::string>& info) {
  std::string n = info.param.substr(0, info.param.find('.'));
  for (char& c : n)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return n;
}

namespace {
std::string string_or_empty(const nlohmann::json& j) { return j.is_string() ? j.get<std::string>() : ""; }
}  // namespace

PipelineCaseRun run_pipeline_case(const StableDiffusionPipeline& pipe, const SafeTensors& ref) {
  PipelineCaseRun run;
  run.cond = pipe.encode_prompt(string_or_empty(metadata_json(ref, "prompt")));
  run.uncond = pipe.encode_prompt(string_or_empty(metadata_json(ref, "negative_prompt")));
  auto scheduler = make_scheduler_from_config(metadata_json(ref, "scheduler_config"));
  DenoiseOptions options;
  options.num_inference_steps = metadata_json(ref, "num_inference_steps").get<int>();
  options.guidance_scale = metadata_json(ref, "guidance_scale").get<double>();
  std::unique_ptr<TorchGenerator> generator;
  if (const auto seed = metadata_json(ref, "generator_seed"); seed.is_number())
    generator = std::make_unique<TorchGenerator>(seed.get<uint64_t>());
  Tensor latents;
  if (ref.contains("latents_in")) {
    latents = ref.get_f32("latents_in");
  } else {
    check(generator != nullptr, ref.label() + ": the case has neither latents_in nor generator_seed");
    latents = generator->randn(
        pipe.latent_shape(1, metadata_json(ref, "height").get<int>(), metadata_json(ref, "width").get<int>()));
  }
  run.final_latents = pipe.denoise(*scheduler, run.cond.embeds, run.uncond.embeds, latents, options, generator.get(),
                                   [&](int, int, const Tensor& x) { run.step_latents.push_back(x.clone()); });
  run.image = pipe.decode(run.final_latents);
  return run;
}

}  // namespace sdwalk::test
