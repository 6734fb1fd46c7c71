#include <algorithm>
#include <cctype>
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

}  // namespace sdwalk
