#pragma once
// One kernel body, compiled once per ops::Isa path and chosen at each call by ops::isa() (so that
// SDWALK_ISA / ops::set_isa reach every kernel and tests can run each path). The body is an
// always_inline function: inlined into each wrapper it takes that wrapper's target, and vec_math's
// 16-lane vectors become one zmm (avx512), two ymm (avx2) or four xmm (generic) registers.
// Files built with -ffp-contract=off (CMakeLists.txt) compute the same bits on every path.
#include "backend/cpu/ops.hpp"

#define SDWALK_ISA_AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma,f16c")))
#define SDWALK_ISA_AVX2 __attribute__((target("avx2,fma,f16c")))

// Defines `void name params` running `body args` on the current path. params/args in parentheses.
#define SDWALK_PER_ISA(name, body, params, args)                  \
  SDWALK_ISA_AVX512 void name##_avx512 params { body args; }      \
  SDWALK_ISA_AVX2 void name##_avx2 params { body args; }          \
  void name##_generic params { body args; }                       \
  void name params {                                              \
    switch (::sdwalk::ops::isa()) {                               \
      case ::sdwalk::ops::Isa::Avx512: return name##_avx512 args; \
      case ::sdwalk::ops::Isa::Avx2: return name##_avx2 args;     \
      case ::sdwalk::ops::Isa::Generic: break;                    \
    }                                                             \
    name##_generic args;                                          \
  }
