#pragma once
// Shared by the output tests: synthetic frames, a scratch folder, and decoders for what the sinks
// wrote (giflib, libwebp's WebPAnimDecoder, libavformat + libavcodec).
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "sdwalk/animation.hpp"
#include "sdwalk/image.hpp"

namespace sdwalk::test {

// A diagonal colour gradient with a white square moving right with `index`, so frames differ.
Image synthetic_frame(int width, int height, int index);
std::vector<Image> synthetic_frames(int width, int height, int count);
// Mean |a - b| over all channels, in 0..255 units (sizes must match, else 255).
double mean_abs_error(const Image& a, const Image& b);
// Mean |error| of the averages of `block` x `block` tiles: what dithering and 4:2:0 chroma keep
// even on noise-like frames, where the per-pixel error is large.
double block_mean_abs_error(const Image& a, const Image& b, int block);
// Index of the reference frame closest to `frame` (by mean_abs_error).
int closest_frame(const Image& frame, const std::vector<Image>& references);

// A fresh empty folder under the system temp folder, removed with its contents at the end.
class ScratchDir {
 public:
  ScratchDir();
  ~ScratchDir();
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }
  std::vector<std::string> entries() const;  // file names in the folder (hidden ones too), sorted

 private:
  std::filesystem::path path_;
};

struct DecodedGif {
  int width = 0, height = 0;
  std::vector<Image> frames;
  std::vector<int> delays_cs;  // from each frame's graphics control extension (-1: none)
  int loop = -1;               // NETSCAPE2.0 loop count, -1 when the extension is absent
  bool all_frames_full = true; // every frame covers the whole screen with a local palette
};
DecodedGif decode_gif(const std::filesystem::path& path);

struct DecodedWebP {
  int width = 0, height = 0, loop = -1, frame_count = 0;
  std::vector<Image> frames;
  std::vector<int> end_timestamps_ms;  // WebPAnimDecoder's timestamp: when each frame ends
};
DecodedWebP decode_webp(const std::filesystem::path& path);

struct DecodedVideo {
  std::string container, codec;
  int width = 0, height = 0;
  double frame_rate = 0;  // the stream's average frame rate
  std::vector<Image> frames;  // decoded and converted back to RGB (BT.709, as tagged)
  std::map<std::string, std::string> metadata;  // container tags (keys as the demuxer gives them)
};
DecodedVideo decode_video(const std::filesystem::path& path);

// The frames as a viewer shows them, one per frame_duration_ms (WebP frames that libwebp merged
// are expanded by their duration; PNG frames are read from the folder).
std::vector<Image> decode_frames(AnimationFormat format, const std::filesystem::path& path,
                                 double frame_duration_ms);
// Mean |error| allowed per frame for a format, 0..255 units.
double lossy_tolerance(AnimationFormat format);

}  // namespace sdwalk::test
