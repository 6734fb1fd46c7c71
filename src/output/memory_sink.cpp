// An animation kept in memory (an HTTP reply, a Python caller). The encoders write files: FFmpeg's
// MP4 faststart re-reads its output by name and ping-pong keeps the backward frames as files, so the
// animation is written by the file sink into a private folder under $TMPDIR and read back by
// finish(); nothing stays on disk, finished or not.
#include <cstdio>
#include <memory>

#include "output/temp_path.hpp"
#include "sdwalk/animation.hpp"
#include "sdwalk/error.hpp"

namespace sdwalk {
namespace {

class MemorySink final : public FrameSink {
 public:
  MemorySink(AnimationFormat format, std::vector<uint8_t>& bytes, const AnimationOptions& options)
      : dir_(std::filesystem::temp_directory_path() / "sdwalk", "animation"),
        file_(dir_.path() / ("animation." + extension_of(format))),
        bytes_(bytes) {
    check(format != AnimationFormat::PngFrames, "PNG frames are a folder of files: an animation in memory "
                                                "is gif, webp, mp4 or webm");
    AnimationOptions o = options;
    o.no_clobber = false;  // the name is our own
    inner_ = make_frame_sink(format, file_, o);
  }

  void add(const Image& frame) override { inner_->add(frame); }

  void finish() override {
    inner_->finish();
    std::unique_ptr<FILE, int (*)(FILE*)> in(std::fopen(file_.c_str(), "rb"), std::fclose);
    check(in != nullptr, file_.string() + ": cannot read the animation back");
    std::vector<uint8_t> bytes(std::filesystem::file_size(file_));
    check(std::fread(bytes.data(), 1, bytes.size(), in.get()) == bytes.size(),
          file_.string() + ": cannot read the animation back");
    bytes_ = std::move(bytes);
  }

 private:
  detail::TempDir dir_;
  std::filesystem::path file_;
  std::vector<uint8_t>& bytes_;
  std::unique_ptr<FrameSink> inner_;
};

}  // namespace

std::unique_ptr<FrameSink> make_memory_frame_sink(AnimationFormat format, std::vector<uint8_t>& bytes,
                                                  const AnimationOptions& options) {
  return std::make_unique<MemorySink>(format, bytes, options);
}

}  // namespace sdwalk
