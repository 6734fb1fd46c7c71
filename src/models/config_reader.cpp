#include "models/config_reader.hpp"

#include <cmath>
#include <limits>
#include <optional>

#include "sdwalk/error.hpp"

namespace sdwalk::models {
namespace {

// The number as an int when it is one exactly (a float such as 2.0 counts when floats_too); not
// for fractions or values outside int's range, which a plain get<int>() would wrap or (for a
// double) make undefined.
std::optional<int> exact_int(const nlohmann::json& v, bool floats_too) {
  constexpr int64_t lo = std::numeric_limits<int>::min(), hi = std::numeric_limits<int>::max();
  if (v.is_number_unsigned()) {
    if (v.get<uint64_t>() <= uint64_t(hi)) return int(v.get<uint64_t>());
  } else if (v.is_number_integer()) {
    if (v.get<int64_t>() >= lo && v.get<int64_t>() <= hi) return int(v.get<int64_t>());
  } else if (floats_too && v.is_number_float()) {
    const double d = v.get<double>();
    if (d >= double(lo) && d <= double(hi) && d == std::floor(d)) return int(d);
  }
  return std::nullopt;
}

}  // namespace

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
  if (const auto i = exact_int(*v, true)) return *i;
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
    const auto i = exact_int(e, false);
    if (!i) bad_type(key, "a list of integers");
    out.push_back(*i);
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
  if (v->is_number_integer()) return std::vector<int>(count, integer(key, fallback));
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
