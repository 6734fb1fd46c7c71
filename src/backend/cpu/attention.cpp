// Fused multi-head attention: for each (batch, head, query tile) the key/value sequence is walked in
// tiles with an online softmax (running max and sum), so the [Tq, Tk] score matrix never exists.
// The tile kernel is written as plain loops over contiguous rows; the compiler vectorises them and
// target_clones builds AVX-512/AVX2 variants chosen at run time.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "backend/cpu/vec_math.hpp"
#include "sdwalk/error.hpp"
#include "sdwalk/ops.hpp"

namespace sdwalk::ops {

namespace {

constexpr int64_t kTileQ = 32;
constexpr int64_t kTileK = 128;

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
  std::vector<float> qs, kt, s, acc, m, l;
  explicit Scratch(int64_t D)
      : qs(size_t(kTileQ * D)), kt(size_t(D * kTileK)), s(size_t(kTileQ * kTileK)), acc(size_t(kTileQ * D)),
        m(size_t(kTileQ)), l(size_t(kTileQ)) {}
};

// One (batch b, head h, query rows [q0, q0 + nq)) block.
__attribute__((target_clones("avx512f", "avx2", "default"))) void attention_block(const Problem& P, int64_t b,
                                                                                   int64_t h, int64_t q0, int64_t nq,
                                                                                   Scratch& S) {
  const int64_t D = P.D, HD = P.HD;
  float* qs = S.qs.data();
  float* kt = S.kt.data();
  float* s = S.s.data();
  float* acc = S.acc.data();
  float* m = S.m.data();
  float* l = S.l.data();
  for (int64_t i = 0; i < nq; ++i) {
    const float* qrow = P.q + (b * P.Tq + q0 + i) * HD + h * D;
    for (int64_t d = 0; d < D; ++d) qs[i * D + d] = qrow[d] * P.scale;
    for (int64_t d = 0; d < D; ++d) acc[i * D + d] = 0.0f;
    m[i] = -std::numeric_limits<float>::infinity();
    l[i] = 0.0f;
  }
  // Causal: row i sees keys j <= i, so keys beyond the last row of the tile are never needed.
  const int64_t k_end = P.causal ? std::min(P.Tk, q0 + nq) : P.Tk;
  for (int64_t k0 = 0; k0 < k_end; k0 += kTileK) {
    const int64_t nk = std::min(kTileK, k_end - k0);
    // K tile transposed to [D, nk] so the score loop runs over contiguous keys.
    for (int64_t j = 0; j < nk; ++j) {
      const float* krow = P.k + (b * P.Tk + k0 + j) * HD + h * D;
      for (int64_t d = 0; d < D; ++d) kt[d * kTileK + j] = krow[d];
    }
    for (int64_t i = 0; i < nq; ++i) {
      float* srow = s + i * kTileK;
      for (int64_t j = 0; j < nk; ++j) srow[j] = 0.0f;
      for (int64_t d = 0; d < D; ++d) {
        const float qv = qs[i * D + d];
        const float* kd = kt + d * kTileK;
        for (int64_t j = 0; j < nk; ++j) srow[j] += qv * kd[j];
      }
      // Visible keys of this row in this tile: [0, nvis).
      const int64_t nvis = P.causal ? std::clamp<int64_t>(q0 + i - k0 + 1, 0, nk) : nk;
      if (nvis == 0) continue;
      float mx = m[i];
      for (int64_t j = 0; j < nvis; ++j) mx = std::max(mx, srow[j]);
      const float corr = detail::exp_approx(m[i] - mx);  // m[i] = -inf on the first tile: exp -> 0
      float sum = 0.0f;
      for (int64_t j = 0; j < nvis; ++j) {
        srow[j] = detail::exp_approx(srow[j] - mx);
        sum += srow[j];
      }
      l[i] = l[i] * corr + sum;
      m[i] = mx;
      float* arow = acc + i * D;
      for (int64_t d = 0; d < D; ++d) arow[d] *= corr;
      for (int64_t j = 0; j < nvis; ++j) {
        const float p = srow[j];
        const float* vrow = P.v + (b * P.Tk + k0 + j) * HD + h * D;
        for (int64_t d = 0; d < D; ++d) arow[d] += p * vrow[d];
      }
    }
  }
  for (int64_t i = 0; i < nq; ++i) {
    float* orow = P.o + (b * P.Tq + q0 + i) * HD + h * D;
    const float inv = 1.0f / l[i];
    for (int64_t d = 0; d < D; ++d) orow[d] = acc[i * D + d] * inv;
  }
}

}  // namespace

Tensor attention(const Tensor& q, const Tensor& k, const Tensor& v, int heads, bool causal) {
  check(q.ndim() == 3 && k.ndim() == 3 && v.ndim() == 3 && q.dtype() == DType::F32 && k.dtype() == DType::F32 &&
            v.dtype() == DType::F32,
        "attention: q, k, v must be f32 [B, T, H*D]");
  const int64_t B = q.dim(0), Tq = q.dim(1), HD = q.dim(2), Tk = k.dim(1);
  check(k.shape() == v.shape() && k.dim(0) == B && k.dim(2) == HD,
        "attention: q " + shape_string(q.shape()) + ", k " + shape_string(k.shape()) + ", v " +
            shape_string(v.shape()) + " do not match");
  check(heads > 0 && HD % heads == 0,
        "attention: width " + std::to_string(HD) + " does not split into " + std::to_string(heads) + " heads");
  check(Tk > 0, "attention: empty key sequence");
  const int64_t D = HD / heads;
  Tensor o(q.shape());
  const Problem P{q.f32(), k.f32(), v.f32(), o.f32(), Tq, Tk, HD, D, float(1.0 / std::sqrt(double(D))), causal};
  const int64_t qtiles = (Tq + kTileQ - 1) / kTileQ;
  const int64_t tasks = B * heads * qtiles;
#pragma omp parallel num_threads(threads())
  {
    Scratch scratch(D);
#pragma omp for schedule(dynamic, 1)
    for (int64_t t = 0; t < tasks; ++t) {
      const int64_t qt = t % qtiles, h = (t / qtiles) % heads, b = t / (qtiles * heads);
      const int64_t q0 = qt * kTileQ;
      attention_block(P, b, h, q0, std::min(kTileQ, Tq - q0), scratch);
    }
  }
  return o;
}

}  // namespace sdwalk::ops
