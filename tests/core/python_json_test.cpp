#include "core/python_json.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "common/fixtures.hpp"
#include "sdwalk/error.hpp"

namespace sdwalk {
namespace {

TEST(PythonJson, ReadsTheNonFiniteTokensPythonWrites) {
  const auto j = parse_python_json(R"({"a": -Infinity, "b": [NaN, Infinity], "c": "NaN text -Infinity"})", "t");
  EXPECT_EQ(json_number(j["a"], "a"), -INFINITY);
  EXPECT_TRUE(std::isnan(json_number(j["b"][0], "b0")));
  EXPECT_EQ(json_number(j["b"][1], "b1"), INFINITY);
  EXPECT_EQ(j["c"].get<std::string>(), "NaN text -Infinity");
  EXPECT_THROW(parse_python_json("{", "t"), Error);
}

TEST(PythonJson, ParsesTheSchedulersFixtureThatStrictJsonRejects) {
  const auto path = test::fixture("expected/schedulers.json");
  SDWALK_REQUIRE_FIXTURE(path);
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_FALSE(nlohmann::json::accept(ss.str()));  // strict JSON rejects -Infinity
  const auto doc = parse_python_json(ss.str(), path.string());
  const auto& dpm = doc.at("schedulers").at("dpmpp_2m").at("config");
  EXPECT_EQ(json_number(dpm.at("lambda_min_clipped"), "lambda_min_clipped"), -INFINITY);
}

}  // namespace
}  // namespace sdwalk
