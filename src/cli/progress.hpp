#pragma once
// Progress on stderr for long work: a redrawn bar with s/step and ETA on a terminal; when stderr is
// a file or pipe, plain lines: the first step, then at most one every few seconds, and the last
// (a walk's log was one line per denoising step: 480 for the README's demo).
#include <chrono>
#include <string>

namespace sdwalk::cli {

class Progress {
 public:
  Progress(std::string label, int total);
  void update(int done);  // done in 1..total
  // The total once it is known (a scheduler may run more timesteps than steps: PNDM's PLMS runs one more).
  void set_total(int total) { total_ = total; }
  void finish();          // ends the terminal line

 private:
  std::string label_;
  int total_;
  bool tty_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_line_{};  // when the last plain line was printed
  bool finished_ = false;
};

std::string format_seconds(double s);  // "4.2 s", "3 min 05 s"

}  // namespace sdwalk::cli
