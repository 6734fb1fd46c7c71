// AutoencoderKL::decode_tiled (see autoencoder_kl.hpp). Along each axis the latents are cut into
// near-equal cores of at most `tile` pixels; a tile is its core plus a margin of the tail's reach on
// every side (cut at the picture's edges), so inside its core the tile sees everything the whole
// decode would, and the cores partition the picture: no seams to blend. What remains is GroupNorm,
// whose statistics span the picture; TiledGroupNorm (param_reader.hpp) gathers them over the cores.
#include <algorithm>
#include <cstring>
#include <vector>

#include "models/param_reader.hpp"
#include "sdwalk/autoencoder_kl.hpp"
#include "sdwalk/error.hpp"
#include "backend/cpu/ops.hpp"

namespace sdwalk {
namespace {

struct Span {
  int64_t begin, end;
};

// Near-equal cores of at most `tile` covering [0, n).
std::vector<Span> cores(int64_t n, int64_t tile) {
  const int64_t count = (n + tile - 1) / tile;
  std::vector<Span> out;
  for (int64_t i = 0; i < count; ++i) out.push_back({n * i / count, n * (i + 1) / count});
  return out;
}

Span widened(Span core, int64_t margin, int64_t n) {
  return {std::max<int64_t>(0, core.begin - margin), std::min(n, core.end + margin)};
}

// x[:, y, x, :] of an NHWC tensor.
Tensor crop_nhwc(const Tensor& x, Span y, Span xs) {
  const int64_t B = x.dim(0), H = x.dim(1), W = x.dim(2), C = x.dim(3);
  Tensor out = Tensor::uninitialized({B, y.end - y.begin, xs.end - xs.begin, C});
  float* o = out.f32();
  const size_t row = size_t((xs.end - xs.begin) * C) * sizeof(float);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t r = y.begin; r < y.end; ++r, o += (xs.end - xs.begin) * C)
      std::memcpy(o, x.f32() + ((b * H + r) * W + xs.begin) * C, row);
  return out;
}

// Makes GroupNorm calls on this thread tiled for the guard's lifetime (exceptions included).
struct TiledGroupNormScope {
  explicit TiledGroupNormScope(models::TiledGroupNorm& t) { models::tiled_group_norm = &t; }
  ~TiledGroupNormScope() { models::tiled_group_norm = nullptr; }
};

}  // namespace

bool AutoencoderKL::tiling_advised(int64_t h, int64_t w) { return h * w > 192 * 192; }

Tensor AutoencoderKL::decode_tiled(const Tensor& z_in, const Tiling& t) const {
  check(t.tile > 0, "vae tiling: tile of " + std::to_string(t.tile) + " latent pixels: need at least 1");
  check(z_in.ndim() == 4 && z_in.dim(1) == latent_channels() && z_in.dim(0) > 0,
        "vae: latents have shape " + shape_string(z_in.shape()) + ", expected [B, " + std::to_string(latent_channels()) +
            ", h, w]");
  const int64_t h = z_in.dim(2), w = z_in.dim(3), f = downscale_factor();
  if (h <= t.tile && w <= t.tile) return decode(z_in);
  const Tensor head = decode_head(ops::nchw_to_nhwc(z_in.dtype() == DType::F32 ? z_in : z_in.to_f32()));
  const int64_t margin = tile_margin();
  const auto ys = cores(h, t.tile), xs = cores(w, t.tile);

  // Pass k measures the k-th GroupNorm's statistics over all cores (the ones before it applied), so
  // every pass stops early; the pass in which no GroupNorm is left to measure draws the picture.
  models::TiledGroupNorm state;
  Tensor out;  // NCHW
  for (bool drawn = false; !drawn;) {
    state.measured = {};
    for (const Span cy : ys)
      for (const Span cx : xs) {
        const Span ty = widened(cy, margin, h), tx = widened(cx, margin, w);
        state.tile_h = ty.end - ty.begin;
        state.tile_w = tx.end - tx.begin;
        state.core_y0 = cy.begin - ty.begin;
        state.core_y1 = cy.end - ty.begin;
        state.core_x0 = cx.begin - tx.begin;
        state.core_x1 = cx.end - tx.begin;
        state.next = 0;
        Tensor image;  // NHWC [B, tile_h * f, tile_w * f, C]
        try {
          TiledGroupNormScope scope(state);
          image = decode_tail(crop_nhwc(head, ty, tx));
        } catch (const models::TileMeasured&) {
          continue;
        }
        drawn = true;
        const int64_t B = image.dim(0), th = image.dim(1), tw = image.dim(2), C = image.dim(3);
        if (!out.defined()) out = Tensor::uninitialized({B, C, h * f, w * f});
        // The core's pixels, NHWC -> NCHW.
        for (int64_t b = 0; b < B; ++b)
          for (int64_t c = 0; c < C; ++c)
            for (int64_t r = state.core_y0 * f; r < state.core_y1 * f; ++r) {
              const float* src = image.f32() + ((b * th + r) * tw) * C + c;
              float* dst = out.f32() + ((b * C + c) * h * f + ty.begin * f + r) * w * f + tx.begin * f;
              for (int64_t p = state.core_x0 * f; p < state.core_x1 * f; ++p) dst[p] = src[p * C];
            }
      }
    if (!drawn) state.applied.push_back(std::move(state.measured));
  }
  return out;
}

}  // namespace sdwalk
