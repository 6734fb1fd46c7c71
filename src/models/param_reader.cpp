#include "models/param_reader.hpp"

#include "models/low_rank.hpp"
#include "sdwalk/error.hpp"

namespace sdwalk::models {

thread_local TiledGroupNorm* tiled_group_norm = nullptr;

Tensor GroupNorm::forward_tiled(const Tensor& x, bool silu) const {
  TiledGroupNorm& t = *tiled_group_norm;
  const size_t layer = t.next++;
  // The activation is the tile scaled by a whole factor (1 at the latents, 8 at the picture).
  const int64_t fy = x.dim(1) / t.tile_h, fx = x.dim(2) / t.tile_w;
  check(fy * t.tile_h == x.dim(1) && fx * t.tile_w == x.dim(2),
        "tiled GroupNorm: activation " + shape_string(x.shape()) + " is not a whole multiple of the tile");
  if (layer < t.applied.size()) return ops::group_norm_with(x, t.applied[layer], groups, gamma, beta, eps, silu, out);
  ops::group_moments(x, groups, t.core_y0 * fy, t.core_y1 * fy, t.core_x0 * fx, t.core_x1 * fx, t.measured);
  throw TileMeasured{};
}

Tensor ParamReader::raw(const std::string& name, const Shape& shape) {
  const Tensor& t = weights_.get(name);
  check(t.shape() == shape, weights_.network() + ": tensor '" + name + "' has shape " + shape_string(t.shape()) +
                                ", expected " + shape_string(shape) + " (" + weights_.source() + ")");
  check(t.dtype() == DType::F32 || t.dtype() == DType::F16 || t.dtype() == DType::BF16,
        weights_.network() + ": tensor '" + name + "' has dtype " + dtype_name(t.dtype()) +
            ", expected a float type (" + weights_.source() + ")");
  used_.insert(name);
  return t;
}

Tensor ParamReader::f32(const std::string& name, const Shape& shape) {
  const Tensor t = raw(name, shape);
  Tensor out = t.to_f32();
  release_mapped_pages(t);
  return out;
}

ops::Conv2d ParamReader::conv(const std::string& prefix, int64_t cin, int64_t cout, int kernel, int stride,
                              int padding, std::optional<Precision> precision) {
  Tensor w = raw(prefix + ".weight", {cout, cin, kernel, kernel});
  Tensor b = raw(prefix + ".bias", {cout});
  ops::Conv2d conv(w, b, stride, padding, precision.value_or(precision_), storage_);
  attach_low_rank(conv, weights_, prefix);
  release_mapped_pages(w);  // converted: the checkpoint's pages need not stay resident
  release_mapped_pages(b);
  return conv;
}

ops::Linear ParamReader::linear(const std::string& prefix, int64_t in, int64_t out, bool bias,
                                std::optional<Precision> precision) {
  const std::string wname = prefix + ".weight";
  // The single-file VAE stores its attention projections as 1x1 convs; same numbers.
  const bool conv_shaped = weights_.contains(wname) && weights_.get(wname).ndim() == 4;
  Tensor w = raw(wname, conv_shaped ? Shape{out, in, 1, 1} : Shape{out, in});
  Tensor b = bias ? raw(prefix + ".bias", {out}) : Tensor();
  ops::Linear linear(w, b, precision.value_or(precision_), storage_);
  attach_low_rank(linear, weights_, prefix);
  release_mapped_pages(w);  // converted: the checkpoint's pages need not stay resident
  release_mapped_pages(b);
  return linear;
}

GroupNorm ParamReader::group_norm(const std::string& prefix, int64_t channels, int groups, float eps) {
  check(groups > 0 && channels % groups == 0, weights_.network() + ": " + prefix + ": " + std::to_string(channels) +
                                                  " channels cannot be split into " + std::to_string(groups) +
                                                  " groups");
  return GroupNorm{groups, eps, f32(prefix + ".weight", {channels}), f32(prefix + ".bias", {channels}),
                   activation_dtype()};
}

LayerNorm ParamReader::layer_norm(const std::string& prefix, int64_t channels, float eps) {
  return LayerNorm{eps, f32(prefix + ".weight", {channels}), f32(prefix + ".bias", {channels}), activation_dtype()};
}

void ParamReader::check_all_used() const {
  for (const auto& name : weights_.names())
    check(used_.count(name) != 0, weights_.network() + ": unexpected tensor '" + name + "' (" + weights_.source() +
                                      "): the config does not describe these weights");
}

}  // namespace sdwalk::models
