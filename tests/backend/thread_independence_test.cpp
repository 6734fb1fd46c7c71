// f32 results do not depend on the thread count: every op run at 1, 2 and 3 threads gives the same
// bits (README "Guarantees"). Shapes are those of the SD 1.5 UNet's layers at small latents.
#include <gtest/gtest.h>

#include <cstring>
#include <functional>

#include "backend/reference.hpp"
#include "backend/cpu/ops.hpp"

namespace sdwalk::test {
namespace {

bool same_bits(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && a.dtype() == b.dtype() && std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0;
}

void expect_thread_independent(const std::function<Tensor()>& op, const char* what) {
  ops::set_threads(1);
  const Tensor one = op();
  for (int threads : {2, 3}) {
    ops::set_threads(threads);
    EXPECT_TRUE(same_bits(one, op())) << what << ": " << threads << " threads differ from 1";
  }
  ops::set_threads(0);
}

TEST(ThreadIndependence, Conv2d) {
  for (auto [n, h, cin, cout, k, stride] :
       {std::tuple{2, 16, 64, 64, 3, 1}, {2, 8, 320, 320, 3, 1}, {2, 16, 128, 64, 1, 1}, {2, 32, 4, 32, 3, 1},
        {2, 16, 64, 64, 3, 2}, {1, 32, 64, 128, 3, 1}, {2, 8, 1280, 640, 1, 1}, {1, 64, 32, 3, 3, 1}}) {
    const Tensor x = random_tensor({n, h, h, cin}, 1);
    const Tensor w = random_tensor({cout, cin, k, k}, 2, 0.05f);
    const Tensor b = random_tensor({cout}, 3);
    // A new layer per run: oneDNN chooses its blocking when the primitive is made, for the threads of that moment.
    expect_thread_independent([&] { return ops::Conv2d(w, b, stride, k / 2).forward(x); }, "conv2d");
  }
}

TEST(ThreadIndependence, Linear) {
  for (auto [t, in, out] : {std::tuple{77, 768, 320}, {256, 320, 320}, {1024, 320, 2560}, {2, 320, 1280}}) {
    const Tensor x = random_tensor({2, t, in}, 4);
    const Tensor w = random_tensor({out, in}, 5, 0.05f);
    const Tensor b = random_tensor({out}, 6);
    expect_thread_independent([&] { return ops::Linear(w, b).forward(x); }, "linear");
  }
}

TEST(ThreadIndependence, Norms) {
  const Tensor x = random_tensor({2, 32, 32, 64}, 7, 2.0f, 0.5f);
  const Tensor g = random_tensor({64}, 8), b = random_tensor({64}, 9);
  expect_thread_independent([&] { return ops::group_norm(x, 32, g, b, 1e-5f, true); }, "group_norm");
  const Tensor s = random_tensor({2, 1024, 64}, 10, 2.0f, 0.5f);
  expect_thread_independent([&] { return ops::layer_norm(s, g, b, 1e-5f); }, "layer_norm");
}

TEST(ThreadIndependence, Attention) {
  const ops::Isa chosen = ops::isa();
  for (auto [tq, tk, heads, d] : {std::tuple{1024, 1024, 8, 40}, {1024, 77, 8, 40}, {77, 77, 12, 64}}) {
    const Tensor q = random_tensor({2, tq, heads * d}, 11), k = random_tensor({2, tk, heads * d}, 12),
                 v = random_tensor({2, tk, heads * d}, 13);
    for (ops::Isa isa : ops::supported_isas()) {
      ops::set_isa(isa);
      expect_thread_independent([&] { return ops::attention(q, k, v, heads); }, "attention");
    }
  }
  ops::set_isa(chosen);
}

}  // namespace
}  // namespace sdwalk::test

namespace sdwalk::test {
namespace {

TEST(ThreadScope, SetsTheCallingThreadsCountAndRestoresIt) {
  ops::set_threads(2);
  {
    const ops::ThreadScope one(1);
    EXPECT_EQ(ops::threads(), 1);
    {
      const ops::ThreadScope three(3);
      EXPECT_EQ(ops::threads(), 3);
    }
    EXPECT_EQ(ops::threads(), 1);
  }
  EXPECT_EQ(ops::threads(), 2);
  ops::set_threads(0);
}

}  // namespace
}  // namespace sdwalk::test
