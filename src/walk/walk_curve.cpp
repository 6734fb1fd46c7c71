#include "sdwalk/walk_curve.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "sdwalk/error.hpp"
#include "walk/shapes.hpp"

namespace sdwalk {

size_t WalkCurve::segments() const {
  if (kind == CurveKind::Prompts) return conds.size() - 1;
  if (kind == CurveKind::Keyframes) return keys.size() - 1;
  return 1;
}

int WalkCurve::segment_frames(size_t segment) const {
  return kind == CurveKind::Keyframes ? keys.at(segment).frames_to_next : frames;
}

size_t WalkCurve::uniform_frame_count() const {
  size_t n = 0;
  for (size_t seg = 0; seg < segments(); ++seg) n += size_t(segment_frames(seg));
  if (seamless && kind == CurveKind::Circle) return n - 1;
  if (seamless && (kind == CurveKind::Prompts || kind == CurveKind::Keyframes)) return n - (segments() - 1);
  return n;
}

namespace {

std::vector<Frame> plan_plain(const WalkCurve& c) {
  switch (c.kind) {
    case CurveKind::Drift: return plan_drift(c.conds.at(0), c.unconds.at(0), c.noise, c.frames, c.step_size);
    case CurveKind::Noise: return plan_noise(c.conds.at(0), c.unconds.at(0), c.noise, c.frames);
    case CurveKind::Prompts: return plan_prompts(c.conds, c.unconds, c.noise, c.frames, c.seamless);
    case CurveKind::Circle: return plan_circle(c.conds.at(0), c.unconds.at(0), c.noise, c.frames, c.seamless);
    case CurveKind::Keyframes: return plan_keyframes(c.keys, c.embed_interp, c.noise_interp, c.seamless);
  }
  throw Error("walk: unknown curve kind");
}

// v[seg] -> v[seg + 1] at local t, the ends exactly the keyframes' values.
Tensor between(const std::vector<Tensor>& v, size_t seg, double t, Interp interp) {
  if (v.size() == 1 || t <= 0) return v.at(std::min(seg, v.size() - 1));
  if (t >= 1) return v.at(seg + 1);
  return interp == Interp::Slerp ? slerp(t, v[seg], v[seg + 1]) : lerp(t, v[seg], v[seg + 1]);
}

}  // namespace

Frame with_added_cond(Frame f, const WalkCurve& c) {
  if (c.pooled.empty()) return f;
  check(c.unpooled.size() == c.pooled.size() && c.time_ids.size() == c.pooled.size(),
        "walk: the SDXL conditioning lists (pooled, negative pooled, time ids) differ in length");
  size_t seg = 0;
  double t = 0;
  if (c.pooled.size() > 1) {  // prompts / keyframes: Frame::t = segment + local t
    check(c.kind == CurveKind::Prompts || c.kind == CurveKind::Keyframes,
          "walk: per-keyframe SDXL conditioning on a one-prompt walk");
    const double last = double(c.pooled.size() - 1);
    seg = size_t(std::min(std::floor(f.t), last - 1));
    t = f.t - double(seg);
  }
  const Interp interp = c.kind == CurveKind::Keyframes ? c.embed_interp : Interp::Slerp;
  f.pooled = between(c.pooled, seg, t, interp);
  f.uncond_pooled = between(c.unpooled, seg, t, interp);
  f.time_ids = between(c.time_ids, seg, t, Interp::Lerp);
  return f;
}

std::vector<Frame> plan_uniform(const WalkCurve& c) {
  std::vector<Frame> frames = plan_plain(c);
  if (!c.pooled.empty())
    for (Frame& f : frames) f = with_added_cond(std::move(f), c);
  return frames;
}

namespace {

Frame frame_at_plain(const WalkCurve& c, size_t segment, double u) {
  check(std::isfinite(u) && u >= 0 && u <= 1, "walk: a frame's position must be in [0, 1], got " + std::to_string(u));
  check(segment < c.segments(), "walk: segment " + std::to_string(segment) + " of " + std::to_string(c.segments()));
  Frame f;
  f.t = double(segment) + u;
  switch (c.kind) {
    case CurveKind::Drift:
      throw Error("walk: a drift walk's frames are steps of --step-size; they have no position in between");
    case CurveKind::Noise: {
      const auto [x, y] = walk_detail::noise_pair(c.noise, "noise walk: noises");
      f.cond = walk_detail::embedding1(c.conds.at(0), "noise walk: prompt embeddings");
      f.uncond = walk_detail::embedding1(c.unconds.at(0), "noise walk: negative prompt embeddings");
      f.latents = slerp(u, x, y);  // as plan_noise
      return f;
    }
    case CurveKind::Prompts: {
      const Tensor& a = c.conds.at(segment);
      const Tensor& b = c.conds.at(segment + 1);
      f.cond = walk_detail::embedding1(slerp(u, a, b), "prompts walk: prompt embeddings");  // as plan_prompts
      f.uncond = walk_detail::embedding1(slerp(u, c.unconds.at(segment), c.unconds.at(segment + 1)),
                                         "prompts walk: negative prompt embeddings");
      f.latents = walk_detail::latents1(c.noise, "prompts walk: noise");
      return f;
    }
    case CurveKind::Circle: {
      // plan_circle's arithmetic at angle 2u (over pi), in float32; its frame t is the fraction u.
      const auto [x, y] = walk_detail::noise_pair(c.noise, "circle walk: noises");
      const Tensor latents = circle_latents(float(2.0 * u), x, y);
      f.cond = walk_detail::embedding1(c.conds.at(0), "circle walk: prompt embeddings");
      f.uncond = walk_detail::embedding1(c.unconds.at(0), "circle walk: negative prompt embeddings");
      f.latents = latents;
      f.t = u;
      return f;
    }
    case CurveKind::Keyframes: {
      Frame k = keyframe_frame(c.keys.at(segment), c.keys.at(segment + 1), u, c.embed_interp, c.noise_interp);
      k.t = double(segment) + u;
      return k;
    }
  }
  throw Error("walk: unknown curve kind");
}

}  // namespace

Frame frame_at(const WalkCurve& c, size_t segment, double u) { return with_added_cond(frame_at_plain(c, segment, u), c); }

}  // namespace sdwalk
