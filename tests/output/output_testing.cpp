#include "output_testing.hpp"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libswscale/swscale.h>
}
#include <gif_lib.h>
#include <gtest/gtest.h>
#include <unistd.h>
#include <webp/demux.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>

namespace sdwalk::test {

Image synthetic_frame(int width, int height, int index) {
  Image im;
  im.width = width;
  im.height = height;
  im.rgb.resize(size_t(width) * height * 3);
  const int side = std::max(2, height / 3), x0 = (index * 7) % std::max(1, width - side), y0 = height / 3;
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x) {
      uint8_t* p = &im.rgb[(size_t(y) * width + x) * 3];
      const bool square = x >= x0 && x < x0 + side && y >= y0 && y < y0 + side;
      p[0] = square ? 255 : uint8_t(255 * x / std::max(1, width - 1));
      p[1] = square ? 255 : uint8_t(255 * y / std::max(1, height - 1));
      p[2] = square ? 255 : uint8_t((40 * index + 128 * (x + y) / std::max(1, width + height)) % 256);
    }
  return im;
}

std::vector<Image> synthetic_frames(int width, int height, int count) {
  std::vector<Image> out;
  for (int i = 0; i < count; ++i) out.push_back(synthetic_frame(width, height, i));
  return out;
}

double mean_abs_error(const Image& a, const Image& b) {
  if (a.width != b.width || a.height != b.height || a.rgb.size() != b.rgb.size() || a.rgb.empty()) return 255;
  double sum = 0;
  for (size_t i = 0; i < a.rgb.size(); ++i) sum += std::abs(int(a.rgb[i]) - int(b.rgb[i]));
  return sum / double(a.rgb.size());
}

double block_mean_abs_error(const Image& a, const Image& b, int block) {
  if (a.width != b.width || a.height != b.height || a.rgb.size() != b.rgb.size() || a.rgb.empty()) return 255;
  double sum = 0;
  int64_t count = 0;
  for (int by = 0; by + block <= a.height; by += block)
    for (int bx = 0; bx + block <= a.width; bx += block)
      for (int c = 0; c < 3; ++c) {
        long sa = 0, sb = 0;
        for (int y = by; y < by + block; ++y)
          for (int x = bx; x < bx + block; ++x) {
            sa += a.rgb[(size_t(y) * a.width + x) * 3 + c];
            sb += b.rgb[(size_t(y) * b.width + x) * 3 + c];
          }
        sum += std::abs(double(sa - sb)) / (block * block);
        ++count;
      }
  return count ? sum / double(count) : 255;
}

int closest_frame(const Image& frame, const std::vector<Image>& references) {
  int best = -1;
  double best_err = 1e9;
  for (size_t i = 0; i < references.size(); ++i) {
    const double e = mean_abs_error(frame, references[i]);
    if (e < best_err) best_err = e, best = int(i);
  }
  return best;
}

ScratchDir::ScratchDir() {
  static std::atomic<int> counter{0};
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = "sdwalk-output-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
  if (info) name += std::string("-") + info->name();
  std::replace(name.begin(), name.end(), '/', '_');
  path_ = std::filesystem::temp_directory_path() / name;
  std::filesystem::remove_all(path_);
  std::filesystem::create_directories(path_);
}

