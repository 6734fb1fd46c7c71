#pragma once
// PNG encoding to an open FILE*, shared by write_png and the ping-pong spill (fast compression).
#include <cstdio>
#include <map>
#include <string>

#include "sdwalk/image.hpp"

namespace sdwalk::detail {

// Throws Error("<label>: ...") on failure. `level` is zlib's 0..9.
void write_png_stream(FILE* file, const Image& image, const std::map<std::string, std::string>& text,
                      int level, const std::string& label);
// Checks width/height > 0 and rgb.size() == width * height * 3; `what` names the image in the error.
void check_image(const Image& image, const std::string& what);

}  // namespace sdwalk::detail
