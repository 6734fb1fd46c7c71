#include "cli/progress.hpp"

#include <unistd.h>

#include <cstdio>

namespace sdwalk::cli {

std::string format_seconds(double s) {
  char buf[64];
  if (s < 90) {
    std::snprintf(buf, sizeof buf, "%.1f s", s);
  } else {
    const int total = int(s + 0.5);
    std::snprintf(buf, sizeof buf, "%d min %02d s", total / 60, total % 60);
  }
  return buf;
}

Progress::Progress(std::string label, int total)
    : label_(std::move(label)), total_(total), tty_(::isatty(STDERR_FILENO) == 1),
      start_(std::chrono::steady_clock::now()) {}

void Progress::update(int done) {
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double per_step = done > 0 ? elapsed / done : 0;
  const double eta = per_step * (total_ - done);
  if (tty_) {
    constexpr int width = 24;
    const int filled = total_ > 0 ? done * width / total_ : width;
    std::string bar(size_t(filled), '#');
    bar.resize(width, '.');
    std::fprintf(stderr, "\r%s [%s] %d/%d  %.2f s/step  ETA %s   ", label_.c_str(), bar.c_str(), done, total_,
                 per_step, format_seconds(eta).c_str());
  } else {
    constexpr std::chrono::seconds interval(5);
    const auto now = std::chrono::steady_clock::now();
    const bool first = last_line_ == std::chrono::steady_clock::time_point{};
    if (!first && done < total_ && now - last_line_ < interval) return;
    last_line_ = now;
    std::fprintf(stderr, "%s %d/%d  %.2f s/step  ETA %s\n", label_.c_str(), done, total_, per_step,
                 format_seconds(eta).c_str());
  }
  std::fflush(stderr);
}

void Progress::finish() {
  if (tty_ && !finished_) std::fprintf(stderr, "\n");
  finished_ = true;
}

}  // namespace sdwalk::cli
