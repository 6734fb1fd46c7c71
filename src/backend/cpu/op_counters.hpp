#pragma once
// The calling thread's tally behind ops::op_counters() (backend/cpu/ops.hpp), and a scope that adds one
// call's FLOPs and wall time to it.
#include <chrono>

#include "backend/cpu/ops.hpp"

namespace sdwalk::ops::detail {

OpCounters& op_tally();

class CountedCall {
 public:
  // flops_field/seconds_field: which counters of OpCounters this call adds to.
  CountedCall(double OpCounters::*flops_field, double OpCounters::*seconds_field, double flops)
      : seconds_(seconds_field), start_(std::chrono::steady_clock::now()) {
    op_tally().*flops_field += flops;
  }
  ~CountedCall() {
    op_tally().*seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }
  CountedCall(const CountedCall&) = delete;
  CountedCall& operator=(const CountedCall&) = delete;

 private:
  double OpCounters::*seconds_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace sdwalk::ops::detail
