#pragma once
// A walk as a curve: its keyframes (prompts or noises) and how a frame between two of them is made,
// at any position, not only the notebook's evenly spaced ones. plan_uniform gives the notebook's
// frames (walk.hpp's planners); frame_at any other t, which is what even pacing (pacing.hpp) needs.
#include <cstdint>
#include <vector>

#include "sdwalk/tensor.hpp"
#include "sdwalk/walk.hpp"

namespace sdwalk {

enum class CurveKind { Drift, Noise, Prompts, Circle, Keyframes };

struct WalkCurve {
  CurveKind kind = CurveKind::Prompts;
  // Drift, noise, circle: one cond/uncond. Prompts, keyframes: one per keyframe.
  std::vector<Tensor> conds, unconds;
  // Drift, prompts: the one noise [1, 4, h, w]. Noise, circle: the pair as the notebook draws it
  // ([2, 4, h, w] / [2, 1, 4, h, w]). Keyframes: unused (keys[i].noise).
  Tensor noise;
  std::vector<Keyframe> keys;  // keyframes: the keyframes (their frames_to_next) and noises
  int frames = 0;              // frames per segment, both ends included (drift, noise, prompts, circle)
  double step_size = 0;        // drift
  bool seamless = false;
  Interp embed_interp = Interp::Slerp, noise_interp = Interp::Slerp;
  // SDXL (empty otherwise): per keyframe / prompt (or one, for the one-prompt walks) the pooled
  // embeddings [1, P], the negative's, and add_time_ids [1, 6]. A frame at segment k, local t gets
  // the pooled pair interpolated as its embeddings are (prompts: slerp; keyframes: embed_interp) and
  // the time ids lerped, at the same t; the keyframes' own values at t = 0 and 1, bit for bit.
  std::vector<Tensor> pooled, unpooled, time_ids;

  size_t segments() const;                   // prompts/keyframes: keyframes - 1; otherwise 1
  int segment_frames(size_t segment) const;  // frames of a segment, both ends included
  // Frames of the uniform walk (plan_uniform's count): the segments' frames, less the repeated
  // junctions (seamless prompts / keyframes) or the closing frame (seamless circle).
  size_t uniform_frame_count() const;
  // Whether frames can be placed at any t (every kind but drift, whose t is a step count).
  bool continuous() const { return kind != CurveKind::Drift; }
};

// The frame with its SDXL conditioning (Frame::pooled, uncond_pooled, time_ids) filled from the
// curve's at the frame's t; the frame as it is when the curve has none. plan_uniform and frame_at apply it.
Frame with_added_cond(Frame frame, const WalkCurve& curve);

// The notebook's / stable-diffusion-videos' frames (walk.hpp's planners), bit for bit.
std::vector<Frame> plan_uniform(const WalkCurve& curve);

// The frame at position u in [0, 1] of `segment` (Frame::t = segment + u; circle: u is the fraction
// of the turn). At the planners' own positions it is their frame, bit for bit; u = 0 and u = 1 are
// the keyframes themselves.
Frame frame_at(const WalkCurve& curve, size_t segment, double u);

}  // namespace sdwalk
