// MP4 (H.264 through libx264; MPEG-4 Part 2 where libavcodec has no H.264 encoder) and WebM (VP9
// through libvpx) with FFmpeg's libraries. RGB frames become yuv420p (BT.709, limited range, tagged
// so players convert back alike) through swscale; an odd width or height is padded by repeating
// the last column / row, since 4:2:0 needs even sizes. Frame rate = 1000 / frame_duration_ms as a
// rational. The muxer writes to a temporary name with the right extension (MP4's faststart re-reads
// the file by name), renamed into place by finish().
extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>
}

#include <cstring>
#include <mutex>
#include <vector>

#include "output/av_error.hpp"
#include "output/sink_base.hpp"
#include "output/temp_path.hpp"
#include "sdwalk/error.hpp"

namespace sdwalk::detail {
namespace {

const AVCodec* find_encoder(AnimationFormat format) {
  if (format == AnimationFormat::WebM) return avcodec_find_encoder_by_name("libvpx-vp9");
  if (const AVCodec* c = avcodec_find_encoder_by_name("libx264")) return c;
  if (const AVCodec* c = avcodec_find_encoder(AV_CODEC_ID_H264)) return c;
  return avcodec_find_encoder(AV_CODEC_ID_MPEG4);  // every libavcodec has this one
}

class VideoSink final : public SinkBase {
 public:
  VideoSink(AnimationFormat format, const std::filesystem::path& path, const AnimationOptions& options)
      : SinkBase(path), format_(format), temp_(path, std::string(".").append(extension_of(format))), options_(options) {
    static std::once_flag quiet;
    std::call_once(quiet, [] { av_log_set_level(AV_LOG_ERROR); });  // no per-run encoder statistics
    codec_ = find_encoder(format);
    check(codec_ != nullptr, label() + ": this FFmpeg has no " +
                                 (format == AnimationFormat::WebM ? "VP9 (libvpx-vp9)" : "H.264 or MPEG-4") +
                                 " encoder");
    const char* container = format == AnimationFormat::WebM ? "webm" : "mp4";
    int r = avformat_alloc_output_context2(&oc_, nullptr, container, temp_.path().c_str());
    if (r < 0 || !oc_) throw Error(label() + ": cannot set up the " + container + " muxer (" + av_error(r) + ")");
    // Matroska draws random segment and track UIDs; bit-exact mode derives them from the content, so
    // the same walk writes the same WebM bytes (as it does MP4, GIF and WebP).
    if (format == AnimationFormat::WebM) oc_->flags |= AVFMT_FLAG_BITEXACT;
    r = avio_open(&oc_->pb, temp_.path().c_str(), AVIO_FLAG_WRITE);
    if (r < 0) throw Error(label() + ": cannot write (" + av_error(r) + ")");
    rate_ = av_d2q(1000.0 / options.frame_duration_ms, 65535);
  }

  ~VideoSink() override {
    sws_freeContext(sws_);
    av_frame_free(&frame_);
    av_packet_free(&packet_);
    avcodec_free_context(&ctx_);
    if (oc_) {
      avio_closep(&oc_->pb);
      avformat_free_context(oc_);
    }
  }

 private:
  void ok(int r, const std::string& what) {
    if (r < 0) throw Error(label() + ": " + what + " failed (" + av_error(r) + ")");
  }

