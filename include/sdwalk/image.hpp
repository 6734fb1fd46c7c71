#pragma once
// 8-bit RGB images: conversion from the pipeline's float frames, and PNG files (libpng).
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "sdwalk/tensor.hpp"

namespace sdwalk {

struct Image {
  int width = 0, height = 0;
  std::vector<uint8_t> rgb;  // width * height * 3 bytes, row-major
};

// NHWC float [1, H, W, 3] or [H, W, 3] (F32, F16 or BF16) in [0, 1] -> uint8, exactly the notebook's
// (image * 255).round(): float32 product, rounded half to even (numpy), after clamping to [0, 1]
// (NaN -> 0).
Image image_from_float(const Tensor& nhwc);

// Writes a PNG through a temporary name + rename; `text` becomes tEXt chunks (key -> value), e.g.
// "sdwalk" -> settings JSON. Keys must be 1..79 Latin-1 characters (PNG's rule). `no_clobber`: fail
// instead of replacing an existing file (an existing regular file is replaced otherwise, nothing else).
void write_png(const std::filesystem::path& path, const Image& image,
               const std::map<std::string, std::string>& text = {}, bool no_clobber = false);
// Reads any PNG (palette, grey, 16-bit and alpha are converted to 8-bit RGB; alpha is dropped).
Image read_png(const std::filesystem::path& path);
// The same, and what was converted ("grey converted to RGB, alpha channel dropped", ...; "" for an
// 8-bit RGB file), for callers that tell the user.
Image read_png(const std::filesystem::path& path, std::string* conversion);

// Peak signal-to-noise ratio in dB of two images of one size (255 peak); infinity when equal.
double psnr(const Image& a, const Image& b);
// Mean |a - b| over all samples, in 0..255 units.
double mean_abs_difference(const Image& a, const Image& b);

// How an image of another size is brought to width x height (never silently: the caller asks).
// Crop: scaled to cover, the middle cut out. Pad: scaled to fit inside, centred on black.
// Stretch: scaled to the size, the aspect ratio not kept. Bilinear, with box averaging when shrinking.
enum class ImageFit { Crop, Pad, Stretch };
ImageFit parse_image_fit(const std::string& name, const std::string& flag);  // crop | pad | stretch
Image fit_image(const Image& image, int width, int height, ImageFit fit);
// The tEXt / zTXt / iTXt chunks of a PNG (key -> value), e.g. to recover a run's settings.
std::map<std::string, std::string> read_png_text(const std::filesystem::path& path);

}  // namespace sdwalk
