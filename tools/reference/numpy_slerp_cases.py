#!/usr/bin/env python3
"""Reference cases for sdwalk's slerp against the cookbook notebook's NumPy slerp.

The notebook's slerp takes np.linalg.norm of each endpoint, and NumPy hands that to BLAS sdot: the
last bits of every slerped frame depend on that kernel's order of operations. sdwalk reproduces
OpenBLAS's x86-64 Haswell sdot (what made the cookbook fixtures). The fixtures' tensors all have a
multiple of 32 elements, so they never reach the kernel's tail loop; these cases do.

NumPy's own float32 arccos / sin and float64 sin take other code under AVX-512 (SVML: the last
bit differs for about a third of all inputs), so NumPy's slerp is not the same on every CPU.
sdwalk plans the same frames on every CPU: those of NumPy's AVX2 path (the cookbook fixtures' and
most users' machines). Run with Debian's numpy on OpenBLAS, the Haswell kernel and the AVX2 path forced:
  apt-get install python3-numpy libopenblas0-pthread
  OPENBLAS_CORETYPE=Haswell NPY_DISABLE_CPU_FEATURES="AVX512F AVX512CD AVX512_SKX AVX512_CLX AVX512_CNL AVX512_ICL" \
    /usr/bin/python3 tools/reference/numpy_slerp_cases.py > tests/walk/data/numpy_slerp_cases.json
(on a CPU without AVX-512 the second variable changes nothing; NumPy warns about the features it lacks).
The inputs are not stored: both sides build them from the same integer generator (exact floats).
"""
import json
import sys

import numpy as np


def inputs(n, seed):
    """n float32 values in [-2, 2) from a 64-bit LCG: (state >> 40) / 2^23 - 1, times 2 (exact)."""
    state = seed
    out = np.empty(n, dtype=np.float32)
    for i in range(n):
        state = (state * 6364136223846793005 + 1442695040888963407) % (1 << 64)
        out[i] = np.float32(((state >> 40) / float(1 << 23) - 1.0) * 2.0)
    return out


def slerp(t, v0, v1, DOT_THRESHOLD=0.9995):
    """The notebook's interpolation(t, v0, v1), verbatim semantics (NumPy 1.x)."""
    dot = np.sum(v0 * v1 / (np.linalg.norm(v0) * np.linalg.norm(v1)))
    if np.abs(dot) > DOT_THRESHOLD:
        return (1 - t) * v0 + t * v1
    theta_0 = np.arccos(dot)
    sin_theta_0 = np.sin(theta_0)
    theta_t = theta_0 * t
    sin_theta_t = np.sin(theta_t)
    s0 = np.sin(theta_0 - theta_t) / sin_theta_0
    s1 = sin_theta_t / sin_theta_0
    return s0 * v0 + s1 * v1


def fnv1a64(a):
    h = 0xCBF29CE484222325
    for byte in a.astype(np.float32).tobytes():
        h = ((h ^ byte) * 0x100000001B3) % (1 << 64)
    return "%016x" % h


def bits(x):
    return "%08x" % np.float32(x).view(np.uint32)


cases = []
for n in (33, 100, 127, 1000, 2465, 16411):
    for k in range(4):
        seed = 1000 * n + k
        v0, v1 = inputs(n, 2 * seed + 1), inputs(n, 2 * seed + 2)
        v1 = (v0 + np.float32(0.5) * v1).astype(np.float32)  # correlated: the slerp branch, dot ~ 0.7
        t = np.linspace(0, 1, 5)
        frames = [slerp(t[i], v0, v1) for i in range(5)]
        cases.append({"n": n, "seed0": 2 * seed + 1, "seed1": 2 * seed + 2,
                      "norm_v0": bits(np.linalg.norm(v0)), "norm_v1": bits(np.linalg.norm(v1)),
                      "frames_fnv1a64": [fnv1a64(f) for f in frames]})
json.dump({"description": "np.linalg.norm and the notebook's slerp (num = 5) on generated inputs; see "
           "tools/reference/numpy_slerp_cases.py", "numpy": np.__version__,
           "blas": "OpenBLAS, OPENBLAS_CORETYPE=Haswell", "numpy_cpu_path": "AVX2 (AVX-512 disabled)",
           "cases": cases}, sys.stdout, indent=1)
sys.stdout.write("\n")
