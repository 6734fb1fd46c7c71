// The frame distance against published CIELAB values of the sRGB primaries (D65; e.g. Lindbloom's
// and EasyRGB's calculators give red 53.24 / 80.09 / 67.20), and the smoothness figures against
// their definitions on small cases worked by hand.
#include <gtest/gtest.h>

#include <cmath>

#include "sdwalk/error.hpp"
#include "sdwalk/frame_distance.hpp"

namespace sdwalk {
namespace {

TEST(FrameDistance, SrgbToLabMatchesPublishedValues) {
  struct Case {
    unsigned char r, g, b;
    float L, a, bb;
  };
  const Case cases[] = {{255, 0, 0, 53.24f, 80.09f, 67.20f},  {0, 255, 0, 87.73f, -86.18f, 83.18f},
                        {0, 0, 255, 32.30f, 79.19f, -107.86f}, {255, 255, 255, 100.0f, 0.0f, 0.0f},
                        {0, 0, 0, 0.0f, 0.0f, 0.0f},          {128, 128, 128, 53.59f, 0.0f, 0.0f}};
  for (const Case& c : cases) {
    float lab[3];
    srgb_to_lab(c.r, c.g, c.b, lab);
    EXPECT_NEAR(lab[0], c.L, 0.02) << int(c.r) << "," << int(c.g) << "," << int(c.b);
    EXPECT_NEAR(lab[1], c.a, 0.02) << int(c.r) << "," << int(c.g) << "," << int(c.b);
    EXPECT_NEAR(lab[2], c.bb, 0.02) << int(c.r) << "," << int(c.g) << "," << int(c.b);
  }
}

Image flat(int w, int h, unsigned char r, unsigned char g, unsigned char b) {
  Image im{w, h, {}};
  for (int i = 0; i < w * h; ++i) im.rgb.insert(im.rgb.end(), {r, g, b});
  return im;
}

TEST(FrameDistance, RmsOfDeltaEOverPixels) {
  // Black against white is delta E 100 everywhere: distance 1. Half the pixels changed: sqrt(1/2).
  EXPECT_NEAR(lab_rms_distance(flat(4, 2, 0, 0, 0), flat(4, 2, 255, 255, 255)), 1.0, 1e-6);
  Image half = flat(4, 2, 0, 0, 0);
  for (size_t i = 0; i < 12; ++i) half.rgb[i] = 255;
  EXPECT_NEAR(lab_rms_distance(flat(4, 2, 0, 0, 0), half), std::sqrt(0.5), 1e-6);
  EXPECT_EQ(lab_rms_distance(half, half), 0.0);
  EXPECT_THROW(lab_rms_distance(flat(4, 2, 0, 0, 0), flat(2, 4, 0, 0, 0)), Error);
}

TEST(FrameDistance, SmoothnessFigures) {
  const Smoothness even = smoothness_of({0.2, 0.2, 0.2, 0.2});
  EXPECT_DOUBLE_EQ(even.max_over_median, 1.0);
  EXPECT_DOUBLE_EQ(even.one_minus_gini, 1.0);
  EXPECT_DOUBLE_EQ(even.istd, 0.0);
  // One jump among stills: Gini = sum |xi - xj| / (2 n^2 mean) = 6 / (2 * 16 * 0.25) = 0.75.
  const Smoothness jump = smoothness_of({0, 0, 1, 0});
  EXPECT_DOUBLE_EQ(jump.one_minus_gini, 0.25);
  EXPECT_DOUBLE_EQ(jump.max, 1.0);
  EXPECT_DOUBLE_EQ(jump.median, 0.0);
  EXPECT_NEAR(jump.istd, std::sqrt(0.1875), 1e-12);
  EXPECT_EQ(jump.largest.front(), 2u);
  // Odd count: the middle value; even count: the mean of the two middle ones.
  EXPECT_DOUBLE_EQ(smoothness_of({0.1, 0.3, 0.2}).median, 0.2);
  EXPECT_DOUBLE_EQ(smoothness_of({0.1, 0.4, 0.2, 0.3}).median, 0.25);
  EXPECT_DOUBLE_EQ(smoothness_of({0.1, 0.4, 0.2, 0.3}).max_over_median, 0.4 / 0.25);
}

}  // namespace
}  // namespace sdwalk
