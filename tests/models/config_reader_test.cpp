// ConfigReader, the models' typed reads of config.json: values outside int's range are Errors.
#include "models/config_reader.hpp"

#include <gtest/gtest.h>

#include "sdwalk/error.hpp"

namespace sdwalk::models {
namespace {

// Found by tests/fuzz/model_config_fuzz: get<int>() wrapped 4294967300 to 4, and int(1e300)
// (the float path) is undefined behaviour.
TEST(ConfigReader, IntegersOutsideIntRangeAreErrors) {
  const nlohmann::json cfg = {{"wraps", 4294967300LL}, {"negative", -4294967300LL}, {"huge", 1e300},
                              {"two", 2.0},            {"half", 2.5},              {"list", {1, 4294967296LL}},
                              {"max", 2147483647}};
  const ConfigReader c(cfg, "unet config");
  EXPECT_THROW(c.integer("wraps", 0), Error);
  EXPECT_THROW(c.integer("negative", 0), Error);
  EXPECT_THROW(c.integer("huge", 0), Error);
  EXPECT_THROW(c.integer("half", 0), Error);
  EXPECT_EQ(c.integer("two", 0), 2);
  EXPECT_EQ(c.integer("max", 0), 2147483647);
  EXPECT_THROW(c.integers("list", {}), Error);
  EXPECT_THROW(c.per_block("wraps", 1, 4), Error);
  EXPECT_EQ(c.per_block("max", 1, 2), std::vector<int>(2, 2147483647));
  try {
    c.integer("wraps", 0);
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "unet config: wraps = 4294967300, expected an integer");
  }
}

}  // namespace
}  // namespace sdwalk::models
