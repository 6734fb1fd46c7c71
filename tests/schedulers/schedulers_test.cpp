// Schedulers against diffusers v0.30.3 (expected/schedulers.safetensors + schedulers.json):
// timesteps exactly, sigmas to rtol 1e-6, LMS coefficients to rtol 1e-6, and the synthetic
// scheduler loop (fixtures README section 6) step by step.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "common/compare.hpp"
#include "common/fixtures.hpp"
#include "schedulers/scheduler_classes.hpp"
#include "sdwalk/error.hpp"
#include "core/python_json.hpp"
#include "sdwalk/scheduler.hpp"

namespace sdwalk {
namespace {

nlohmann::json schedulers_json() {
  const auto path = test::fixture("expected/schedulers.json");
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_python_json(ss.str(), path.string());  // it holds -Infinity (lambda_min_clipped)
}

std::vector<double> values_of(const Tensor& t) {
  std::vector<double> out;
  if (t.dtype() == DType::I64) {
    for (int64_t i = 0; i < t.numel(); ++i) out.push_back(double(t.data<int64_t>()[i]));
  } else {
    const Tensor f = t.to_f32();
    for (int64_t i = 0; i < t.numel(); ++i) out.push_back(double(f.f32()[i]));
  }
  return out;
}

double max_rel_error(const std::vector<double>& ours, const std::vector<double>& ref) {
  double worst = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    const double err = std::fabs(ours[i] - ref[i]);
    worst = std::max(worst, ref[i] == 0 ? (err == 0 ? 0.0 : INFINITY) : err / std::fabs(ref[i]));
  }
  return worst;
}

struct ScheduleCase {
  std::string name;
  int steps;
};

// <name>/steps<n>/timesteps tensors name the cases.
std::vector<ScheduleCase> schedule_cases(const SafeTensors& file) {
  std::vector<ScheduleCase> cases;
  const std::regex pattern(R"(([a-z0-9_]+)/steps(\d+)/timesteps)");
  for (const auto& name : file.names()) {
    std::smatch m;
    if (std::regex_match(name, m, pattern) && m[1].str() != "loop") cases.push_back({m[1].str(), std::stoi(m[2].str())});
  }
  return cases;
}

// Returns the largest relative error of sigmas and init_noise_sigma.
double expect_schedule(Scheduler& s, const SafeTensors& file, const ScheduleCase& c, const std::string& how) {
  const std::string prefix = c.name + "/steps" + std::to_string(c.steps) + "/";
  s.set_timesteps(c.steps);
  const std::vector<double> ref_t = values_of(file.get(prefix + "timesteps"));
  EXPECT_EQ(s.timesteps().size(), ref_t.size()) << how << " " << prefix;
  if (s.timesteps().size() != ref_t.size()) return INFINITY;
  double worst = 0;
  for (size_t i = 0; i < ref_t.size(); ++i)
    EXPECT_EQ(float(s.timesteps()[i]), float(ref_t[i])) << how << " " << prefix << "timesteps[" << i << "]";
  if (file.contains(prefix + "sigmas")) {
    const std::vector<double> ref_s = values_of(file.get(prefix + "sigmas"));
    EXPECT_EQ(s.sigmas().size(), ref_s.size()) << how << " " << prefix;
    if (s.sigmas().size() != ref_s.size()) return INFINITY;
    const double rel = max_rel_error(s.sigmas(), ref_s);
    EXPECT_LE(rel, 1e-6) << how << " " << prefix << "sigmas";
    worst = std::max(worst, rel);
  } else {
    EXPECT_TRUE(s.sigmas().empty()) << how << " " << prefix;
  }
  const double ref_init = values_of(file.get(prefix + "init_noise_sigma"))[0];
  const double init_rel = std::fabs(s.init_noise_sigma() - ref_init) / std::fabs(ref_init);
  EXPECT_LE(init_rel, 1e-6) << how << " " << prefix << "init_noise_sigma";
  return std::max(worst, init_rel);
}

TEST(Schedulers, TimestepsSigmasAndInitNoiseSigmaMatchDiffusers) {
  const auto path = test::fixture("expected/schedulers.safetensors");
  SDWALK_REQUIRE_FIXTURE(path);
  SDWALK_REQUIRE_FIXTURE(test::fixture("expected/schedulers.json"));
  const SafeTensors file = SafeTensors::open(path);
  const nlohmann::json doc = schedulers_json();
  const auto cases = schedule_cases(file);
  ASSERT_FALSE(cases.empty());
  double worst = 0;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name + " steps " + std::to_string(c.steps));
    const nlohmann::json& entry = doc.at("schedulers").at(c.name);
    auto s = make_scheduler_from_config(entry.at("config"));
    EXPECT_EQ(s->class_name(), entry.at("class").get<std::string>());
    worst = std::max(worst, expect_schedule(*s, file, c, "from_config"));
  }
  std::printf("[ schedules ] %zu cases (from_config): timesteps exact, max rel error of sigmas/init_noise_sigma %.3g\n",
              cases.size(), worst);
}

