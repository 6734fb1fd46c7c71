// SchedulerConfig: diffusers' per-class defaults (v0.30.3 __init__ signatures) and from_json.
#include <cmath>
#include <functional>
#include <limits>
#include <map>

#include "sdwalk/error.hpp"
#include "core/python_json.hpp"
#include "sdwalk/scheduler.hpp"

namespace sdwalk {

SchedulerConfig SchedulerConfig::defaults_for(const std::string& class_name) {
  SchedulerConfig c;  // the member initializers are the defaults shared by most classes
  c.class_name = class_name;
  if (class_name == "LMSDiscreteScheduler" || class_name == "EulerDiscreteScheduler" ||
      class_name == "EulerAncestralDiscreteScheduler" || class_name == "DPMSolverMultistepScheduler") {
    c.timestep_spacing = "linspace";
  } else if (class_name == "DDIMScheduler") {
    c.timestep_spacing = "leading";
    c.clip_sample = true;
    c.set_alpha_to_one = true;
  } else if (class_name == "DDIMInverseScheduler") {
    c.timestep_spacing = "leading";
    c.clip_sample = true;
    c.set_alpha_to_one = true;
  } else if (class_name == "PNDMScheduler") {
    c.timestep_spacing = "leading";
    c.set_alpha_to_one = false;
    c.skip_prk_steps = false;
  } else if (class_name == "LCMScheduler") {
    c.timestep_spacing = "leading";
    c.beta_start = 0.00085;
    c.beta_end = 0.012;
    c.beta_schedule = "scaled_linear";
    c.clip_sample = false;
    c.set_alpha_to_one = true;
  } else {
    throw Error("scheduler class '" + class_name +
                "' is not supported (LMSDiscreteScheduler, DDIMScheduler, DDIMInverseScheduler, PNDMScheduler, EulerDiscreteScheduler, "
                "EulerAncestralDiscreteScheduler, DPMSolverMultistepScheduler, LCMScheduler)");
  }
  return c;
}

SchedulerConfig SchedulerConfig::from_json(const nlohmann::json& config) {
  check(config.is_object(), "scheduler config: expected a JSON object");
  const auto it = config.find("_class_name");
  check(it != config.end() && it->is_string(), "scheduler config: missing \"_class_name\" (the diffusers class)");
  return from_json(config, it->get<std::string>());
}

SchedulerConfig SchedulerConfig::from_json(const nlohmann::json& config, const std::string& class_name) {
  check(config.is_object(), "scheduler config: expected a JSON object");
  SchedulerConfig c = defaults_for(class_name);
  using json = nlohmann::json;
  auto where = [&](const std::string& key) { return class_name + " config key \"" + key + "\""; };
  auto number = [&](const std::string& key, const json& v) { return json_number(v, where(key)); };
  auto integer = [&](const std::string& key, const json& v) {
    const double d = number(key, v);
    // Range first: int(d) of a NaN or of a value beyond int is undefined behaviour.
    const bool fits = d >= double(std::numeric_limits<int>::min()) && d <= double(std::numeric_limits<int>::max());
    check(fits && d == std::floor(d), where(key) + ": expected an integer, got " + v.dump());
    return int(d);
  };
  auto boolean = [&](const std::string& key, const json& v) {
    check(v.is_boolean(), where(key) + ": expected true or false, got " + v.dump());
    return v.get<bool>();
  };
  auto text = [&](const std::string& key, const json& v) {
    check(v.is_string(), where(key) + ": expected a string, got " + v.dump());
    return v.get<std::string>();
  };
  using Setter = std::function<void(const std::string&, const json&)>;
  const std::map<std::string, Setter> setters = {
      {"num_train_timesteps", [&](auto& k, auto& v) { c.num_train_timesteps = integer(k, v); }},
      {"beta_start", [&](auto& k, auto& v) { c.beta_start = number(k, v); }},
      {"beta_end", [&](auto& k, auto& v) { c.beta_end = number(k, v); }},
      {"beta_schedule", [&](auto& k, auto& v) { c.beta_schedule = text(k, v); }},
      {"trained_betas",
       [&](auto& k, auto& v) {
         c.trained_betas.clear();
         if (v.is_null()) return;
         check(v.is_array(), where(k) + ": expected null or a list of numbers");
         for (const auto& b : v) c.trained_betas.push_back(number(k, b));
       }},
      {"rescale_betas_zero_snr", [&](auto& k, auto& v) { c.rescale_betas_zero_snr = boolean(k, v); }},
      {"prediction_type", [&](auto& k, auto& v) { c.prediction_type = text(k, v); }},
      {"timestep_spacing", [&](auto& k, auto& v) { c.timestep_spacing = text(k, v); }},
      {"steps_offset", [&](auto& k, auto& v) { c.steps_offset = integer(k, v); }},
      {"set_alpha_to_one", [&](auto& k, auto& v) { c.set_alpha_to_one = boolean(k, v); }},
      {"clip_sample", [&](auto& k, auto& v) { c.clip_sample = boolean(k, v); }},
      {"clip_sample_range", [&](auto& k, auto& v) { c.clip_sample_range = number(k, v); }},
      {"thresholding", [&](auto& k, auto& v) { c.thresholding = boolean(k, v); }},
      {"skip_prk_steps", [&](auto& k, auto& v) { c.skip_prk_steps = boolean(k, v); }},
      {"original_inference_steps", [&](auto& k, auto& v) { c.original_inference_steps = integer(k, v); }},
      {"timestep_scaling", [&](auto& k, auto& v) { c.timestep_scaling = number(k, v); }},
      {"use_karras_sigmas", [&](auto& k, auto& v) { c.use_karras_sigmas = !v.is_null() && boolean(k, v); }},
      {"sigma_min",
       [&](auto& k, auto& v) { c.sigma_min = v.is_null() ? std::nullopt : std::optional<double>(number(k, v)); }},
      {"sigma_max",
       [&](auto& k, auto& v) { c.sigma_max = v.is_null() ? std::nullopt : std::optional<double>(number(k, v)); }},
      {"interpolation_type", [&](auto& k, auto& v) { c.interpolation_type = text(k, v); }},
      {"timestep_type", [&](auto& k, auto& v) { c.timestep_type = text(k, v); }},
      {"final_sigmas_type", [&](auto& k, auto& v) { c.final_sigmas_type = text(k, v); }},
      {"solver_order", [&](auto& k, auto& v) { c.solver_order = integer(k, v); }},
      {"algorithm_type", [&](auto& k, auto& v) { c.algorithm_type = text(k, v); }},
      {"solver_type", [&](auto& k, auto& v) { c.solver_type = text(k, v); }},
      {"lower_order_final", [&](auto& k, auto& v) { c.lower_order_final = boolean(k, v); }},
      {"euler_at_final", [&](auto& k, auto& v) { c.euler_at_final = boolean(k, v); }},
      {"use_lu_lambdas", [&](auto& k, auto& v) { c.use_lu_lambdas = !v.is_null() && boolean(k, v); }},
      {"lambda_min_clipped", [&](auto& k, auto& v) { c.lambda_min_clipped = number(k, v); }},
      {"variance_type",
       [&](auto& k, auto& v) { c.variance_type = v.is_null() ? std::nullopt : std::optional<std::string>(text(k, v)); }},
      {"eta", [&](auto& k, auto& v) { c.eta = number(k, v); }},
  };
  // Keys outside this list (_class_name, _diffusers_version, _use_default_values, keys of other
  // classes, keys that do not change the numbers) are ignored, as diffusers' from_config does.
  for (const auto& [key, value] : config.items()) {
    if (auto s = setters.find(key); s != setters.end()) s->second(key, value);
  }
  return c;
}

}  // namespace sdwalk
