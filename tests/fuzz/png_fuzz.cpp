// libFuzzer target for PNG input (read_png, read_png_text: frames read back on --resume; input
// pictures of img2img / invert / morph, through fit_image: crop, pad, stretch). Each
// input is read as given and, when its chunk CRCs are wrong, once more with them corrected, so
// that mutations reach past libpng's CRC check. Reading returns or raises sdwalk::Error; a decoded
// image is RGB of width * height * 3 bytes, and a small one survives write_png -> read_png.
#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_support.hpp"
#include "sdwalk/error.hpp"
#include "sdwalk/image.hpp"

namespace {

using namespace sdwalk;

uint32_t be32(const std::string& s, size_t at) {
  return uint32_t(uint8_t(s[at])) << 24 | uint32_t(uint8_t(s[at + 1])) << 16 | uint32_t(uint8_t(s[at + 2])) << 8 |
         uint32_t(uint8_t(s[at + 3]));
}

// The same bytes with each complete chunk's CRC recomputed (after the 8-byte signature).
std::string with_crcs(std::string png) {
  for (size_t at = 8; at + 12 <= png.size();) {
    const uint32_t length = be32(png, at);
    if (length > png.size() - at - 12) break;
    const auto* type_and_data = reinterpret_cast<const Bytef*>(png.data() + at + 4);
    const uint32_t crc = uint32_t(crc32(0, type_and_data, uInt(length + 4)));
    for (int k = 0; k < 4; ++k) png[at + 8 + length + size_t(k)] = char(crc >> (24 - 8 * k));
    at += 12 + size_t(length);
  }
  return png;
}

void read(const std::string& bytes) {
  const auto& dir = fuzz::scratch_dir();
  const auto path = dir / "in.png";
  fuzz::write_file(path, bytes.data(), bytes.size());
  try {
    std::string conversion;
    const Image image = read_png(path, &conversion);
    FUZZ_CHECK(image.width > 0 && image.height > 0);
    FUZZ_CHECK(image.rgb.size() == size_t(image.width) * size_t(image.height) * 3);
    // The input-picture path (img2img, invert, morph): fitted to a model size.
    if (image.rgb.size() <= (1u << 16)) {
      for (ImageFit fit : {ImageFit::Crop, ImageFit::Pad, ImageFit::Stretch}) {
        const Image fitted = fit_image(image, 16, 24, fit);
        FUZZ_CHECK(fitted.width == 16 && fitted.height == 24 && fitted.rgb.size() == 16u * 24u * 3u);
      }
    }
    if (image.rgb.size() <= (1u << 16)) {
      write_png(dir / "out.png", image);
      FUZZ_CHECK(read_png(dir / "out.png").rgb == image.rgb);
    }
  } catch (const Error&) {
  }
  try {
    read_png_text(path);  // libpng passes even an empty tEXt keyword through: nothing more to check
  } catch (const Error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  read(bytes);
  if (const std::string fixed = with_crcs(bytes); fixed != bytes) read(fixed);
  return 0;
}
