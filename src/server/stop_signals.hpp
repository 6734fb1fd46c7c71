#pragma once
// SIGINT and SIGTERM for a server: blocked in the thread that makes this and in every thread started
// after it (OpenMP's, httplib's, the worker), and waited for by one thread of its own, which runs the
// stop handler (or, before there is one, ends the process as the signal would).
#include <functional>
#include <mutex>
#include <thread>

namespace sdwalk::server {

class StopSignals {
 public:
  StopSignals();  // make it before any other thread starts
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;
  // Runs on the first signal, on the waiting thread; a later signal ends the process.
  void on_stop(std::function<void()> handler);

 private:
  std::mutex mutex_;
  std::function<void()> handler_;
  bool closing_ = false;
  std::thread waiter_;
};

}  // namespace sdwalk::server
