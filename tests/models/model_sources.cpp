#include "models/model_sources.hpp"

#include <map>

#include "common/fixtures.hpp"
#include "sdwalk/model_files.hpp"
#include "sdwalk/safetensors.hpp"

namespace sdwalk::test {

std::string source_name(ModelSource s) {
  return s == ModelSource::DiffusersFolder ? "DiffusersFolder" : "Fp16SingleFile";
}

// The network's folder, whichever weight files it holds (fp32 ones, or only *.fp16 variants): the
// loader finds them, as it does for a user's model.
std::string source_fixture(ModelSource s, const std::string& network) {
  if (s == ModelSource::DiffusersFolder) return fixture("mini-sd15/" + network).string();
  return fixture("mini-sd15.fp16.safetensors").string();
}

const NetworkFiles& load_network(ModelSource s, const std::string& network) {
  static std::map<std::pair<ModelSource, std::string>, NetworkFiles> cache;
  auto key = std::make_pair(s, network);
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  NetworkFiles out;
  if (s == ModelSource::DiffusersFolder) {
    const ModelFiles files = load_model_files(fixture("mini-sd15"));
    out.config = network == "unet" ? files.unet_config : files.vae_config;
    out.weights = network == "unet" ? files.unet : files.vae;
  } else {
    ModelFiles files = load_model_files(source_fixture(s, network), {}, fixture("mini-sd15"));
    out.config = network == "unet" ? files.unet_config : files.vae_config;
    out.weights = network == "unet" ? files.unet : files.vae;
  }
  return cache.emplace(key, std::move(out)).first->second;
}

}  // namespace sdwalk::test
