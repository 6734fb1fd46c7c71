// PNG through libpng. libpng reports errors by longjmp: each setjmp sits in a function that
// holds no C++ objects, and the message is carried out in a plain struct.
#include <png.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "output/png_io.hpp"
#include "core/atomic_file.hpp"
#include "core/file_checks.hpp"
#include "sdwalk/error.hpp"

namespace sdwalk {
namespace {

struct PngErrors {
  char message[256] = "unknown libpng error";
};

void on_error(png_structp png, png_const_charp msg) {
  auto* errors = static_cast<PngErrors*>(png_get_error_ptr(png));
  std::snprintf(errors->message, sizeof errors->message, "%s", msg);
  png_longjmp(png, 1);
}
void on_warning(png_structp, png_const_charp) {}

// libpng only warns (a benign error) when a chunk claims more than its 8 MB limit, then allocates
// the claimed length: a 150-byte file could ask for 2 GB. Its own buffers are a row or a chunk,
// so larger requests are refused; libpng then skips the chunk or fails with an error.
constexpr png_alloc_size_t kMaxLibpngAllocation = png_alloc_size_t(64) << 20;
png_voidp bounded_malloc(png_structp, png_alloc_size_t size) {
  return size <= kMaxLibpngAllocation ? std::malloc(size) : nullptr;
}
void plain_free(png_structp, png_voidp p) { std::free(p); }

bool is_ascii(const std::string& s) {
  for (unsigned char c : s)
    if (c >= 0x80) return false;
  return true;
}

bool encode(png_structp png, png_infop info, FILE* file, const Image& image, png_text* texts,
            int num_texts, png_bytepp rows, int level) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_init_io(png, file);
  png_set_compression_level(png, level);
  png_set_IHDR(png, info, png_uint_32(image.width), png_uint_32(image.height), 8, PNG_COLOR_TYPE_RGB,
               PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  if (num_texts) png_set_text(png, info, texts, num_texts);
  png_write_info(png, info);
  png_write_image(png, rows);
  png_write_end(png, info);
  return true;
}

struct Decoded {
  png_uint_32 width = 0, height = 0;
  size_t rowbytes = 0;
  int color_type = 0, bit_depth = 0;  // as stored, before the conversions to 8-bit RGB
  bool trns = false;
};

bool read_header(png_structp png, png_infop info, FILE* file, Decoded* out) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_init_io(png, file);
  png_read_info(png, info);
  out->color_type = png_get_color_type(png, info);
  out->bit_depth = png_get_bit_depth(png, info);
  out->trns = png_get_valid(png, info, PNG_INFO_tRNS) != 0;
  png_set_expand(png);  // palette -> RGB, grey < 8 bits -> 8 bits, tRNS -> alpha
  png_set_strip_16(png);
  png_set_strip_alpha(png);
  png_set_gray_to_rgb(png);
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  out->width = png_get_image_width(png, info);
  out->height = png_get_image_height(png, info);
  out->rowbytes = png_get_rowbytes(png, info);
  return true;
}

bool read_rows(png_structp png, png_infop info, png_bytepp rows) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_read_image(png, rows);
  png_read_end(png, info);  // text chunks after the image data land in `info` too
  return true;
}

struct ReadState {
  explicit ReadState(const std::filesystem::path& path) : path(path) {
    check_regular_file(path, "a PNG file");  // before opening: a FIFO would block
    file = std::fopen(path.c_str(), "rb");
    if (!file) throw Error(path.string() + ": cannot open (" + std::strerror(errno) + ")");
    png = png_create_read_struct_2(PNG_LIBPNG_VER_STRING, &errors, on_error, on_warning, nullptr, bounded_malloc,
                                   plain_free);
    if (png) info = png_create_info_struct(png);
    if (!png || !info) throw Error(path.string() + ": out of memory reading PNG");
  }
  ~ReadState() {
    png_destroy_read_struct(&png, info ? &info : nullptr, nullptr);
    if (file) std::fclose(file);
  }
  [[noreturn]] void fail() const { throw Error(path.string() + ": not a valid PNG (" + errors.message + ")"); }
  std::map<std::string, std::string> texts() const {
    std::map<std::string, std::string> out;
    png_textp text = nullptr;
    int num = 0;
    png_get_text(png, info, &text, &num);
    for (int i = 0; i < num; ++i)
      out[text[i].key] = std::string(text[i].text, text[i].compression > 0 ? text[i].itxt_length
                                                                            : text[i].text_length);
    return out;
  }
  std::filesystem::path path;
  FILE* file = nullptr;
  PngErrors errors;
  png_structp png = nullptr;
  png_infop info = nullptr;
};

}  // namespace

