// `sdwalk bench` refuses flags that do not go together with one line, before building any network.
#include <gtest/gtest.h>

#include <algorithm>

#include "common/cli_runner.hpp"

namespace sdwalk {
namespace {
using test::run_sdwalk;

void expect_one_line_refusal(const std::string& args, const std::string& expect) {
  const auto r = run_sdwalk(args);
  EXPECT_NE(r.status, 0) << args;
  EXPECT_NE(r.err.find(expect), std::string::npos) << args << "\nstderr: " << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << args << "\nstderr: " << r.err;
  EXPECT_EQ(r.out.find("models built"), std::string::npos) << "built networks first: " << r.out;
}

TEST(BenchFlagsCli, ArchSdxlIsForTheNetworkTimingsOnly) {
  expect_one_line_refusal("bench --arch sdxl --walk", "--arch sdxl");
  expect_one_line_refusal("bench --arch sdxl --model /nonexistent", "--arch sdxl");
  expect_one_line_refusal("bench --arch sd3", "--arch");
}

}  // namespace
}  // namespace sdwalk
