// The four walks of the cookbook notebook "Stable Diffusion Interpolation", frame for frame.
#include <cmath>
#include <numbers>
#include <string>

#include "sdwalk/error.hpp"
#include "sdwalk/walk.hpp"
#include "walk/shapes.hpp"

namespace sdwalk {

using walk_detail::check_frames;
using walk_detail::check_same_shape;
using walk_detail::embedding1;
using walk_detail::latents1;
using walk_detail::noise_pair;

namespace {

// prompt_embeds + step_size * i: the Python float offset becomes a float32 scalar in torch's add.
Tensor add_offset(const Tensor& x, float offset) {
  Tensor out(x.shape());
  const float* a = x.f32();
  float* o = out.f32();
  for (int64_t i = 0; i < x.numel(); ++i) o[i] = a[i] + offset;
  return out;
}

}  // namespace

std::vector<Frame> plan_drift(const Tensor& cond_in, const Tensor& uncond_in, const Tensor& noise_in, int n,
                              double step_size) {
  check_frames(n, "drift walk");
  const Tensor cond = embedding1(cond_in, "drift walk: prompt embeddings");
  const Tensor uncond = embedding1(uncond_in, "drift walk: negative prompt embeddings");
  check_same_shape(cond, "drift walk: prompt embeddings", uncond, "negative prompt embeddings");
  const Tensor noise = latents1(noise_in, "drift walk: noise");
  check(std::isfinite(step_size), "drift walk: step size must be finite");
  std::vector<Frame> frames;
  for (int i = 0; i < n; ++i) {
    const double offset = step_size * double(i);
    frames.push_back({add_offset(cond, float(offset)), add_offset(uncond, float(offset)), noise, -1, offset, {}, {}, {}, {}});
  }
  return frames;
}

std::vector<Frame> plan_noise(const Tensor& cond_in, const Tensor& uncond_in, const Tensor& noises, int n) {
  check_frames(n, "noise walk");
  const Tensor cond = embedding1(cond_in, "noise walk: prompt embeddings");
  const Tensor uncond = embedding1(uncond_in, "noise walk: negative prompt embeddings");
  check_same_shape(cond, "noise walk: prompt embeddings", uncond, "negative prompt embeddings");
  const auto [x, y] = noise_pair(noises, "noise walk: noises");
  std::vector<Frame> frames;
  for (double t : linspace(0.0, 1.0, n)) frames.push_back({cond, uncond, slerp(t, x, y), -1, t, {}, {}, {}, {}});
  return frames;
}

std::vector<Tensor> unstack0(const Tensor& stacked) {
  check(stacked.defined() && stacked.ndim() >= 1, "unstack0: expected a stacked tensor [P, ...]");
  Shape item(stacked.shape().begin() + 1, stacked.shape().end());
  std::vector<Tensor> out;
  for (int64_t p = 0; p < stacked.dim(0); ++p) out.push_back(stacked.slice0(p, p + 1).reshape(item));
  return out;
}

std::vector<Frame> plan_prompts(const std::vector<Tensor>& conds_in, const std::vector<Tensor>& unconds_in,
                                const Tensor& noise_in, int n, bool seamless) {
  check_frames(n, "prompts walk");
  check(conds_in.size() >= 2,
        "prompts walk: needs at least two prompts, got " + std::to_string(conds_in.size()));
  check(unconds_in.size() == conds_in.size(),
        "prompts walk: " + std::to_string(conds_in.size()) + " prompt embeddings but " +
            std::to_string(unconds_in.size()) + " negative prompt embeddings (one per prompt expected)");
  std::vector<Tensor> conds, unconds;
  for (size_t p = 0; p < conds_in.size(); ++p) {
    std::string idx = "[";  // built by appending: GCC 12 warns falsely on "[" + string (-Wrestrict, bug 105329)
    idx += std::to_string(p);
    idx += "]";
    conds.push_back(embedding1(conds_in[p], "prompts walk: prompt embeddings" + idx));
    unconds.push_back(embedding1(unconds_in[p], "prompts walk: negative prompt embeddings" + idx));
    check_same_shape(conds[p], "prompts walk: prompt embeddings" + idx, conds[0], "prompt embeddings[0]");
    check_same_shape(unconds[p], "prompts walk: negative prompt embeddings" + idx, conds[0],
                     "prompt embeddings[0]");
  }
  const Tensor noise = latents1(noise_in, "prompts walk: noise");
  const std::vector<double> ts = linspace(0.0, 1.0, n);
  std::vector<Frame> frames;
  for (size_t k = 0; k + 1 < conds.size(); ++k) {
    for (int j = 0; j < n; ++j) {
      if (seamless && k > 0 && j == 0) continue;  // the previous pair's last frame, again
      const double t = ts[size_t(j)];
      frames.push_back({slerp(t, conds[k], conds[k + 1]), slerp(t, unconds[k], unconds[k + 1]), noise, -1,
                        double(k) + t, {}, {}, {}, {}});
    }
  }
  return frames;
}

CircleScales circle_scales(int n) {
  check_frames(n, "circle walk");
  // torch.linspace(0, 2, n) on the CPU in float32: step = (end - start) / (steps - 1); the first
  // half counts up from start, the second half down from end (the scalar path; torch's vectorised
  // path, used for n >= 2 * SIMD width, can differ in the last bit).
  const float start = 0.0f, end = 2.0f;
  const float step = (end - start) / float(n - 1);
  const int64_t halfway = n / 2;
  // `* np.pi` on a float32 tensor multiplies by pi rounded to float32.
  const float pi = float(std::numbers::pi);
  CircleScales s;
  for (int64_t i = 0; i < n; ++i) {
    const float t = i < halfway ? start + step * float(i) : end - step * float(n - i - 1);
    const float angle = t * pi;
    s.t.push_back(t);
    s.x.push_back(float(std::cos(double(angle))));
    s.y.push_back(float(std::sin(double(angle))));
  }
  return s;
}

Tensor circle_latents(float t, const Tensor& x, const Tensor& y) {
  // `* np.pi` on a float32 tensor multiplies by pi rounded to float32; cos/sin as circle_scales'.
  const float angle = t * float(std::numbers::pi);
  const float cx = float(std::cos(double(angle))), sy = float(std::sin(double(angle)));
  // tensordot(scale, noise, dims=0) is an outer product (one float32 product each), then the add.
  Tensor latents(x.shape());
  const float* a = x.f32();
  const float* b = y.f32();
  float* o = latents.f32();
  for (int64_t j = 0; j < x.numel(); ++j) o[j] = cx * a[j] + sy * b[j];
  return latents;
}

std::vector<Frame> plan_circle(const Tensor& cond_in, const Tensor& uncond_in, const Tensor& noises, int n,
                               bool seamless) {
  const CircleScales s = circle_scales(n);  // t only: circle_latents takes cos and sin of it alike
  const Tensor cond = embedding1(cond_in, "circle walk: prompt embeddings");
  const Tensor uncond = embedding1(uncond_in, "circle walk: negative prompt embeddings");
  check_same_shape(cond, "circle walk: prompt embeddings", uncond, "negative prompt embeddings");
  const auto [x, y] = noise_pair(noises, "circle walk: noises");
  const int count = seamless ? n - 1 : n;  // the last frame closes the circle onto the first
  std::vector<Frame> frames;
  for (int i = 0; i < count; ++i)
    frames.push_back({cond, uncond, circle_latents(s.t[size_t(i)], x, y), -1, double(s.t[size_t(i)]) / 2.0, {}, {}, {}, {}});
  return frames;
}

}  // namespace sdwalk