namespace detail {

void check_image(const Image& image, const std::string& what) {
  check(image.width > 0 && image.height > 0 &&
            image.rgb.size() == size_t(image.width) * size_t(image.height) * 3,
        what + ": expected an RGB image of width * height * 3 bytes, got " +
            std::to_string(image.width) + "x" + std::to_string(image.height) + " with " +
            std::to_string(image.rgb.size()) + " bytes");
}

void write_png_stream(FILE* file, const Image& image, const std::map<std::string, std::string>& text,
                      int level, const std::string& label) {
  check_image(image, label);
  std::vector<png_text> texts;
  for (const auto& [key, value] : text) {
    check(!key.empty() && key.size() <= 79 && is_ascii(key),
          label + ": PNG text key '" + key + "' must be 1..79 ASCII characters");
    png_text t{};
    // tEXt is Latin-1; a value with other bytes (UTF-8 prompts) goes into an iTXt chunk.
    t.compression = is_ascii(value) ? PNG_TEXT_COMPRESSION_NONE : PNG_ITXT_COMPRESSION_NONE;
    t.key = const_cast<char*>(key.c_str());
    t.text = const_cast<char*>(value.c_str());
    t.text_length = value.size();
    t.lang = nullptr;
    texts.push_back(t);
  }
  std::vector<png_bytep> rows(size_t(image.height));
  for (int y = 0; y < image.height; ++y)
    rows[size_t(y)] = const_cast<png_bytep>(image.rgb.data() + size_t(y) * size_t(image.width) * 3);

  PngErrors errors;
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &errors, on_error, on_warning);
  png_infop info = png ? png_create_info_struct(png) : nullptr;
  const bool ok = info && encode(png, info, file, image, texts.data(), int(texts.size()), rows.data(), level);
  png_destroy_write_struct(&png, info ? &info : nullptr);
  if (!ok) throw Error(label + ": cannot write PNG (" + errors.message + ")");
}

}  // namespace detail

void write_png(const std::filesystem::path& path, const Image& image,
               const std::map<std::string, std::string>& text, bool no_clobber) {
  detail::check_image(image, path.string());
  AtomicFile out(path);
  detail::write_png_stream(out.stream(), image, text, 6, path.string());
  out.commit(no_clobber);
}

namespace {
// What read_png did to make 8-bit RGB of the stored pixels ("" for 8-bit RGB).
std::string conversion_of(const Decoded& d) {
  std::string what;
  auto add = [&](const std::string& s) { what += (what.empty() ? "" : ", ") + s; };
  const bool grey = (d.color_type & PNG_COLOR_MASK_COLOR) == 0;
  const bool alpha = (d.color_type & PNG_COLOR_MASK_ALPHA) != 0 || d.trns;
  if (d.color_type == PNG_COLOR_TYPE_PALETTE) add("palette expanded to RGB");
  if (grey) add("grey converted to RGB");
  if (alpha) add("alpha channel dropped");
  if (d.bit_depth == 16) add("16-bit samples cut to 8 bits");
  return what;
}
}  // namespace

Image read_png(const std::filesystem::path& path) { return read_png(path, nullptr); }

Image read_png(const std::filesystem::path& path, std::string* conversion) {
  ReadState s(path);
  Decoded d;
  if (!read_header(s.png, s.info, s.file, &d)) s.fail();
  // The header alone sets the size of the buffer: a 60-byte file may claim 10^6 x 10^6 pixels.
  constexpr uint64_t kMaxPixels = uint64_t(1) << 26;  // 8192 x 8192
  if (uint64_t(d.width) * d.height > kMaxPixels)
    throw Error(path.string() + ": a " + std::to_string(d.width) + "x" + std::to_string(d.height) +
                " PNG is larger than sdwalk reads (" + std::to_string(kMaxPixels) + " pixels)");
  if (d.rowbytes != size_t(d.width) * 3) throw Error(path.string() + ": unexpected PNG row layout");
  Image image;
  image.width = int(d.width);
  image.height = int(d.height);
  image.rgb.resize(size_t(d.width) * d.height * 3);
  std::vector<png_bytep> rows(d.height);
  for (png_uint_32 y = 0; y < d.height; ++y) rows[y] = image.rgb.data() + size_t(y) * d.rowbytes;
  if (!read_rows(s.png, s.info, rows.data())) s.fail();
  if (conversion) *conversion = conversion_of(d);
  return image;
}

std::map<std::string, std::string> read_png_text(const std::filesystem::path& path) {
  ReadState s(path);
  Decoded d;
  if (!read_header(s.png, s.info, s.file, &d)) s.fail();
  // Text may follow the image data, so the image is decoded (row by row into one buffer).
  std::vector<png_byte> row(d.rowbytes);
  std::vector<png_bytep> rows(d.height, row.data());
  if (!read_rows(s.png, s.info, rows.data())) s.fail();
  return s.texts();
}

}  // namespace sdwalk
