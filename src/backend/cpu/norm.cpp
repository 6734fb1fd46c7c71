// GroupNorm (channels-last) and LayerNorm. Statistics are sums of x and x^2 accumulated in double
// (one pass; double keeps ~30 spare bits, so E[x^2] - mean^2 does not cancel for activations), then
// one normalising pass in float SIMD with the affine transform (and SiLU) folded in.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "backend/cpu/isa_dispatch.hpp"
#include "backend/cpu/vec_math.hpp"
#include "sdwalk/error.hpp"
#include "backend/cpu/ops.hpp"

namespace sdwalk::ops {

namespace {

using namespace detail;

// acc[c] += x[p, c], acc[C + c] += x[p, c]^2 over rows p of a [rows, C] block.
SDWALK_INLINE void channel_moments_body(const float* x, int64_t rows, int64_t C, double* acc) {
  double* s = acc;
  double* q = acc + C;
  for (int64_t p = 0; p < rows; ++p) {
    const float* row = x + p * C;
    for (int64_t c = 0; c < C; ++c) {
      const double v = row[c];
      s[c] += v;
      q[c] += v * v;
    }
  }
}

// y[p, c] = x[p, c] * scale[c] + shift[c] (then SiLU) over rows p of a [rows, C] block; y is float
// or bf16 bits.
template <class T>
SDWALK_INLINE void scale_shift_impl(const float* x, T* y, int64_t rows, int64_t C, const float* scale,
                                    const float* shift, bool silu) {
  for (int64_t p = 0; p < rows; ++p) {
    const float* xr = x + p * C;
    T* yr = y + p * C;
    int64_t c = 0;
    for (; c + kLanes <= C; c += kLanes) {
      vf16 v = vload(xr + c) * vload(scale + c) + vload(shift + c);
      vstore_as(yr + c, silu ? vsilu(v) : v);
    }
    if (c < C) {
      const int64_t n = C - c;
      vf16 v = vload_partial(xr + c, n) * vload_partial(scale + c, n) + vload_partial(shift + c, n);
      vstore_as_partial(yr + c, silu ? vsilu(v) : v, n);
    }
  }
}

SDWALK_PER_ISA(channel_moments, channel_moments_body, (const float* x, int64_t rows, int64_t C, double* acc),
               (x, rows, C, acc))
SDWALK_PER_ISA(scale_shift, scale_shift_impl,
               (const float* x, float* y, int64_t rows, int64_t C, const float* scale, const float* shift, bool silu),
               (x, y, rows, C, scale, shift, silu))
SDWALK_PER_ISA(scale_shift, scale_shift_impl,
               (const float* x, uint16_t* y, int64_t rows, int64_t C, const float* scale, const float* shift, bool silu),
               (x, y, rows, C, scale, shift, silu))

// Writes rows of the result into y (f32 or bf16 tensor) starting at element offset `at`.
void scale_shift_into(const float* x, Tensor& y, int64_t at, int64_t rows, int64_t C, const float* scale,
                      const float* shift, bool silu) {
  if (y.dtype() == DType::BF16)
    scale_shift(x, y.data<uint16_t>() + at, rows, C, scale, shift, silu);
  else
    scale_shift(x, y.f32() + at, rows, C, scale, shift, silu);
}

void check_out_dtype(DType out, const char* op) {
  check(out == DType::F32 || out == DType::BF16, std::string(op) + ": output dtype must be F32 or BF16");
}

// Mean and 1/std of one row, sums in double.
SDWALK_INLINE void row_moments_body(const float* x, int64_t C, double eps, double* mean, double* rstd) {
  vd8 s{}, q{};
  int64_t c = 0;
  for (; c + 8 <= C; c += 8) {
    const vd8 v = vload_d8(x + c);
    s += v;
    q += v * v;
  }
  double ss = vsum(s), qq = vsum(q);
  for (; c < C; ++c) {
    ss += x[c];
    qq += double(x[c]) * x[c];
  }
  const double m = ss / double(C);
  const double var = std::max(qq / double(C) - m * m, 0.0);
  *mean = m;
  *rstd = 1.0 / std::sqrt(var + eps);
}
SDWALK_PER_ISA(row_moments, row_moments_body, (const float* x, int64_t C, double eps, double* mean, double* rstd),
               (x, C, eps, mean, rstd))

}  // namespace

namespace {

// GroupNorm of x into y (same shape; y may be x itself when it is f32: every element is read before
// it is written, at the same index). `given`: statistics to use instead of x's own.
void group_norm_into(const Tensor& x, Tensor& y, int groups, const Tensor& gamma, const Tensor& beta, float eps,
                     bool silu, const GroupMoments* given = nullptr) {
  check(x.ndim() >= 2 && x.dtype() == DType::F32, "group_norm: input " + shape_string(x.shape()) + " must be f32 [N, ..., C]");
  const int64_t N = x.dim(0), C = x.dim(-1);
  check(groups > 0 && C % groups == 0,
        "group_norm: " + std::to_string(C) + " channels do not split into " + std::to_string(groups) + " groups");
  check(gamma.numel() == C && beta.numel() == C, "group_norm: gamma/beta must have " + std::to_string(C) + " values");
  const int64_t positions = x.numel() / (N * C), cpg = C / groups;
  const float* g = gamma.f32();
  const float* b = beta.f32();
  const double count = double(positions) * double(cpg);
  const int nt = threads_for_bytes(3.0 * double(x.nbytes()));  // read twice, written once
  constexpr int64_t kRows = 64;  // rows per parallel work item
  const int64_t blocks = (positions + kRows - 1) / kRows;
  std::vector<double> partial(size_t(nt) * size_t(2 * C));
  std::vector<float> scale(static_cast<size_t>(C)), shift(static_cast<size_t>(C));
  for (int64_t n = 0; n < N; ++n) {
    const float* xn = x.f32() + n * positions * C;
    const int64_t yn = n * positions * C;
    if (!given) {
      std::fill(partial.begin(), partial.end(), 0.0);
#pragma omp parallel for num_threads(nt) schedule(static)
      for (int64_t blk = 0; blk < blocks; ++blk) {
        const int64_t p0 = blk * kRows;
        channel_moments(xn + p0 * C, std::min(kRows, positions - p0), C,
                        partial.data() + size_t(omp_get_thread_num()) * size_t(2 * C));
      }
    }
    for (int64_t k = 0; k < groups; ++k) {
      double s = 0, q = 0, cnt = count;
      if (given) {
        s = given->sum[size_t(n * groups + k)];
        q = given->sum_sq[size_t(n * groups + k)];
        cnt = given->count;
      } else {
        for (int t = 0; t < nt; ++t)
          for (int64_t c = k * cpg; c < (k + 1) * cpg; ++c) {
            s += partial[size_t(t) * size_t(2 * C) + size_t(c)];
            q += partial[size_t(t) * size_t(2 * C) + size_t(C + c)];
          }
      }
      const double mean = s / cnt;
      const double var = std::max(q / cnt - mean * mean, 0.0);
      const double rstd = 1.0 / std::sqrt(var + double(eps));
      for (int64_t c = k * cpg; c < (k + 1) * cpg; ++c) {
        scale[size_t(c)] = float(rstd * g[c]);
        shift[size_t(c)] = float(double(b[c]) - mean * rstd * g[c]);
      }
    }
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t blk = 0; blk < blocks; ++blk) {
      const int64_t p0 = blk * kRows;
      scale_shift_into(xn + p0 * C, y, yn + p0 * C, std::min(kRows, positions - p0), C, scale.data(), shift.data(), silu);
    }
  }
}

}  // namespace

