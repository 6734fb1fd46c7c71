#pragma once
// An error a request handler answers with an HTTP status and {"error": message}.
#include <string>

#include "sdwalk/error.hpp"

namespace sdwalk::server {

struct HttpError : Error {
  HttpError(int status, const std::string& message) : Error(message), status(status) {}
  int status;
};

}  // namespace sdwalk::server
