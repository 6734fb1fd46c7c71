// Pictures in on the command line: generate --image (img2img), invert (noise that --noise takes
// back), walk morph; and bad pictures (unreadable, RGBA / grey converted and said, zero size, a
// size the model cannot take, another size without --fit): one clear line, non-zero exit, nothing
// written.
#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <vector>

#include "common/cli_test.hpp"
#include "common/fixtures.hpp"
#include "sdwalk/image.hpp"
#include "sdwalk/safetensors.hpp"

namespace sdwalk {
namespace {
namespace fs = std::filesystem;
using test::run_sdwalk;
using test::shell_quote;

// A PNG written by hand (stored deflate blocks), so that a test can make any colour type, bit
// depth or size, also those sdwalk's writer never makes (RGBA, grey, zero width).
uint32_t crc32_of(const std::string& bytes) {
  uint32_t c = 0xffffffffu;
  for (unsigned char b : bytes) {
    c ^= b;
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
  }
  return ~c;
}
std::string be32(uint32_t v) {
  return {char(v >> 24), char((v >> 16) & 0xff), char((v >> 8) & 0xff), char(v & 0xff)};
}
std::string chunk(const std::string& type, const std::string& data) {
  return be32(uint32_t(data.size())) + type + data + be32(crc32_of(type + data));
}
void write_raw_png(const fs::path& path, uint32_t width, uint32_t height, int color_type, int channels,
                   const std::vector<uint8_t>& pixels) {
  std::string raw;
  for (uint32_t y = 0; y < height; ++y) {
    raw += char(0);  // filter: none
    raw.append(reinterpret_cast<const char*>(pixels.data()) + size_t(y) * width * channels, size_t(width) * channels);
  }
  std::string z = "\x78\x01";
  for (size_t at = 0; at < raw.size() || at == 0; at += 65535) {
    const size_t n = std::min<size_t>(65535, raw.size() - at);
    z += char(at + n >= raw.size() ? 1 : 0);
    z += char(n & 0xff);
    z += char(n >> 8);
    z += char(~n & 0xff);
    z += char((~n >> 8) & 0xff);
    z += raw.substr(at, n);
    if (raw.empty()) break;
  }
  uint32_t a = 1, b = 0;
  for (unsigned char c : raw) {
    a = (a + c) % 65521;
    b = (b + a) % 65521;
  }
  z += be32((b << 16) | a);
  const std::string ihdr = be32(width) + be32(height) + char(8) + char(color_type) + char(0) + char(0) + char(0);
  std::ofstream(path, std::ios::binary) << std::string("\x89PNG\r\n\x1a\n", 8) << chunk("IHDR", ihdr)
                                        << chunk("IDAT", z) << chunk("IEND", "");
}

// A smooth picture of w x h with `channels` samples per pixel.
std::vector<uint8_t> gradient(int w, int h, int channels) {
  std::vector<uint8_t> p(size_t(w) * h * channels);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < channels; ++c)
        p[(size_t(y) * w + x) * channels + c] = uint8_t(c == 3 ? 255 : (x * 255 / w + c * 60 + y) % 256);
  return p;
}

class ImageInputCli : public test::CliTest {
 protected:
  fs::path input() const { return test::fixture("expected/img2img/input_image.png"); }
  // Exactly one error line, a non-zero exit, and nothing in dir() but `keep`.
  void expect_refused(const test::RunResult& r, const std::string& says, const std::vector<std::string>& keep) {
    EXPECT_NE(r.status, 0) << r.err;
    EXPECT_NE(r.err.find(says), std::string::npos) << r.err;
    size_t errors = 0;  // informational lines (seed, loading) may come first
    for (size_t at = r.err.find("error:"); at != std::string::npos; at = r.err.find("error:", at + 1)) ++errors;
    EXPECT_EQ(errors, 1u) << r.err;
    EXPECT_EQ(r.err.back(), '\n');
    EXPECT_EQ(r.err.find('\n', r.err.find("error:")), r.err.size() - 1) << "the error is not one line: " << r.err;
    EXPECT_TRUE(entries_except(keep).empty()) << r.err;
  }
};

TEST_F(ImageInputCli, GenerateImageRunsImg2ImgAtThePicturesSize) {
  SDWALK_REQUIRE_FIXTURE(input());
  const fs::path out = dir() / "out.png";
  const auto r = run_sdwalk("generate" + model_flag() + " -p 'a village' --image " + shell_quote(input()) +
                            " --strength 0.6 --steps 5 --scheduler ddim --seed 3 -o " + shell_quote(out));
  ASSERT_EQ(r.status, 0) << r.err;
  const Image image = read_png(out);
  EXPECT_EQ(image.width, 128);
  EXPECT_EQ(image.height, 128);
  EXPECT_NE(read_png_text(out).at("sdwalk").find("\"strength\":0.6"), std::string::npos);
}

TEST_F(ImageInputCli, InvertWritesNoiseThatGenerateTakesBack) {
  SDWALK_REQUIRE_FIXTURE(input());
  const fs::path noise = dir() / "noise.safetensors", back = dir() / "back.png", rec = dir() / "rec.png";
  const auto r = run_sdwalk("invert " + shell_quote(input()) + model_flag() + " -o " + shell_quote(noise) +
                            " --steps 4 --reconstruction " + shell_quote(rec));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("reconstruction PSNR"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("--timestep-spacing leading"), std::string::npos) << r.err;  // the regenerate line says it
  std::printf("%s%s", r.out.c_str(), r.err.c_str());
  const SafeTensors file = SafeTensors::open(noise);
  ASSERT_EQ(file.names().size(), 1u);
  EXPECT_EQ(file.get("noise").shape(), (Shape{1, 4, 16, 16}));
  // The line it prints regenerates the same picture as --reconstruction.
  const auto g = run_sdwalk("generate" + model_flag() + " -p '' --noise " + shell_quote(noise) +
                            " --scheduler ddim --timestep-spacing leading --guidance-scale 1 --steps 4 --width 128 "
                            "--height 128 -o " +
                            shell_quote(back));
  ASSERT_EQ(g.status, 0) << g.err;
  EXPECT_EQ(read_png(back).rgb, read_png(rec).rgb);
}

TEST_F(ImageInputCli, UnreadablePictureIsOneLine) {
  std::ofstream(dir() / "bad.png") << "not a png";
  expect_refused(run_sdwalk("invert " + shell_quote(dir() / "bad.png") + model_flag() + " -o " +
                            shell_quote(dir() / "n.safetensors")),
                 "not a valid PNG", {"bad.png"});
  expect_refused(run_sdwalk("generate" + model_flag() + " -p x --image " + shell_quote(dir() / "missing.png") + " -o " +
                            shell_quote(dir() / "o.png")),
                 "missing.png", {"bad.png"});
}

TEST_F(ImageInputCli, ZeroSizePictureIsOneLine) {
  write_raw_png(dir() / "zero.png", 0, 64, 2, 3, {});
  expect_refused(run_sdwalk("invert " + shell_quote(dir() / "zero.png") + model_flag() + " -o " +
                            shell_quote(dir() / "n.safetensors")),
                 "zero.png", {"zero.png"});
}

TEST_F(ImageInputCli, SizesTheModelCannotTakeAreOneLine) {
  write_raw_png(dir() / "odd.png", 60, 60, 2, 3, gradient(60, 60, 3));
  expect_refused(run_sdwalk("invert " + shell_quote(dir() / "odd.png") + model_flag() + " -o " +
                            shell_quote(dir() / "n.safetensors")),
                 "a size the model cannot take", {"odd.png"});
  // A multiple of 8 that SD 1.x's UNet still refuses (its sides must be multiples of 64).
  write_raw_png(dir() / "72.png", 72, 72, 2, 3, gradient(72, 72, 3));
  expect_refused(run_sdwalk("invert " + shell_quote(dir() / "72.png") + model_flag() + " -o " +
                            shell_quote(dir() / "n.safetensors")),
                 "72", {"odd.png", "72.png"});
  // Another size than asked for, without --fit.
  expect_refused(run_sdwalk("generate" + model_flag() + " -p x --image " + shell_quote(dir() / "odd.png") +
                            " --width 64 --height 64 -o " + shell_quote(dir() / "o.png")),
                 "--fit", {"odd.png", "72.png"});
}

TEST_F(ImageInputCli, RgbaAndGreyAreConvertedAndSaid) {
  write_raw_png(dir() / "rgba.png", 64, 64, 6, 4, gradient(64, 64, 4));
  write_raw_png(dir() / "grey.png", 64, 64, 0, 1, gradient(64, 64, 1));
  for (const char* name : {"rgba.png", "grey.png"}) {
    const fs::path out = dir() / (std::string(name) + ".out.png");
    const auto r = run_sdwalk("generate" + model_flag() + " -p x --image " + shell_quote(dir() / name) +
                              " --steps 2 --strength 0.5 --seed 1 -o " + shell_quote(out));
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.err.find(std::string(name) + ": " + (name[0] == 'r' ? "alpha channel dropped" : "grey converted to RGB")),
              std::string::npos)
        << r.err;
    EXPECT_EQ(read_png(out).width, 64);
  }
}

