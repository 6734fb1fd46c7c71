// Fused multi-head attention: for each (batch, head, block of queries) the keys are walked in blocks
// of 32 or 64 with an online softmax (running max and sum), so the [Tq, Tk] score matrix never exists.
//
// The block works "query-vectorised": queries run along the SIMD lanes (Q^T [D, BQ] = NV vectors per
// row), so scores S^T [keys, BQ], the softmax over keys (elementwise max/exp/sum of vectors) and the
// output O^T [D, BQ] += V[j, d] * P^T[j, :] are all lane-parallel with no horizontal reductions and
// no padding of the head dimension (40 in SD 1.5's first level). Register blocks of R keys (scores)
// and R head dims (output) x NV vectors are the accumulators. Each ISA path has its own vector width
// and blocking, sized so that accumulators + NV query vectors + one broadcast fit its register file:
//   avx512: 16 lanes, NV 4, R 4 -> 16 + 4 + 1 of 32 zmm (64 queries a block; 32-key blocks)
//   avx2:    8 lanes, NV 3, R 4 -> 12 + 3 + 1 of 16 ymm (24 queries; 64-key blocks halve the
//            rescaling of O^T). On Zen 5's AVX2 path it runs as fast as NV 4 x R 3 with the query
//            vectors as FMA memory operands, and faster than 2 x 6 or 2 x 5 (ops_bench).
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
#include "backend/cpu/ops.hpp"

namespace sdwalk::ops {

namespace {

constexpr int64_t kMaxBlockK = 64;  // most keys per softmax block (each path sets its own)
constexpr int64_t kMaxR = 5;         // largest register block (spare score rows in the scratch)

struct Problem {
  const float* q;
  const float* k;
  const float* v;
  float* o;
  int64_t Tq, Tk, HD, D;
  int64_t kv_head_stride, kv_row_stride;  // K/V: floats between heads and between keys
  float scale;
  bool causal;
};

struct Scratch {
  std::vector<float> qt, st, ot;  // Q^T [D, BQ], S^T/P^T [KB, BQ], O^T [D, BQ]
  // st has spare rows: a register block is stored whole (storing only its valid rows would index
  // the accumulators at run time and push them out of registers).
  Scratch(int64_t D, int64_t bq) : qt(size_t(D * bq)), st(size_t((kMaxBlockK + kMaxR) * bq)), ot(size_t(D * bq)) {}
};

// One block per ISA path, each compiled for its path: the target applies to everything defined in
// its namespace (a `#pragma omp parallel` body would not inherit a function's target attribute, so
// the parallel loop stays in the dispatcher and calls these).
using BlockFn = void (*)(const Problem&, int64_t, int64_t, int64_t, int64_t, Scratch&);
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512dq,avx512vl,fma")
namespace avx512 {
#include "backend/cpu/attention_kernel.inc"
void block(const Problem& P, int64_t b, int64_t h, int64_t q0, int64_t nq, Scratch& S) {
  attention_block<16, 4, 4, 32>(P, b, h, q0, nq, S);
}
}  // namespace avx512
#pragma GCC pop_options
#pragma GCC push_options
#pragma GCC target("avx2,fma")
namespace avx2 {
#include "backend/cpu/attention_kernel.inc"
void block(const Problem& P, int64_t b, int64_t h, int64_t q0, int64_t nq, Scratch& S) {
  attention_block<8, 3, 4, 64>(P, b, h, q0, nq, S);
}
}  // namespace avx2
#pragma GCC pop_options
namespace generic {
#include "backend/cpu/attention_kernel.inc"
void block(const Problem& P, int64_t b, int64_t h, int64_t q0, int64_t nq, Scratch& S) {
  attention_block<4, 2, 5, 64>(P, b, h, q0, nq, S);
}
}  // namespace generic

// [B, T, H*D] -> [B, H, T, D].
Tensor pack_heads(const Tensor& t, int heads) {
  const int64_t B = t.dim(0), T = t.dim(1), HD = t.dim(2), D = HD / heads;
  Tensor packed = Tensor::uninitialized({B, heads, T, D});
  float* out = packed.f32();
  const float* src = t.f32();
#pragma omp parallel for collapse(2) num_threads(threads())
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < heads; ++h) {
      float* dst = out + (b * heads + h) * T * D;
      for (int64_t i = 0; i < T; ++i) std::copy_n(src + (b * T + i) * HD + h * D, D, dst + i * D);
    }
  return packed;
}

}  // namespace

