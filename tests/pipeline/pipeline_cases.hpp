#pragma once
// The pipeline fixture files (expected/pipeline_*.safetensors) as gtest parameters, shared by the
// pipeline tests that run every case.
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace sdwalk::test {

// File names of the cases; one placeholder (reported as skipped) when there are none.
std::vector<std::string> pipeline_cases();
// A gtest-safe name: the file name without its extension, other characters as '_'.
std::string pipeline_case_name(const ::testing::TestParamInfo<std::string>& info);

}  // namespace sdwalk::test
