// libFuzzer target for the keyframe file of `sdwalk walk keyframes --keyframes FILE.json`: any text
// either parses into at least two keyframes within the documented ranges, or raises sdwalk::Error.
// An accepted list, written back as JSON, parses to the same keyframes.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_support.hpp"
#include "sdwalk/error.hpp"
#include "sdwalk/keyframes.hpp"

namespace {

using namespace sdwalk;

nlohmann::json to_json(const std::vector<KeyframeSpec>& keys) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& k : keys) {
    nlohmann::json j = {{"prompt", k.prompt}};
    if (k.negative_prompt) j["negative_prompt"] = *k.negative_prompt;
    if (k.seed) j["seed"] = *k.seed;
    if (k.frames) j["frames"] = *k.frames;
    list.push_back(j);
  }
  return {{"keyframes", list}};
}

bool same(const KeyframeSpec& a, const KeyframeSpec& b) {
  return a.prompt == b.prompt && a.negative_prompt == b.negative_prompt && a.seed == b.seed && a.frames == b.frames;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<KeyframeSpec> keys;
  try {
    keys = parse_keyframes_text(std::string(reinterpret_cast<const char*>(data), size), "fuzz.json");
  } catch (const Error&) {
    return 0;  // a clear error is the expected answer to a malformed file
  }
  FUZZ_CHECK(keys.size() >= 2);
  for (const auto& k : keys) {
    FUZZ_CHECK(!k.seed || *k.seed >= 0);
    FUZZ_CHECK(!k.frames || (*k.frames >= 2 && *k.frames <= 1000000));
  }
  const auto again = parse_keyframes_text(to_json(keys).dump(), "round trip");
  FUZZ_CHECK(again.size() == keys.size());
  for (size_t i = 0; i < keys.size(); ++i) FUZZ_CHECK(same(keys[i], again[i]));
  return 0;
}
