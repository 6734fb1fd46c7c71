#pragma once
// Pictures given on the command line (generate --image, invert, walk morph --image): read with the
// conversions said on stderr, and brought to the size asked for only when --fit says how.
#include <optional>
#include <string>

#include "sdwalk/image.hpp"

namespace sdwalk::cli {

// read_png, with one stderr line naming what was converted (grey, alpha, palette, 16 bits).
Image read_input_image(const std::string& path);

// The picture at width x height: as it is when it has that size; else fitted as `fit` says
// (crop | pad | stretch), else Error naming the sizes and --fit. The fit is said on stderr.
Image sized_input_image(const Image& image, const std::string& path, int width, int height, const std::string& fit);

}  // namespace sdwalk::cli
