#include <cmath>

#include "output/sink_base.hpp"
#include "sdwalk/error.hpp"

namespace sdwalk {

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

std::unique_ptr<FrameSink> make_frame_sink(AnimationFormat format, const std::filesystem::path& path,
                                           const AnimationOptions& options) {
  check_animation_options(options);
  check(!path.empty(), "output: empty path");
  if (format == AnimationFormat::PngFrames) return detail::make_png_frames_sink(path, options);
  std::unique_ptr<FrameSink> sink;
  switch (format) {
    case AnimationFormat::Gif: sink = detail::make_gif_sink(path, options); break;
    case AnimationFormat::WebP: sink = detail::make_webp_sink(path, options); break;
    default: sink = detail::make_video_sink(format, path, options); break;
  }
  return options.ping_pong ? detail::make_ping_pong_sink(std::move(sink), path) : std::move(sink);
}

}  // namespace sdwalk
