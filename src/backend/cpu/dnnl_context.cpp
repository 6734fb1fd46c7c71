#include "backend/cpu/dnnl_context.hpp"

#include <omp.h>

#include <cstdlib>

#include "sdwalk/error.hpp"
#include "backend/cpu/ops.hpp"

namespace sdwalk::ops::detail {

void cap_onednn_isa() {
  static const bool done = [] {
    const char* forced = std::getenv("SDWALK_ISA");
    if (forced == nullptr || *forced == '\0' || std::getenv("DNNL_MAX_CPU_ISA") != nullptr) return true;
    switch (isa()) {
      case Isa::Avx512: break;
      case Isa::Avx2: dnnl::set_max_cpu_isa(dnnl::cpu_isa::avx2); break;
      case Isa::Generic: dnnl::set_max_cpu_isa(dnnl::cpu_isa::sse41); break;
    }
    return true;
  }();
  (void)done;
}

dnnl::engine& cpu_engine() {
  cap_onednn_isa();
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

dnnl::stream& cpu_stream() {
  thread_local dnnl::stream stream(cpu_engine());
  return stream;
}

void sync_threads() {
  const int n = threads();
  if (omp_get_max_threads() != n) omp_set_num_threads(n);
}

dnnl::memory::data_type dnnl_type(DType dtype) {
  switch (dtype) {
    case DType::F32: return dnnl::memory::data_type::f32;
    case DType::BF16: return dnnl::memory::data_type::bf16;
    default: throw Error("oneDNN: dtype " + dtype_name(dtype) + " is not used here (expected F32 or BF16)");
  }
}

dnnl::memory::data_type dnnl_type(Precision p) {
  return p == Precision::BF16 ? dnnl::memory::data_type::bf16 : dnnl::memory::data_type::f32;
}

OwnedMemory owned_memory(const dnnl::memory::desc& desc) {
  OwnedMemory m;
  m.bytes = aligned_bytes(desc.get_size());
  m.memory = dnnl::memory(desc, cpu_engine(), m.bytes.get());
  return m;
}

OwnedMemory reorder_weights(const Tensor& plain, const dnnl::memory::dims& dims, dnnl::memory::format_tag tag,
                            const dnnl::memory::desc& want) {
  // The destination first: a temporary allocated after it and freed at once leaves no hole below the
  // weights that later allocations could not fill (weights stay packed, the heap stays small).
  OwnedMemory to = owned_memory(want);
  // oneDNN reorders f32 and bf16; f16 (and f64) go through f32 first.
  const Tensor src = plain.dtype() == DType::F32 || plain.dtype() == DType::BF16 ? plain : plain.to_f32();
  const dnnl::memory::desc sd(dims, dnnl_type(src.dtype()), tag);
  dnnl::memory from(sd, cpu_engine(), const_cast<void*>(src.raw()));
  sync_threads();
  dnnl::reorder(from, to.memory).execute(cpu_stream(), from, to.memory);
  cpu_stream().wait();
  return to;
}

Tensor as_dtype(const Tensor& x, DType dtype) {
  if (x.dtype() == dtype) return x;
  if (dtype == DType::BF16 && x.dtype() == DType::F32) return to_bf16(x);
  return x.to(dtype);
}

}  // namespace sdwalk::ops::detail
