// Per-thread op counters: the kernels add their analytic FLOPs and time; benchmarks read and reset them.
#include "backend/cpu/op_counters.hpp"

namespace sdwalk::ops {

namespace detail {
OpCounters& op_tally() {
  thread_local OpCounters counters;
  return counters;
}
}  // namespace detail

OpCounters op_counters() { return detail::op_tally(); }
void reset_op_counters() { detail::op_tally() = OpCounters{}; }

}  // namespace sdwalk::ops
