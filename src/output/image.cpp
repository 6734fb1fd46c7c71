// Image measures (PSNR) and fitting an image to the model's size (crop, pad, stretch).
#include <algorithm>
#include <cmath>
#include <limits>

#include "sdwalk/error.hpp"
#include "sdwalk/image.hpp"

namespace sdwalk {

namespace {

void check_same_size(const Image& a, const Image& b) {
  check(a.width == b.width && a.height == b.height && a.rgb.size() == b.rgb.size(),
        "images of different sizes: " + std::to_string(a.width) + "x" + std::to_string(a.height) + " and " +
            std::to_string(b.width) + "x" + std::to_string(b.height));
}

// Resamples one axis with a triangle filter widened by the shrink factor (PIL's antialiased
// bilinear): every source pixel counts when shrinking, plain bilinear when growing.
std::vector<float> resample(const std::vector<float>& src, int sw, int sh, int dw, int dh, bool horizontal) {
  const int n_src = horizontal ? sw : sh, n_dst = horizontal ? dw : dh;
  const double scale = double(n_src) / n_dst;
  const double support = std::max(1.0, scale);
  std::vector<float> out(size_t(horizontal ? dw * sh : sw * dh) * 3, 0.0f);
  for (int d = 0; d < n_dst; ++d) {
    const double centre = (d + 0.5) * scale;
    const int lo = std::max(0, int(std::floor(centre - support))), hi = std::min(n_src, int(std::ceil(centre + support)));
    std::vector<double> w;
    double total = 0;
    for (int s = lo; s < hi; ++s) {
      const double v = std::max(0.0, 1.0 - std::fabs((s + 0.5 - centre) / support));
      w.push_back(v);
      total += v;
    }
    const int other = horizontal ? sh : sw;
    for (int o = 0; o < other; ++o)
      for (int c = 0; c < 3; ++c) {
        double acc = 0;
        for (int s = lo; s < hi; ++s) {
          const size_t i = horizontal ? (size_t(o) * sw + s) * 3 + c : (size_t(s) * sw + o) * 3 + c;
          acc += w[size_t(s - lo)] * src[i];
        }
        const size_t j = horizontal ? (size_t(o) * dw + d) * 3 + c : (size_t(d) * sw + o) * 3 + c;
        out[j] = float(total > 0 ? acc / total : 0);
      }
  }
  return out;
}

Image resize(const Image& image, int width, int height) {
  if (image.width == width && image.height == height) return image;
  std::vector<float> f(image.rgb.begin(), image.rgb.end());
  f = resample(f, image.width, image.height, width, image.height, true);
  f = resample(f, width, image.height, width, height, false);
  Image out;
  out.width = width;
  out.height = height;
  out.rgb.resize(f.size());
  for (size_t i = 0; i < f.size(); ++i) out.rgb[i] = uint8_t(std::clamp(std::lround(f[i]), 0L, 255L));
  return out;
}

Image cut(const Image& image, int x0, int y0, int width, int height) {
  Image out;
  out.width = width;
  out.height = height;
  out.rgb.resize(size_t(width) * height * 3);
  for (int y = 0; y < height; ++y)
    std::copy_n(image.rgb.begin() + ptrdiff_t((size_t(y + y0) * image.width + x0) * 3), size_t(width) * 3,
                out.rgb.begin() + ptrdiff_t(size_t(y) * width * 3));
  return out;
}

}  // namespace

double mean_abs_difference(const Image& a, const Image& b) {
  check_same_size(a, b);
  double sum = 0;
  for (size_t i = 0; i < a.rgb.size(); ++i) sum += std::abs(int(a.rgb[i]) - int(b.rgb[i]));
  return a.rgb.empty() ? 0 : sum / double(a.rgb.size());
}

double psnr(const Image& a, const Image& b) {
  check_same_size(a, b);
  double se = 0;
  for (size_t i = 0; i < a.rgb.size(); ++i) {
    const double d = double(a.rgb[i]) - double(b.rgb[i]);
    se += d * d;
  }
  if (se == 0) return std::numeric_limits<double>::infinity();
  return 10.0 * std::log10(255.0 * 255.0 / (se / double(a.rgb.size())));
}

ImageFit parse_image_fit(const std::string& name, const std::string& flag) {
  if (name == "crop") return ImageFit::Crop;
  if (name == "pad") return ImageFit::Pad;
  if (name == "stretch") return ImageFit::Stretch;
  throw Error(flag + " '" + name + "': expected crop, pad or stretch");
}

Image fit_image(const Image& image, int width, int height, ImageFit fit) {
  check(image.width > 0 && image.height > 0, "fit: the image is empty");
  check(width > 0 && height > 0, "fit: the target size must be positive");
  if (fit == ImageFit::Stretch) return resize(image, width, height);
  const double sx = double(width) / image.width, sy = double(height) / image.height;
  const double s = fit == ImageFit::Crop ? std::max(sx, sy) : std::min(sx, sy);
  const int w = std::max(1, int(std::lround(image.width * s))), h = std::max(1, int(std::lround(image.height * s)));
  if (fit == ImageFit::Crop) {
    const Image big = resize(image, std::max(w, width), std::max(h, height));
    return cut(big, (big.width - width) / 2, (big.height - height) / 2, width, height);
  }
  const Image small = resize(image, std::min(w, width), std::min(h, height));
  Image out;
  out.width = width;
  out.height = height;
  out.rgb.assign(size_t(width) * height * 3, 0);
  const int x0 = (width - small.width) / 2, y0 = (height - small.height) / 2;
  for (int y = 0; y < small.height; ++y)
    std::copy_n(small.rgb.begin() + ptrdiff_t(size_t(y) * small.width * 3), size_t(small.width) * 3,
                out.rgb.begin() + ptrdiff_t((size_t(y + y0) * width + x0) * 3));
  return out;
}

}  // namespace sdwalk