  void open(int width, int height) {
    const int w = (width + 1) & ~1, h = (height + 1) & ~1;
    ctx_ = avcodec_alloc_context3(codec_);
    check(ctx_ != nullptr, label() + ": out of memory");
    ctx_->width = w;
    ctx_->height = h;
    ctx_->pix_fmt = AV_PIX_FMT_YUV420P;
    ctx_->framerate = rate_;
    ctx_->time_base = av_inv_q(rate_);
    ctx_->color_range = AVCOL_RANGE_MPEG;
    ctx_->colorspace = AVCOL_SPC_BT709;
    ctx_->color_primaries = AVCOL_PRI_BT709;
    ctx_->color_trc = AVCOL_TRC_BT709;
    ctx_->thread_count = 0;  // the encoder picks (libavcodec's default is one thread)
    ctx_->gop_size = 12;  // a keyframe every 12 frames: seeking in long walks stays cheap
    if (oc_->oformat->flags & AVFMT_GLOBALHEADER) ctx_->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    const std::string name = codec_->name;
    if (name == "libx264") {
      av_opt_set(ctx_->priv_data, "preset", "medium", 0);
      av_opt_set(ctx_->priv_data, "crf", "18", 0);  // visually lossless for generated frames
    } else if (name == "libvpx-vp9") {
      ctx_->bit_rate = 0;  // constant quality
      av_opt_set(ctx_->priv_data, "crf", "24", 0);
      av_opt_set(ctx_->priv_data, "deadline", "good", 0);
      av_opt_set(ctx_->priv_data, "cpu-used", "4", 0);
      av_opt_set(ctx_->priv_data, "row-mt", "1", 0);
    } else if (codec_->id == AV_CODEC_ID_MPEG4) {
      ctx_->flags |= AV_CODEC_FLAG_QSCALE;
      ctx_->global_quality = FF_QP2LAMBDA * 3;
    }
    ok(avcodec_open2(ctx_, codec_, nullptr), "opening the " + name + " encoder");

    stream_ = avformat_new_stream(oc_, nullptr);
    check(stream_ != nullptr, label() + ": out of memory");
    stream_->time_base = ctx_->time_base;
    stream_->avg_frame_rate = rate_;
    ok(avcodec_parameters_from_context(stream_->codecpar, ctx_), "setting the stream parameters");
    for (const auto& [key, value] : options_.text) av_dict_set(&oc_->metadata, key.c_str(), value.c_str(), 0);
    AVDictionary* muxer_options = nullptr;
    if (format_ == AnimationFormat::Mp4)  // moov first (plays while downloading); keep our own tag keys
      av_dict_set(&muxer_options, "movflags", "+faststart+use_metadata_tags", 0);
    const int r = avformat_write_header(oc_, &muxer_options);
    av_dict_free(&muxer_options);
    ok(r, "writing the header");

    frame_ = av_frame_alloc();
    packet_ = av_packet_alloc();
    check(frame_ && packet_, label() + ": out of memory");
    frame_->format = AV_PIX_FMT_YUV420P;
    frame_->width = w;
    frame_->height = h;
    frame_->color_range = ctx_->color_range;
    frame_->colorspace = ctx_->colorspace;
    frame_->color_primaries = ctx_->color_primaries;
    frame_->color_trc = ctx_->color_trc;
    ok(av_frame_get_buffer(frame_, 0), "allocating a frame");

    sws_ = sws_getContext(w, h, AV_PIX_FMT_RGB24, w, h, AV_PIX_FMT_YUV420P,
                          SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INP, nullptr, nullptr, nullptr);
    check(sws_ != nullptr, label() + ": cannot set up the RGB -> YUV conversion");
    // RGB input (full range) -> BT.709 limited range, matching the tags above.
    sws_setColorspaceDetails(sws_, sws_getCoefficients(SWS_CS_ITU709), 1, sws_getCoefficients(SWS_CS_ITU709),
                             0, 0, 1 << 16, 1 << 16);
  }

  // Sends a frame (nullptr: flush) and writes every packet the encoder hands back.
  void encode(AVFrame* frame) {
    ok(avcodec_send_frame(ctx_, frame), "encoding");
    for (;;) {
      const int r = avcodec_receive_packet(ctx_, packet_);
      if (r == AVERROR(EAGAIN) || r == AVERROR_EOF) return;
      ok(r, "encoding");
      av_packet_rescale_ts(packet_, ctx_->time_base, stream_->time_base);
      packet_->stream_index = stream_->index;
      ok(av_interleaved_write_frame(oc_, packet_), "writing");  // takes the packet's data
    }
  }

  void add_frame(const Image& frame) override {
    if (!ctx_) open(frame.width, frame.height);
    const int w = ctx_->width, h = ctx_->height;
    const uint8_t* rgb = frame.rgb.data();
    if (w != frame.width || h != frame.height) {  // pad to even sizes by repeating the edge
      padded_.resize(size_t(w) * h * 3);
      for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x)
          std::memcpy(&padded_[(size_t(y) * w + x) * 3],
                      &frame.rgb[(size_t(std::min(y, frame.height - 1)) * frame.width + std::min(x, frame.width - 1)) * 3],
                      3);
      rgb = padded_.data();
    }
    ok(av_frame_make_writable(frame_), "allocating a frame");  // the encoder may still hold the last one
    const uint8_t* src[1] = {rgb};
    const int src_stride[1] = {w * 3};
    sws_scale(sws_, src, src_stride, 0, h, frame_->data, frame_->linesize);
    frame_->pts = count();
    encode(frame_);
  }

  void finish_file() override {
    encode(nullptr);
    ok(av_write_trailer(oc_), "finishing the file");
    ok(avio_closep(&oc_->pb), "closing the file");
    temp_.commit(options_.no_clobber);
  }

  AnimationFormat format_;
  TempFile temp_;
  AnimationOptions options_;
  const AVCodec* codec_ = nullptr;
  AVRational rate_{10, 1};
  AVFormatContext* oc_ = nullptr;
  AVCodecContext* ctx_ = nullptr;
  AVStream* stream_ = nullptr;
  AVFrame* frame_ = nullptr;
  AVPacket* packet_ = nullptr;
  SwsContext* sws_ = nullptr;
  std::vector<uint8_t> padded_;
};

}  // namespace

std::unique_ptr<FrameSink> make_video_sink(AnimationFormat format, const std::filesystem::path& path,
                                           const AnimationOptions& options) {
  return std::make_unique<VideoSink>(format, path, options);
}

}  // namespace sdwalk::detail
