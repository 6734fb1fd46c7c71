// Scheduler base class and the factory (short names and diffusers class names).
#include "sdwalk/scheduler.hpp"

#include <sstream>

#include "schedule_math.hpp"
#include "scheduler_classes.hpp"
#include "sdwalk/error.hpp"

namespace sdwalk {

Scheduler::Scheduler(SchedulerConfig config) : config_(std::move(config)) {
  sched::check_common_config(config_);
  betas_ = sched::make_betas(config_);
  alphas_cumprod_ = sched::alphas_cumprod_of(betas_);
}

int Scheduler::index_for_timestep(double timestep) const {
  std::vector<int> hits;
  for (size_t i = 0; i < timesteps_.size(); ++i)
    if (timesteps_[i] == timestep) hits.push_back(int(i));
  if (hits.empty()) {
    std::ostringstream os;
    os << config_.class_name << ": timestep " << timestep << " is not one of the scheduler's timesteps"
       << (timesteps_.empty() ? " (call set_timesteps first)" : "");
    throw Error(os.str());
  }
  // The second occurrence for the very first step, so that a schedule started in the middle
  // (img2img) does not skip a sigma.
  return hits.size() > 1 ? hits[1] : hits[0];
}

int Scheduler::current_step_index(double timestep) const {
  if (step_index_) return *step_index_;
  if (begin_index_) return *begin_index_;
  return index_for_timestep(timestep);
}

void Scheduler::reset_step_index() {
  step_index_.reset();
  begin_index_.reset();
  restarted_ = false;
}

namespace sched {

void check_common_config(const SchedulerConfig& c) {
  const std::string& p = c.prediction_type;
  check(p == "epsilon" || p == "v_prediction" || p == "sample",
        c.class_name + ": prediction_type '" + p + "' is not supported (epsilon, v_prediction, sample)");
  const std::string& s = c.timestep_spacing;
  check(s == "linspace" || s == "leading" || s == "trailing",
        c.class_name + ": timestep_spacing '" + s + "' is not supported (linspace, leading, trailing)");
  check(!c.thresholding, c.class_name + ": thresholding (dynamic thresholding) is not supported");
}

}  // namespace sched

namespace {

struct ShortName {
  const char* name;
  const char* class_name;
  const char* kwargs;  // from_config kwargs (JSON)
};

// Each short name is `Class.from_config(base_config, **kwargs)`.
const ShortName kShortNames[] = {
    {"lms", "LMSDiscreteScheduler", "{}"},
    {"ddim", "DDIMScheduler", "{}"},
    {"pndm", "PNDMScheduler", "{}"},
    {"euler", "EulerDiscreteScheduler", "{}"},
    {"euler_a", "EulerAncestralDiscreteScheduler", "{}"},
    {"dpmpp_2m", "DPMSolverMultistepScheduler", R"({"algorithm_type": "dpmsolver++", "solver_order": 2})"},
    {"dpmpp_2m_karras", "DPMSolverMultistepScheduler",
     R"({"algorithm_type": "dpmsolver++", "solver_order": 2, "use_karras_sigmas": true})"},
    {"lcm", "LCMScheduler", "{}"},
};

std::string canonical(const std::string& name) { return name == "euler_ancestral" ? "euler_a" : name; }

}  // namespace

nlohmann::json SchedulerOverrides::applied_to(const nlohmann::json& config) const {
  nlohmann::json out = config.is_null() ? nlohmann::json::object() : config;
  if (!prediction_type.empty()) out["prediction_type"] = prediction_type;
  if (!timestep_spacing.empty()) out["timestep_spacing"] = timestep_spacing;
  return out;
}

std::unique_ptr<Scheduler> make_scheduler_from_config(const nlohmann::json& scheduler_config) {
  SchedulerConfig c = SchedulerConfig::from_json(scheduler_config);
  const std::string cls = c.class_name;
  if (cls == "LMSDiscreteScheduler") return std::make_unique<sched::LMSDiscreteScheduler>(std::move(c));
  if (cls == "DDIMScheduler") return std::make_unique<sched::DDIMScheduler>(std::move(c));
  if (cls == "DDIMInverseScheduler") return std::make_unique<sched::DDIMInverseScheduler>(std::move(c));
  if (cls == "PNDMScheduler") return std::make_unique<sched::PNDMScheduler>(std::move(c));
  if (cls == "EulerDiscreteScheduler") return std::make_unique<sched::EulerDiscreteScheduler>(std::move(c));
  if (cls == "EulerAncestralDiscreteScheduler")
    return std::make_unique<sched::EulerAncestralDiscreteScheduler>(std::move(c));
  if (cls == "DPMSolverMultistepScheduler") return std::make_unique<sched::DPMSolverMultistepScheduler>(std::move(c));
  if (cls == "LCMScheduler") return std::make_unique<sched::LCMScheduler>(std::move(c));
  throw Error("scheduler class '" + cls + "' is not supported");  // defaults_for rejects it first
}

void check_scheduler_name(const std::string& name) {
  const std::string short_name = canonical(name);
  for (const ShortName& s : kShortNames)
    if (short_name == s.name || name == s.class_name) return;
  make_scheduler(name, nlohmann::json::object());  // throws "unknown scheduler ..." with the known names
}

std::unique_ptr<Scheduler> make_scheduler(const std::string& name, const nlohmann::json& base_config) {
  check(base_config.is_object() || base_config.is_null(), "scheduler base config: expected a JSON object");
  nlohmann::json config = base_config.is_null() ? nlohmann::json::object() : base_config;
  const std::string short_name = canonical(name);
  for (const ShortName& s : kShortNames) {
    if (short_name == s.name) {
      config.update(nlohmann::json::parse(s.kwargs));
      config["_class_name"] = s.class_name;
      return make_scheduler_from_config(config);
    }
  }
  // A diffusers class name: that class with the base config.
  for (const ShortName& s : kShortNames) {
    if (name == s.class_name) {
      config["_class_name"] = name;
      return make_scheduler_from_config(config);
    }
  }
  std::string known;
  for (const auto& n : scheduler_names()) known += (known.empty() ? "" : ", ") + n;
  throw Error("unknown scheduler '" + name + "' (known: " + known + ", or a diffusers class name)");
}

std::unique_ptr<Scheduler> make_ddim_inverse_scheduler(const nlohmann::json& base_config) {
  check(base_config.is_object() || base_config.is_null(), "scheduler base config: expected a JSON object");
  nlohmann::json config = base_config.is_null() ? nlohmann::json::object() : base_config;
  config["_class_name"] = "DDIMInverseScheduler";
  return make_scheduler_from_config(config);
}

std::vector<std::string> scheduler_names() {
  std::vector<std::string> out;
  for (const ShortName& s : kShortNames) out.push_back(s.name);
  return out;
}

}  // namespace sdwalk
