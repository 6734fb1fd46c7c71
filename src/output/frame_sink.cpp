#include "output/sink_base.hpp"
#include "sdwalk/error.hpp"

namespace sdwalk {

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
