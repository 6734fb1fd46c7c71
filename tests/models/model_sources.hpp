#pragma once
// The two ways the fixture model reaches the networks: the diffusers folder and the fp16 single-file
// LDM checkpoint (configs from the fixture folder), both through load_model_files. Same weights, so
// the same references apply.
#include <nlohmann/json.hpp>
#include <string>

#include "sdwalk/weights.hpp"

namespace sdwalk::test {

enum class ModelSource { DiffusersFolder, Fp16SingleFile };

std::string source_name(ModelSource s);  // for test names: "DiffusersFolder", "Fp16SingleFile"
// The fixture file the source reads (to skip when absent).
std::string source_fixture(ModelSource s, const std::string& network);

struct NetworkFiles {
  nlohmann::json config;
  Weights weights;
};
// network: "unet" or "vae". Cached: every test of a source shares one load.
const NetworkFiles& load_network(ModelSource s, const std::string& network);

}  // namespace sdwalk::test
