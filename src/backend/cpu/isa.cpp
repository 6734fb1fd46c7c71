// ops::isa: which of our own kernels' instruction-set paths runs. Chosen once from cpuid, or forced
// with SDWALK_ISA=avx512|avx2|generic (or set_isa) so that every path the CPU can run can be tested
// and benchmarked on it.
#include <atomic>
#include <cstdlib>
#include <string>

#include "sdwalk/error.hpp"
#include "backend/cpu/ops.hpp"

namespace sdwalk::ops {

namespace {
Isa best_isa() {
  if (isa_supported(Isa::Avx512)) return Isa::Avx512;
  if (isa_supported(Isa::Avx2)) return Isa::Avx2;
  return Isa::Generic;
}

Isa initial_isa() {
  const char* forced = std::getenv("SDWALK_ISA");
  if (forced == nullptr || *forced == '\0') return best_isa();
  const Isa want = parse_isa(forced, "SDWALK_ISA");
  check(isa_supported(want), std::string("SDWALK_ISA=") + forced + ": this CPU cannot run it (it runs up to " +
                                 isa_name(best_isa()) + ")");
  return want;
}

std::atomic<int> g_isa{-1};
}  // namespace

bool isa_supported(Isa isa) {
  switch (isa) {
    case Isa::Generic: return true;
    case Isa::Avx2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case Isa::Avx512: return __builtin_cpu_supports("avx512f");
  }
  return false;
}

std::string isa_name(Isa isa) {
  switch (isa) {
    case Isa::Generic: return "generic";
    case Isa::Avx2: return "avx2";
    case Isa::Avx512: return "avx512";
  }
  return "?";
}

Isa parse_isa(const std::string& text, const std::string& what) {
  for (Isa i : {Isa::Generic, Isa::Avx2, Isa::Avx512})
    if (text == isa_name(i)) return i;
  throw Error(what + " '" + text + "': expected avx512, avx2 or generic");
}

Isa isa() {
  int v = g_isa.load();
  if (v < 0) {
    v = int(initial_isa());
    g_isa = v;
  }
  return Isa(v);
}

void set_isa(Isa isa) {
  check(isa_supported(isa), "ISA " + isa_name(isa) + ": this CPU cannot run it");
  g_isa = int(isa);
}

std::vector<Isa> supported_isas() {
  std::vector<Isa> out;
  for (Isa i : {Isa::Generic, Isa::Avx2, Isa::Avx512})
    if (isa_supported(i)) out.push_back(i);
  return out;
}

}  // namespace sdwalk::ops
