#include "server/security.hpp"

#include <arpa/inet.h>
#include <httplib.h>

#include <fstream>

#include "sdwalk/error.hpp"

namespace sdwalk::server {
namespace {

// Compares in time that depends on the lengths only, not on where the strings differ.
bool same_secret(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

// "127.0.0.1:7860" -> "127.0.0.1", "[::1]:7860" -> "::1".
std::string host_name(const std::string& host_header) {
  if (!host_header.empty() && host_header[0] == '[') {
    const size_t end = host_header.find(']');
    return end == std::string::npos ? host_header : host_header.substr(1, end - 1);
  }
  return host_header.substr(0, host_header.find(':'));
}

}  // namespace

bool is_loopback_host(const std::string& host) {
  if (host == "localhost" || host == "::1") return true;
  in_addr a{};  // 127.0.0.0/8, written as an address (not "127.0.0.1.example.com")
  return inet_pton(AF_INET, host.c_str(), &a) == 1 && (ntohl(a.s_addr) >> 24) == 127;
}

std::string random_token() {
  std::ifstream in("/dev/urandom", std::ios::binary);
  unsigned char bytes[16];
  check(bool(in.read(reinterpret_cast<char*>(bytes), sizeof bytes)), "cannot read /dev/urandom for a token");
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) {
    out += hex[b >> 4];
    out += hex[b & 15];
  }
  return out;
}

std::optional<Refusal> AccessPolicy::refuse(const httplib::Request& req) const {
  const std::string host = req.get_header_value("Host");
  if (req.has_header("Origin") && req.get_header_value("Origin") != "http://" + host)
    return Refusal{403, "cross-origin requests are refused"};
  if (loopback_ && token_.empty() && !host.empty() && !is_loopback_host(host_name(host)))
    return Refusal{403, "Host " + host + " is not this loopback server"};
  if (!token_.empty() && req.path.rfind("/api", 0) == 0 &&
      !same_secret(req.get_header_value("Authorization"), "Bearer " + token_))
    return Refusal{401, "missing or wrong token (send Authorization: Bearer <token>)"};
  return std::nullopt;
}

}  // namespace sdwalk::server
