#pragma once
// Ctrl-C and SIGTERM during long work: one line on stderr saying what is left and how to go on,
// then the process ends as the signal would have ended it (exit status and all).
#include <string>

namespace sdwalk::cli {

class InterruptNotice {
 public:
  // While this object lives, SIGINT / SIGTERM print `message` (a newline is added).
  explicit InterruptNotice(const std::string& message);
  ~InterruptNotice();  // the previous handlers again
  InterruptNotice(const InterruptNotice&) = delete;
  InterruptNotice& operator=(const InterruptNotice&) = delete;
};

// `path` as one shell word: as is when it has no characters the shell treats specially, else quoted.
std::string shell_word(const std::string& path);

}  // namespace sdwalk::cli