ScratchDir::~ScratchDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::vector<std::string> ScratchDir::entries() const {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(path_)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

DecodedGif decode_gif(const std::filesystem::path& path) {
  int err = 0;
  GifFileType* gif = DGifOpenFileName(path.c_str(), &err);
  if (!gif) throw std::runtime_error(path.string() + ": DGifOpenFileName: " + GifErrorString(err));
  if (DGifSlurp(gif) == GIF_ERROR) {
    const std::string msg = GifErrorString(gif->Error);
    DGifCloseFile(gif, &err);
    throw std::runtime_error(path.string() + ": DGifSlurp: " + msg);
  }
  DecodedGif out;
  out.width = gif->SWidth;
  out.height = gif->SHeight;
  auto scan = [&](const ExtensionBlock* blocks, int count, DecodedGif& d) {
    for (int i = 0; i < count; ++i) {
      const ExtensionBlock& b = blocks[i];
      if (b.Function == APPLICATION_EXT_FUNC_CODE && b.ByteCount == 11 &&
          std::memcmp(b.Bytes, "NETSCAPE2.0", 11) == 0 && i + 1 < count &&
          blocks[i + 1].Function == CONTINUE_EXT_FUNC_CODE && blocks[i + 1].ByteCount == 3 &&
          blocks[i + 1].Bytes[0] == 1)
        d.loop = blocks[i + 1].Bytes[1] | (blocks[i + 1].Bytes[2] << 8);
    }
  };
  scan(gif->ExtensionBlocks, gif->ExtensionBlockCount, out);
  for (int k = 0; k < gif->ImageCount; ++k) {
    const SavedImage& s = gif->SavedImages[k];
    scan(s.ExtensionBlocks, s.ExtensionBlockCount, out);
    GraphicsControlBlock gcb;
    out.delays_cs.push_back(DGifSavedExtensionToGCB(gif, k, &gcb) == GIF_OK ? gcb.DelayTime : -1);
    const GifImageDesc& d = s.ImageDesc;
    const ColorMapObject* map = d.ColorMap ? d.ColorMap : gif->SColorMap;
    if (d.Left != 0 || d.Top != 0 || d.Width != out.width || d.Height != out.height || !d.ColorMap ||
        d.Interlace)
      out.all_frames_full = false;
    Image im;
    im.width = d.Width;
    im.height = d.Height;
    im.rgb.resize(size_t(d.Width) * d.Height * 3);
    for (size_t i = 0; i < size_t(d.Width) * d.Height; ++i) {
      const int c = s.RasterBits[i];
      if (!map || c >= map->ColorCount) throw std::runtime_error(path.string() + ": colour index out of range");
      im.rgb[3 * i + 0] = map->Colors[c].Red;
      im.rgb[3 * i + 1] = map->Colors[c].Green;
      im.rgb[3 * i + 2] = map->Colors[c].Blue;
    }
    out.frames.push_back(std::move(im));
  }
  DGifCloseFile(gif, &err);
  return out;
}

DecodedWebP decode_webp(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  WebPData data{reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()};
  WebPAnimDecoderOptions options;
  WebPAnimDecoderOptionsInit(&options);
  options.color_mode = MODE_RGBA;
  WebPAnimDecoder* dec = WebPAnimDecoderNew(&data, &options);
  if (!dec) throw std::runtime_error(path.string() + ": not an animated WebP libwebp can decode");
  WebPAnimInfo info;
  WebPAnimDecoderGetInfo(dec, &info);
  DecodedWebP out;
  out.width = int(info.canvas_width);
  out.height = int(info.canvas_height);
  out.loop = int(info.loop_count);
  out.frame_count = int(info.frame_count);
  while (WebPAnimDecoderHasMoreFrames(dec)) {
    uint8_t* rgba = nullptr;
    int timestamp = 0;
    if (!WebPAnimDecoderGetNext(dec, &rgba, &timestamp)) break;
    Image im;
    im.width = out.width;
    im.height = out.height;
    im.rgb.resize(size_t(out.width) * out.height * 3);
    for (size_t i = 0; i < size_t(out.width) * out.height; ++i)
      std::memcpy(&im.rgb[3 * i], &rgba[4 * i], 3);
    out.frames.push_back(std::move(im));
    out.end_timestamps_ms.push_back(timestamp);
  }
  WebPAnimDecoderDelete(dec);
  return out;
}

DecodedVideo decode_video(const std::filesystem::path& path) {
  AVFormatContext* fc = nullptr;
  if (avformat_open_input(&fc, path.c_str(), nullptr, nullptr) < 0)
    throw std::runtime_error(path.string() + ": libavformat cannot open it");
  DecodedVideo out;
  avformat_find_stream_info(fc, nullptr);
  out.container = fc->iformat->name;
  const AVDictionaryEntry* tag = nullptr;
  while ((tag = av_dict_get(fc->metadata, "", tag, AV_DICT_IGNORE_SUFFIX))) out.metadata[tag->key] = tag->value;
  const int si = av_find_best_stream(fc, AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
  if (si < 0) throw std::runtime_error(path.string() + ": no video stream");
  AVStream* st = fc->streams[si];
  const AVCodec* codec = avcodec_find_decoder(st->codecpar->codec_id);
  out.codec = avcodec_get_name(st->codecpar->codec_id);
  out.width = st->codecpar->width;
  out.height = st->codecpar->height;
  out.frame_rate = st->avg_frame_rate.den ? av_q2d(st->avg_frame_rate) : 0;
  AVCodecContext* ctx = avcodec_alloc_context3(codec);
  avcodec_parameters_to_context(ctx, st->codecpar);
  if (avcodec_open2(ctx, codec, nullptr) < 0) throw std::runtime_error(path.string() + ": cannot open decoder");
  AVPacket* pkt = av_packet_alloc();
  AVFrame* frame = av_frame_alloc();
  auto drain = [&] {
    while (avcodec_receive_frame(ctx, frame) == 0) {
      Image im;
      im.width = frame->width;
      im.height = frame->height;
      im.rgb.resize(size_t(im.width) * im.height * 3);
      SwsContext* sws = sws_getContext(frame->width, frame->height, AVPixelFormat(frame->format), frame->width,
                                       frame->height, AV_PIX_FMT_RGB24, SWS_BICUBIC | SWS_ACCURATE_RND, nullptr,
                                       nullptr, nullptr);
      const int cs = frame->colorspace == AVCOL_SPC_BT709 ? SWS_CS_ITU709 : SWS_CS_DEFAULT;
      sws_setColorspaceDetails(sws, sws_getCoefficients(cs), frame->color_range == AVCOL_RANGE_JPEG,
                               sws_getCoefficients(SWS_CS_DEFAULT), 1, 0, 1 << 16, 1 << 16);
      uint8_t* dst[1] = {im.rgb.data()};
      const int stride[1] = {im.width * 3};
      sws_scale(sws, frame->data, frame->linesize, 0, frame->height, dst, stride);
      sws_freeContext(sws);
      out.frames.push_back(std::move(im));
    }
  };
  while (av_read_frame(fc, pkt) >= 0) {
    if (pkt->stream_index == si) {
      avcodec_send_packet(ctx, pkt);
      drain();
    }
    av_packet_unref(pkt);
  }
  avcodec_send_packet(ctx, nullptr);
  drain();
  av_frame_free(&frame);
  av_packet_free(&pkt);
  avcodec_free_context(&ctx);
  avformat_close_input(&fc);
  return out;
}

std::vector<Image> decode_frames(AnimationFormat format, const std::filesystem::path& path,
                                 double frame_duration_ms) {
  switch (format) {
    case AnimationFormat::Gif: return decode_gif(path).frames;
    case AnimationFormat::WebP: {
      DecodedWebP d = decode_webp(path);
      if (d.frame_count == 1) return d.frames;  // a still image (libwebp writes one for one frame)
      std::vector<Image> out;
      int start = 0;
      for (size_t i = 0; i < d.frames.size(); ++i) {
        const long repeats = std::lround((d.end_timestamps_ms[i] - start) / frame_duration_ms);
        for (long r = 0; r < repeats; ++r) out.push_back(d.frames[i]);
        start = d.end_timestamps_ms[i];
      }
      return out;
    }
    case AnimationFormat::Mp4:
    case AnimationFormat::WebM: return decode_video(path).frames;
    case AnimationFormat::PngFrames: {
      std::vector<Image> out;
      for (int64_t i = 0; std::filesystem::exists(path / frame_file_name(i)); ++i)
        out.push_back(read_png(path / frame_file_name(i)));
      return out;
    }
  }
  return {};
}

double lossy_tolerance(AnimationFormat format) {
  switch (format) {
    case AnimationFormat::PngFrames: return 0;
    default: return 8;  // mean |error| in 0..255 units: palette + dithering, lossy codecs
  }
}

}  // namespace sdwalk::test
