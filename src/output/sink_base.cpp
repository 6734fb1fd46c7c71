#include "output/sink_base.hpp"

#include "output/png_io.hpp"
#include "sdwalk/error.hpp"

namespace sdwalk::detail {

void SinkBase::add(const Image& frame) {
  check(!finished_, label() + ": frame added after the animation was finished");
  check(!failed_, label() + ": cannot add frames after an earlier write error");
  check_image(frame, label() + " frame " + std::to_string(count_));
  if (count_ == 0) {
    width_ = frame.width;
    height_ = frame.height;
  } else {
    check(frame.width == width_ && frame.height == height_,
          label() + ": frame " + std::to_string(count_) + " is " + std::to_string(frame.width) + "x" +
              std::to_string(frame.height) + ", expected " + std::to_string(width_) + "x" +
              std::to_string(height_) + " like the first frame");
  }
  failed_ = true;  // until add_frame returns
  add_frame(frame);
  failed_ = false;
  ++count_;
}

void SinkBase::finish() {
  check(!finished_, label() + ": finished twice");
  check(!failed_, label() + ": cannot finish after an earlier write error");
  check(count_ > 0, label() + ": no frames to write");
  failed_ = true;
  finish_file();
  failed_ = false;
  finished_ = true;
}

}  // namespace sdwalk::detail
