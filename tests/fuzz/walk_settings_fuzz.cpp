// libFuzzer target for settings.json, which `sdwalk walk --resume RUN` reads back from a run folder:
// parsed as cmd_walk parses it, then WalkSettings::from_json and validate(). Each returns or raises
// sdwalk::Error. Accepted settings survive to_json -> from_json unchanged, and validated ones
// describe a walk that can be planned (noises, seeds and frame counts that fit the prompts).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>

#include "fuzz_support.hpp"
#include "sdwalk/error.hpp"
#include "sdwalk/walk_settings.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sdwalk;
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(std::string(reinterpret_cast<const char*>(data), size));
  } catch (const nlohmann::json::exception&) {
    return 0;  // cmd_walk reports this as "not valid JSON"
  }
  WalkSettings s;
  try {
    s = WalkSettings::from_json(j);
  } catch (const Error&) {
    return 0;
  }
  const nlohmann::json written = s.to_json();
  FUZZ_CHECK(WalkSettings::from_json(nlohmann::json::parse(written.dump())).to_json() == written);
  try {
    s.validate();
  } catch (const Error&) {
    return 0;
  }
  FUZZ_CHECK(s.height > 0 && s.width > 0 && s.batch_size >= 1 && s.num_inference_steps >= 1);
  const size_t noises = size_t(s.noise_count());
  FUZZ_CHECK(noises >= 1 && noises <= std::max<size_t>(s.prompts.size(), 2));
  FUZZ_CHECK(!s.seeds.empty() && s.seeds.size() <= s.prompts.size());
  if (s.mode == WalkMode::Keyframes) {
    FUZZ_CHECK(s.keyframe_frames.empty() || s.keyframe_frames.size() + 1 == s.prompts.size());
    // One seed: keyframe k uses seed + k (plan_walk), which must not overflow.
    const int64_t last = int64_t(s.prompts.size()) - 1;
    FUZZ_CHECK(s.seeds.size() > 1 || s.seeds[0] <= std::numeric_limits<int64_t>::max() - last);
  }
  return 0;
}
