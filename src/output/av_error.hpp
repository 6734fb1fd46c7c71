#pragma once
// FFmpeg's text for one of its error codes (the writers' and the reader's messages).
extern "C" {
#include <libavutil/error.h>
}
#include <string>

namespace sdwalk::detail {

inline std::string av_error(int code) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {0};
  av_strerror(code, buf, sizeof buf);
  return buf;
}

}  // namespace sdwalk::detail
