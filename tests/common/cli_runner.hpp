#pragma once
// Runs the built sdwalk binary as a user would, capturing exit status, stdout and stderr.
#include <filesystem>
#include <string>

namespace sdwalk::test {

struct RunResult {
  int status = -1;  // exit code (WEXITSTATUS), -1 when it did not exit normally
  std::string out, err;
};

std::string shell_quote(const std::string& s);
// `args` is appended to the binary's path as shell words (quote them with shell_quote).
// timeout_s > 0: killed after that many seconds (status 124), for checks that something does not hang.
RunResult run_sdwalk(const std::string& args, int timeout_s = 0);
std::string last_line(const std::string& s);
// Starts `command` (a shell command line), sends it `signal` once `file` exists (or after 60 s,
// whatever happened by then) and reaps it: a run interrupted after its first frame.
void interrupt_when_exists(const std::string& command, const std::filesystem::path& file, int signal);

}  // namespace sdwalk::test
