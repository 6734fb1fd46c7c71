#include "sdwalk/torch_generator.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <regex>
#include <string>

#include "common/fixtures.hpp"
#include "sdwalk/error.hpp"

namespace sdwalk {
namespace {

Shape parse_shape(const std::string& text) {  // "1x4x16x16" -> {1, 4, 16, 16}
  Shape shape;
  size_t pos = 0;
  while (pos <= text.size()) {
    const size_t end = std::min(text.find('x', pos), text.size());
    shape.push_back(std::stoll(text.substr(pos, end - pos)));
    pos = end + 1;
  }
  return shape;
}

// Number of elements whose bits differ (float32), and the first such index.
int64_t bit_mismatches(const Tensor& ours, const Tensor& ref, int64_t* first) {
  *first = -1;
  int64_t bad = 0;
  for (int64_t i = 0; i < ref.numel(); ++i) {
    if (std::memcmp(ours.f32() + i, ref.f32() + i, sizeof(float)) != 0) {
      if (bad++ == 0) *first = i;
    }
  }
  return bad;
}

void expect_bit_exact(const Tensor& ours, const Tensor& ref, const std::string& name) {
  ASSERT_EQ(ours.shape(), ref.shape()) << name;
  int64_t first = -1;
  const int64_t bad = bit_mismatches(ours, ref, &first);
  EXPECT_EQ(bad, 0) << name << ": " << bad << " of " << ref.numel() << " values differ; first at " << first
                    << " (ours " << (first >= 0 ? ours.f32()[first] : 0.f) << ", torch "
                    << (first >= 0 ? ref.f32()[first] : 0.f) << ")";
}

TEST(TorchGenerator, RandnMatchesTorchBitForBitForEverySeedAndShape) {
  const auto path = test::fixture("expected/torch_randn.safetensors");
  SDWALK_REQUIRE_FIXTURE(path);
  const SafeTensors file = SafeTensors::open(path);
  const std::regex pattern(R"(seed(\d+)_([0-9x]+))");
  int cases = 0;
  for (const auto& name : file.names()) {
    std::smatch m;
    if (!std::regex_match(name, m, pattern)) continue;
    TorchGenerator gen(std::stoull(m[1].str()));
    const Tensor ours = gen.randn(parse_shape(m[2].str()));
    expect_bit_exact(ours, file.get(name), name);
    ++cases;
  }
  EXPECT_GT(cases, 0) << "no seed<S>_<shape> tensors in " << path;
}

TEST(TorchGenerator, SuccessiveDrawsContinueTheStreamLikeOneTorchGenerator) {
  const auto path = test::fixture("expected/torch_randn.safetensors");
  SDWALK_REQUIRE_FIXTURE(path);
  const SafeTensors file = SafeTensors::open(path);
  const std::regex pattern(R"(chain_seed(\d+)_(\d+)_([0-9x]+))");
  // seed -> draw index -> tensor name
  std::map<uint64_t, std::map<int, std::pair<std::string, Shape>>> chains;
  for (const auto& name : file.names()) {
    std::smatch m;
    if (!std::regex_match(name, m, pattern)) continue;
    chains[std::stoull(m[1].str())][std::stoi(m[2].str())] = {name, parse_shape(m[3].str())};
  }
  if (chains.empty()) GTEST_SKIP() << "no chain_seed tensors in " << path;
  for (const auto& [seed, draws] : chains) {
    TorchGenerator gen(seed);
    int expected_index = 0;
    for (const auto& [index, draw] : draws) {
      ASSERT_EQ(index, expected_index++) << "chain for seed " << seed << " has a gap";
      expect_bit_exact(gen.randn(draw.second), file.get(draw.first), draw.first);
    }
  }
}

TEST(TorchGenerator, ReseedingRestartsTheStream) {
  const auto path = test::fixture("expected/torch_randn.safetensors");
  SDWALK_REQUIRE_FIXTURE(path);
  const SafeTensors file = SafeTensors::open(path);
  const std::regex pattern(R"(seed(\d+)_([0-9x]+))");
  // Draw something else first (both the >= 16 and the cached < 16 path), then reseed.
  TorchGenerator gen(12345);
  int cases = 0;
  for (const auto& name : file.names()) {
    std::smatch m;
    if (!std::regex_match(name, m, pattern)) continue;
    gen.randn({3});
    gen.randn({20});
    gen.manual_seed(std::stoull(m[1].str()));
    expect_bit_exact(gen.randn(parse_shape(m[2].str())), file.get(name), name);
    ++cases;
  }
  EXPECT_GT(cases, 0);
}

}  // namespace
}  // namespace sdwalk

namespace sdwalk {
namespace {

// diffusers' generator=[g0, g1, ...]: row i of a batch comes from generator i alone, exactly as
// torch.randn((1, ...), generator=g_i) would draw it, on every call.
TEST(TorchGeneratorPerSample, EachRowIsItsOwnGeneratorsStream) {
  TorchGenerator batch = TorchGenerator::per_sample({7, 7, 123});
  TorchGenerator g7a(7), g7b(7), g123(123);
  for (int call = 0; call < 2; ++call) {
    const Tensor x = batch.randn({3, 4, 5, 5});
    const Tensor rows[3] = {g7a.randn({1, 4, 5, 5}), g7b.randn({1, 4, 5, 5}), g123.randn({1, 4, 5, 5})};
    for (int i = 0; i < 3; ++i)
      for (int64_t j = 0; j < 100; ++j) ASSERT_EQ(x.f32()[i * 100 + j], rows[i].f32()[j]) << "call " << call << " row " << i;
  }
  EXPECT_THROW(batch.randn({2, 4}), Error);  // the batch must match the generators
  EXPECT_THROW(batch.random(), Error);
}

}  // namespace
}  // namespace sdwalk
