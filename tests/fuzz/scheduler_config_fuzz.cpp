// libFuzzer target for scheduler_config.json: Python-style JSON (bare NaN/Infinity) read into a
// SchedulerConfig, the scheduler built from it (or from it with a --scheduler short name), its
// timesteps set and a few steps run on a tiny latent. Every step returns or raises sdwalk::Error;
// a scheduler that accepts the config has one training beta per alphas_cumprod entry and, after
// set_timesteps, at least one timestep, and sigmas (when it has them) that end the schedule.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "fuzz_support.hpp"
#include "sdwalk/error.hpp"
#include "core/python_json.hpp"
#include "sdwalk/scheduler.hpp"

namespace {

using namespace sdwalk;

void exercise(Scheduler& s, int steps) {
  FUZZ_CHECK(s.betas().size() == s.alphas_cumprod().size());
  s.set_timesteps(steps);
  FUZZ_CHECK(!s.timesteps().empty());
  FUZZ_CHECK(s.sigmas().empty() || s.sigmas().size() >= 2);
  TorchGenerator generator(0);
  Tensor sample = Tensor::from_vector({1, 1, 1, 2}, {0.5f, -0.5f});
  const Tensor model_output = Tensor::from_vector({1, 1, 1, 2}, {0.1f, 0.2f});
  const std::vector<double> timesteps = s.timesteps();
  for (size_t i = 0; i < timesteps.size() && i < 8; ++i) {
    const Tensor in = s.scale_model_input(sample, timesteps[i]);
    FUZZ_CHECK(in.numel() == 2);
    sample = s.step(model_output, timesteps[i], sample, &generator);
    FUZZ_CHECK(sample.numel() == 2);
  }
  s.add_noise(sample, model_output, timesteps.front());
}

void run(const std::function<std::unique_ptr<Scheduler>()>& make, int steps) {
  try {
    auto s = make();
    FUZZ_CHECK(s != nullptr);
    exercise(*s, steps);
  } catch (const Error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  nlohmann::json doc;
  try {
    doc = parse_python_json(std::string(reinterpret_cast<const char*>(data), size), "fuzz scheduler_config.json");
  } catch (const Error&) {
    return 0;
  }
  try {
    SchedulerConfig::from_json(doc);
  } catch (const Error&) {
  }
  // The input picks the step count and the short name, so each run stays short.
  const int steps = 1 + int(size % 13);
  const auto names = scheduler_names();
  const std::string name = names[size % names.size()];
  run([&] { return make_scheduler_from_config(doc); }, steps);
  run([&] { return make_scheduler(name, doc); }, steps);
  return 0;
}
