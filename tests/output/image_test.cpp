#include "sdwalk/image.hpp"

#include <gtest/gtest.h>

#include <zlib.h>

#include <cmath>
#include <fstream>
#include <iterator>
#include <limits>
#include <random>

#include "common/fixtures.hpp"
#include "output_testing.hpp"
#include "sdwalk/error.hpp"

namespace sdwalk {
namespace {

// numpy's (x * 255).round() for a float32 x, written independently of rint: the float32 product,
// then round half to even by looking at the fraction.
uint8_t numpy_reference(float x) {
  x = std::isnan(x) ? 0.0f : std::min(1.0f, std::max(0.0f, x));
  const float p = x * 255.0f;
  const double lo = std::floor(double(p)), frac = double(p) - lo;
  const long r = frac > 0.5 ? long(lo) + 1 : frac < 0.5 ? long(lo) : (long(lo) % 2 == 0 ? long(lo) : long(lo) + 1);
  return uint8_t(r);
}

TEST(ImageFromFloat, RoundsExactHalvesToEvenLikeNumpy) {
  // Floats whose float32 product with 255 is exactly k + 0.5: round-half-away would give k + 1 for
  // every k; numpy gives the even neighbour.
  std::vector<float> xs;
  for (int k = 0; k < 255; ++k) {
    float x = float((k + 0.5) / 255.0);
    for (int step = 0; step < 64 && xs.size() < 1000; ++step, x = std::nextafter(x, 2.0f))
      if (x * 255.0f == float(k) + 0.5f) xs.push_back(x);
  }
  ASSERT_GT(xs.size(), 20u) << "found too few exact ties to test";
  Tensor t({1, 1, int64_t(xs.size()), 3});
  for (size_t i = 0; i < xs.size(); ++i)
    for (int c = 0; c < 3; ++c) t.f32()[3 * i + size_t(c)] = xs[i];
  const Image im = image_from_float(t);
  int odd_ties = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    const int k = int(std::floor(xs[i] * 255.0f));
    EXPECT_EQ(im.rgb[3 * i], numpy_reference(xs[i])) << "x = " << xs[i];
    EXPECT_EQ(im.rgb[3 * i] % 2, 0) << "x*255 = " << xs[i] * 255.0f;
    odd_ties += k % 2;
  }
  EXPECT_GT(odd_ties, 0) << "no tie where half-even and half-up differ";
}

TEST(ImageFromFloat, ClampsOutOfRangeAndMapsNanToZero) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const Tensor t = Tensor::from_vector({1, 2, 3}, {-0.5f, 1.5f, nan, 0.0f, 1.0f, 0.5f});
  const Image im = image_from_float(t);
  EXPECT_EQ(im.width, 2);
  EXPECT_EQ(im.height, 1);
  EXPECT_EQ(im.rgb, (std::vector<uint8_t>{0, 255, 0, 0, 255, 128}));  // 127.5 -> 128 (even)
}

TEST(ImageFromFloat, AcceptsBatchedUnbatchedAndHalfPrecision) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(0, 1);
  Tensor t({1, 5, 7, 3});
  for (int64_t i = 0; i < t.numel(); ++i) t.f32()[i] = u(rng);
  const Image a = image_from_float(t), b = image_from_float(t.reshape({5, 7, 3}));
  EXPECT_EQ(a.width, 7);
  EXPECT_EQ(a.height, 5);
  EXPECT_EQ(a.rgb, b.rgb);
  const Tensor h = t.to(DType::F16);
  const Image c = image_from_float(h);
  const Image d = image_from_float(h.to_f32());
  EXPECT_EQ(c.rgb, d.rgb);
}

TEST(ImageFromFloat, RejectsIntegerTensors) {
  EXPECT_THROW(image_from_float(Tensor({1, 2, 2, 3}, DType::U8)), Error);
}

TEST(ImageFromFloat, RejectsOtherShapesNamingTheShape) {
  for (const Shape& s : {Shape{2, 4, 4, 3}, Shape{4, 4, 4}, Shape{3, 4, 4}, Shape{12}}) {
    try {
      image_from_float(Tensor(s));
      ADD_FAILURE() << "accepted " << shape_string(s);
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(shape_string(s)), std::string::npos) << e.what();
    }
  }
}

