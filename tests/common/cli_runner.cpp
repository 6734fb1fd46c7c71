#include "common/cli_runner.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <chrono>

#include "common/fixtures.hpp"

namespace sdwalk::test {

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

RunResult run_sdwalk(const std::string& args, int timeout_s) {
  // A unique stderr file: ctest runs test processes in parallel.
  std::string err_path = (std::filesystem::temp_directory_path() / "sdwalk_cli_stderr_XXXXXX").string();
  const int fd = ::mkstemp(err_path.data());
  if (fd >= 0) ::close(fd);
  const std::string prefix = timeout_s > 0 ? "timeout -k 5 " + std::to_string(timeout_s) + " " : "";
  const std::string cmd = prefix + shell_quote(sdwalk_binary().string()) + " " + args + " 2>" + shell_quote(err_path);
  RunResult r;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) r.out.append(buf, n);
  const int status = pclose(p);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ostringstream err;
  err << std::ifstream(err_path).rdbuf();
  r.err = err.str();
  std::filesystem::remove(err_path);
  return r;
}

std::string last_line(const std::string& s) {
  std::string t = s;
  while (!t.empty() && t.back() == '\n') t.pop_back();
  const size_t nl = t.rfind('\n');
  return nl == std::string::npos ? t : t.substr(nl + 1);
}

void interrupt_when_exists(const std::string& command, const std::filesystem::path& file, int signal) {
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    ::execl("/bin/sh", "sh", "-c", ("exec " + command).c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!std::filesystem::exists(file) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  ::kill(pid, signal);
  int status = 0;
  ::waitpid(pid, &status, 0);
}

}  // namespace sdwalk::test
