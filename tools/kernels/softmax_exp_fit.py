#!/usr/bin/env python3
"""Fits the polynomial of vexp_nonpositive (src/backend/cpu/vec_math.hpp): e^r ~ 1 + r + r^2 q(r),
q of degree 3, on |r| <= ln2/2, minimising the relative error (iteratively reweighted least squares
towards equal ripple). Then evaluates the whole float32 routine (range reduction, polynomial, 2^n)
with the coefficients rounded as the C++ writes them, over x in [-87, 0], against float64 exp.

  python3 tools/kernels/softmax_exp_fit.py      (numpy only)
"""
import numpy as np

h = np.log(2) / 2
r = np.cos(np.linspace(0, np.pi, 20001)) * h  # Chebyshev-spaced: dense at the ends, where the ripple peaks
f = np.exp(r)
A = np.stack([r ** (2 + k) for k in range(4)], 1) / f[:, None]
b = (f - 1 - r) / f
w = np.ones_like(r)
for _ in range(60):
    c, *_ = np.linalg.lstsq(A * w[:, None], b * w, rcond=None)
    e = np.abs(A @ c - b)
    w = w * (e / e.max() + 1e-3) ** 0.5
print("q coefficients (r^0..r^3):", ", ".join("%.8g" % v for v in c), " fit max rel error %.3g" % e.max())

# As written in vec_math.hpp (8 significant digits), evaluated in float32 step by step.
c32 = np.array([float("%.8g" % v) for v in c], dtype=np.float32)
f32 = np.float32
x = (-np.linspace(0, 87, 2000001)).astype(np.float32)
xc = np.maximum(x, f32(-87))
t = (xc * f32(1.44269504088896341) + f32(12582912.0)).astype(np.float32)
n = (t - f32(12582912.0)).astype(np.float32)
rr = (xc - n * f32(0.693359375)).astype(np.float32)
rr = (rr + n * f32(2.12194440e-4)).astype(np.float32)
p = c32[3]
for k in (2, 1, 0):
    p = (p * rr + c32[k]).astype(np.float32)
p = (p * rr + f32(1)).astype(np.float32)
p = (p * rr + f32(1)).astype(np.float32)
scale = ((n.astype(np.int32) + 127) << 23).view(np.float32)
y = p * scale
ref = np.exp(x.astype(np.float64))
print("float32 routine on [-87, 0]: max relative error %.3g" % (np.abs(y - ref) / ref).max())
