#pragma once
// sdwalk serve: the web studio's HTTP server around one loaded model (a thin client of Engine).
#include <string>

#include "server/served_model.hpp"
#include "server/stop_signals.hpp"

namespace sdwalk::server {

struct ServeConfig {
  std::string host = "127.0.0.1";
  int port = 7860;  // 0: any free port (the address printed says which)
  std::string runs = "output/runs";
  std::string token;  // "": none (loopback only); every /api request then needs "Authorization: Bearer <token>"
  size_t max_body = 1 << 20;  // larger request bodies get 413
};

bool is_loopback_host(const std::string& host);

// Binds, prints "sdwalk serve: http://HOST:PORT/" on stdout (flushed), and serves until SIGINT or
// SIGTERM (`signals`); a walk rendering then is cancelled and stays resumable. Error when it cannot bind.
void serve(const ServedModel& model, const ServeConfig& config, StopSignals& signals);

}  // namespace sdwalk::server
