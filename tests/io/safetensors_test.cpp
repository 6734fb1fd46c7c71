#include "sdwalk/safetensors.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "common/fixtures.hpp"
#include "sdwalk/error.hpp"

namespace sdwalk {
namespace {

std::string file_image(const std::string& header, size_t data_bytes) {
  std::string out(8, '\0');
  uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out[size_t(i)] = char(n >> (8 * i));
  out += header;
  out.append(data_bytes, '\x01');
  return out;
}

std::string error_of(const std::string& image) {
  try {
    SafeTensors::from_bytes(image.data(), image.size(), "bad.safetensors");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(SafeTensors, ReadsEveryExpectedFileAndAgreesWithItsHeader) {
  const auto files = test::fixture_files("expected", "", ".safetensors");
  if (files.empty()) GTEST_SKIP() << "no fixture files in " << test::fixture("expected");
  for (const auto& path : files) {
    const SafeTensors f = SafeTensors::open(path);
    EXPECT_FALSE(f.names().empty()) << path;
    for (const auto& name : f.names()) {
      const Tensor t = f.get(name);
      EXPECT_EQ(t.nbytes(), f.info(name).end - f.info(name).begin) << path << " " << name;
    }
  }
}

TEST(SafeTensors, RoundTripsThroughTheWriter) {
  Tensor a = Tensor::from_vector({2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor b({4}, DType::I64);
  for (int i = 0; i < 4; ++i) b.data<int64_t>()[i] = int64_t(i) * 1000000000000LL;
  const auto path = std::filesystem::temp_directory_path() / "sdwalk_roundtrip.safetensors";
  save_safetensors(path, {{"a", a}, {"b", b}}, {{"k", "\"v\""}});
  const SafeTensors f = SafeTensors::open(path);
  EXPECT_EQ(f.metadata().at("k"), "\"v\"");
  EXPECT_EQ(f.get("a").shape(), (Shape{2, 3}));
  EXPECT_EQ(f.get("a").f32()[5], 6.0f);
  EXPECT_EQ(f.get("b").data<int64_t>()[3], 3000000000000LL);
  std::filesystem::remove(path);
}

TEST(SafeTensors, RejectsMalformedFilesWithANamedError) {
  const std::string ok = R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  EXPECT_EQ(error_of(file_image(ok, 8)), "");
  EXPECT_NE(error_of("abc").find("truncated"), std::string::npos);
  std::string huge(8, '\xff');
  EXPECT_NE(error_of(huge).find("absurdly large"), std::string::npos);
  std::string past = file_image(ok, 8);
  past[0] = char(200);
  EXPECT_NE(error_of(past).find("past the end"), std::string::npos);
  EXPECT_NE(error_of(file_image("{not json", 0)).find("not valid JSON"), std::string::npos);
  EXPECT_NE(error_of(file_image(ok, 4)).find("'x'"), std::string::npos);  // offsets out of range
  EXPECT_NE(error_of(file_image(R"({"x":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8)).find("needs 12"),
            std::string::npos);
  EXPECT_NE(error_of(file_image(R"({"x":{"dtype":"Q4","shape":[2],"data_offsets":[0,8]}})", 8)).find("unsupported dtype"),
            std::string::npos);
  const std::string dup = R"({"x":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"x":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})";
  EXPECT_NE(error_of(file_image(dup, 2)).find("twice"), std::string::npos);
  const std::string overlap = R"({"x":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"y":{"dtype":"U8","shape":[2],"data_offsets":[1,3]}})";
  EXPECT_NE(error_of(file_image(overlap, 3)).find("overlaps"), std::string::npos);
  const std::string big_shape = R"({"x":{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,8]}})";
  EXPECT_NE(error_of(file_image(big_shape, 8)).find("'x'"), std::string::npos);
  // 2^61 F64 elements are 2^64 bytes: the byte count must not wrap around to 0.
  const std::string wraps = R"({"x":{"dtype":"F64","shape":[2305843009213693952],"data_offsets":[0,0]}})";
  EXPECT_NE(error_of(file_image(wraps, 0)).find("'x'"), std::string::npos);
  const std::string wraps2 = R"({"x":{"dtype":"F32","shape":[4611686018427387904, 4],"data_offsets":[0,0]}})";
  EXPECT_NE(error_of(file_image(wraps2, 0)).find("'x'"), std::string::npos);
  EXPECT_NE(error_of(file_image(R"({"x":{"dtype":"F32","shape":[-1],"data_offsets":[0,0]}})", 0)).find("non-negative"),
            std::string::npos);
  EXPECT_NE(error_of(file_image(R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4.0]}})", 4)).find("data_offsets"),
            std::string::npos);
  EXPECT_NE(error_of(file_image(R"({"__metadata__":{"k":1}})", 0)).find("__metadata__"), std::string::npos);
  EXPECT_NE(error_of(file_image(R"([1,2])", 0)).find("JSON object"), std::string::npos);
}

TEST(SafeTensors, MisalignedTensorsAreCopiedToAlignedStorage) {
  // An F32 tensor at data offset 1 (after a U8): its view would be misaligned.
  const std::string header =
      R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"b":{"dtype":"F32","shape":[2],"data_offsets":[1,9]}})";
  std::string image = file_image(header + std::string((8 - header.size() % 8) % 8, ' '), 0);
  const float values[2] = {1.5f, -2.25f};
  image.push_back('\x07');
  image.append(reinterpret_cast<const char*>(values), sizeof(values));
  const SafeTensors f = SafeTensors::from_bytes(image.data(), image.size(), "misaligned.safetensors");
  const Tensor b = f.get("b");
  EXPECT_EQ(reinterpret_cast<uintptr_t>(b.raw()) % alignof(float), 0u);
  EXPECT_EQ(b.f32()[0], 1.5f);
  EXPECT_EQ(b.f32()[1], -2.25f);
  EXPECT_EQ(f.get("a").data<uint8_t>()[0], 7);
}

}  // namespace
}  // namespace sdwalk
