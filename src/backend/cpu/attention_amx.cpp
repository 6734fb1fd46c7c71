// bf16 attention on CPUs with AMX: per (batch, head, block of queries) S = Q K^T / sqrt(D) and
// O = P V are oneDNN bf16 matmuls (AMX tiles; f32 accumulation), and the softmax between them is
// ours (f32, AVX-512), P rounded to bf16 for the second product as the AVX512_BF16 kernel rounds
// its numerators. The [block, Tk] scores exist for one block at a time (256 queries: 4 MB at 4096 keys).
#include <dnnl.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>
#include <mutex>
#include <tuple>
#include <vector>

#include "backend/cpu/attention_bf16.hpp"
#include "backend/cpu/dnnl_context.hpp"
#include "backend/cpu/isa_dispatch.hpp"
#include "backend/cpu/vec_math.hpp"
#include "backend/cpu/ops.hpp"

namespace sdwalk::ops::detail {

namespace {
using dnnl::memory;
using dt = memory::data_type;
constexpr int64_t kBlockQ = 256;

struct Products {
  dnnl::matmul scores, output;  // S = Q K^T (scaled), O = P V
};

// Primitives per shape, made once (tasks on several threads ask for the same ones).
const Products& products(int64_t bq, int64_t tk, int64_t d, int64_t hd, bool out_bf16) {
  static std::mutex mutex;
  static std::map<std::tuple<int64_t, int64_t, int64_t, int64_t, bool>, Products> cache;
  std::lock_guard<std::mutex> lock(mutex);
  const auto key = std::make_tuple(bq, tk, d, hd, out_bf16);
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  auto& eng = cpu_engine();
  const memory::desc q({bq, d}, dt::bf16, memory::dims{hd, 1});
  const memory::desc kt({d, tk}, dt::bf16, memory::dims{1, hd});
  const memory::desc s({bq, tk}, dt::f32, memory::dims{tk, 1});
  dnnl::primitive_attr scaled;
  scaled.set_output_scales(0, {float(1.0 / std::sqrt(double(d)))});
  const memory::desc p({bq, tk}, dt::bf16, memory::dims{tk, 1});
  const memory::desc v({tk, d}, dt::bf16, memory::dims{hd, 1});
  const memory::desc o({bq, d}, out_bf16 ? dt::bf16 : dt::f32, memory::dims{hd, 1});
  Products pr{dnnl::matmul(dnnl::matmul::primitive_desc(dnnl::matmul::desc(q, kt, s), scaled, eng)),
              dnnl::matmul(dnnl::matmul::primitive_desc(dnnl::matmul::desc(p, v, o), eng))};
  return cache.emplace(key, std::move(pr)).first->second;
}

// Each row of s [rows, n] -> softmax, as bf16 into p; e: n + 16 floats of scratch.
SDWALK_ISA_AVX512 void softmax_rows_to_bf16(const float* s, uint16_t* p, int64_t rows, int64_t n, float* e) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* x = s + r * n;
    uint16_t* y = p + r * n;
    vf16 m = vbroadcast(-3.0e38f);
    int64_t i = 0;
    for (; i + kLanes <= n; i += kLanes) m = vmax(m, vload(x + i));
    float mx = -3.0e38f;
    for (int l = 0; l < kLanes; ++l) mx = std::max(mx, m[l]);
    for (; i < n; ++i) mx = std::max(mx, x[i]);
    const vf16 vmx = vbroadcast(mx);
    vf16 sum{};
    for (i = 0; i + kLanes <= n; i += kLanes) {
      const vf16 v = vexp(vload(x + i) - vmx);
      vstore(e + i, v);
      sum += v;
    }
    float total = 0;
    for (int l = 0; l < kLanes; ++l) total += sum[l];
    for (; i < n; ++i) total += (e[i] = vexp(vbroadcast(x[i] - mx))[0]);
    const vf16 inv = vbroadcast(1.0f / total);
    for (i = 0; i + kLanes <= n; i += kLanes) vstore_bf16(y + i, vload(e + i) * inv);
    if (i < n) vstore_bf16_partial(y + i, vload_partial(e + i, n - i) * inv, n - i);
  }
}
}  // namespace

