#pragma once
// A real `sdwalk serve` for the API tests: started on a free loopback port (--port 0; the address
// it prints says which) with the demo model and a runs folder, stopped with SIGTERM.
#include <httplib.h>
#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

namespace sdwalk::test {

class ServerProcess {
 public:
  explicit ServerProcess(const std::filesystem::path& runs, const std::vector<std::string>& extra = {});
  ~ServerProcess() { stop(); }
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  int port() const { return port_; }
  const std::string& printed_token() const { return token_; }  // "token: X" when the server made one
  bool alive();
  int stop();  // SIGTERM, then waits (SIGKILL after 20 s); returns the exit status
  httplib::Client client(const std::string& token = "") const;

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  std::string token_;
};

}  // namespace sdwalk::test
