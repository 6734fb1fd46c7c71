#include "sdwalk/animation_reader.hpp"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/imgutils.h>
#include <libswscale/swscale.h>
}
#include <gif_lib.h>
#include <webp/demux.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>

#include "output/av_error.hpp"
#include "sdwalk/animation.hpp"
#include "sdwalk/error.hpp"
#include "core/file_checks.hpp"

namespace sdwalk {
namespace fs = std::filesystem;
using detail::av_error;
namespace {

std::string gif_error(int code) {
  const char* text = GifErrorString(code);  // null for codes it does not know (0 among them)
  return text ? text : "error " + std::to_string(code);
}

std::vector<Image> read_gif(const fs::path& path) {
  int err = 0;
  GifFileType* gif = DGifOpenFileName(path.c_str(), &err);
  if (!gif) throw Error(path.string() + ": not a readable GIF (" + gif_error(err) + ")");
  std::unique_ptr<GifFileType, void (*)(GifFileType*)> owner(gif, [](GifFileType* g) { DGifCloseFile(g, nullptr); });
  if (DGifSlurp(gif) != GIF_OK) throw Error(path.string() + ": a damaged GIF (" + gif_error(gif->Error) + ")");
  const int w = gif->SWidth, h = gif->SHeight;
  check(w > 0 && h > 0 && gif->ImageCount > 0, path.string() + ": a GIF without frames");
  Image canvas{w, h, std::vector<uint8_t>(size_t(w) * size_t(h) * 3, 0)};
  std::vector<Image> frames;
  for (int f = 0; f < gif->ImageCount; ++f) {
    const SavedImage& im = gif->SavedImages[f];
    GraphicsControlBlock gcb{DISPOSAL_UNSPECIFIED, false, 0, NO_TRANSPARENT_COLOR};
    DGifSavedExtensionToGCB(gif, f, &gcb);
    const ColorMapObject* map = im.ImageDesc.ColorMap ? im.ImageDesc.ColorMap : gif->SColorMap;
    check(map != nullptr, path.string() + ": frame " + std::to_string(f) + " has no colour table");
    const Image before = canvas;
    const GifImageDesc& d = im.ImageDesc;
    for (int y = 0; y < d.Height; ++y)
      for (int x = 0; x < d.Width; ++x) {
        const int cx = d.Left + x, cy = d.Top + y;
        if (cx < 0 || cy < 0 || cx >= w || cy >= h) continue;
        const int index = im.RasterBits[size_t(y) * size_t(d.Width) + size_t(x)];
        if (index == gcb.TransparentColor || index >= map->ColorCount) continue;
        const GifColorType c = map->Colors[index];
        uint8_t* p = &canvas.rgb[(size_t(cy) * size_t(w) + size_t(cx)) * 3];
        p[0] = c.Red;
        p[1] = c.Green;
        p[2] = c.Blue;
      }
    frames.push_back(canvas);
    if (gcb.DisposalMode == DISPOSE_BACKGROUND) {
      for (int y = std::max(0, d.Top); y < std::min(h, d.Top + d.Height); ++y)
        for (int x = std::max(0, d.Left); x < std::min(w, d.Left + d.Width); ++x)
          std::fill_n(&canvas.rgb[(size_t(y) * size_t(w) + size_t(x)) * 3], 3, uint8_t(0));
    } else if (gcb.DisposalMode == DISPOSE_PREVIOUS) {
      canvas = before;
    }
  }
  return frames;
}

std::vector<Image> read_webp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  check(!bytes.empty(), path.string() + ": empty or unreadable");
  WebPData data{bytes.data(), bytes.size()};
  WebPAnimDecoderOptions options;
  check(WebPAnimDecoderOptionsInit(&options) != 0, "WebP: this libwebp's decoder options do not match its headers");
  options.color_mode = MODE_RGBA;
  WebPAnimDecoder* dec = WebPAnimDecoderNew(&data, &options);
  check(dec != nullptr, path.string() + ": not a readable WebP");
  std::unique_ptr<WebPAnimDecoder, void (*)(WebPAnimDecoder*)> owner(dec, WebPAnimDecoderDelete);
  WebPAnimInfo info;
  check(WebPAnimDecoderGetInfo(dec, &info) != 0, path.string() + ": a damaged WebP");
  std::vector<Image> frames;
  while (WebPAnimDecoderHasMoreFrames(dec)) {
    uint8_t* rgba = nullptr;
    int timestamp = 0;
    check(WebPAnimDecoderGetNext(dec, &rgba, &timestamp) != 0,
          path.string() + ": frame " + std::to_string(frames.size()) + " cannot be decoded");
    Image im{int(info.canvas_width), int(info.canvas_height), {}};
    im.rgb.resize(size_t(im.width) * size_t(im.height) * 3);
    for (size_t i = 0; i < size_t(im.width) * size_t(im.height); ++i) std::copy_n(rgba + i * 4, 3, &im.rgb[i * 3]);
    frames.push_back(std::move(im));
  }
  return frames;
}

std::vector<Image> read_video(const fs::path& path) {
  av_log_set_level(AV_LOG_ERROR);
  AVFormatContext* fmt = nullptr;
  int r = avformat_open_input(&fmt, path.c_str(), nullptr, nullptr);
  check(r >= 0, path.string() + ": not a readable video (" + av_error(r) + ")");
  std::unique_ptr<AVFormatContext*, void (*)(AVFormatContext**)> fmt_owner(&fmt, avformat_close_input);
  check(avformat_find_stream_info(fmt, nullptr) >= 0, path.string() + ": no stream information");
  const AVCodec* codec = nullptr;
  const int stream = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
  check(stream >= 0 && codec != nullptr, path.string() + ": no video stream this FFmpeg can decode");
  AVCodecContext* ctx = avcodec_alloc_context3(codec);
  std::unique_ptr<AVCodecContext*, void (*)(AVCodecContext**)> ctx_owner(&ctx, avcodec_free_context);
  check(avcodec_parameters_to_context(ctx, fmt->streams[stream]->codecpar) >= 0 && avcodec_open2(ctx, codec, nullptr) >= 0,
        path.string() + ": cannot open its decoder");
  AVFrame* frame = av_frame_alloc();
  AVPacket* packet = av_packet_alloc();
  std::vector<Image> frames;
  SwsContext* sws = nullptr;
  auto receive = [&] {
    while (avcodec_receive_frame(ctx, frame) == 0) {
      Image im{frame->width, frame->height, std::vector<uint8_t>(size_t(frame->width) * size_t(frame->height) * 3)};
      sws = sws_getCachedContext(sws, frame->width, frame->height, AVPixelFormat(frame->format), frame->width,
                                 frame->height, AV_PIX_FMT_RGB24, SWS_BICUBIC, nullptr, nullptr, nullptr);
      check(sws != nullptr, path.string() + ": cannot convert its frames to RGB");
      // The writer tags BT.709 limited range: convert back with the same.
      const int* coeffs = sws_getCoefficients(frame->colorspace == AVCOL_SPC_BT709 ? SWS_CS_ITU709 : SWS_CS_DEFAULT);
      sws_setColorspaceDetails(sws, coeffs, frame->color_range == AVCOL_RANGE_JPEG, sws_getCoefficients(SWS_CS_DEFAULT),
                               1, 0, 1 << 16, 1 << 16);
      uint8_t* dst[4] = {im.rgb.data(), nullptr, nullptr, nullptr};
      int stride[4] = {frame->width * 3, 0, 0, 0};
      sws_scale(sws, frame->data, frame->linesize, 0, frame->height, dst, stride);
      frames.push_back(std::move(im));
    }
  };
  while (av_read_frame(fmt, packet) >= 0) {
    if (packet->stream_index == stream && avcodec_send_packet(ctx, packet) >= 0) receive();
    av_packet_unref(packet);
  }
  avcodec_send_packet(ctx, nullptr);  // drain
  receive();
  sws_freeContext(sws);
  av_packet_free(&packet);
  av_frame_free(&frame);
  return frames;
}

std::vector<Image> read_png_folder(const fs::path& dir) {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (e.is_regular_file() && name.size() > 4 && name.substr(name.size() - 4) == ".png" && name[0] != '.')
      files.push_back(e.path());
  }
  // A run folder holds its frames beside other pictures: its frame_*.png then, in order.
  std::vector<fs::path> frames;
  for (const fs::path& f : files)
    if (f.filename().string().rfind("frame_", 0) == 0) frames.push_back(f);
  if (frames.empty()) frames = files;
  std::sort(frames.begin(), frames.end());
  std::vector<Image> out;
  for (const fs::path& f : frames) out.push_back(read_png(f));
  return out;
}


}  // namespace

std::vector<Image> read_animation_frames(const fs::path& path) {
  check(fs::exists(path), path.string() + ": no such file or folder");
  std::vector<Image> frames;
  if (fs::is_directory(path)) {
    frames = read_png_folder(path);
    check(!frames.empty(), path.string() + ": a folder without PNG frames");
    return frames;
  }
  check_regular_file(path, "an animation (GIF, WebP, MP4, WebM) or a folder of PNG frames");
  const std::optional<AnimationFormat> format = format_from_extension(path);
  if (format == AnimationFormat::Gif)
    frames = read_gif(path);
  else if (format == AnimationFormat::WebP)
    frames = read_webp(path);
  else if (format == AnimationFormat::Mp4 || format == AnimationFormat::WebM)
    frames = read_video(path);
  else
    throw Error(path.string() + ": not an animation sdwalk reads (expected .gif, .webp, .mp4, .webm or a folder of PNG "
                                "frames)");
  check(!frames.empty(), path.string() + ": no frames in it");
  for (const Image& f : frames)
    check(f.width == frames[0].width && f.height == frames[0].height, path.string() + ": frames of different sizes");
  return frames;
}

}  // namespace sdwalk
