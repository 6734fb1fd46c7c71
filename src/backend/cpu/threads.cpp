// ops::set_threads / ops::threads: one OpenMP thread count for our kernels and oneDNN's.
#include <omp.h>
#include <unistd.h>

#include <cstdlib>

#include <algorithm>
#include <atomic>

#include "backend/cpu/ops.hpp"

namespace sdwalk::ops {

namespace {
std::atomic<int> g_threads{0};  // 0: not set yet -> OpenMP's default
thread_local int t_threads = 0;  // the calling thread's ThreadScope (0: none)
}

ThreadScope::ThreadScope(int n) : saved_(t_threads), saved_omp_(omp_get_max_threads()) {
  t_threads = n > 0 ? n : omp_get_num_procs();
  omp_set_num_threads(t_threads);
}

ThreadScope::~ThreadScope() {
  t_threads = saved_;
  omp_set_num_threads(saved_omp_);  // the calling thread's OpenMP default, as it was
}

void set_threads(int n) {
  if (n <= 0) n = omp_get_num_procs();
  g_threads = n;
  // oneDNN's OpenMP runtime reads the calling thread's max-threads ICV.
  omp_set_num_threads(n);
}

int threads() {
  if (t_threads > 0) return t_threads;
  const int n = g_threads.load();
  return n > 0 ? n : omp_get_max_threads();
}

namespace {
// ~200 us of work a thread on one core of a current x86 (f32 ~40 GFLOP/s, streaming ~10 GB/s).
constexpr double kFlopsPerThread = 8e6, kBytesPerThread = 2e6;

int threads_for(double work, double per_thread) {
  const int n = threads();
  if (work <= per_thread) return 1;
  return work >= per_thread * n ? n : std::max(1, int(work / per_thread));
}
}  // namespace

int threads_for_flops(double flops) { return threads_for(flops, kFlopsPerThread); }
int threads_for_bytes(double bytes) { return threads_for(bytes, kBytesPerThread); }

void use_passive_omp_wait(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") != nullptr) return;
  setenv("OMP_WAIT_POLICY", "passive", 1);
  execv("/proc/self/exe", argv);  // returns only on failure: then run on with libgomp's default
}

}  // namespace sdwalk::ops
