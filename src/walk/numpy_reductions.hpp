#pragma once
// The two float32 reductions inside the notebook's slerp, reproduced in their exact order of
// operations (the order decides the last bits of the dot, hence of every slerped frame).
#include <cstdint>

namespace sdwalk::walk_detail {

// np.sum of a contiguous float32 array (NumPy 1.x): the reduction runs over buffers of 8192
// elements, each summed pairwise (float32, blocks of 128 with 8 interleaved partial sums).
float numpy_sum_f32(const float* a, int64_t n);

// np.linalg.norm of a float32 array: sqrt(x.dot(x)) in float32, where x.dot(x) is BLAS sdot.
// The sum follows OpenBLAS's x86-64 AVX2 (Haswell) sdot kernel, single-threaded: 32 fused
// multiply-add lanes, folded as that kernel folds them; the elements past the last multiple of 32
// are added one at a time to a double (the driver's tail loop).
float numpy_norm_f32(const float* x, int64_t n);

}  // namespace sdwalk::walk_detail