bool attention_amx_supported(int64_t head_dim) {
  static const bool amx = [] {
    if (std::getenv("SDWALK_NO_AMX_ATTENTION")) return false;  // to compare with the AVX512_BF16 kernel
    cap_onednn_isa();
    return dnnl::get_effective_cpu_isa() == dnnl::cpu_isa::avx512_core_amx && ops::isa() == ops::Isa::Avx512;
  }();
  // Only for wide heads (the VAE's one head of 512): with SD's UNet heads of 40-160 the products are
  // too thin for AMX tiles and the fused AVX512_BF16 kernel is as fast or faster (ops_bench, Xeon with
  // AMX, 2 threads: D 512 152 -> 701 GFLOP/s; D 160 112 -> 116; D 80 130 -> 72; D 40 137 -> 44).
  return amx && head_dim >= 256 && head_dim % 2 == 0;
}

void attention_amx(const Tensor& q, const Tensor& k, const Tensor& v, int heads, Tensor& out) {
  const int64_t B = q.dim(0), Tq = q.dim(1), HD = q.dim(2), Tk = k.dim(1), D = HD / heads;
  const bool out_bf16 = out.dtype() == DType::BF16;
  const size_t osize = out_bf16 ? 2 : 4;
  const int64_t qblocks = (Tq + kBlockQ - 1) / kBlockQ, tasks = B * heads * qblocks;
  auto& eng = cpu_engine();
  const auto* qs = static_cast<const uint16_t*>(q.raw());
  const auto* ks = static_cast<const uint16_t*>(k.raw());
  const auto* vs = static_cast<const uint16_t*>(v.raw());
  auto* os = static_cast<std::byte*>(out.raw());
  // Made here, before the parallel loop: primitive creation takes the cache's lock.
  products(kBlockQ, Tk, D, HD, out_bf16);
  if (Tq % kBlockQ) products(Tq % kBlockQ, Tk, D, HD, out_bf16);
#pragma omp parallel num_threads(threads())
  {
    std::vector<float> s(size_t(kBlockQ * Tk));
    std::vector<uint16_t> p(size_t(kBlockQ * Tk));
    std::vector<float> exps(size_t(Tk + kLanes));
    dnnl::stream stream(eng);
#pragma omp for schedule(dynamic, 1)
    for (int64_t t = 0; t < tasks; ++t) {
      const int64_t qb = t % qblocks, h = (t / qblocks) % heads, b = t / (qblocks * heads);
      const int64_t q0 = qb * kBlockQ, bq = std::min(kBlockQ, Tq - q0);
      const Products& pr = products(bq, Tk, D, HD, out_bf16);
      const auto* qp = qs + (b * Tq + q0) * HD + h * D;
      const auto* kp = ks + b * Tk * HD + h * D;
      const auto* vp = vs + b * Tk * HD + h * D;
      auto* op = os + ((b * Tq + q0) * HD + h * D) * osize;
      const memory::desc qd({bq, D}, dt::bf16, memory::dims{HD, 1}), ktd({D, Tk}, dt::bf16, memory::dims{1, HD});
      const memory::desc sd({bq, Tk}, dt::f32, memory::dims{Tk, 1}), pd({bq, Tk}, dt::bf16, memory::dims{Tk, 1});
      const memory::desc vd({Tk, D}, dt::bf16, memory::dims{HD, 1});
      const memory::desc od({bq, D}, out_bf16 ? dt::bf16 : dt::f32, memory::dims{HD, 1});
      pr.scores.execute(stream, {{DNNL_ARG_SRC, memory(qd, eng, const_cast<uint16_t*>(qp))},
                                 {DNNL_ARG_WEIGHTS, memory(ktd, eng, const_cast<uint16_t*>(kp))},
                                 {DNNL_ARG_DST, memory(sd, eng, s.data())}});
      stream.wait();
      softmax_rows_to_bf16(s.data(), p.data(), bq, Tk, exps.data());
      pr.output.execute(stream, {{DNNL_ARG_SRC, memory(pd, eng, p.data())},
                                 {DNNL_ARG_WEIGHTS, memory(vd, eng, const_cast<uint16_t*>(vp))},
                                 {DNNL_ARG_DST, memory(od, eng, op)}});
      stream.wait();
    }
  }
}

}  // namespace sdwalk::ops::detail
