#include "common/fixtures.hpp"

#include <algorithm>
#include <cstdlib>
#include <fstream>

#include "core/python_json.hpp"

namespace sdwalk::test {

std::filesystem::path fixtures_dir() {
  if (const char* env = std::getenv("SDWALK_FIXTURES"); env && *env) return env;
  return std::filesystem::path(SDWALK_SOURCE_DIR) / ".." / "shared" / "fixtures";
}

std::filesystem::path fixture(const std::string& rel) { return fixtures_dir() / rel; }

std::vector<std::filesystem::path> fixture_files(const std::string& dir, const std::string& prefix,
                                                 const std::string& suffix) {
  std::vector<std::filesystem::path> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(fixture(dir), ec)) {
    const std::string n = e.path().filename().string();
    if (n.size() >= prefix.size() + suffix.size() && n.starts_with(prefix) && n.ends_with(suffix))
      out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

nlohmann::json metadata_json(const SafeTensors& file, const std::string& key) {
  auto it = file.metadata().find(key);
  if (it == file.metadata().end()) return nullptr;
  // Python wrote these: scheduler configs hold -Infinity (lambda_min_clipped), which strict JSON rejects.
  return parse_python_json(it->second, file.label() + " metadata \"" + key + "\"");
}

std::filesystem::path sd15_tokenizer_dir() {
  namespace fs = std::filesystem;
  auto pads_with_end_of_text = [](const fs::path& dir) {
    std::error_code ec;
    if (!fs::is_regular_file(dir / "vocab.json", ec) || !fs::is_regular_file(dir / "merges.txt", ec)) return false;
    try {
      const nlohmann::json config = nlohmann::json::parse(std::ifstream(dir / "tokenizer_config.json"));
      const nlohmann::json& pad = config.at("pad_token");
      return (pad.is_object() ? pad.at("content") : pad) == "<|endoftext|>";
    } catch (const std::exception&) {
      return false;
    }
  };
  static const fs::path found = [&] {
    if (pads_with_end_of_text(fixture("clip_tokenizer"))) return fixture("clip_tokenizer");
    std::vector<fs::path> models;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(fixtures_dir(), ec))
      if (fs::is_regular_file(e.path() / "model_index.json", ec)) models.push_back(e.path());
    std::sort(models.begin(), models.end());
    for (const fs::path& m : models)
      if (pads_with_end_of_text(m / "tokenizer")) return m / "tokenizer";
    return fs::path();
  }();
  return found;
}

std::filesystem::path sdwalk_binary() {
  if (const char* env = std::getenv("SDWALK_BINARY"); env && *env) return env;
  return std::filesystem::path(SDWALK_BINARY_DIR_FOR_COMMON) / "sdwalk";
}

std::filesystem::path demo_model_dir() {
  if (const char* env = std::getenv("SDWALK_DEMO_MODEL"); env && *env) return env;
  return std::filesystem::path(SDWALK_SOURCE_DIR) / "models" / "demo";
}

}  // namespace sdwalk::test
