// Conv2d and Linear (oneDNN) against double-precision references.
#include <gtest/gtest.h>

#include "backend/reference.hpp"
#include "common/compare.hpp"
#include "sdwalk/error.hpp"
#include "backend/cpu/ops.hpp"

namespace sdwalk::test {
namespace {

struct ConvCase {
  int64_t n, h, w, cin, cout;
  int k, stride, pad;
  bool bias;
};

class Conv2dTest : public ::testing::TestWithParam<ConvCase> {};

TEST_P(Conv2dTest, MatchesReference) {
  const ConvCase c = GetParam();
  const Tensor x = random_tensor({c.n, c.h, c.w, c.cin}, 1);
  const Tensor w = random_tensor({c.cout, c.cin, c.k, c.k}, 2, 0.3f);
  const Tensor b = random_tensor({c.cout}, 3);
  const Tensor ref = conv2d_ref(x, w, c.bias ? &b : nullptr, c.stride, c.pad);
  for (int threads : {1, 2}) {
    ops::set_threads(threads);
    ops::Conv2d conv(w, c.bias ? b : Tensor(), c.stride, c.pad);
    EXPECT_EQ(conv.in_channels(), c.cin);
    EXPECT_EQ(conv.out_channels(), c.cout);
    const Tensor y = conv.forward(x);
    ASSERT_EQ(y.shape(), ref.shape());
    EXPECT_LE(compare(y, ref).rel(), 1e-5) << compare(y, ref).str() << " threads " << threads;
    // Same shape again (cached primitive), then with a residual.
    const Tensor r = random_tensor(ref.shape(), 4);
    const Tensor y2 = conv.forward(x, &r);
    Tensor ref2 = ref.clone();
    for (int64_t i = 0; i < ref2.numel(); ++i) ref2.f32()[i] += r.f32()[i];
    EXPECT_LE(compare(y2, ref2).rel(), 1e-5) << compare(y2, ref2).str();
    EXPECT_LE(compare(conv.forward(x), ref).rel(), 1e-5);
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, Conv2dTest,
                         ::testing::Values(ConvCase{1, 8, 8, 4, 32, 3, 1, 1, true},     // conv_in-like
                                           ConvCase{2, 9, 7, 16, 8, 3, 2, 1, true},     // downsample, odd sizes
                                           ConvCase{2, 5, 6, 12, 20, 1, 1, 0, false},   // 1x1 shortcut
                                           ConvCase{1, 7, 5, 3, 5, 3, 1, 0, true},      // no padding
                                           ConvCase{1, 11, 13, 6, 7, 5, 2, 2, true}));  // 5x5

TEST(Conv2d, TwoInputSizesShareWeights) {
  const Tensor w = random_tensor({8, 4, 3, 3}, 5, 0.3f);
  const Tensor b = random_tensor({8}, 6);
  ops::Conv2d conv(w, b, 1, 1);
  for (int64_t s : {4, 16, 6}) {
    const Tensor x = random_tensor({2, s, s + 2, 4}, 7);
    EXPECT_LE(compare(conv.forward(x), conv2d_ref(x, w, &b, 1, 1)).rel(), 1e-5) << "size " << s;
  }
}

TEST(Conv2d, RejectsWrongInput) {
  ops::Conv2d conv(random_tensor({8, 4, 3, 3}, 5), Tensor(), 1, 1);
  EXPECT_THROW(conv.forward(random_tensor({1, 4, 4, 5}, 1)), Error);
  EXPECT_THROW(ops::Conv2d(random_tensor({8, 4, 3}, 5), Tensor(), 1, 1), Error);
}

Tensor linear_ref(const Tensor& x, const Tensor& w, const Tensor* b) {
  const int64_t in = w.dim(1), out = w.dim(0), m = x.numel() / in;
  Shape shape = x.shape();
  shape.back() = out;
  Tensor y(shape);
  for (int64_t r = 0; r < m; ++r)
    for (int64_t o = 0; o < out; ++o) {
      double acc = b ? b->f32()[o] : 0.0;
      for (int64_t i = 0; i < in; ++i) acc += double(x.f32()[r * in + i]) * double(w.f32()[o * in + i]);
      y.f32()[r * out + o] = float(acc);
    }
  return y;
}

TEST(Linear, MatchesReference) {
  const Tensor w = random_tensor({24, 40}, 11, 0.2f);
  const Tensor b = random_tensor({24}, 12);
  for (int threads : {1, 2}) {
    ops::set_threads(threads);
    ops::Linear lin(w, b);
    EXPECT_EQ(lin.in_features(), 40);
    EXPECT_EQ(lin.out_features(), 24);
    for (int64_t rows : {1, 77, 300}) {
      const Tensor x = random_tensor({2, rows, 40}, 13);
      const Tensor ref = linear_ref(x, w, &b);
      const Tensor y = lin.forward(x);
      ASSERT_EQ(y.shape(), ref.shape());
      EXPECT_LE(compare(y, ref).rel(), 1e-5) << compare(y, ref).str() << " rows " << rows;
      const Tensor r = random_tensor(ref.shape(), 14);
      Tensor ref2 = ref.clone();
      for (int64_t i = 0; i < ref2.numel(); ++i) ref2.f32()[i] += r.f32()[i];
      EXPECT_LE(compare(lin.forward(x, &r), ref2).rel(), 1e-5);
    }
  }
}

TEST(Linear, NoBiasAnd1x1ConvWeight) {
  const Tensor w = random_tensor({6, 10, 1, 1}, 21);
  const Tensor x = random_tensor({5, 10}, 22);
  ops::Linear lin(w, Tensor());
  EXPECT_LE(compare(lin.forward(x), linear_ref(x, w.reshape({6, 10}), nullptr)).rel(), 1e-5);
  EXPECT_THROW(lin.forward(random_tensor({5, 9}, 1)), Error);
}

TEST(Linear, HalfWeightsConvertOnce) {
  const Tensor w = random_tensor({6, 10}, 23);
  const Tensor x = random_tensor({3, 10}, 24);
  ops::Linear lin(w.to(DType::F16), Tensor());
  EXPECT_LE(compare(lin.forward(x), linear_ref(x, w.to(DType::F16).to_f32(), nullptr)).rel(), 1e-5);
}

// The layers must own their weights: f32 tensors are read in place at construction only.
TEST(Layers, KeepNoReferenceToTheGivenWeights) {
  const Tensor wc = random_tensor({8, 4, 3, 3}, 25, 0.3f), wl = random_tensor({6, 10}, 26);
  Tensor wc_arg = wc.clone(), wl_arg = wl.clone();
  ops::Conv2d conv(wc_arg, Tensor(), 1, 1);
  ops::Linear lin(wl_arg, Tensor());
  for (Tensor* t : {&wc_arg, &wl_arg})
    for (int64_t i = 0; i < t->numel(); ++i) t->f32()[i] = NAN;
  const Tensor x = random_tensor({1, 5, 5, 4}, 27), xl = random_tensor({3, 10}, 28);
  EXPECT_LE(compare(conv.forward(x), conv2d_ref(x, wc, nullptr, 1, 1)).rel(), 1e-5);
  EXPECT_LE(compare(lin.forward(xl), linear_ref(xl, wl, nullptr)).rel(), 1e-5);
}

}  // namespace
}  // namespace sdwalk::test
