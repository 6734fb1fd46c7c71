#include "server/stop_signals.hpp"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>

namespace sdwalk::server {
namespace {

sigset_t stop_set() {
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGINT);
  sigaddset(&s, SIGTERM);
  return s;
}

}  // namespace

StopSignals::StopSignals() {
  const sigset_t set = stop_set();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  waiter_ = std::thread([this, set] {
    for (bool stopping = false;;) {
      int sig = 0;
      sigwait(&set, &sig);
      std::function<void()> handler;
      {
        std::lock_guard lock(mutex_);
        if (closing_) return;
        handler = handler_;
      }
      if (!handler || stopping) {  // during the model load, or a second Ctrl-C
        std::fprintf(stderr, "interrupted\n");
        _exit(128 + sig);
      }
      stopping = true;
      std::fprintf(stderr, "stopping (a walk rendering now stays resumable)\n");
      handler();
    }
  });
}

StopSignals::~StopSignals() {
  {
    std::lock_guard lock(mutex_);
    closing_ = true;
  }
  pthread_kill(waiter_.native_handle(), SIGTERM);  // wakes the waiter, which sees closing_
  waiter_.join();
}

void StopSignals::on_stop(std::function<void()> handler) {
  std::lock_guard lock(mutex_);
  handler_ = std::move(handler);
}

}  // namespace sdwalk::server
