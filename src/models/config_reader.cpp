#include "models/config_reader.hpp"

#include "sdwalk/error.hpp"

namespace sdwalk::models {

ConfigReader::ConfigReader(const nlohmann::json& config, std::string what) : config_(config), what_(std::move(what)) {
  check(config.is_object(), what_ + ": expected a JSON object");
}

const nlohmann::json* ConfigReader::find(const std::string& key) const {
  auto it = config_.find(key);
  if (it == config_.end() || it->is_null()) return nullptr;
  return &*it;
}

bool ConfigReader::has(const std::string& key) const { return find(key) != nullptr; }

void ConfigReader::bad_type(const std::string& key, const std::string& expected) const {
  throw Error(what_ + ": " + key + " = " + find(key)->dump() + ", expected " + expected);
}

int ConfigReader::integer(const std::string& key, int fallback) const {
  const auto* v = find(key);
  if (!v) return fallback;
  if (v->is_number_integer()) return v->get<int>();
  if (v->is_number_float() && v->get<double>() == double(int(v->get<double>()))) return int(v->get<double>());
  bad_type(key, "an integer");
}

double ConfigReader::number(const std::string& key, double fallback) const {
  const auto* v = find(key);
  if (!v) return fallback;
  if (!v->is_number()) bad_type(key, "a number");
  return v->get<double>();
}

bool ConfigReader::boolean(const std::string& key, bool fallback) const {
  const auto* v = find(key);
  if (!v) return fallback;
  if (!v->is_boolean()) bad_type(key, "true or false");
  return v->get<bool>();
}

std::string ConfigReader::string(const std::string& key, const std::string& fallback) const {
  const auto* v = find(key);
  if (!v) return fallback;
  if (!v->is_string()) bad_type(key, "a string");
  return v->get<std::string>();
}

std::vector<int> ConfigReader::integers(const std::string& key, const std::vector<int>& fallback) const {
  const auto* v = find(key);
  if (!v) return fallback;
  if (!v->is_array()) bad_type(key, "a list of integers");
  std::vector<int> out;
  for (const auto& e : *v) {
    if (!e.is_number_integer()) bad_type(key, "a list of integers");
    out.push_back(e.get<int>());
  }
  return out;
}

std::vector<std::string> ConfigReader::strings(const std::string& key, const std::vector<std::string>& fallback) const {
  const auto* v = find(key);
  if (!v) return fallback;
  if (!v->is_array()) bad_type(key, "a list of strings");
  std::vector<std::string> out;
  for (const auto& e : *v) {
    if (!e.is_string()) bad_type(key, "a list of strings");
    out.push_back(e.get<std::string>());
  }
  return out;
}

std::vector<int> ConfigReader::per_block(const std::string& key, int fallback, size_t count) const {
  const auto* v = find(key);
  if (!v) return std::vector<int>(count, fallback);
  if (v->is_number_integer()) return std::vector<int>(count, v->get<int>());
  std::vector<int> out = integers(key, {});
  if (out.size() != count)
    throw Error(what_ + ": " + key + " has " + std::to_string(out.size()) + " values, expected one per block (" +
                std::to_string(count) + ")");
  return out;
}

void ConfigReader::unsupported(const std::string& key, const std::string& why) const {
  const auto* v = find(key);
  throw Error(what_ + ": " + key + " = " + (v ? v->dump() : std::string("null")) + " is not supported (" + why + ")");
}

void ConfigReader::require_null(const std::string& key, const std::string& why) const {
  if (has(key)) unsupported(key, why);
}

}  // namespace sdwalk::models
