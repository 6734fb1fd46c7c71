// Animated WebP through libwebp's WebPAnimEncoder: frame i starts at round(i * duration) ms.
// libwebp keeps the encoded frames until WebPAnimEncoderAssemble() writes the file; it merges a
// frame identical to the previous one into it (longer duration), so identical consecutive frames
// decode as one.
#include <webp/encode.h>
#include <webp/mux.h>

#include <cmath>

#include "output/sink_base.hpp"
#include "core/atomic_file.hpp"
#include "sdwalk/error.hpp"

namespace sdwalk::detail {
namespace {

class WebPSink final : public SinkBase {
 public:
  WebPSink(const std::filesystem::path& path, const AnimationOptions& options)
      : SinkBase(path), out_(path), options_(options) {
    check(WebPAnimEncoderOptionsInit(&anim_options_) && WebPConfigInit(&config_),
          label() + ": libwebp version mismatch");
    anim_options_.anim_params.loop_count = options.loop;
    config_.lossless = options.lossless ? 1 : 0;
    config_.quality = options.quality;
    check(WebPValidateConfig(&config_), label() + ": invalid WebP settings (quality 0..100)");
  }
  ~WebPSink() override {
    if (encoder_) WebPAnimEncoderDelete(encoder_);
  }

 private:
  int timestamp(int64_t index) const { return int(std::llround(double(index) * options_.frame_duration_ms)); }

  std::string encoder_error() const {
    const char* e = encoder_ ? WebPAnimEncoderGetError(encoder_) : nullptr;
    return e && *e ? e : "unknown error";
  }

  void add_frame(const Image& frame) override {
    if (!encoder_) {
      encoder_ = WebPAnimEncoderNew(frame.width, frame.height, &anim_options_);
      check(encoder_ != nullptr, label() + ": cannot start the WebP encoder for " +
                                     std::to_string(frame.width) + "x" + std::to_string(frame.height) +
                                     " (at most 16383x16383)");
    }
    WebPPicture picture;
    check(WebPPictureInit(&picture), label() + ": libwebp version mismatch");
    picture.use_argb = 1;
    picture.width = frame.width;
    picture.height = frame.height;
    const bool imported = WebPPictureImportRGB(&picture, frame.rgb.data(), frame.width * 3);
    const bool added = imported && WebPAnimEncoderAdd(encoder_, &picture, timestamp(count()), &config_);
    WebPPictureFree(&picture);
    check(added, label() + ": encoding WebP frame " + std::to_string(count()) + " failed (" +
                     (imported ? encoder_error() : "out of memory") + ")");
  }

  void finish_file() override {
    // A last call without a picture gives the final frame its duration.
    check(WebPAnimEncoderAdd(encoder_, nullptr, timestamp(count()), nullptr),
          label() + ": finishing the WebP animation failed (" + encoder_error() + ")");
    WebPData data;
    WebPDataInit(&data);
    if (!WebPAnimEncoderAssemble(encoder_, &data))
      throw Error(label() + ": assembling the WebP animation failed (" + encoder_error() + ")");
    try {
      out_.write(data.bytes, data.size);
    } catch (...) {
      WebPDataClear(&data);
      throw;
    }
    WebPDataClear(&data);
    out_.commit(options_.no_clobber);
  }

  AtomicFile out_;
  AnimationOptions options_;
  WebPAnimEncoderOptions anim_options_;
  WebPConfig config_;
  WebPAnimEncoder* encoder_ = nullptr;
};

}  // namespace

std::unique_ptr<FrameSink> make_webp_sink(const std::filesystem::path& path, const AnimationOptions& options) {
  return std::make_unique<WebPSink>(path, options);
}

}  // namespace sdwalk::detail
