// PNG frames: <folder>/frame_000000.png, ... each written atomically as it arrives, with the text
// chunks. Frames already written stay when the sink is dropped, so a run can resume from them.
// no_clobber refuses a folder that already holds frame_000000.png; otherwise frames are replaced.
// Ping-pong copies frame files N-2 .. 1 to N .. 2N-3: no frame is kept in memory.
#include <cerrno>
#include <cstring>

#include "output/sink_base.hpp"
#include "output/temp_path.hpp"
#include "sdwalk/error.hpp"

namespace sdwalk::detail {
namespace {

class PngFramesSink final : public SinkBase {
 public:
  PngFramesSink(const std::filesystem::path& folder, const AnimationOptions& options)
      : SinkBase(folder), options_(options) {
    std::error_code ec;
    std::filesystem::create_directories(folder, ec);
    if (ec || !std::filesystem::is_directory(folder))
      throw Error(label() + ": cannot create the frames folder (" +
                  (ec ? ec.message() : std::string("a file of that name exists")) + ")");
    TempFile probe(folder / frame_file_name(0), "");  // fails now, naming the folder, if unwritable
    check(!options.no_clobber || !std::filesystem::exists(folder / frame_file_name(0)),
          label() + ": already holds frames (" + frame_file_name(0) + "); not overwriting them");
  }

 private:
  std::filesystem::path frame_path(int64_t index) const { return path() / frame_file_name(index); }

  void add_frame(const Image& frame) override { write_png(frame_path(count()), frame, options_.text); }

  void finish_file() override {
    if (!options_.ping_pong) return;
    const int64_t n = count();
    for (int64_t i = n - 2; i >= 1; --i) copy_file_atomically(frame_path(i), frame_path(2 * (n - 1) - i));
  }

  AnimationOptions options_;
};

}  // namespace

std::unique_ptr<FrameSink> make_png_frames_sink(const std::filesystem::path& folder,
                                                const AnimationOptions& options) {
  return std::make_unique<PngFramesSink>(folder, options);
}

}  // namespace sdwalk::detail
