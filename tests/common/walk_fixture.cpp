#include "common/walk_fixture.hpp"

#include <regex>

#include "common/fixtures.hpp"

namespace sdwalk::test {

std::vector<std::filesystem::path> walk_fixture_files() {
  return fixture_files("expected/interpolation", "walk", ".safetensors");
}

std::string walk_mode(const SafeTensors& f) {
  if (f.contains("walked_prompt_embeds")) return "drift";
  if (f.contains("interpolated_latents")) return "noise";
  if (f.contains("interpolated_prompt_embeds")) return "prompts";
  if (f.contains("circular_latents")) return "circle";
  return "";
}

namespace {

std::vector<std::string> strings(const nlohmann::json& j) {
  if (j.is_null()) return {};
  if (j.is_string()) return {j.get<std::string>()};
  return j.get<std::vector<std::string>>();
}

}  // namespace

WalkFixture read_walk_fixture(const std::filesystem::path& path) {
  const SafeTensors f = SafeTensors::open(path);
  WalkFixture w;
  w.path = path;
  w.mode = walk_mode(f);
  auto meta = [&](const std::string& key) { return metadata_json(f, key); };
  w.prompts = strings(meta("prompts").is_null() ? meta("prompt") : meta("prompts"));
  w.negative_prompts = strings(meta("negative_prompts").is_null() ? meta("negative_prompt") : meta("negative_prompts"));
  w.seed = meta("seed").get<int64_t>();
  w.height = meta("height").get<int>();
  w.width = meta("width").get<int>();
  w.num_inference_steps = meta("num_inference_steps").get<int>();
  w.num_interpolation_steps = meta("num_interpolation_steps").get<int>();
  w.guidance_scale = meta("guidance_scale").get<double>();
  if (const auto s = meta("step_size"); s.is_number()) w.step_size = s.get<double>();
  // "LMSDiscreteScheduler(beta_start=0.00085, beta_schedule='scaled_linear', ...)": the notebook's constructor call.
  const std::string sched = meta("scheduler").get<std::string>();
  w.scheduler_class = sched.substr(0, sched.find('('));
  static const std::regex kwarg(R"((\w+)=('([^']*)'|[-+0-9.eE]+|True|False|None))");
  for (std::sregex_iterator it(sched.begin(), sched.end(), kwarg), end; it != end; ++it) {
    const std::string key = (*it)[1], value = (*it)[2];
    if (value.front() == '\'') w.scheduler_kwargs[key] = (*it)[3].str();
    else if (value == "True" || value == "False") w.scheduler_kwargs[key] = value == "True";
    else if (value == "None") w.scheduler_kwargs[key] = nullptr;
    else w.scheduler_kwargs[key] = nlohmann::json::parse(value);
  }
  w.noise = f.get_f32(w.mode == "noise" || w.mode == "circle" ? "latents_pair" : "latents");
  w.frames = f.get_f32("frames");
  return w;
}

}  // namespace sdwalk::test
