#pragma once
// Reads one network's parameters from Weights under diffusers names, checking shapes, and builds the
// kernels' objects from them (weights converted once, here). Remembers what was taken so that a
// tensor the config does not explain (config and file disagree) is reported instead of ignored.
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "backend/cpu/ops.hpp"
#include "sdwalk/weights.hpp"

namespace sdwalk::models {

// Set (on the calling thread) while a network runs on one tile of a larger picture
// (AutoencoderKL::decode_tiled). GroupNorms are numbered by their order of calls. Those with the whole
// picture's statistics in `applied` normalise with them; the first one without adds the moments of
// the tile's core (the part of the picture the tile owns) to `measured` and throws TileMeasured:
// nothing after it can be right before its statistics are complete.
struct TiledGroupNorm {
  int64_t tile_h = 0, tile_w = 0;                  // the tile's input size (latent pixels)
  int64_t core_y0 = 0, core_y1 = 0, core_x0 = 0, core_x1 = 0;  // its core, inside the tile
  std::vector<ops::GroupMoments> applied;
  ops::GroupMoments measured;
  size_t next = 0;  // GroupNorm calls so far on this tile
};
struct TileMeasured {};
extern thread_local TiledGroupNorm* tiled_group_norm;

// torch.nn.GroupNorm(groups, C, eps) over channels-last activations, optionally fused with SiLU.
// `out`: the dtype of the result (BF16 when it only feeds bf16 convolutions/linears).
struct GroupNorm {
  int groups = 0;
  float eps = 0;
  Tensor gamma, beta;
  DType out = DType::F32;
  Tensor forward(const Tensor& x, bool silu = false) const {
    if (tiled_group_norm) return forward_tiled(x, silu);
    return ops::group_norm(x, groups, gamma, beta, eps, silu, out);
  }
  Tensor forward_tiled(const Tensor& x, bool silu) const;
  // forward() of a tensor the caller gives up: overwritten in place when that is possible (f32 result,
  // storage not shared), saving a tensor of x's size.
  Tensor forward_consuming(Tensor x, bool silu = false) const {
    if (!tiled_group_norm && out == DType::F32 && x.use_count() == 1) {
      ops::group_norm_inplace(x, groups, gamma, beta, eps, silu);
      return x;
    }
    return forward(x, silu);
  }
};

// torch.nn.LayerNorm(C, eps) over the last dimension.
struct LayerNorm {
  float eps = 0;
  Tensor gamma, beta;
  DType out = DType::F32;
  Tensor forward(const Tensor& x) const { return ops::layer_norm(x, gamma, beta, eps, out); }
};

class ParamReader {
 public:
  // precision: of the convolutions and linear layers built here (weights converted to it once);
  // storage: how their f32 weights are kept (sdwalk/precision.hpp).
  explicit ParamReader(const Weights& weights, Precision precision = Precision::F32,
                       WeightStorage storage = WeightStorage::Auto)
      : weights_(weights),
        precision_(precision == Precision::BF16 && !cpu_has_bf16() ? Precision::F32 : precision),
        storage_(storage) {}

  // The stored tensor (any dtype), shape checked.
  Tensor raw(const std::string& name, const Shape& shape);
  // Same, converted to f32.
  Tensor f32(const std::string& name, const Shape& shape);
  bool contains(const std::string& name) const { return weights_.contains(name); }

  // <prefix>.weight [cout, cin, k, k] and <prefix>.bias [cout]. `precision` overrides the reader's
  // (small layers at the edges of a network stay f32 where it costs nothing).
  ops::Conv2d conv(const std::string& prefix, int64_t cin, int64_t cout, int kernel, int stride, int padding,
                   std::optional<Precision> precision = {});
  // <prefix>.weight [out, in] (or a 1x1 conv's [out, in, 1, 1]) and, when `bias`, <prefix>.bias [out].
  ops::Linear linear(const std::string& prefix, int64_t in, int64_t out, bool bias,
                     std::optional<Precision> precision = {});
  // Norms whose result only feeds this reader's convolutions/linears: bf16 results in BF16 precision.
  GroupNorm group_norm(const std::string& prefix, int64_t channels, int groups, float eps);
  LayerNorm layer_norm(const std::string& prefix, int64_t channels, float eps);
  Precision precision() const { return precision_; }
  WeightStorage storage() const { return storage_; }
  // The dtype bf16-capable producers (norms, GEGLU, attention) write for this reader's layers.
  DType activation_dtype() const { return precision_ == Precision::BF16 ? DType::BF16 : DType::F32; }

  // Throws Error naming the first tensor of the file that no module took.
  void check_all_used() const;
  const std::string& network() const { return weights_.network(); }

 private:
  const Weights& weights_;
  Precision precision_ = Precision::F32;
  WeightStorage storage_ = WeightStorage::Auto;
  std::set<std::string> used_;
};

}  // namespace sdwalk::models
