#pragma once
// The message of the sdwalk::Error that f throws, or "" when it throws none: for tests that check
// what an error says.
#include <functional>
#include <string>

#include "sdwalk/error.hpp"

namespace sdwalk::test {

inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace sdwalk::test