TEST(Schedulers, ShortNamesOnTheSd15BaseConfigGiveDiffusersSchedules) {
  const auto path = test::fixture("expected/schedulers.safetensors");
  SDWALK_REQUIRE_FIXTURE(path);
  SDWALK_REQUIRE_FIXTURE(test::fixture("expected/schedulers.json"));
  const SafeTensors file = SafeTensors::open(path);
  const nlohmann::json doc = schedulers_json();
  const nlohmann::json& base = doc.at("base_config_sd15");
  double worst = 0;
  for (const auto& c : schedule_cases(file)) {
    SCOPED_TRACE(c.name + " steps " + std::to_string(c.steps));
    auto s = make_scheduler(c.name, base);
    EXPECT_EQ(s->class_name(), doc.at("schedulers").at(c.name).at("class").get<std::string>());
    worst = std::max(worst, expect_schedule(*s, file, c, "make_scheduler"));
  }
  std::printf("[ schedules ] make_scheduler(short name, base_config_sd15): max rel error %.3g\n", worst);
}

TEST(Schedulers, TrainingScheduleMatchesDiffusersBitForBit) {
  const auto path = test::fixture("expected/schedulers.safetensors");
  SDWALK_REQUIRE_FIXTURE(path);
  SDWALK_REQUIRE_FIXTURE(test::fixture("expected/schedulers.json"));
  const SafeTensors file = SafeTensors::open(path);
  auto s = make_scheduler("ddim", schedulers_json().at("base_config_sd15"));
  const std::vector<double> betas = values_of(file.get("train/betas"));
  const std::vector<double> ac = values_of(file.get("train/alphas_cumprod"));
  ASSERT_EQ(s->betas().size(), betas.size());
  int bad = 0;
  for (size_t i = 0; i < betas.size(); ++i) bad += float(betas[i]) != s->betas()[i] || float(ac[i]) != s->alphas_cumprod()[i];
  EXPECT_EQ(bad, 0) << "betas/alphas_cumprod entries that differ from torch's float32 values";
}

TEST(Schedulers, LmsCoefficientsMatchScipyQuad) {
  SDWALK_REQUIRE_FIXTURE(test::fixture("expected/schedulers.json"));
  const nlohmann::json doc = schedulers_json();
  const nlohmann::json& lms = doc.at("schedulers").at("lms");
  auto s = make_scheduler_from_config(lms.at("config"));
  auto* l = dynamic_cast<sched::LMSDiscreteScheduler*>(s.get());
  ASSERT_NE(l, nullptr);
  double worst = 0;
  int count = 0;
  for (const auto& [steps, entry] : lms.at("steps").items()) {
    if (!entry.contains("lms_coefficients_order4")) continue;
    l->set_timesteps(std::stoi(steps));
    const auto& per_step = entry.at("lms_coefficients_order4");
    for (size_t t = 0; t < per_step.size(); ++t) {
      const int order = int(per_step[t].size());
      for (int k = 0; k < order; ++k) {
        const double ref = per_step[t][size_t(k)].get<double>();
        const double ours = l->lms_coefficient(order, int(t), k);
        const double rel = std::fabs(ours - ref) / std::fabs(ref);
        worst = std::max(worst, rel);
        ++count;
        EXPECT_LE(rel, 1e-6) << "steps " << steps << " t " << t << " order " << order << " k " << k << ": ours "
                             << ours << " scipy " << ref;
      }
    }
  }
  EXPECT_GT(count, 0);
  std::printf("[ lms coefficients ] %d compared, max rel error %.3g\n", count, worst);
}

