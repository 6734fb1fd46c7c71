#pragma once
// Who may talk to the server: a bearer token on every /api request when one is set, and no
// cross-origin or foreign-Host requests (a web page elsewhere cannot drive a loopback server:
// its Origin is refused, and a DNS-rebound name fails the Host check).
#include <optional>
#include <string>

namespace httplib {
struct Request;
}

namespace sdwalk::server {

struct Refusal {
  int status;
  std::string message;
};

class AccessPolicy {
 public:
  AccessPolicy(std::string token, bool loopback) : token_(std::move(token)), loopback_(loopback) {}
  std::optional<Refusal> refuse(const httplib::Request& req) const;

 private:
  std::string token_;
  bool loopback_;
};

bool is_loopback_host(const std::string& host);
// 32 random hex digits (from /dev/urandom), for a server on another interface without --token.
std::string random_token();

}  // namespace sdwalk::server
