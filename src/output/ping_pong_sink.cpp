// Ping-pong ("rubber band") for the streaming encoders: frames 0..N-1 go to the encoder as they
// come; frames 1.. are also kept as fast-compressed PNGs in a hidden folder beside the output, and
// finish() sends N-2 .. 1 again, one at a time. Memory: one frame; disk: N-1 PNG frames until
// finish() (or destruction) deletes the folder.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>

#include "output/png_io.hpp"
#include "output/sink_base.hpp"
#include "output/temp_path.hpp"
#include "sdwalk/error.hpp"

namespace sdwalk::detail {
namespace {

class PingPongSink final : public SinkBase {
 public:
  PingPongSink(std::unique_ptr<FrameSink> inner, const std::filesystem::path& path)
      : SinkBase(path), inner_(std::move(inner)), spill_(std::in_place, path, "pingpong") {}

 private:
  std::filesystem::path spill_path(int64_t index) const { return spill_->path() / frame_file_name(index); }

  void add_frame(const Image& frame) override {
    inner_->add(frame);
    if (count() == 0) return;  // the first frame is not repeated
    const std::filesystem::path file = spill_path(count());
    FILE* f = std::fopen(file.c_str(), "wb");
    if (!f) throw Error(file.string() + ": cannot write (" + std::strerror(errno) + ")");
    try {
      write_png_stream(f, frame, {}, 1, file.string());
    } catch (...) {
      std::fclose(f);
      throw;
    }
    if (std::fclose(f) != 0) throw Error(file.string() + ": write failed (" + std::strerror(errno) + ")");
  }

  void finish_file() override {
    for (int64_t i = count() - 2; i >= 1; --i) inner_->add(read_png(spill_path(i)));
    spill_.reset();
    inner_->finish();
  }

  std::unique_ptr<FrameSink> inner_;
  std::optional<TempDir> spill_;
};

}  // namespace

std::unique_ptr<FrameSink> make_ping_pong_sink(std::unique_ptr<FrameSink> inner,
                                               const std::filesystem::path& path) {
  return std::make_unique<PingPongSink>(std::move(inner), path);
}

}  // namespace sdwalk::detail
