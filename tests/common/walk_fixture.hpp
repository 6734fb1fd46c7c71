#pragma once
// One cookbook walk of expected/interpolation/, read from its file: which notebook walk it is (from
// the tensor its walk produced), its parameters (from __metadata__) and the noise it drew.
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "sdwalk/safetensors.hpp"

namespace sdwalk::test {

struct WalkFixture {
  std::filesystem::path path;
  std::string mode;  // drift | noise | prompts | circle ("" when the file holds no known walk)
  std::vector<std::string> prompts, negative_prompts;
  int64_t seed = 0;
  int height = 0, width = 0, num_inference_steps = 0, num_interpolation_steps = 0;
  double guidance_scale = 0, step_size = 0;
  std::string scheduler_class;  // e.g. LMSDiscreteScheduler
  nlohmann::json scheduler_kwargs = nlohmann::json::object();  // the keyword arguments it was built with
  Tensor noise;   // the drawn noise: [1,4,h,w], [2,4,h,w] or [2,1,4,h,w]
  Tensor frames;  // [N, H, W, 3] in [0, 1]
};

std::vector<std::filesystem::path> walk_fixture_files();
// Which notebook walk a file holds, from the tensor its walk produced ("" when none).
std::string walk_mode(const SafeTensors& f);
WalkFixture read_walk_fixture(const std::filesystem::path& path);

}  // namespace sdwalk::test
