#include "cli/image_input.hpp"

#include <cstdio>

#include "sdwalk/error.hpp"

namespace sdwalk::cli {

Image read_input_image(const std::string& path) {
  std::string conversion;
  Image image = read_png(path, &conversion);
  if (!conversion.empty()) std::fprintf(stderr, "%s: %s\n", path.c_str(), conversion.c_str());
  return image;
}

Image sized_input_image(const Image& image, const std::string& path, int width, int height, const std::string& fit) {
  const std::string have = std::to_string(image.width) + "x" + std::to_string(image.height);
  const std::string want = std::to_string(width) + "x" + std::to_string(height);
  if (image.width == width && image.height == height) return image;
  check(!fit.empty(), path + " is " + have + ", not " + want + ": pass --fit crop|pad|stretch to bring it to " + want +
                          " (or --width/--height of a size the model takes)");
  const ImageFit how = parse_image_fit(fit, "--fit");
  std::fprintf(stderr, "%s: %s -> %s (--fit %s)\n", path.c_str(), have.c_str(), want.c_str(), fit.c_str());
  return fit_image(image, width, height, how);
}

}  // namespace sdwalk::cli
