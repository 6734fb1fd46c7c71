// The even-pacing planner on walks whose picture is known in closed form: a value per frame (encoded
// in the pixels) that jumps at a known t, or moves unevenly without jumping. A planner that ignores
// the distances (uniform t) fails these; the distance is pluggable, so the test uses its own.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>

#include "sdwalk/frame_distance.hpp"
#include "sdwalk/pacing.hpp"
#include "sdwalk/walk.hpp"
#include "sdwalk/error.hpp"

namespace sdwalk {
namespace {

// A 2x2 picture holding v in [0, 1] as 16 bits (red: high byte, green: low byte).
Image picture_of(double v) {
  const int q = int(std::lround(std::clamp(v, 0.0, 1.0) * 65535));
  Image im{2, 2, std::vector<uint8_t>(12)};
  for (int p = 0; p < 4; ++p) {
    im.rgb[size_t(p * 3)] = uint8_t(q >> 8);
    im.rgb[size_t(p * 3 + 1)] = uint8_t(q & 255);
  }
  return im;
}
double value_of(const Image& im) { return double(im.rgb[0] * 256 + im.rgb[1]) / 65535.0; }
FrameDistance value_distance() {
  return [](const Image& a, const Image& b) { return std::abs(value_of(a) - value_of(b)); };
}

// A walk renderer: full renders show curve(u); a blend from step k shows the mix of its parents'
// values when k >= smooth_from (late enough that the layout is shared), else the nearer parent's
// (early blends still flip).
struct FakeWalk {
  std::function<double(double)> curve;
  int smooth_from = 6;
  std::vector<double> values = {};  // per point
  std::vector<PacingPoint> points = {};

