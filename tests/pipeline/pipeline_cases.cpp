#include "pipeline/pipeline_cases.hpp"

#include <cctype>

#include "common/fixtures.hpp"

namespace sdwalk::test {

std::vector<std::string> pipeline_cases() {
  std::vector<std::string> out;
  for (const auto& p : fixture_files("expected", "pipeline_", ".safetensors")) out.push_back(p.filename().string());
  if (out.empty()) out.push_back("pipeline_absent.safetensors");  // reported as skipped
  return out;
}

std::string pipeline_case_name(const ::testing::TestParamInfo<std::string>& info) {
  std::string n = info.param.substr(0, info.param.find('.'));
  for (char& c : n)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return n;
}

}  // namespace sdwalk::test
