#pragma once
// The one oneDNN CPU engine, plus helpers shared by the convolution and matmul wrappers.
#include <dnnl.hpp>

namespace sdwalk::ops::detail {

dnnl::engine& cpu_engine();
// A stream for the calling thread (streams are cheap on CPU; one per thread avoids sharing).
dnnl::stream& cpu_stream();
// Makes oneDNN use ops::threads() for the next primitive run from this thread.
void sync_threads();

}  // namespace sdwalk::ops::detail