  PointRenderer renderer() {
    return [this](const std::vector<PacingPoint>& batch, size_t first) {
      EXPECT_EQ(first, points.size());
      std::vector<Image> out;
      for (const PacingPoint& p : batch) {
        double v = curve(p.u);
        if (p.blended()) {
          EXPECT_LT(size_t(p.from), values.size());
          EXPECT_LT(size_t(p.to), values.size());
          const double a = values[size_t(p.from)], b = values[size_t(p.to)];
          v = p.k >= smooth_from ? (1 - p.s) * a + p.s * b : (p.s < 0.5 ? a : b);
        }
        values.push_back(v);
        points.push_back(p);
        out.push_back(picture_of(v));
      }
      return out;
    };
  }
};

double step_curve(double u) { return 0.3 * u + (u > 0.37 ? 0.5 : 0.0); }

PacingOptions options(int frames, double budget = 1.5, bool blend = true) {
  PacingOptions o;
  o.frames = frames;
  o.budget = budget;
  o.steps = 15;
  o.blend = blend;
  return o;
}

std::vector<double> chosen_u(const PacedSegment& seg) {
  std::vector<double> u;
  for (size_t i : seg.chosen) u.push_back(seg.points[i].u);
  return u;
}

TEST(Pacing, BudgetOneIsTheUniformWalk) {
  FakeWalk walk{step_curve};
  const PacedSegment seg = pace_segment(options(24, 1.0), walk.renderer(), value_distance());
  ASSERT_EQ(seg.chosen.size(), 24u);
  const std::vector<double> u = chosen_u(seg), grid = linspace(0.0, 1.0, 24);
  EXPECT_EQ(u, grid);
  EXPECT_DOUBLE_EQ(seg.cost, 24.0);
  EXPECT_EQ(chosen_u(seg).front(), 0.0);
  EXPECT_EQ(chosen_u(seg).back(), 1.0);
}

TEST(Pacing, FramesGatherAtAJumpAndTheCutIsBlended) {
  FakeWalk walk{step_curve};
  const PacedSegment seg = pace_segment(options(24), walk.renderer(), value_distance());
  ASSERT_EQ(seg.chosen.size(), 24u);
  const std::vector<double> u = chosen_u(seg);
  EXPECT_EQ(u.front(), 0.0);
  EXPECT_EQ(u.back(), 1.0);
  for (size_t i = 1; i < u.size(); ++i) EXPECT_LE(u[i - 1], u[i]);
  // The jump holds 0.5 of the walk's 0.8 of change: evenly paced, most frames bridge it, close to
  // t = 0.37 (uniform t puts one of 24 frames inside (0.36, 0.39)).
  int near_jump = 0;
  for (double v : u) near_jump += v > 0.36 && v < 0.39;
  EXPECT_GE(near_jump, 12);
  ASSERT_FALSE(seg.cuts.empty());
  EXPECT_NEAR(seg.cuts[0].u, 0.37, 0.01);
  EXPECT_TRUE(seg.cuts[0].blended);
  const Smoothness sm = smoothness_of(seg.distances);
  EXPECT_LE(sm.max_over_median, 2.5);
  EXPECT_GE(sm.one_minus_gini, 0.75);
  EXPECT_LE(seg.cost, 1.5 * 24 + 1e-9);
  // Uniform t on the same walk: one transition carries the jump.
  std::vector<double> uniform;
  for (int i = 0; i + 1 < 24; ++i) uniform.push_back(std::abs(step_curve((i + 1) / 23.0) - step_curve(i / 23.0)));
  EXPECT_GT(smoothness_of(uniform).max_over_median, 10);
}

TEST(Pacing, WithoutBlendingTheCutStaysNamed) {
  FakeWalk walk{step_curve};
  const PacedSegment seg = pace_segment(options(24, 1.5, false), walk.renderer(), value_distance());
  ASSERT_EQ(seg.chosen.size(), 24u);
  for (const PacingPoint& p : seg.points) EXPECT_FALSE(p.blended());
  ASSERT_FALSE(seg.cuts.empty());
  EXPECT_NEAR(seg.cuts[0].u, 0.37, 0.01);
  EXPECT_FALSE(seg.cuts[0].blended);
  EXPECT_NEAR(smoothness_of(seg.distances).max, 0.5, 0.01);  // the jump itself cannot be spread
}

TEST(Pacing, UnevenMotionIsRespaced) {
  FakeWalk walk{[](double u) { return u * u * u; }};
  const PacedSegment seg = pace_segment(options(24), walk.renderer(), value_distance());
  ASSERT_EQ(seg.chosen.size(), 24u);
  EXPECT_TRUE(seg.cuts.empty());
  std::vector<double> uniform;
  for (int i = 0; i + 1 < 24; ++i) uniform.push_back(std::pow((i + 1) / 23.0, 3) - std::pow(i / 23.0, 3));
  EXPECT_GT(smoothness_of(uniform).max_over_median, 2.5);
  const Smoothness sm = smoothness_of(seg.distances);
  EXPECT_LE(sm.max_over_median, 1.5);
  EXPECT_GE(sm.one_minus_gini, 0.9);
  // Where the picture moves fast (u near 1) the frames are closer in t than where it barely moves.
  const std::vector<double> u = chosen_u(seg);
  EXPECT_LT(u[23] - u[22], u[1] - u[0]);
}

TEST(Pacing, MaxJumpAddsFrames) {
  FakeWalk walk{[](double u) { return u * u * u; }};
  PacingOptions o = options(8, 3.0);
  o.max_jump = 0.1;
  const PacedSegment seg = pace_segment(o, walk.renderer(), value_distance());
  EXPECT_GT(seg.chosen.size(), 8u);
  for (double d : seg.distances) EXPECT_LE(d, 0.1 + 1e-9);
  EXPECT_LE(seg.cost, 3.0 * 8 + 1e-9);
}

TEST(Pacing, RejectsImpossibleOptions) {
  FakeWalk walk{step_curve};
  EXPECT_THROW(pace_segment(options(1), walk.renderer(), value_distance()), Error);
  EXPECT_THROW(pace_segment(options(8, 0.5), walk.renderer(), value_distance()), Error);
}

}  // namespace
}  // namespace sdwalk