// README section 6: sample = x0 * init_noise_sigma; model_input = scale_model_input(sample, t);
// model_output = 0.3 * model_input + eps_fixed[i % 4]; sample = step(model_output, t, sample).
TEST(Schedulers, SyntheticLoopMatchesDiffusersStepByStep) {
  const auto path = test::fixture("expected/schedulers.safetensors");
  SDWALK_REQUIRE_FIXTURE(path);
  SDWALK_REQUIRE_FIXTURE(test::fixture("expected/schedulers.json"));
  const SafeTensors file = SafeTensors::open(path);
  const nlohmann::json doc = schedulers_json();
  const Tensor x0 = file.get_f32("loop/x0");
  const Tensor eps_fixed = file.get_f32("loop/eps_fixed");
  const int64_t eps_count = eps_fixed.dim(0);
  const std::regex pattern(R"(loop/([a-z0-9_]+)/timesteps)");
  int schedulers = 0;
  for (const auto& tensor_name : file.names()) {
    std::smatch m;
    if (!std::regex_match(tensor_name, m, pattern)) continue;
    const std::string name = m[1].str();
    SCOPED_TRACE(name);
    ++schedulers;
    const nlohmann::json& per = doc.at("loop").at("per_scheduler").at(name);
    for (const bool short_name : {false, true}) {
      auto s = short_name ? make_scheduler(name, doc.at("base_config_sd15"))
                          : make_scheduler_from_config(doc.at("schedulers").at(name).at("config"));
      s->set_timesteps(per.at("num_inference_steps").get<int>());
      std::optional<TorchGenerator> gen;
      if (!per.at("step_generator_seed").is_null()) gen.emplace(per.at("step_generator_seed").get<uint64_t>());

      const std::vector<double> ref_t = values_of(file.get("loop/" + name + "/timesteps"));
      ASSERT_EQ(s->timesteps().size(), ref_t.size());
      const Tensor ref_in = file.get_f32("loop/" + name + "/sample_in");
      const Tensor ref_mi = file.get_f32("loop/" + name + "/model_input");
      const Tensor ref_mo = file.get_f32("loop/" + name + "/model_output");
      const Tensor ref_prev = file.get_f32("loop/" + name + "/prev_sample");
      const float init = s->init_noise_sigma();
      Tensor sample = Tensor(x0.shape());
      for (int64_t j = 0; j < x0.numel(); ++j) sample.f32()[j] = x0.f32()[j] * init;
      double worst_in = 0, worst_mi = 0, worst_prev = 0;
      for (size_t i = 0; i < ref_t.size(); ++i) {
        const double t = s->timesteps()[i];
        EXPECT_EQ(float(t), float(ref_t[i])) << "timestep " << i;
        const auto row = [&](const Tensor& all) { return all.slice0(int64_t(i), int64_t(i) + 1).reshape(x0.shape()); };
        worst_in = std::max(worst_in, test::compare(sample, row(ref_in)).rel());
        const Tensor model_input = s->scale_model_input(sample, t);
        worst_mi = std::max(worst_mi, test::compare(model_input, row(ref_mi)).rel());
        const Tensor eps = eps_fixed.slice0(int64_t(i) % eps_count, int64_t(i) % eps_count + 1).reshape(x0.shape());
        Tensor model_output(x0.shape());
        for (int64_t j = 0; j < x0.numel(); ++j)
          model_output.f32()[j] = 0.3f * model_input.f32()[j] + eps.f32()[j];
        sample = s->step(model_output, t, sample, gen ? &*gen : nullptr);
        worst_prev = std::max(worst_prev, test::compare(sample, row(ref_prev)).rel());
      }
      // diffusers' float32 arithmetic is reproduced operation by operation (observed: bit-exact);
      // the margin allows a last-bit difference of a libm log/exp/sqrt on another platform.
      EXPECT_LE(worst_in, 1e-6);
      EXPECT_LE(worst_mi, 1e-6);
      EXPECT_LE(worst_prev, 1e-6);
      std::printf("[ loop %-16s %-13s] max rel: sample_in %.3g  model_input %.3g  prev_sample %.3g\n", name.c_str(),
                  short_name ? "make_scheduler" : "from_config", worst_in, worst_mi, worst_prev);
    }
  }
  EXPECT_GT(schedulers, 0);
}

