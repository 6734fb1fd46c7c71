#include "cli/thread_count.hpp"

#include <cstdio>
#include <thread>

namespace sdwalk::cli {

int thread_count_for(int requested) {
  const int cores = int(std::thread::hardware_concurrency());  // 0 when unknown: take the request
  if (cores <= 0 || requested <= cores) return requested;
  std::fprintf(stderr, "warning: --threads %d is more than the %d cores; using %d\n", requested, cores, cores);
  return cores;
}

}  // namespace sdwalk::cli