Tensor attention(const Tensor& q_in, const Tensor& k_in, const Tensor& v_in, int heads, bool causal, DType out) {
  auto float_type = [](const Tensor& t) { return t.dtype() == DType::F32 || t.dtype() == DType::BF16; };
  check(q_in.ndim() == 3 && k_in.ndim() == 3 && v_in.ndim() == 3 && float_type(q_in) && float_type(k_in) &&
            float_type(v_in),
        "attention: q, k, v must be f32 or bf16 [B, T, H*D]");
  check(out == DType::F32 || out == DType::BF16, "attention: output dtype must be F32 or BF16");
  const int64_t D_in = heads > 0 ? q_in.dim(2) / heads : 0;
  const ThreadScope op_threads(
      threads_for_flops(4.0 * double(q_in.dim(0)) * double(q_in.dim(1)) * double(k_in.dim(1)) * double(q_in.dim(2))));
  const bool bf16 = q_in.dtype() == DType::BF16 && k_in.dtype() == DType::BF16 && v_in.dtype() == DType::BF16;
  if (bf16 && !causal && heads > 0 && q_in.dim(2) % heads == 0 && detail::attention_bf16_supported(D_in) &&
      k_in.shape() == v_in.shape() && k_in.dim(0) == q_in.dim(0) && k_in.dim(2) == q_in.dim(2) && k_in.dim(1) > 0) {
    Tensor o = Tensor::uninitialized(q_in.shape(), out);
    detail::CountedCall count(&OpCounters::attention_flops, &OpCounters::attention_s,
                              4.0 * double(q_in.dim(0)) * double(q_in.dim(1)) * double(k_in.dim(1)) * double(q_in.dim(2)));
    if (detail::attention_amx_supported(D_in))
      detail::attention_amx(q_in, k_in, v_in, heads, o);
    else
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
  // With many queries, K and V are repacked [B, heads, Tk, D] first: every query block walks all of
  // one head's keys, whose rows in [B, Tk, H*D] are HD floats apart (a new cache line per key, and a
  // working set over L2 at SD's first level). Measured on AVX2 (1 thread, Zen 5): 4096 queries +10%,
  // 1024 +3%; 256 queries (head dim 160) ran 10% slower packed, hence the threshold.
  const bool pack = heads > 1 && Tq >= 1024;
  const Tensor kp = pack ? pack_heads(k, heads) : Tensor(), vp = pack ? pack_heads(v, heads) : Tensor();
  const Problem P{q.f32(), pack ? kp.f32() : k.f32(), pack ? vp.f32() : v.f32(), o.f32(), Tq, Tk, HD, D,
                  pack ? Tk * D : D, pack ? D : HD, float(1.0 / std::sqrt(double(D))), causal};
  // q k^T and p v: 2 FLOPs per multiply-add each, over the (query, key) pairs actually visible.
  const double pairs = causal ? double(Tq) * double(Tq + 1) / 2 : double(Tq) * double(Tk);
  detail::CountedCall count(&OpCounters::attention_flops, &OpCounters::attention_s, 4.0 * double(B) * pairs * double(HD));
  const Isa path = isa();
  const BlockFn block = path == Isa::Avx512 ? avx512::block : path == Isa::Avx2 ? avx2::block : generic::block;
  const int64_t bq = path == Isa::Avx512 ? 64 : path == Isa::Avx2 ? 24 : 8;  // W * NV of the path
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
