#pragma once
// Typed reads of a diffusers config.json, with diffusers' defaults for absent (or null) keys and one
// clear Error for a value of the wrong type.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace sdwalk::models {

class ConfigReader {
 public:
  // `what` names the config in errors, e.g. "unet config".
  ConfigReader(const nlohmann::json& config, std::string what);

  bool has(const std::string& key) const;  // present and not null
  int integer(const std::string& key, int fallback) const;
  double number(const std::string& key, double fallback) const;
  bool boolean(const std::string& key, bool fallback) const;
  std::string string(const std::string& key, const std::string& fallback) const;
  std::vector<int> integers(const std::string& key, const std::vector<int>& fallback) const;
  std::vector<std::string> strings(const std::string& key, const std::vector<std::string>& fallback) const;
  // diffusers' "int or one value per block" keys: a number is repeated `count` times.
  std::vector<int> per_block(const std::string& key, int fallback, size_t count) const;

  // Throws Error "<what>: <key> = <value> is not supported (<why>)".
  [[noreturn]] void unsupported(const std::string& key, const std::string& why) const;
  // unsupported() unless the key is absent/null.
  void require_null(const std::string& key, const std::string& why) const;
  const std::string& what() const { return what_; }

 private:
  const nlohmann::json* find(const std::string& key) const;
  [[noreturn]] void bad_type(const std::string& key, const std::string& expected) const;
  const nlohmann::json& config_;
  std::string what_;
};

}  // namespace sdwalk::models