TEST_F(ImageInputCli, FitBringsAnotherSizeToTheRequestAndSaysSo) {
  write_raw_png(dir() / "wide.png", 96, 48, 2, 3, gradient(96, 48, 3));
  for (const char* fit : {"crop", "pad", "stretch"}) {
    const fs::path out = dir() / (std::string(fit) + ".png");
    const auto r = run_sdwalk("generate" + model_flag() + " -p x --image " + shell_quote(dir() / "wide.png") +
                              " --width 64 --height 64 --fit " + fit + " --steps 2 --strength 0.5 --seed 1 -o " +
                              shell_quote(out));
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.err.find("96x48 -> 64x64 (--fit " + std::string(fit) + ")"), std::string::npos) << r.err;
  }
}

TEST_F(ImageInputCli, MorphWalkRefusesPicturesOfAnotherSizeWithoutFit) {
  write_raw_png(dir() / "a.png", 64, 64, 2, 3, gradient(64, 64, 3));
  write_raw_png(dir() / "b.png", 128, 64, 2, 3, gradient(128, 64, 3));
  expect_refused(run_sdwalk("walk morph" + model_flag() + " --image " + shell_quote(dir() / "a.png") + " --image " +
                            shell_quote(dir() / "b.png") + " -o " + shell_quote(dir() / "w.gif")),
                 "--fit", {"a.png", "b.png"});
  expect_refused(run_sdwalk("walk morph" + model_flag() + " --image " + shell_quote(dir() / "a.png") + " --image " +
                            shell_quote(dir() / "a.png") + " --guidance-scale 3 -o " + shell_quote(dir() / "w.gif")),
                 "guidance 1", {"a.png", "b.png"});
}

}  // namespace
}  // namespace sdwalk