// The full pipeline runs (expected/pipeline_*.safetensors) record their scheduler and timesteps.
TEST(Schedulers, PipelineRunsUseTheseTimestepsAndInitialScaling) {
  const auto files = test::fixture_files("expected", "pipeline_", ".safetensors");
  if (files.empty()) GTEST_SKIP() << "no expected/pipeline_*.safetensors";
  for (const auto& path : files) {
    SCOPED_TRACE(path.string());
    const SafeTensors file = SafeTensors::open(path);
    const std::string cls = test::metadata_json(file, "scheduler_class").get<std::string>();
    nlohmann::json config = test::metadata_json(file, "scheduler_config");
    config["_class_name"] = cls;
    auto s = make_scheduler_from_config(config);
    s->set_timesteps(test::metadata_json(file, "num_inference_steps").get<int>());
    const std::vector<double> ref_t = values_of(file.get("timesteps"));
    ASSERT_EQ(s->timesteps().size(), ref_t.size());
    for (size_t i = 0; i < ref_t.size(); ++i) EXPECT_EQ(float(s->timesteps()[i]), float(ref_t[i])) << i;
    if (file.contains("latents_in") && file.contains("latents_in_scaled")) {
      const Tensor in = file.get_f32("latents_in");
      const Tensor scaled = file.get_f32("latents_in_scaled");
      int bad = 0;
      for (int64_t j = 0; j < in.numel(); ++j) bad += in.f32()[j] * s->init_noise_sigma() != scaled.f32()[j];
      EXPECT_EQ(bad, 0) << "latents_in * init_noise_sigma differs from latents_in_scaled";
    }
  }
}

TEST(Schedulers, NamesAndConfigsAreCheckedWithClearErrors) {
  const nlohmann::json base = {{"skip_prk_steps", true}};  // PNDM supports PLMS only
  for (const auto& name : scheduler_names()) EXPECT_EQ(make_scheduler(name, base)->name(), name);
  EXPECT_EQ(make_scheduler("euler_ancestral", base)->name(), "euler_a");
  EXPECT_EQ(make_scheduler("EulerDiscreteScheduler", base)->name(), "euler");
  EXPECT_THROW(make_scheduler("pndm", nlohmann::json::object()), Error);  // skip_prk_steps false
  try {
    make_scheduler("heun", nlohmann::json::object());
    ADD_FAILURE() << "unknown scheduler accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unknown scheduler 'heun'"), std::string::npos) << e.what();
  }
  EXPECT_THROW(make_scheduler_from_config(nlohmann::json::object()), Error);  // no _class_name
  EXPECT_THROW(make_scheduler_from_config({{"_class_name", "KDPM2DiscreteScheduler"}}), Error);
  EXPECT_THROW(make_scheduler_from_config({{"_class_name", "DDIMScheduler"}, {"beta_start", "x"}}), Error);
  EXPECT_THROW(make_scheduler_from_config({{"_class_name", "DDIMScheduler"}, {"timestep_spacing", "odd"}}), Error);
  auto s = make_scheduler("lms", nlohmann::json::object());
  s->set_timesteps(4);
  EXPECT_THROW(s->step(Tensor({4}), 123.5, Tensor({4}), nullptr), Error);  // not one of its timesteps
  auto a = make_scheduler("euler_a", nlohmann::json::object());
  a->set_timesteps(4);
  EXPECT_THROW(a->step(Tensor({4}), a->timesteps()[0], Tensor({4}), nullptr), Error);  // needs a generator
}

}  // namespace
}  // namespace sdwalk
