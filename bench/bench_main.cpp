// main() of the Google Benchmark programs: Google Benchmark's own, with OpenMP's workers told to
// wait passively first (see backend/cpu/ops.hpp: spinning workers stall shared machines).
#include <benchmark/benchmark.h>

#include "backend/cpu/ops.hpp"

int main(int argc, char** argv) {
  sdwalk::ops::use_passive_omp_wait(argv);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
