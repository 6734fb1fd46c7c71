// Keyframe walks, stable-diffusion-videos style: each segment renders linspace(0, 1, frames) between
// two keyframes, embeddings and noise interpolated together.
#include <string>

#include "sdwalk/error.hpp"
#include "sdwalk/walk.hpp"
#include "walk/shapes.hpp"

namespace sdwalk {

namespace {

// The keyframes themselves at the ends (slerp's float32 coefficients can be 1 ulp off 1 there).
Tensor interpolate(Interp how, double t, const Tensor& a, const Tensor& b) {
  if (t == 0.0) return a;
  if (t == 1.0) return b;
  return how == Interp::Slerp ? slerp(t, a, b) : lerp(t, a, b);
}

}  // namespace

Frame keyframe_frame(const Keyframe& a, const Keyframe& b, double t, Interp embed_interp, Interp noise_interp) {
  Frame f;
  f.cond = interpolate(embed_interp, t, a.cond, b.cond);
  f.uncond = interpolate(embed_interp, t, a.uncond, b.uncond);
  f.latents = interpolate(noise_interp, t, a.noise, b.noise);
  f.seed = t == 0.0 ? a.seed : t == 1.0 ? b.seed : -1;
  f.t = t;
  return f;
}

std::vector<Frame> plan_keyframes(const std::vector<Keyframe>& keys_in, Interp embed_interp, Interp noise_interp,
                                  bool seamless) {
  check(keys_in.size() >= 2, "keyframes walk: needs at least two keyframes, got " + std::to_string(keys_in.size()));
  std::vector<Keyframe> keys;
  for (size_t k = 0; k < keys_in.size(); ++k) {
    const std::string what = "keyframes walk: keyframe " + std::to_string(k);
    Keyframe key = keys_in[k];
    key.cond = walk_detail::embedding1(key.cond, what + " prompt embeddings");
    key.uncond = walk_detail::embedding1(key.uncond, what + " negative prompt embeddings");
    key.noise = walk_detail::latents1(key.noise, what + " noise");
    walk_detail::check_same_shape(key.cond, what + " prompt embeddings", key.uncond, "its negative prompt embeddings");
    if (k > 0) {
      walk_detail::check_same_shape(key.cond, what + " prompt embeddings", keys[0].cond, "keyframe 0's");
      walk_detail::check_same_shape(key.noise, what + " noise", keys[0].noise, "keyframe 0's");
    }
    if (k + 1 < keys_in.size())
      check(key.frames_to_next >= 2, what + ": frames to the next keyframe must be at least 2 (both ends "
                                            "included), got " + std::to_string(key.frames_to_next));
    keys.push_back(key);
  }

  std::vector<Frame> frames;
  for (size_t k = 0; k + 1 < keys.size(); ++k) {
    const Keyframe& a = keys[k];
    const Keyframe& b = keys[k + 1];
    const std::vector<double> ts = linspace(0.0, 1.0, a.frames_to_next);
    for (size_t j = 0; j < ts.size(); ++j) {
      if (seamless && k > 0 && j == 0) continue;  // keyframe k already ended the previous segment
      Frame f = keyframe_frame(a, b, ts[j], embed_interp, noise_interp);
      f.t = double(k) + ts[j];
      frames.push_back(std::move(f));
    }
  }
  return frames;
}

}  // namespace sdwalk
