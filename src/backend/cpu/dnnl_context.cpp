#include "backend/cpu/dnnl_context.hpp"

#include <omp.h>

#include "sdwalk/ops.hpp"

namespace sdwalk::ops::detail {

dnnl::engine& cpu_engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

dnnl::stream& cpu_stream() {
  thread_local dnnl::stream stream(cpu_engine());
  return stream;
}

void sync_threads() {
  const int n = threads();
  if (omp_get_max_threads() != n) omp_set_num_threads(n);
}

}  // namespace sdwalk::ops::detail
