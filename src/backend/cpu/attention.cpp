// Fused multi-head attention: for each (batch, head, block of queries) the keys are walked in blocks
// of 32 with an online softmax (running max and sum), so the [Tq, Tk] score matrix never exists.
//
// The block works "query-vectorised": queries run along the SIMD lanes (Q^T [D, BQ] = NV vectors per
// row), so scores S^T [keys, BQ], the softmax over keys (elementwise max/exp/sum of vectors) and the
// output O^T [D, BQ] += V[j, d] * P^T[j, :] are all lane-parallel with no horizontal reductions and
// no padding of the head dimension (40 in SD 1.5's first level). Register blocks of R keys (scores)
// and R head dims (output) x NV vectors are the accumulators. Each ISA path has its own vector width
// and blocking, sized so that accumulators + NV query vectors + one broadcast fit its register file:
//   avx512: 16 lanes, NV 4, R 4 -> 16 + 4 + 1 of 32 zmm (64 queries a block)
//   avx2:    8 lanes, NV 2, R 5 -> 10 + 2 + 1 of 16 ymm (16 queries)
//   generic: 4 lanes, NV 2, R 5 -> 10 + 2 + 1 of 16 xmm (8 queries; SSE2, which every x86-64 has)
// (A 16-float vector under AVX2 is two ymm: the avx512 blocking there spills and ran at ~2.6 GFLOP/s.)
// The file is built with -ffp-contract=fast so that a * b + c is one FMA where the ISA has it.
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

template <int W> struct Vec {
  typedef float f __attribute__((vector_size(W * 4)));
  typedef int32_t i __attribute__((vector_size(W * 4)));
};

template <class V> SDWALK_INLINE V vset(float x) { return V{} + x; }
template <class V> SDWALK_INLINE V vld(const float* p) {
  V r;
  __builtin_memcpy(&r, p, sizeof r);
  return r;
}
template <class V> SDWALK_INLINE void vst(float* p, const V& v) { __builtin_memcpy(p, &v, sizeof v); }
template <class V> SDWALK_INLINE V vmaxv(const V& a, const V& b) { return a > b ? a : b; }

constexpr int64_t kBlockK = 32;  // keys per softmax block
constexpr int64_t kMaxR = 5;     // largest register block (spare score rows in the scratch)

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
  std::vector<float> qt, st, ot;  // Q^T [D, BQ], S^T/P^T [32, BQ], O^T [D, BQ]
  // st has spare rows: a register block is stored whole (storing only its valid rows would index
  // the accumulators at run time and push them out of registers).
  Scratch(int64_t D, int64_t bq) : qt(size_t(D * bq)), st(size_t((kBlockK + kMaxR) * bq)), ot(size_t(D * bq)) {}
};

