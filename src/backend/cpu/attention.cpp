// Fused multi-head attention: for each (batch, head, block of 64 queries) the keys are walked in blocks
// of 32 with an online softmax (running max and sum), so the [Tq, Tk] score matrix never exists.
//
// The block works "query-vectorised": queries run along the SIMD lanes (Q^T [D, 64] = 4 vectors per
// row), so scores S^T [keys, 64], the softmax over keys (elementwise max/exp/sum of vectors) and the
// output O^T [D, 64] += V[j, d] * P^T[j, :] are all lane-parallel with no horizontal reductions and
// no padding of the head dimension (40 in SD 1.5's first level). Register blocks of 4 keys (scores)
// and 4 head dims (output) x 4 vectors keep 16 accumulators in registers.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "backend/cpu/attention_bf16.hpp"
#include "backend/cpu/op_counters.hpp"
#include "backend/cpu/vec_math.hpp"
#include "sdwalk/error.hpp"
#include "sdwalk/ops.hpp"

namespace sdwalk::ops {

namespace {

using detail::vf16;
using detail::vbroadcast;
using detail::vload;
using detail::vstore;

constexpr int64_t kNV = 4;                          // vectors per query block
constexpr int64_t kBlockQ = kNV * detail::kLanes;  // 64 queries
constexpr int64_t kBlockK = 32;                     // keys per softmax block
constexpr int64_t kR = 4;                           // register block (keys, then head dims)

struct Problem {
  const float* q;
  const float* k;
  const float* v;
  float* o;
  int64_t Tq, Tk, HD, D;
  float scale;
  bool causal;
};

struct Scratch {
  std::vector<float> qt, st, ot;  // Q^T [D, 64], S^T/P^T [32, 64], O^T [D, 64]
  // st has kR spare rows: a register block is stored whole (storing only its valid rows would index
  // the accumulators at run time and push them out of registers).
  explicit Scratch(int64_t D)
      : qt(size_t(D * kBlockQ)), st(size_t((kBlockK + kR) * kBlockQ)), ot(size_t(D * kBlockQ)) {}
};

__attribute__((target_clones("avx512f", "avx2", "default"))) void attention_block(const Problem& P, int64_t b,
                                                                                   int64_t h, int64_t q0, int64_t nq,
                                                                                   Scratch& S) {
  const int64_t D = P.D, HD = P.HD;
  float* qt = S.qt.data();
  float* st = S.st.data();
  float* ot = S.ot.data();
  const float* kbase = P.k + b * P.Tk * HD + h * D;
  const float* vbase = P.v + b * P.Tk * HD + h * D;
  for (int64_t d = 0; d < D; ++d)
    for (int64_t i = 0; i < kBlockQ; ++i)
      qt[d * kBlockQ + i] = i < nq ? P.q[(b * P.Tq + q0 + i) * HD + h * D + d] * P.scale : 0.0f;
  std::fill(ot, ot + D * kBlockQ, 0.0f);
  vf16 m[kNV], l[kNV];
  for (int64_t v = 0; v < kNV; ++v) {
    m[v] = vbroadcast(-std::numeric_limits<float>::infinity());
    l[v] = vf16{};
  }
  // Causal: query i sees keys j <= i, so keys past the block's last query are never needed.
  const int64_t k_end = P.causal ? std::min(P.Tk, q0 + nq) : P.Tk;
  for (int64_t k0 = 0; k0 < k_end; k0 += kBlockK) {
    const int64_t nk = std::min(kBlockK, k_end - k0);
    // S^T[j, :] = sum_d K[j, d] * Q^T[d, :], four keys at a time.
    for (int64_t j = 0; j < nk; j += kR) {
      const int64_t jn = std::min(kR, nk - j);
      const float* kr[kR];
      for (int64_t r = 0; r < kR; ++r) kr[r] = kbase + (k0 + j + std::min(r, jn - 1)) * HD;
      vf16 acc[kR][kNV] = {};
      for (int64_t d = 0; d < D; ++d) {
        vf16 qv[kNV];
#pragma GCC unroll 4
        for (int64_t v = 0; v < kNV; ++v) qv[v] = vload(qt + d * kBlockQ + v * detail::kLanes);
#pragma GCC unroll 4
        for (int64_t r = 0; r < kR; ++r) {
          const vf16 kb = vbroadcast(kr[r][d]);
#pragma GCC unroll 4
          for (int64_t v = 0; v < kNV; ++v) acc[r][v] += kb * qv[v];
        }
      }
#pragma GCC unroll 4
      for (int64_t r = 0; r < kR; ++r)
#pragma GCC unroll 4
        for (int64_t v = 0; v < kNV; ++v) vstore(st + (j + r) * kBlockQ + v * detail::kLanes, acc[r][v]);
    }
    if (P.causal && k0 + nk - 1 > q0) {
      for (int64_t j = 0; j < nk; ++j)
        for (int64_t i = 0; i < std::min(kBlockQ, k0 + j - q0); ++i)
          st[j * kBlockQ + i] = -std::numeric_limits<float>::infinity();
    }
    // Online softmax along keys, lane-wise per query. Key 0 is visible to every query, so the running
    // max is finite after the first block and masked scores (-inf) turn into exact zeros.
    vf16 corr[kNV];
    for (int64_t v = 0; v < kNV; ++v) {
      vf16 mx = m[v];
      for (int64_t j = 0; j < nk; ++j) mx = detail::vmax(mx, vload(st + j * kBlockQ + v * detail::kLanes));
      corr[v] = detail::vexp(m[v] - mx);
      vf16 sum{};
      for (int64_t j = 0; j < nk; ++j) {
        float* p = st + j * kBlockQ + v * detail::kLanes;
        const vf16 e = detail::vexp(vload(p) - mx);
        vstore(p, e);
        sum += e;
      }
      l[v] = l[v] * corr[v] + sum;
      m[v] = mx;
    }
    // O^T[d, :] = O^T[d, :] * corr + sum_j V[j, d] * P^T[j, :], four head dims at a time.
    int64_t d = 0;
    for (; d + kR <= D; d += kR) {
      vf16 acc[kR][kNV];
#pragma GCC unroll 4
      for (int64_t r = 0; r < kR; ++r)
#pragma GCC unroll 4
        for (int64_t v = 0; v < kNV; ++v) acc[r][v] = vload(ot + (d + r) * kBlockQ + v * detail::kLanes) * corr[v];
      for (int64_t j = 0; j < nk; ++j) {
        const float* vr = vbase + (k0 + j) * HD + d;
        vf16 pv[kNV];
#pragma GCC unroll 4
        for (int64_t v = 0; v < kNV; ++v) pv[v] = vload(st + j * kBlockQ + v * detail::kLanes);
#pragma GCC unroll 4
        for (int64_t r = 0; r < kR; ++r) {
          const vf16 vb = vbroadcast(vr[r]);
#pragma GCC unroll 4
          for (int64_t v = 0; v < kNV; ++v) acc[r][v] += vb * pv[v];
        }
      }
      for (int64_t r = 0; r < kR; ++r)
        for (int64_t v = 0; v < kNV; ++v) vstore(ot + (d + r) * kBlockQ + v * detail::kLanes, acc[r][v]);
    }
    for (; d < D; ++d) {
      vf16 acc[kNV];
      for (int64_t v = 0; v < kNV; ++v) acc[v] = vload(ot + d * kBlockQ + v * detail::kLanes) * corr[v];
      for (int64_t j = 0; j < nk; ++j) {
        const vf16 vb = vbroadcast(vbase[(k0 + j) * HD + d]);
        for (int64_t v = 0; v < kNV; ++v) acc[v] += vb * vload(st + j * kBlockQ + v * detail::kLanes);
      }
      for (int64_t v = 0; v < kNV; ++v) vstore(ot + d * kBlockQ + v * detail::kLanes, acc[v]);
    }
  }
  float inv[kBlockQ];
  for (int64_t v = 0; v < kNV; ++v) vstore(inv + v * detail::kLanes, 1.0f / l[v]);
  for (int64_t i = 0; i < nq; ++i) {
    float* orow = P.o + (b * P.Tq + q0 + i) * HD + h * D;
    for (int64_t d = 0; d < D; ++d) orow[d] = ot[d * kBlockQ + i] * inv[i];
  }
}

}  // namespace

Tensor attention(const Tensor& q_in, const Tensor& k_in, const Tensor& v_in, int heads, bool causal, DType out) {
  auto float_type = [](const Tensor& t) { return t.dtype() == DType::F32 || t.dtype() == DType::BF16; };
  check(q_in.ndim() == 3 && k_in.ndim() == 3 && v_in.ndim() == 3 && float_type(q_in) && float_type(k_in) &&
            float_type(v_in),
        "attention: q, k, v must be f32 or bf16 [B, T, H*D]");
  check(out == DType::F32 || out == DType::BF16, "attention: output dtype must be F32 or BF16");
  const int64_t D_in = heads > 0 ? q_in.dim(2) / heads : 0;
  const bool bf16 = q_in.dtype() == DType::BF16 && k_in.dtype() == DType::BF16 && v_in.dtype() == DType::BF16;
  if (bf16 && !causal && heads > 0 && q_in.dim(2) % heads == 0 && detail::attention_bf16_supported(D_in) &&
      k_in.shape() == v_in.shape() && k_in.dim(0) == q_in.dim(0) && k_in.dim(2) == q_in.dim(2) && k_in.dim(1) > 0) {
    Tensor o = Tensor::uninitialized(q_in.shape(), out);
    detail::CountedCall count(&OpCounters::attention_flops, &OpCounters::attention_s,
                              4.0 * double(q_in.dim(0)) * double(q_in.dim(1)) * double(k_in.dim(1)) * double(q_in.dim(2)));
    detail::attention_bf16(q_in, k_in, v_in, heads, o);
    return o;
  }
  // The f32 kernel: bf16 inputs are widened first.
  const Tensor q = q_in.dtype() == DType::F32 ? q_in : q_in.to_f32(), k = k_in.dtype() == DType::F32 ? k_in : k_in.to_f32(),
               v = v_in.dtype() == DType::F32 ? v_in : v_in.to_f32();
  const int64_t B = q.dim(0), Tq = q.dim(1), HD = q.dim(2), Tk = k.dim(1);
  check(k.shape() == v.shape() && k.dim(0) == B && k.dim(2) == HD,
        "attention: q " + shape_string(q.shape()) + ", k " + shape_string(k.shape()) + ", v " +
            shape_string(v.shape()) + " do not match");
  check(heads > 0 && HD % heads == 0,
        "attention: width " + std::to_string(HD) + " does not split into " + std::to_string(heads) + " heads");
  check(Tk > 0, "attention: empty key sequence");
  const int64_t D = HD / heads;
  Tensor o = Tensor::uninitialized(q.shape());
  const Problem P{q.f32(), k.f32(), v.f32(), o.f32(), Tq, Tk, HD, D, float(1.0 / std::sqrt(double(D))), causal};
  const int64_t qblocks = (Tq + kBlockQ - 1) / kBlockQ;
  const int64_t tasks = B * heads * qblocks;
  // q k^T and p v: 2 FLOPs per multiply-add each, over the (query, key) pairs actually visible.
  const double pairs = causal ? double(Tq) * double(Tq + 1) / 2 : double(Tq) * double(Tk);
  detail::CountedCall count(&OpCounters::attention_flops, &OpCounters::attention_s, 4.0 * double(B) * pairs * double(HD));
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
  return out == DType::BF16 ? to_bf16(o) : o;
}

}  // namespace sdwalk::ops
