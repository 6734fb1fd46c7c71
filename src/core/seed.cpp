#include "sdwalk/seed.hpp"

#include "sdwalk/error.hpp"

namespace sdwalk {
namespace {

std::string expected(const std::string& what, const std::string& got) {
  return what + ": expected a seed 0 .. " + std::to_string(kMaxSeed) + ", got '" + got + "'";
}

}  // namespace

int64_t parse_seed(const std::string& text, const std::string& what) {
  check(!text.empty() && text.size() <= 19, expected(what, text));
  uint64_t v = 0;
  for (char c : text) {
    check(c >= '0' && c <= '9', expected(what, text));
    v = v * 10 + uint64_t(c - '0');  // 19 digits fit in uint64
  }
  check(v <= uint64_t(kMaxSeed), expected(what, text));
  return int64_t(v);
}

void check_seed(int64_t seed, const std::string& what) { check(seed >= 0, expected(what, std::to_string(seed))); }

}  // namespace sdwalk
