#include "sdwalk/frame_distance.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <numeric>
#include <string>

#include "sdwalk/error.hpp"

namespace sdwalk {
namespace {

// The sRGB transfer function (IEC 61966-2-1) for the 256 code values.
const std::array<double, 256>& srgb_linear() {
  static const std::array<double, 256> table = [] {
    std::array<double, 256> t{};
    for (int i = 0; i < 256; ++i) {
      const double c = i / 255.0;
      t[size_t(i)] = c <= 0.04045 ? c / 12.92 : std::pow((c + 0.055) / 1.055, 2.4);
    }
    return t;
  }();
  return table;
}

// CIE's f(t): the cube root, with the linear piece below (6/29)^3.
double lab_f(double t) {
  constexpr double d = 6.0 / 29.0;
  return t > d * d * d ? std::cbrt(t) : t / (3 * d * d) + 4.0 / 29.0;
}

}  // namespace

void srgb_to_lab(unsigned char r8, unsigned char g8, unsigned char b8, float out[3]) {
  const auto& lin = srgb_linear();
  const double r = lin[r8], g = lin[g8], b = lin[b8];
  // sRGB (D65) -> XYZ, divided by the D65 white point (0.95047, 1, 1.08883).
  const double x = (0.4124564 * r + 0.3575761 * g + 0.1804375 * b) / 0.95047;
  const double y = 0.2126729 * r + 0.7151522 * g + 0.0721750 * b;
  const double z = (0.0193339 * r + 0.1191920 * g + 0.9503041 * b) / 1.08883;
  const double fx = lab_f(x), fy = lab_f(y), fz = lab_f(z);
  out[0] = float(116 * fy - 16);
  out[1] = float(500 * (fx - fy));
  out[2] = float(200 * (fy - fz));
}

LabImage to_lab(const Image& image) {
  check(image.rgb.size() == size_t(image.width) * size_t(image.height) * 3,
        "frame distance: the image's pixels do not match its size");
  LabImage out{image.width, image.height, std::vector<float>(image.rgb.size())};
  for (size_t i = 0; i < image.rgb.size(); i += 3)
    srgb_to_lab(image.rgb[i], image.rgb[i + 1], image.rgb[i + 2], &out.lab[i]);
  return out;
}

double lab_rms_distance(const LabImage& a, const LabImage& b) {
  check(a.width == b.width && a.height == b.height,
        "frame distance: frames of " + std::to_string(a.width) + "x" + std::to_string(a.height) + " and " +
            std::to_string(b.width) + "x" + std::to_string(b.height) + " (the same size expected)");
  const size_t pixels = size_t(a.width) * size_t(a.height);
  if (pixels == 0) return 0;
  double sum = 0;
  for (size_t i = 0; i < a.lab.size(); ++i) {
    const double d = double(a.lab[i]) - double(b.lab[i]);
    sum += d * d;
  }
  return std::sqrt(sum / double(pixels)) / 100.0;
}

double lab_rms_distance(const Image& a, const Image& b) { return lab_rms_distance(to_lab(a), to_lab(b)); }

FrameDistance default_frame_distance() {
  return [](const Image& a, const Image& b) { return lab_rms_distance(a, b); };
}

Smoothness smoothness_of(std::vector<double> distances) {
  Smoothness s;
  s.distances = std::move(distances);
  const size_t n = s.distances.size();
  if (n == 0) return s;
  std::vector<double> sorted = s.distances;
  std::sort(sorted.begin(), sorted.end());
  s.max = sorted.back();
  s.median = n % 2 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
  s.max_over_median = s.median > 0 ? s.max / s.median : 0;
  const double sum = std::accumulate(sorted.begin(), sorted.end(), 0.0);
  const double mean = sum / double(n);
  // Gini = sum_i (2i - n + 1) x_(i) / (n sum x) over the sorted values (0-based i): the mean absolute
  // difference over twice the mean, in O(n log n).
  double weighted = 0;
  for (size_t i = 0; i < n; ++i) weighted += (2.0 * double(i) - double(n) + 1.0) * sorted[i];
  s.one_minus_gini = sum > 0 ? 1.0 - weighted / (double(n) * sum) : 1.0;
  double var = 0;
  for (double d : s.distances) var += (d - mean) * (d - mean);
  s.istd = std::sqrt(var / double(n));
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t(0));
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return s.distances[a] > s.distances[b]; });
  order.resize(std::min<size_t>(n, 5));
  s.largest = order;
  return s;
}

std::vector<double> adjacent_distances(const std::vector<Image>& frames, const FrameDistance& distance) {
  std::vector<double> out;
  for (size_t i = 0; i + 1 < frames.size(); ++i) out.push_back(distance(frames[i], frames[i + 1]));
  return out;
}

}  // namespace sdwalk
