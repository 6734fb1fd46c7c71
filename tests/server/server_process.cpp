#include "server/server_process.hpp"

#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <thread>

namespace sdwalk::test {

ServerProcess::ServerProcess(const std::filesystem::path& runs, const std::vector<std::string>& extra) {
  std::vector<std::string> args = {SDWALK_BINARY_DIR "/sdwalk", "serve", "--port", "0", "--runs", runs.string(),
                                   "--threads", "1"};
  args.insert(args.end(), extra.begin(), extra.end());
  int out[2];
  if (pipe(out) != 0) throw std::runtime_error("pipe");
  pid_ = fork();
  if (pid_ == 0) {
    dup2(out[1], 1);
    close(out[0]);
    close(out[1]);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(out[1]);
  // Reads stdout up to the "sdwalk serve: http://HOST:PORT/" line (a generated token comes first).
  std::string text;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (text.find("sdwalk serve: http://") == std::string::npos || text.back() != '\n') {
    pollfd p{out[0], POLLIN, 0};
    if (std::chrono::steady_clock::now() > deadline || poll(&p, 1, 1000) < 0) break;
    if (!(p.revents & (POLLIN | POLLHUP))) continue;
    char buf[256];
    const ssize_t n = read(out[0], buf, sizeof buf);
    if (n <= 0) break;
    text.append(buf, size_t(n));
  }
  close(out[0]);
  const size_t at = text.find("sdwalk serve: http://");
  if (at == std::string::npos) {
    stop();
    throw std::runtime_error("sdwalk serve did not start; stdout: " + text);
  }
  const size_t colon = text.find(':', text.find("//", at) + 2);
  port_ = std::stoi(text.substr(colon + 1));
  if (const size_t t = text.find("token: "); t != std::string::npos)
    token_ = text.substr(t + 7, text.find('\n', t) - t - 7);
}

bool ServerProcess::alive() {
  if (pid_ <= 0) return false;
  int status = 0;
  return waitpid(pid_, &status, WNOHANG) == 0;
}

int ServerProcess::stop() {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  int status = 0;
  for (int i = 0; i < 200; ++i) {
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  kill(pid_, SIGKILL);
  waitpid(pid_, &status, 0);
  pid_ = -1;
  return -1;
}

httplib::Client ServerProcess::client(const std::string& token) const {
  httplib::Client c("127.0.0.1", port_);
  c.set_read_timeout(120, 0);
  c.set_url_encode(false);  // the tests send their paths as given, %-escapes included
  if (!token.empty()) c.set_bearer_token_auth(token.c_str());
  return c;
}

}  // namespace sdwalk::test
