#include "cli/interrupt_notice.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

namespace sdwalk::cli {
namespace {

// Copied in before the handlers are set: the handler may only call async-signal-safe functions.
char g_message[4096];
size_t g_length = 0;
struct sigaction g_previous_int, g_previous_term;

void on_signal(int sig) {
  if (g_length) {
    const ssize_t written = ::write(STDERR_FILENO, g_message, g_length);
    (void)written;  // nothing more can be done about a failed write in a handler
  }
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

}  // namespace

InterruptNotice::InterruptNotice(const std::string& message) {
  // On a terminal the progress bar's line is still open.
  const std::string text = (::isatty(STDERR_FILENO) ? "\n" : "") + message + "\n";
  g_length = std::min(text.size(), sizeof g_message);
  std::memcpy(g_message, text.data(), g_length);
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, &g_previous_int);
  ::sigaction(SIGTERM, &sa, &g_previous_term);
}

InterruptNotice::~InterruptNotice() {
  ::sigaction(SIGINT, &g_previous_int, nullptr);
  ::sigaction(SIGTERM, &g_previous_term, nullptr);
  g_length = 0;
}

std::string shell_word(const std::string& path) {
  const bool plain = !path.empty() && path.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                                             "0123456789_./-+=,:@%") == std::string::npos;
  if (plain) return path;
  std::string out = "'";
  for (char c : path) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

}  // namespace sdwalk::cli
