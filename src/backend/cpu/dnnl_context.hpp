#pragma once
// The one oneDNN CPU engine, plus helpers shared by the convolution and matmul wrappers.
#include <dnnl.hpp>
#include <memory>

#include "sdwalk/precision.hpp"
#include "sdwalk/tensor.hpp"

namespace sdwalk::ops::detail {

dnnl::engine& cpu_engine();
// When SDWALK_ISA forces a narrower path than the CPU's best, caps oneDNN at the same instruction set
// (unless DNNL_MAX_CPU_ISA says otherwise), so that a forced run is the whole of that path. Runs once,
// before oneDNN's first use; cpu_engine() and cpu_has_bf16() call it.
void cap_onednn_isa();
// A stream for the calling thread (streams are cheap on CPU; one per thread avoids sharing).
dnnl::stream& cpu_stream();
// Makes oneDNN use ops::threads() for the next primitive run from this thread.
void sync_threads();

dnnl::memory::data_type dnnl_type(DType dtype);  // F32 / BF16
dnnl::memory::data_type dnnl_type(Precision p);

// A oneDNN memory over bytes we allocate (64-byte aligned, big blocks on huge pages) and keep alive.
struct OwnedMemory {
  dnnl::memory memory;
  std::shared_ptr<std::byte> bytes;
};
OwnedMemory owned_memory(const dnnl::memory::desc& desc);

// Layer weights converted once: `plain` (any float dtype; logical `dims` in oneDNN's plain layout `tag`)
// reordered into `want` (the primitive's preferred layout and dtype), in memory we own; `plain` is not kept.
OwnedMemory reorder_weights(const Tensor& plain, const dnnl::memory::dims& dims, dnnl::memory::format_tag tag,
                            const dnnl::memory::desc& want);

// x as the dtype a primitive reads: x itself when it already is, else a converted copy.
Tensor as_dtype(const Tensor& x, DType dtype);

}  // namespace sdwalk::ops::detail
