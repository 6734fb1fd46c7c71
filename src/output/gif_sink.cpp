// GIF: each frame quantised to <= 256 colours by libimagequant (Floyd-Steinberg dithering, level
// 1.0) with its own local palette (best colours per frame, and streaming: no frame has to wait for
// the others), written at once by giflib with a graphics control extension (delay) and, before the
// first frame, the NETSCAPE2.0 loop extension.
#include <gif_lib.h>
#include <libimagequant.h>

#include <cmath>
#include <cstdio>
#include <vector>

#include "output/sink_base.hpp"
#include "core/atomic_file.hpp"
#include "sdwalk/error.hpp"

namespace sdwalk::detail {
namespace {

int write_to_file(GifFileType* gif, const GifByteType* data, int size) {
  return int(std::fwrite(data, 1, size_t(size), static_cast<FILE*>(gif->UserData)));
}

struct LiqDeleter {
  void operator()(liq_attr* p) const { liq_attr_destroy(p); }
  void operator()(liq_image* p) const { liq_image_destroy(p); }
  void operator()(liq_result* p) const { liq_result_destroy(p); }
};
template <class T> using LiqPtr = std::unique_ptr<T, LiqDeleter>;

class GifSink final : public SinkBase {
 public:
  GifSink(const std::filesystem::path& path, const AnimationOptions& options)
      : SinkBase(path), out_(path), options_(options), attr_(liq_attr_create()) {
    check(attr_ != nullptr, label() + ": libimagequant could not start");
    liq_set_max_colors(attr_.get(), 256);
    // Speed 10 (of 1..10): 3-8x faster than the default 4 on 512x512 frames (~0.3 s instead of
    // ~2.5 s here), with a dithered error within 1-10% of it; the default would make GIF encoding
    // slower than rendering a frame on a GPU.
    liq_set_speed(attr_.get(), 10);
    // GIF delays are in centiseconds; 0 would mean "as fast as the viewer likes".
    delay_cs_ = std::max(1L, std::lround(options.frame_duration_ms / 10.0));
  }
  ~GifSink() override {
    if (gif_) EGifCloseFile(gif_, nullptr);  // the temporary file is then removed by out_
  }

 private:
  void fail(const char* what, int code) {
    throw Error(label() + ": " + what + " failed (" + (code ? GifErrorString(code) : "write error") + ")");
  }

  void open(int width, int height) {
    int err = 0;
    gif_ = EGifOpen(out_.stream(), write_to_file, &err);
    if (!gif_) fail("opening the GIF", err);
    EGifSetGifVersion(gif_, true);  // GIF89a: needed for the extensions below
    if (EGifPutScreenDesc(gif_, width, height, 8, 0, nullptr) == GIF_ERROR) fail("GIF header", gif_->Error);
    const unsigned char loop[3] = {1, uint8_t(options_.loop & 0xff), uint8_t((options_.loop >> 8) & 0xff)};
    if (EGifPutExtensionLeader(gif_, APPLICATION_EXT_FUNC_CODE) == GIF_ERROR ||
        EGifPutExtensionBlock(gif_, 11, "NETSCAPE2.0") == GIF_ERROR ||
        EGifPutExtensionBlock(gif_, 3, loop) == GIF_ERROR || EGifPutExtensionTrailer(gif_) == GIF_ERROR)
      fail("GIF loop extension", gif_->Error);
  }

  void add_frame(const Image& frame) override {
    const int w = frame.width, h = frame.height;
    if (!gif_) open(w, h);
    rgba_.resize(size_t(w) * h * 4);
    for (size_t i = 0, n = size_t(w) * h; i < n; ++i) {
      rgba_[4 * i + 0] = frame.rgb[3 * i + 0];
      rgba_[4 * i + 1] = frame.rgb[3 * i + 1];
      rgba_[4 * i + 2] = frame.rgb[3 * i + 2];
      rgba_[4 * i + 3] = 255;
    }
    LiqPtr<liq_image> image(liq_image_create_rgba(attr_.get(), rgba_.data(), w, h, 0));
    check(image != nullptr, label() + ": libimagequant rejected the frame");
    liq_result* raw = nullptr;
    const liq_error qerr = liq_image_quantize(image.get(), attr_.get(), &raw);
    LiqPtr<liq_result> result(raw);
    check(qerr == LIQ_OK && result, label() + ": quantising frame " + std::to_string(count()) +
                                        " failed (libimagequant error " + std::to_string(int(qerr)) + ")");
    liq_set_dithering_level(result.get(), 1.0f);
    indices_.resize(size_t(w) * h);
    check(liq_write_remapped_image(result.get(), image.get(), indices_.data(), indices_.size()) == LIQ_OK,
          label() + ": remapping frame " + std::to_string(count()) + " failed");
    const liq_palette* palette = liq_get_palette(result.get());

    int size = 2;  // GIF palettes hold a power of two colours
    while (size < int(palette->count)) size *= 2;
    std::vector<GifColorType> colors(size_t(size), GifColorType{0, 0, 0});
    for (unsigned i = 0; i < palette->count; ++i)
      colors[i] = GifColorType{palette->entries[i].r, palette->entries[i].g, palette->entries[i].b};
    ColorMapObject* map = GifMakeMapObject(size, colors.data());
    check(map != nullptr, label() + ": out of memory");

    GraphicsControlBlock gcb{};
    gcb.DisposalMode = DISPOSE_DO_NOT;  // every frame covers the whole screen
    gcb.UserInputFlag = false;
    gcb.DelayTime = int(delay_cs_);
    gcb.TransparentColor = NO_TRANSPARENT_COLOR;
    GifByteType ext[4];
    const size_t ext_len = EGifGCBToExtension(&gcb, ext);
    const bool ok = EGifPutExtension(gif_, GRAPHICS_EXT_FUNC_CODE, int(ext_len), ext) != GIF_ERROR &&
                    EGifPutImageDesc(gif_, 0, 0, w, h, false, map) != GIF_ERROR &&
                    EGifPutLine(gif_, indices_.data(), w * h) != GIF_ERROR;
    GifFreeMapObject(map);
    if (!ok) fail("writing a GIF frame", gif_->Error);
  }

  void finish_file() override {
    int err = 0;
    GifFileType* gif = gif_;
    gif_ = nullptr;
    if (EGifCloseFile(gif, &err) == GIF_ERROR) fail("closing the GIF", err);
    out_.commit(options_.no_clobber);
  }

  AtomicFile out_;
  AnimationOptions options_;
  LiqPtr<liq_attr> attr_;
  long delay_cs_ = 10;
  GifFileType* gif_ = nullptr;
  std::vector<uint8_t> rgba_;
  std::vector<GifPixelType> indices_;
};

}  // namespace

std::unique_ptr<FrameSink> make_gif_sink(const std::filesystem::path& path, const AnimationOptions& options) {
  return std::make_unique<GifSink>(path, options);
}

}  // namespace sdwalk::detail
