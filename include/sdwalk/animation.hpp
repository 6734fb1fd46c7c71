#pragma once
// Animation writers: GIF (libimagequant + giflib), animated WebP (libwebp), MP4 / H.264 and
// WebM / VP9 (FFmpeg's libraries) and PNG frames in a folder. Frames are streamed in one at a time.
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sdwalk/image.hpp"

namespace sdwalk {

enum class AnimationFormat { Gif, WebP, Mp4, WebM, PngFrames };

// "gif", "webp", "mp4", "webm", "png" (case-insensitive); Error otherwise.
AnimationFormat format_from_name(const std::string& name);
// From a file's extension (".gif", ".webp", ".mp4", ".webm", ".png"); nullopt when none matches.
std::optional<AnimationFormat> format_from_extension(const std::filesystem::path& p);
// The format written to `output`, from `format` ("" when not given) and the name, by one rule: an
// animation's name ends in its format's extension (.gif, .webp, .mp4, .webm; case-insensitive), and
// PNG frames go into a folder, asked for with format "png". Anything else is an Error saying what to
// change: no extension, an extension that disagrees with `format`, x.png without format "png".
AnimationFormat output_format(const std::filesystem::path& output, const std::string& format);
// "gif", "webp", "mp4", "webm", "png" (no dot).
std::string extension_of(AnimationFormat f);
// The name of frame `index` in a PNG frames folder: "frame_000000.png".
std::string frame_file_name(int64_t index);

struct AnimationOptions {
  double frame_duration_ms = 100;  // the notebook's GIF default; video frame rate = 1000 / this
  // GIF / WebP loop count, 0 = forever. GIF: written as is into NETSCAPE2.0 (as PIL does; most
  // browsers then play loop + 1 times); WebP: the number of plays.
  int loop = 0;
  bool ping_pong = false;          // forward then backward, without repeating the two end frames
  // Metadata (e.g. "sdwalk" -> settings JSON): PNG tEXt chunks, MP4 / WebM container tags.
  // GIF and WebP do not carry it (write the settings JSON beside them).
  std::map<std::string, std::string> text;
  bool lossless = false;       // WebP: lossless instead of lossy
  float quality = 90;          // WebP quality, 0..100
  // finish() fails instead of replacing an existing file; PNG frames: make_frame_sink() fails when
  // the folder already holds frame_000000.png.
  bool no_clobber = false;
};

// Streaming sink. add() encodes a frame at once (all frames must have the first frame's size);
// finish() completes the file and moves it into place (temporary name, then rename). A sink
// destroyed without finish() leaves no file behind, except PNG frames already written (each frame
// file is complete, so a run can resume from them).
// Memory: one frame plus the encoder's state (WebP keeps the encoded frames until finish(): libwebp
// assembles the file at the end). Ping-pong keeps the frames of the backward pass on disk as PNGs in
// a hidden folder beside the output (deleted by finish() or the destructor); the PNG-frames sink
// copies its own frame files instead.
class FrameSink {
 public:
  virtual ~FrameSink() = default;
  virtual void add(const Image& frame) = 0;
  virtual void finish() = 0;
};

// Throws Error unless every writer can take these options (frame duration 1 ms .. 655350 ms as GIF's
// centiseconds and video frame rates allow, loop 0 .. 65535, quality 0 .. 100): callers check a
// request with it before rendering the frames. make_frame_sink checks the same.
void check_animation_options(const AnimationOptions& options);

// Opens the output at once, so an unwritable path fails here (Error naming the path), before any
// frame is rendered. For PngFrames `path` is a folder, created if missing.
std::unique_ptr<FrameSink> make_frame_sink(AnimationFormat format, const std::filesystem::path& path,
                                           const AnimationOptions& options);

// The same animation kept in memory: finish() puts the file's bytes into `bytes` (for an HTTP reply
// or a Python caller). GIF, WebP, MP4 or WebM; PNG frames (a folder) are an Error.
std::unique_ptr<FrameSink> make_memory_frame_sink(AnimationFormat format, std::vector<uint8_t>& bytes,
                                                  const AnimationOptions& options);

}  // namespace sdwalk
