#pragma once
// How far apart two frames look, and how evenly a walk's frames are spaced by that measure.
//
// The default distance is the RMS over pixels of the CIE76 colour difference (Euclidean distance in
// CIELAB, D65 white) divided by 100: 0 for equal frames, about 1 for black against white. CIELAB is
// built so that equal distances are roughly equally visible, which RGB is not (a step in a dark tone
// shows more than the same step in a bright one), and RMS weighs a small region that flips (a cut)
// more than mean absolute difference would. It needs no downloaded weights and costs a few
// operations per pixel. A learned metric (LPIPS) fits the same FrameDistance signature.
#include <cstddef>
#include <functional>
#include <vector>

#include "sdwalk/image.hpp"

namespace sdwalk {

// An image in CIELAB, L* a* b* per pixel (float), row-major like Image.
struct LabImage {
  int width = 0, height = 0;
  std::vector<float> lab;
};
LabImage to_lab(const Image& image);
// sRGB 8-bit -> CIELAB (D65): the sRGB transfer function, the sRGB -> XYZ matrix, CIE's f().
void srgb_to_lab(unsigned char r, unsigned char g, unsigned char b, float out[3]);

// RMS of the per-pixel CIE76 delta E, over 100. Error when the sizes differ.
double lab_rms_distance(const LabImage& a, const LabImage& b);
double lab_rms_distance(const Image& a, const Image& b);

// Any distance between two frames (pluggable: the planners and reports take one of these).
using FrameDistance = std::function<double(const Image&, const Image&)>;
FrameDistance default_frame_distance();

// The spacing of a walk, from the distances between adjacent frames.
struct Smoothness {
  std::vector<double> distances;  // distances[i]: frame i -> i + 1
  double max = 0, median = 0;
  double max_over_median = 0;     // 1 is perfectly even (0 when the median is 0)
  double one_minus_gini = 0;      // 1 - Gini coefficient of the distances: 1 is perfectly even
  double istd = 0;                // standard deviation of the distances (Smooth Diffusion's ISTD)
  std::vector<size_t> largest;    // transitions by distance, largest first (at most 5)
};
Smoothness smoothness_of(std::vector<double> distances);
// Adjacent distances of a sequence of frames.
std::vector<double> adjacent_distances(const std::vector<Image>& frames, const FrameDistance& distance);

}  // namespace sdwalk
