#pragma once
// The library reports every failure as sdwalk::Error; the CLI prints what() as one line.
#include <stdexcept>
#include <string>

namespace sdwalk {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// Throws Error(message) when cond is false. For input validation, not for invariants.
inline void check(bool cond, const std::string& message) {
  if (!cond) throw Error(message);
}

}  // namespace sdwalk
