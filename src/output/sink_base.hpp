#pragma once
// What every FrameSink checks: frames of one size, no add() after finish(), at least one frame,
// and no further use after a failure (the file would be inconsistent).
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "sdwalk/animation.hpp"

namespace sdwalk::detail {

class SinkBase : public FrameSink {
 public:
  explicit SinkBase(std::filesystem::path path) : path_(std::move(path)) {}
  void add(const Image& frame) final;
  void finish() final;

 protected:
  virtual void add_frame(const Image& frame) = 0;  // frame already checked
  virtual void finish_file() = 0;                  // at least one frame was added
  const std::filesystem::path& path() const { return path_; }
  std::string label() const { return path_.string(); }
  int64_t count() const { return count_; }  // frames added before this one
  int width() const { return width_; }
  int height() const { return height_; }

 private:
  std::filesystem::path path_;
  int64_t count_ = 0;
  int width_ = 0, height_ = 0;
  bool finished_ = false, failed_ = false;
};

std::unique_ptr<FrameSink> make_gif_sink(const std::filesystem::path& path, const AnimationOptions& options);
std::unique_ptr<FrameSink> make_webp_sink(const std::filesystem::path& path, const AnimationOptions& options);
// Mp4 (H.264) or WebM (VP9).
std::unique_ptr<FrameSink> make_video_sink(AnimationFormat format, const std::filesystem::path& path,
                                           const AnimationOptions& options);
// Does its own ping-pong (copies frame files).
std::unique_ptr<FrameSink> make_png_frames_sink(const std::filesystem::path& folder,
                                                const AnimationOptions& options);
// Sends each frame on to `inner`, keeps frames 1.. as PNGs in a hidden folder beside `path`, and
// at finish() sends frames N-2 .. 1 again.
std::unique_ptr<FrameSink> make_ping_pong_sink(std::unique_ptr<FrameSink> inner,
                                               const std::filesystem::path& path);

}  // namespace sdwalk::detail
