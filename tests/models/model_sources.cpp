#include "models/model_sources.hpp"

#include <fstream>
#include <map>

#include "common/fixtures.hpp"
#include "sdwalk/model_files.hpp"
#include "sdwalk/safetensors.hpp"

namespace sdwalk::test {

std::string source_name(ModelSource s) {
  return s == ModelSource::DiffusersFolder ? "DiffusersFolder" : "Fp16SingleFile";
}

std::string source_fixture(ModelSource s, const std::string& network) {
  if (s == ModelSource::DiffusersFolder)
    return fixture("mini-sd15/" + network + "/diffusion_pytorch_model.safetensors").string();
  return fixture("mini-sd15.fp16.safetensors").string();
}

const NetworkFiles& load_network(ModelSource s, const std::string& network) {
  static std::map<std::pair<ModelSource, std::string>, NetworkFiles> cache;
  auto key = std::make_pair(s, network);
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  NetworkFiles out;
  if (s == ModelSource::DiffusersFolder) {
    const auto file = SafeTensors::open(source_fixture(s, network));
    out.weights = Weights(network, file.label());
    for (const auto& name : file.names()) out.weights.add(name, file.get(name));
    std::ifstream in(fixture("mini-sd15/" + network + "/config.json"));
    out.config = nlohmann::json::parse(in);
  } else {
    ModelFiles files = load_model_files(source_fixture(s, network), {}, fixture("mini-sd15"));
    out.config = network == "unet" ? files.unet_config : files.vae_config;
    out.weights = network == "unet" ? files.unet : files.vae;
  }
  return cache.emplace(key, std::move(out)).first->second;
}

}  // namespace sdwalk::test
