#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>

#include "sdwalk/animation.hpp"
#include "sdwalk/error.hpp"

namespace sdwalk {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return s;
}

std::optional<AnimationFormat> lookup(const std::string& name) {
  const std::string n = lower(name);
  if (n == "gif") return AnimationFormat::Gif;
  if (n == "webp") return AnimationFormat::WebP;
  if (n == "mp4") return AnimationFormat::Mp4;
  if (n == "webm") return AnimationFormat::WebM;
  if (n == "png") return AnimationFormat::PngFrames;
  return std::nullopt;
}

}  // namespace

AnimationFormat format_from_name(const std::string& name) {
  if (auto f = lookup(name)) return *f;
  throw Error("format: unknown animation format '" + name + "' (expected gif, webp, mp4, webm or png)");
}

std::optional<AnimationFormat> format_from_extension(const std::filesystem::path& p) {
  const std::string ext = p.extension().string();
  if (ext.size() < 2) return std::nullopt;
  return lookup(ext.substr(1));
}

AnimationFormat output_format(const std::filesystem::path& output, const std::string& format) {
  const std::string name = output.string();
  const auto by_extension = format_from_extension(output);
  const std::string ext = output.extension().string();
  if (format.empty()) {
    check(by_extension.has_value(), name + ": no .gif, .webp, .mp4 or .webm extension to take the format from; add one, "
                                           "or pass --format png for a folder of PNG frames");
    check(*by_extension != AnimationFormat::PngFrames,
          name + ": PNG frames go into a folder: pass --format png (then the output names the folder)");
    return *by_extension;
  }
  const AnimationFormat f = format_from_name(format);
  if (f == AnimationFormat::PngFrames) {
    check(!by_extension || *by_extension == f,
          name + ": --format png writes a folder of frames, but the name ends in " + ext + "; drop the extension");
    return f;
  }
  check(by_extension.has_value(), name + ": no extension; name the file " + name + "." + extension_of(f) +
                                      " (or pass --format png for a folder of PNG frames)");
  check(*by_extension == f, name + ": the extension says " + ext.substr(1) + " but the format is " + extension_of(f) +
                                "; make them agree");
  return f;
}

std::string extension_of(AnimationFormat f) {
  switch (f) {
    case AnimationFormat::Gif: return "gif";
    case AnimationFormat::WebP: return "webp";
    case AnimationFormat::Mp4: return "mp4";
    case AnimationFormat::WebM: return "webm";
    case AnimationFormat::PngFrames: return "png";
  }
  throw Error("format: invalid AnimationFormat value");
}

std::string frame_file_name(int64_t index) {
  char name[32];
  std::snprintf(name, sizeof name, "frame_%06lld.png", static_cast<long long>(index));
  return name;
}

// The writers' limits (GIF and WebP store durations in centiseconds / milliseconds as 16 bits), here
// beside the formats so that settings can be checked without the writers.
void check_animation_options(const AnimationOptions& options) {
  check(std::isfinite(options.frame_duration_ms) && options.frame_duration_ms >= 1 &&
            options.frame_duration_ms <= 655350,
        "frame duration (--frame-duration, --fps): expected 1 ms .. 655350 ms (fps 0.0015 .. 1000), got " +
            std::to_string(options.frame_duration_ms) + " ms");
  check(options.loop >= 0 && options.loop <= 65535,
        "loop (--loop): expected 0 (forever) .. 65535, got " + std::to_string(options.loop));
  check(options.quality >= 0 && options.quality <= 100,
        "quality: expected 0..100, got " + std::to_string(options.quality));
}

}  // namespace sdwalk
