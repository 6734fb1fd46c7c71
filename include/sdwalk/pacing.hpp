#pragma once
// Even pacing of a walk segment: where to put its frames so that adjacent frames differ by about the
// same amount, and trajectory blending where the picture jumps (a cut).
//
// Every other walk tool spaces frames evenly in t; the picture does not move evenly in t. The planner
// renders a coarse pass, then bisects the interval whose frames differ most, again and again within
// a render budget; an interval whose distance does not shrink when it is halved (twice in a row) is
// a cut: the picture flips there however small the step. A cut is bridged by trajectory blending
// (Latent Blending's idea): a frame inside it starts from the slerp of its two neighbours' latents at
// an intermediate denoising step k and is denoised from there with its own conditioning, so the
// early steps that decide the layout are shared. k is the earliest step (tried from 30% of the steps
// on) whose midpoint sits between the two neighbours; the halves of a blended interval blend at the
// same k, or later where a half still jumps. Last, the frames are chosen among everything rendered
// so that adjacent distances are as equal as possible (dynamic programming over the least sum of
// distance^4 between neighbours: close to min-max, and the rest evened out).
// The planner is plain logic over a PointRenderer (the pipeline's, or a test's) and a FrameDistance.
#include <cstddef>
#include <functional>
#include <vector>

#include "sdwalk/frame_distance.hpp"
#include "sdwalk/image.hpp"

namespace sdwalk {

enum class Pacing { Uniform, Even };

struct PacingPoint {
  double u = 0;       // position in the segment, 0 .. 1
  int k = 0;          // 0: rendered from the noise at u; > 0: a blend entering the denoising loop at step k
  int from = -1, to = -1;  // a blend: the points (earlier indices) whose latents at step k it slerps ...
  double s = 0.5;     // ... at s (0: from's latents, 1: to's); its conditioning is the frame's at u
  bool blended() const { return from >= 0; }
};

struct PacingOptions {
  int frames = 2;       // frames of the segment, both ends included (>= 2)
  double budget = 1.5;  // renders per output frame (>= 1), a blend from step k counting (steps - k) / steps
  int steps = 1;        // denoising steps of a full render
  bool blend = true;    // bridge cuts by trajectory blending (false: re-spacing only)
  double max_jump = 0;  // > 0: add frames while two neighbours differ by more, as the budget allows
  int batch = 1;        // points the renderer gets at once in the coarse pass
};

struct PacingCut {
  double u = 0;         // where (the middle of the narrowest interval that still jumped)
  double distance = 0;  // how far its two sides are apart
  bool blended = false;
};

struct PacedSegment {
  std::vector<PacingPoint> points;  // every point rendered, in render order; points[0] is u = 0
  std::vector<size_t> chosen;       // the segment's frames: indices into points, in walk order
  std::vector<double> distances;    // between adjacent chosen frames
  std::vector<PacingCut> cuts;      // cuts found
  double cost = 0;                  // renders spent, in full renders
};

// Renders `points`, which are points[first ...] of the segment (a blend's from/to are earlier indices);
// returns their images in order.
using PointRenderer = std::function<std::vector<Image>(const std::vector<PacingPoint>& points, size_t first)>;

// The coarse pass alone with budget 1 is linspace(0, 1, frames): the uniform walk.
PacedSegment pace_segment(const PacingOptions& options, const PointRenderer& render, const FrameDistance& distance);

// The cost of rendering a point, in full renders.
double point_cost(const PacingPoint& point, int steps);

}  // namespace sdwalk