// Every float frame stored in the fixtures (the walks' frames and the pipelines' images) converts
// exactly as the notebook's round(frame * 255).
TEST(ImageFromFloat, MatchesNumpyRoundOnEveryFixtureFrame) {
  auto files = test::fixture_files("expected/interpolation", "", ".safetensors");
  const auto more = test::fixture_files("expected", "pipeline", ".safetensors");
  files.insert(files.end(), more.begin(), more.end());
  if (files.empty()) GTEST_SKIP() << "no fixture files in " << test::fixture("expected");
  int64_t frames = 0, values = 0;
  for (const auto& path : files) {
    const SafeTensors f = SafeTensors::open(path);
    for (const char* name : {"frames", "image"}) {
      if (!f.contains(name)) continue;
      const Tensor all = f.get_f32(name);
      ASSERT_EQ(all.ndim(), 4) << path << " " << name;
      for (int64_t i = 0; i < all.dim(0); ++i) {
        const Tensor frame = all.slice0(i, i + 1);
        const Image im = image_from_float(frame);
        ASSERT_EQ(im.width, all.dim(2));
        ASSERT_EQ(im.height, all.dim(1));
        int64_t mismatches = 0;
        for (int64_t k = 0; k < frame.numel(); ++k) mismatches += im.rgb[size_t(k)] != numpy_reference(frame.f32()[k]);
        EXPECT_EQ(mismatches, 0) << path << " " << name << "[" << i << "]";
        ++frames;
        values += frame.numel();
      }
    }
  }
  EXPECT_GT(frames, 0) << "no frames/image tensors found";
  std::cout << "[ image_from_float ] " << frames << " fixture frames, " << values << " values, all exact\n";
}

TEST(Png, RoundTripsPixelsAndTextExactly) {
  test::ScratchDir dir;
  std::mt19937 rng(3);
  Image im;
  im.width = 37;  // odd sizes on purpose
  im.height = 23;
  im.rgb.resize(size_t(im.width) * im.height * 3);
  for (auto& v : im.rgb) v = uint8_t(rng());
  const std::map<std::string, std::string> text = {
      {"sdwalk", "{\"prompt\": \"a photo of a dog\",\n \"seed\": 42}"},
      {"Comment", "caf\xc3\xa9 \xe2\x80\x94 UTF-8 goes into iTXt"}};
  const auto path = dir / "x.png";
  write_png(path, im, text);
  const Image back = read_png(path);
  EXPECT_EQ(back.width, im.width);
  EXPECT_EQ(back.height, im.height);
  EXPECT_EQ(back.rgb, im.rgb);
  EXPECT_EQ(read_png_text(path), text);
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"x.png"});  // no temporary left
}

TEST(Png, ReadingSomethingElseNamesTheFile) {
  test::ScratchDir dir;
  const auto path = dir / "not.png";
  std::ofstream(path) << "GIF89a, not a PNG";
  for (int mode = 0; mode < 3; ++mode) {
    try {
      if (mode == 0) read_png(path);
      if (mode == 1) read_png_text(path);
      if (mode == 2) read_png(dir / "missing.png");
      ADD_FAILURE() << "no error in mode " << mode;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(dir.path().string()), std::string::npos) << e.what();
    }
  }
}

TEST(Png, RejectsABufferThatDoesNotMatchTheSizeAndLeavesNothing) {
  test::ScratchDir dir;
  Image im;
  im.width = 4;
  im.height = 4;
  im.rgb.resize(4 * 4 * 3 - 1);
  EXPECT_THROW(write_png(dir / "bad.png", im), Error);
  EXPECT_THROW(write_png(dir / "missing" / "x.png", test::synthetic_frame(4, 4, 0)), Error);
  EXPECT_TRUE(dir.entries().empty());
}

// Found by tests/fuzz/png_fuzz: the buffer was sized from the header alone, so a 60-byte file
// claiming 1000000 x 1000000 pixels asked for 3 TB (std::bad_alloc, the CLI's 'internal error').
TEST(Png, HeadersClaimingHugeImagesAreRefusedBeforeAllocating) {
  test::ScratchDir dir;
  write_png(dir / "small.png", test::synthetic_frame(8, 8, 0));
  std::ifstream in(dir / "small.png", std::ios::binary);
  std::string png((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_EQ(png.compare(12, 4, "IHDR"), 0);
  auto put32 = [&](size_t at, uint32_t v) {
    for (int k = 0; k < 4; ++k) png[at + size_t(k)] = char(v >> (24 - 8 * k));
  };
  put32(16, 1000000);  // width
  put32(20, 1000000);  // height
  put32(29, uint32_t(crc32(0, reinterpret_cast<const Bytef*>(png.data() + 12), 17)));
  std::ofstream(dir / "huge.png", std::ios::binary) << png;
  try {
    read_png(dir / "huge.png");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("a 1000000x1000000 PNG is larger than sdwalk reads (67108864 pixels)"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace sdwalk
