#include "sdwalk/smoothness_report.hpp"

#include <algorithm>
#include <cmath>

#include "core/atomic_file.hpp"
#include "sdwalk/error.hpp"

namespace sdwalk {
namespace fs = std::filesystem;
namespace {

void put(Image& im, int x, int y, const uint8_t rgb[3]) {
  if (x < 0 || y < 0 || x >= im.width || y >= im.height) return;
  std::copy(rgb, rgb + 3, &im.rgb[(size_t(y) * size_t(im.width) + size_t(x)) * 3]);
}

void line(Image& im, double x0, double y0, double x1, double y1, const uint8_t rgb[3], int thick = 1) {
  const int n = int(std::max(std::abs(x1 - x0), std::abs(y1 - y0))) + 1;
  for (int i = 0; i <= n; ++i) {
    const double t = double(i) / n;
    const int x = int(std::lround(x0 + t * (x1 - x0))), y = int(std::lround(y0 + t * (y1 - y0)));
    for (int dy = -(thick / 2); dy <= thick / 2; ++dy)
      for (int dx = -(thick / 2); dx <= thick / 2; ++dx) put(im, x + dx, y + dy, rgb);
  }
}

}  // namespace

ReportPaths report_paths(const fs::path& animation) {
  fs::path base = animation;
  if (!fs::is_directory(animation)) base.replace_extension();
  std::string b = base.string();
  while (b.size() > 1 && b.back() == '/') b.pop_back();
  return {b + ".report.json", b + ".distances.png", b + ".contact.png"};
}

nlohmann::json smoothness_json(const Smoothness& s) {
  nlohmann::json largest = nlohmann::json::array();
  for (size_t i : s.largest)
    largest.push_back({{"transition", i}, {"frames", {i, i + 1}}, {"distance", s.distances[i]}});
  return {{"distance", "cielab_rms"},
          {"frames", s.distances.size() + 1},
          {"distances", s.distances},
          {"max", s.max},
          {"median", s.median},
          {"max_over_median", s.max_over_median},
          {"one_minus_gini", s.one_minus_gini},
          {"istd", s.istd},
          {"largest_jumps", largest}};
}

Image distance_plot(const std::vector<double>& d, const std::vector<double>& compare) {
  const int w = 720, h = 240, pad = 16;
  Image im{w, h, std::vector<uint8_t>(size_t(w) * h * 3, 255)};
  const uint8_t grid[3] = {225, 225, 225}, axis[3] = {120, 120, 120}, grey[3] = {170, 170, 170},
                blue[3] = {30, 90, 200};
  double top = 0;
  for (double v : d) top = std::max(top, v);
  for (double v : compare) top = std::max(top, v);
  if (!(top > 0)) top = 1;
  const size_t n = std::max(d.size(), compare.size());
  auto px = [&](size_t i) { return pad + (n > 1 ? double(i) / double(n - 1) : 0.5) * (w - 2 * pad); };
  auto py = [&](double v) { return h - pad - v / top * (h - 2 * pad); };
  for (int g = 0; g <= 4; ++g) line(im, pad, py(top * g / 4), w - pad, py(top * g / 4), g == 0 ? axis : grid);
  line(im, pad, pad, pad, h - pad, axis);
  auto series = [&](const std::vector<double>& v, const uint8_t* c, int thick) {
    for (size_t i = 0; i + 1 < v.size(); ++i) line(im, px(i), py(v[i]), px(i + 1), py(v[i + 1]), c, thick);
    for (size_t i = 0; i < v.size(); ++i) line(im, px(i), py(v[i]) - 2, px(i), py(v[i]) + 2, c, 3);
  };
  series(compare, grey, 1);
  series(d, blue, 2);
  return im;
}

Image contact_sheet(const std::vector<Image>& frames, int columns, int thumb_width) {
  check(!frames.empty(), "contact sheet: no frames");
  const int fw = frames[0].width, fh = frames[0].height;
  const int tw = std::min(thumb_width, fw), th = std::max(1, int(std::lround(double(fh) * tw / fw)));
  const int cols = std::min<int>(columns, int(frames.size()));
  const int rows = int((frames.size() + size_t(cols) - 1) / size_t(cols));
  const int gap = 4;
  Image im{cols * (tw + gap) + gap, rows * (th + gap) + gap, {}};
  im.rgb.assign(size_t(im.width) * size_t(im.height) * 3, 255);
  for (size_t f = 0; f < frames.size(); ++f) {
    // The frame brought to thumbnail size by fit_image's antialiased resampling, then placed.
    const Image thumb = fit_image(frames[f], tw, th, ImageFit::Stretch);
    const int ox = gap + int(f % size_t(cols)) * (tw + gap), oy = gap + int(f / size_t(cols)) * (th + gap);
    for (int y = 0; y < th; ++y)
      std::copy_n(&thumb.rgb[size_t(y) * size_t(tw) * 3], size_t(tw) * 3,
                  &im.rgb[(size_t(oy + y) * size_t(im.width) + size_t(ox)) * 3]);
  }
  return im;
}

Smoothness write_smoothness_report(const std::vector<Image>& frames, const ReportPaths& paths,
                                   const nlohmann::json& extra, const std::vector<double>& compare) {
  check(frames.size() >= 2, "report: " + std::to_string(frames.size()) + " frame(s); a walk's smoothness needs at least 2");
  const Smoothness s = smoothness_of(adjacent_distances(frames, default_frame_distance()));
  nlohmann::json j = smoothness_json(s);
  if (!compare.empty()) j["compare"] = smoothness_json(smoothness_of(compare));
  for (auto it = extra.begin(); extra.is_object() && it != extra.end(); ++it) j[it.key()] = it.value();
  const std::string text = j.dump(2) + "\n";
  AtomicFile f(paths.json);
  f.write(text.data(), text.size());
  f.commit();
  write_png(paths.plot, distance_plot(s.distances, compare));
  write_png(paths.contact, contact_sheet(frames));
  return s;
}

}  // namespace sdwalk
