// Fused attention with bf16 products (AVX512_BF16 vdpbf16ps: two bf16 multiply-adds per lane, f32
// accumulation), for q/k/v that the bf16 linear layers wrote. Same scheme as the f32 kernel in
// attention.cpp: per (batch, head, block of 64 queries) the keys are walked in blocks of 64 with an
// online softmax, queries along the SIMD lanes, so no horizontal reductions and no padding of the
// head dimension (40 at SD's first level). Layouts that make each vdpbf16ps take adjacent pairs:
//   Q2[d/2][query]  (q[2p], q[2p+1]) pairs as stored (the softmax scale is applied to the f32 scores)
//   K rows as stored: a pair (k[2p], k[2p+1]) is one 32-bit broadcast
//   P2[key/2][query] the softmax numerators of two adjacent keys (written here, rounded to bf16)
//   V2[d][key/2]     (v[2j][d], v[2j+1][d]) pairs, packed once per call
// The softmax itself (max, exp2, sums) is f32; its denominators sum the bf16-rounded numerators the
// product uses, so every output row stays a convex combination of v rows.
#include "backend/cpu/attention_bf16.hpp"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "core/half.hpp"
#include "backend/cpu/ops.hpp"
#include "sdwalk/precision.hpp"

namespace sdwalk::ops::detail {

namespace {

#define SDWALK_BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16,fma")))
#define SDWALK_BF16_INLINE [[gnu::always_inline]] inline SDWALK_BF16_TARGET

constexpr int64_t kNV = 4;                 // vectors per query block
constexpr int64_t kBlockQ = kNV * 16;      // 64 queries
constexpr int64_t kBlockK = 64;            // keys per softmax block
constexpr int64_t kR = 4;                  // register block (keys, then head dims)

struct Problem {
  const uint16_t* q;
  const uint16_t* k;
  const uint32_t* v2;  // [B, H, D, pairs]
  void* o;
  bool out_bf16;
  int64_t Tq, Tk, pairs, HD, D, H;
  float scale;  // log2(e) / sqrt(D)
};

// st and ot have kR spare rows: register blocks are stored whole (a store of only the valid rows
// would index the accumulators at run time and push them out of registers).
struct Scratch {
  std::vector<uint32_t> q2, p2;
  std::vector<float> st, ot;
  explicit Scratch(int64_t D)
      : q2(size_t(D / 2 * kBlockQ)), p2(size_t(kBlockK / 2 * kBlockQ)), st(size_t((kBlockK + kR) * kBlockQ)),
        ot(size_t((D + kR) * kBlockQ)) {}
};

// 2^x for x <= 0 (x = -inf included, giving ~0): degree-4 polynomial on the fraction, relative error
// < 5e-5, far below the bf16 rounding the numerators get next.
SDWALK_BF16_INLINE __m512 exp2_nonpositive(__m512 x) {
  x = _mm512_max_ps(x, _mm512_set1_ps(-126.0f));
  const __m512 n = _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __m512 f = _mm512_sub_ps(x, n);
  __m512 p = _mm512_set1_ps(9.6181291e-3f);
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(5.5504109e-2f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(2.4022651e-1f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(6.9314718e-1f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.0f));
  return _mm512_scalef_ps(p, n);
}

// Rounds to bf16 (half up) and keeps the result as an f32 bit pattern with a zero low half.
SDWALK_BF16_INLINE __m512i round_to_bf16_bits(__m512 x) {
  return _mm512_and_si512(_mm512_add_epi32(_mm512_castps_si512(x), _mm512_set1_epi32(0x8000)),
                          _mm512_set1_epi32(int(0xFFFF0000u)));
}

SDWALK_BF16_INLINE __m512bh load_bh(const uint32_t* p) { return (__m512bh)_mm512_loadu_si512(p); }
SDWALK_BF16_INLINE __m512bh broadcast_pair(const void* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return (__m512bh)_mm512_set1_epi32(int(v));
}

SDWALK_BF16_TARGET void attention_block(const Problem& P, int64_t b, int64_t h, int64_t q0, int64_t nq, Scratch& S) {
  const int64_t D = P.D, HD = P.HD, Dp = D / 2;
  uint32_t* q2 = S.q2.data();
  uint32_t* p2 = S.p2.data();
  float* st = S.st.data();
  float* ot = S.ot.data();
  for (int64_t i = 0; i < kBlockQ; ++i) {
    if (i < nq) {
      const uint16_t* qr = P.q + (b * P.Tq + q0 + i) * HD + h * D;
      for (int64_t dp = 0; dp < Dp; ++dp) std::memcpy(q2 + dp * kBlockQ + i, qr + 2 * dp, sizeof(uint32_t));
    } else {
      for (int64_t dp = 0; dp < Dp; ++dp) q2[dp * kBlockQ + i] = 0;
    }
  }
  std::fill(ot, ot + (D + kR) * kBlockQ, 0.0f);
  __m512 m[kNV], l[kNV];
  for (int64_t v = 0; v < kNV; ++v) {
    m[v] = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
    l[v] = _mm512_setzero_ps();
  }
  const uint16_t* kbase = P.k + b * P.Tk * HD + h * D;
  const uint32_t* v2base = P.v2 + (b * P.H + h) * D * P.pairs;
  for (int64_t k0 = 0; k0 < P.Tk; k0 += kBlockK) {
    const int64_t nk = std::min(kBlockK, P.Tk - k0), npairs = (nk + 1) / 2;
    // S^T[j, :] = sum_p K2[j, p] * Q2[p, :], four keys at a time.
    for (int64_t j = 0; j < nk; j += kR) {
      const int64_t jn = std::min(kR, nk - j);
      const uint16_t* kr[kR];
      for (int64_t r = 0; r < kR; ++r) kr[r] = kbase + (k0 + j + std::min(r, jn - 1)) * HD;
      __m512 acc[kR][kNV];
      for (int64_t r = 0; r < kR; ++r)
        for (int64_t v = 0; v < kNV; ++v) acc[r][v] = _mm512_setzero_ps();
      for (int64_t dp = 0; dp < Dp; ++dp) {
        __m512bh qv[kNV];
#pragma GCC unroll 4
        for (int64_t v = 0; v < kNV; ++v) qv[v] = load_bh(q2 + dp * kBlockQ + v * 16);
#pragma GCC unroll 4
        for (int64_t r = 0; r < kR; ++r) {
          const __m512bh kb = broadcast_pair(kr[r] + 2 * dp);
#pragma GCC unroll 4
          for (int64_t v = 0; v < kNV; ++v) acc[r][v] = _mm512_dpbf16_ps(acc[r][v], qv[v], kb);
        }
      }
#pragma GCC unroll 4
      for (int64_t r = 0; r < kR; ++r)
#pragma GCC unroll 4
        for (int64_t v = 0; v < kNV; ++v) _mm512_storeu_ps(st + (j + r) * kBlockQ + v * 16, acc[r][v]);
    }
    // Online softmax along keys, lane-wise per query, in base 2: p = 2^(s c - max c) with
    // c = log2(e)/sqrt(D) (m holds max * c); numerators rounded to bf16 pairs in P2.
    const __m512 c = _mm512_set1_ps(P.scale);
    __m512 corr[kNV];
    for (int64_t v = 0; v < kNV; ++v) {
      __m512 raw = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
      for (int64_t j = 0; j < nk; ++j) raw = _mm512_max_ps(raw, _mm512_loadu_ps(st + j * kBlockQ + v * 16));
      const __m512 mx = _mm512_max_ps(m[v], _mm512_mul_ps(raw, c));
      corr[v] = exp2_nonpositive(_mm512_sub_ps(m[v], mx));
      __m512 sum = _mm512_setzero_ps();
      for (int64_t jp = 0; jp < npairs; ++jp) {
        const __m512i e0 = round_to_bf16_bits(
            exp2_nonpositive(_mm512_fmsub_ps(_mm512_loadu_ps(st + 2 * jp * kBlockQ + v * 16), c, mx)));
        const __m512i e1 =
            2 * jp + 1 < nk
                ? round_to_bf16_bits(
                      exp2_nonpositive(_mm512_fmsub_ps(_mm512_loadu_ps(st + (2 * jp + 1) * kBlockQ + v * 16), c, mx)))
                : _mm512_setzero_si512();
        sum = _mm512_add_ps(sum, _mm512_add_ps(_mm512_castsi512_ps(e0), _mm512_castsi512_ps(e1)));
        _mm512_storeu_si512(p2 + jp * kBlockQ + v * 16, _mm512_or_si512(e1, _mm512_srli_epi32(e0, 16)));
      }
      l[v] = _mm512_fmadd_ps(l[v], corr[v], sum);
      m[v] = mx;
    }
    // O^T[d, :] = O^T[d, :] * corr + sum_p V2[d, p] * P2[p, :], four head dims at a time.
    const uint32_t* v2k = v2base + k0 / 2;
    for (int64_t d = 0; d < D; d += kR) {
      const int64_t dn = std::min(kR, D - d);
      const uint32_t* vr[kR];
      for (int64_t r = 0; r < kR; ++r) vr[r] = v2k + (d + std::min(r, dn - 1)) * P.pairs;
      __m512 acc[kR][kNV];
#pragma GCC unroll 4
      for (int64_t r = 0; r < kR; ++r)
#pragma GCC unroll 4
        for (int64_t v = 0; v < kNV; ++v)
          acc[r][v] = _mm512_mul_ps(_mm512_loadu_ps(ot + (d + r) * kBlockQ + v * 16), corr[v]);
      for (int64_t jp = 0; jp < npairs; ++jp) {
        __m512bh pv[kNV];
#pragma GCC unroll 4
        for (int64_t v = 0; v < kNV; ++v) pv[v] = load_bh(p2 + jp * kBlockQ + v * 16);
#pragma GCC unroll 4
        for (int64_t r = 0; r < kR; ++r) {
          const __m512bh vb = broadcast_pair(vr[r] + jp);
#pragma GCC unroll 4
          for (int64_t v = 0; v < kNV; ++v) acc[r][v] = _mm512_dpbf16_ps(acc[r][v], pv[v], vb);
        }
      }
#pragma GCC unroll 4
      for (int64_t r = 0; r < kR; ++r)
#pragma GCC unroll 4
        for (int64_t v = 0; v < kNV; ++v) _mm512_storeu_ps(ot + (d + r) * kBlockQ + v * 16, acc[r][v]);
    }
  }
  alignas(64) float inv[kBlockQ];
  for (int64_t v = 0; v < kNV; ++v) _mm512_store_ps(inv + v * 16, _mm512_div_ps(_mm512_set1_ps(1.0f), l[v]));
  for (int64_t i = 0; i < nq; ++i) {
    const int64_t row = (b * P.Tq + q0 + i) * HD + h * D;
    if (P.out_bf16) {
      uint16_t* orow = static_cast<uint16_t*>(P.o) + row;
      for (int64_t d = 0; d < D; ++d) orow[d] = float_to_bf16(ot[d * kBlockQ + i] * inv[i]);
    } else {
      float* orow = static_cast<float*>(P.o) + row;
      for (int64_t d = 0; d < D; ++d) orow[d] = ot[d * kBlockQ + i] * inv[i];
    }
  }
}

}  // namespace

bool attention_bf16_supported(int64_t head_dim) {
  static const bool cpu = cpu_has_bf16() && __builtin_cpu_supports("avx512bf16");
  return cpu && head_dim % 2 == 0;
}

void attention_bf16(const Tensor& q, const Tensor& k, const Tensor& v, int heads, Tensor& out) {
  const int64_t B = q.dim(0), Tq = q.dim(1), HD = q.dim(2), Tk = k.dim(1), D = HD / heads;
  const int64_t pairs = (Tk + 1) / 2;
  // V2[b, h, d, p] = (v[b, 2p, h, d], v[b, 2p + 1, h, d]), zero past the last key.
  std::vector<uint32_t> v2(size_t(B * heads * D * pairs));
  const uint16_t* vs = v.data<uint16_t>();
#pragma omp parallel for num_threads(threads()) schedule(static) collapse(2)
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < heads; ++h) {
      uint32_t* dst = v2.data() + (b * heads + h) * D * pairs;
      for (int64_t p = 0; p < pairs; ++p) {
        const uint16_t* r0 = vs + (b * Tk + 2 * p) * HD + h * D;
        const uint16_t* r1 = 2 * p + 1 < Tk ? r0 + HD : nullptr;
        for (int64_t d = 0; d < D; ++d) dst[d * pairs + p] = uint32_t(r0[d]) | uint32_t(r1 ? r1[d] : 0) << 16;
      }
    }
  const Problem P{q.data<uint16_t>(), k.data<uint16_t>(), v2.data(), out.raw(), out.dtype() == DType::BF16,
                  Tq, Tk, pairs, HD, D, heads, float(1.4426950408889634 / std::sqrt(double(D)))};
  const int64_t qblocks = (Tq + kBlockQ - 1) / kBlockQ;
  const int64_t tasks = B * heads * qblocks;
#pragma omp parallel num_threads(threads())
  {
    Scratch scratch(D);
#pragma omp for schedule(dynamic, 1)
    for (int64_t t = 0; t < tasks; ++t) {
      const int64_t qb = t % qblocks, h = (t / qblocks) % heads, b = t / (qblocks * heads);
      const int64_t q0 = qb * kBlockQ;
      attention_block(P, b, h, q0, std::min(kBlockQ, Tq - q0), scratch);
    }
  }
}

}  // namespace sdwalk::ops::detail