// One (batch, head, query block): W lanes, NV vectors of queries, register blocks of R.
template <int W, int NV, int R>
SDWALK_INLINE void attention_block(const Problem& P, int64_t b, int64_t h, int64_t q0, int64_t nq, Scratch& S) {
  using V = typename Vec<W>::f;
  using VI = typename Vec<W>::i;
  constexpr int64_t BQ = int64_t(W) * NV;
  const int64_t D = P.D, HD = P.HD;
  float* qt = S.qt.data();
  float* st = S.st.data();
  float* ot = S.ot.data();
  const float* kbase = P.k + b * P.Tk * HD + h * D;
  const float* vbase = P.v + b * P.Tk * HD + h * D;
  for (int64_t d = 0; d < D; ++d)
    for (int64_t i = 0; i < BQ; ++i)
      qt[d * BQ + i] = i < nq ? P.q[(b * P.Tq + q0 + i) * HD + h * D + d] * P.scale : 0.0f;
  std::fill(ot, ot + D * BQ, 0.0f);
  V m[NV], l[NV];
  for (int v = 0; v < NV; ++v) {
    m[v] = vset<V>(-std::numeric_limits<float>::infinity());
    l[v] = V{};
  }
  // Causal: query i sees keys j <= i, so keys past the block's last query are never needed.
  const int64_t k_end = P.causal ? std::min(P.Tk, q0 + nq) : P.Tk;
  for (int64_t k0 = 0; k0 < k_end; k0 += kBlockK) {
    const int64_t nk = std::min(kBlockK, k_end - k0);
    // S^T[j, :] = sum_d K[j, d] * Q^T[d, :], R keys at a time.
    for (int64_t j = 0; j < nk; j += R) {
      const int64_t jn = std::min<int64_t>(R, nk - j);
      const float* kr[R];
      for (int r = 0; r < R; ++r) kr[r] = kbase + (k0 + j + std::min<int64_t>(r, jn - 1)) * HD;
      V acc[R][NV] = {};
      for (int64_t d = 0; d < D; ++d) {
        V qv[NV];
#pragma GCC unroll 8
        for (int v = 0; v < NV; ++v) qv[v] = vld<V>(qt + d * BQ + v * W);
#pragma GCC unroll 8
        for (int r = 0; r < R; ++r) {
          const V kb = vset<V>(kr[r][d]);
#pragma GCC unroll 8
          for (int v = 0; v < NV; ++v) acc[r][v] += kb * qv[v];
        }
      }
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
        for (int v = 0; v < NV; ++v) vst(st + (j + r) * BQ + v * W, acc[r][v]);
    }
    if (P.causal && k0 + nk - 1 > q0) {
      for (int64_t j = 0; j < nk; ++j)
        for (int64_t i = 0; i < std::min(BQ, k0 + j - q0); ++i) st[j * BQ + i] = -std::numeric_limits<float>::infinity();
    }
    // Online softmax along keys, lane-wise per query. Key 0 is visible to every query, so the running
    // max is finite after the first block and masked scores (-inf) turn into exact zeros.
    V corr[NV];
    for (int v = 0; v < NV; ++v) {
      V mx = m[v];
      for (int64_t j = 0; j < nk; ++j) mx = vmaxv(mx, vld<V>(st + j * BQ + v * W));
      corr[v] = detail::vexp_any<V, VI>(m[v] - mx);
      V sum{};
      for (int64_t j = 0; j < nk; ++j) {
        float* p = st + j * BQ + v * W;
        const V e = detail::vexp_any<V, VI>(vld<V>(p) - mx);
        vst(p, e);
        sum += e;
      }
      l[v] = l[v] * corr[v] + sum;
      m[v] = mx;
    }
    // O^T[d, :] = O^T[d, :] * corr + sum_j V[j, d] * P^T[j, :], R head dims at a time.
    int64_t d = 0;
    for (; d + R <= D; d += R) {
      V acc[R][NV];
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
        for (int v = 0; v < NV; ++v) acc[r][v] = vld<V>(ot + (d + r) * BQ + v * W) * corr[v];
      for (int64_t j = 0; j < nk; ++j) {
        const float* vr = vbase + (k0 + j) * HD + d;
        V pv[NV];
#pragma GCC unroll 8
        for (int v = 0; v < NV; ++v) pv[v] = vld<V>(st + j * BQ + v * W);
#pragma GCC unroll 8
        for (int r = 0; r < R; ++r) {
          const V vb = vset<V>(vr[r]);
#pragma GCC unroll 8
          for (int v = 0; v < NV; ++v) acc[r][v] += vb * pv[v];
        }
      }
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
        for (int v = 0; v < NV; ++v) vst(ot + (d + r) * BQ + v * W, acc[r][v]);
    }
    for (; d < D; ++d) {
      V acc[NV];
      for (int v = 0; v < NV; ++v) acc[v] = vld<V>(ot + d * BQ + v * W) * corr[v];
      for (int64_t j = 0; j < nk; ++j) {
        const V vb = vset<V>(vbase[(k0 + j) * HD + d]);
        for (int v = 0; v < NV; ++v) acc[v] += vb * vld<V>(st + j * BQ + v * W);
      }
      for (int v = 0; v < NV; ++v) vst(ot + d * BQ + v * W, acc[v]);
    }
  }
  float inv[BQ];
  for (int v = 0; v < NV; ++v) vst(inv + v * W, 1.0f / l[v]);
  for (int64_t i = 0; i < nq; ++i) {
    float* orow = P.o + (b * P.Tq + q0 + i) * HD + h * D;
    for (int64_t d = 0; d < D; ++d) orow[d] = ot[d * BQ + i] * inv[i];
  }
}

// One block per ISA path: the target attribute stops at the function, so it is put on each block
// (a `#pragma omp parallel` body is outlined into a function of its own that would not inherit it).
using BlockFn = void (*)(const Problem&, int64_t, int64_t, int64_t, int64_t, Scratch&);
__attribute__((target("avx512f,fma"))) void block_avx512(const Problem& P, int64_t b, int64_t h, int64_t q0, int64_t nq,
                                                         Scratch& S) {
  attention_block<16, 4, 4>(P, b, h, q0, nq, S);
}
__attribute__((target("avx2,fma"))) void block_avx2(const Problem& P, int64_t b, int64_t h, int64_t q0, int64_t nq,
                                                    Scratch& S) {
  attention_block<8, 2, 5>(P, b, h, q0, nq, S);
}
void block_generic(const Problem& P, int64_t b, int64_t h, int64_t q0, int64_t nq, Scratch& S) {
  attention_block<4, 2, 5>(P, b, h, q0, nq, S);
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
  // q k^T and p v: 2 FLOPs per multiply-add each, over the (query, key) pairs actually visible.
  const double pairs = causal ? double(Tq) * double(Tq + 1) / 2 : double(Tq) * double(Tk);
  detail::CountedCall count(&OpCounters::attention_flops, &OpCounters::attention_s, 4.0 * double(B) * pairs * double(HD));
  const Isa path = isa();
  const BlockFn block = path == Isa::Avx512 ? block_avx512 : path == Isa::Avx2 ? block_avx2 : block_generic;
  const int64_t bq = path == Isa::Avx512 ? 64 : path == Isa::Avx2 ? 16 : 8;  // W * NV of the path
  const int64_t qblocks = (Tq + bq - 1) / bq;
  const int64_t tasks = B * heads * qblocks;
#pragma omp parallel num_threads(threads())
  {
    Scratch scratch(D, bq);
#pragma omp for schedule(dynamic, 1)
    for (int64_t t = 0; t < tasks; ++t) {
      const int64_t qb = t % qblocks, h = (t / qblocks) % heads, b = t / (qblocks * heads);
      const int64_t q0 = qb * bq;
      block(P, b, h, q0, std::min(bq, Tq - q0), scratch);
    }
  }
  return out == DType::BF16 ? to_bf16(o) : o;
}

}  // namespace sdwalk::ops