Tensor group_norm(const Tensor& x, int groups, const Tensor& gamma, const Tensor& beta, float eps, bool silu, DType out) {
  check_out_dtype(out, "group_norm");
  Tensor y = Tensor::uninitialized(x.shape(), out);
  group_norm_into(x, y, groups, gamma, beta, eps, silu);
  return y;
}

void group_norm_inplace(Tensor& x, int groups, const Tensor& gamma, const Tensor& beta, float eps, bool silu) {
  group_norm_into(x, x, groups, gamma, beta, eps, silu);
}

void group_moments(const Tensor& x, int groups, int64_t y0, int64_t y1, int64_t x0, int64_t x1, GroupMoments& acc) {
  check(x.ndim() == 4 && x.dtype() == DType::F32, "group_moments: input " + shape_string(x.shape()) + " must be f32 NHWC");
  const int64_t N = x.dim(0), H = x.dim(1), W = x.dim(2), C = x.dim(3);
  check(groups > 0 && C % groups == 0 && 0 <= y0 && y0 <= y1 && y1 <= H && 0 <= x0 && x0 <= x1 && x1 <= W,
        "group_moments: region or groups do not fit " + shape_string(x.shape()));
  const int64_t cpg = C / groups;
  if (acc.sum.empty()) {
    acc.sum.assign(size_t(N * groups), 0.0);
    acc.sum_sq.assign(size_t(N * groups), 0.0);
  }
  check(acc.sum.size() == size_t(N * groups), "group_moments: accumulator of another shape");
  std::vector<double> row(size_t(2 * C));
  for (int64_t n = 0; n < N; ++n) {
    std::fill(row.begin(), row.end(), 0.0);
    for (int64_t r = y0; r < y1; ++r)
      channel_moments(x.f32() + ((n * H + r) * W + x0) * C, x1 - x0, C, row.data());
    for (int64_t k = 0; k < groups; ++k)
      for (int64_t c = k * cpg; c < (k + 1) * cpg; ++c) {
        acc.sum[size_t(n * groups + k)] += row[size_t(c)];
        acc.sum_sq[size_t(n * groups + k)] += row[size_t(C + c)];
      }
  }
  acc.count += double((y1 - y0) * (x1 - x0) * cpg);
}

Tensor group_norm_with(const Tensor& x, const GroupMoments& moments, int groups, const Tensor& gamma,
                       const Tensor& beta, float eps, bool silu, DType out) {
  check_out_dtype(out, "group_norm");
  check(moments.sum.size() == size_t(x.dim(0) * groups) && moments.count > 0,
        "group_norm: given statistics do not match " + shape_string(x.shape()));
  Tensor y = Tensor::uninitialized(x.shape(), out);
  group_norm_into(x, y, groups, gamma, beta, eps, silu, &moments);
  return y;
}

Tensor layer_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, float eps, DType out) {
  check_out_dtype(out, "layer_norm");
  check(x.ndim() >= 1 && x.dtype() == DType::F32, "layer_norm: input must be f32");
  const int64_t C = x.dim(-1), rows = x.numel() / C;
  check(gamma.numel() == C && beta.numel() == C, "layer_norm: gamma/beta must have " + std::to_string(C) + " values");
  const float* g = gamma.f32();
  const float* b = beta.f32();
  Tensor y = Tensor::uninitialized(x.shape(), out);
  const float* xs = x.f32();
#pragma omp parallel num_threads(threads_for_bytes(2.0 * double(x.nbytes())))
  {
    std::vector<float> scale(static_cast<size_t>(C)), shift(static_cast<size_t>(C));
#pragma omp for schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
      double mean, rstd;
      row_moments(xs + r * C, C, double(eps), &mean, &rstd);
      // (x - mean) * rstd * g + b as x * scale + shift, in double then rounded once.
      for (int64_t c = 0; c < C; ++c) {
        scale[size_t(c)] = float(rstd * g[c]);
        shift[size_t(c)] = float(double(b[c]) - mean * rstd * g[c]);
      }
      scale_shift_into(xs + r * C, y, r * C, 1, C, scale.data(), shift.data(), false);
    }
  }
  return y;
}

}  // namespace sdwalk::ops
