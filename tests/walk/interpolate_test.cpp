// linspace / slerp / lerp against NumPy's and torch's documented arithmetic, and the planners' input
// checks. Synthetic inputs only; the fixture walks are in notebook_walks_test.cpp.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <numbers>
#include <random>
#include <string>

#include "common/error_of.hpp"
#include "sdwalk/error.hpp"
#include "sdwalk/walk.hpp"
#include "common/gaussian.hpp"

namespace sdwalk {
namespace {

using test::gaussian;

double norm(const Tensor& t) {
  double s = 0;
  for (int64_t i = 0; i < t.numel(); ++i) s += double(t.f32()[i]) * t.f32()[i];
  return std::sqrt(s);
}

// v0 = e0, v1 = cos(a) e0 + sin(a) e1 in 8 dimensions: dot(v0, v1) = cos(a).
std::pair<Tensor, Tensor> unit_pair(double a) {
  Tensor v0({8}), v1({8});
  v0.f32()[0] = 1.0f;
  v1.f32()[0] = float(std::cos(a));
  v1.f32()[1] = float(std::sin(a));
  return {v0, v1};
}

// The notebook's linear branch: float32(1 - t) * v0 + float32(t) * v1, each product rounded.
Tensor notebook_linear(double t, const Tensor& v0, const Tensor& v1) {
  Tensor out(v0.shape());
  const float a = float(1.0 - t), b = float(t);
  for (int64_t i = 0; i < v0.numel(); ++i) {
    volatile float p = a * v0.f32()[i];
    volatile float q = b * v1.f32()[i];
    out.f32()[i] = p + q;
  }
  return out;
}

bool bitwise_equal(const Tensor& a, const Tensor& b) {
  if (a.numel() != b.numel()) return false;
  for (int64_t i = 0; i < a.numel(); ++i)
    if (a.f32()[i] != b.f32()[i]) return false;
  return true;
}

using test::error_of;

TEST(Linspace, IsNumpysStepTimesIndexWithTheExactEnd) {
  // numpy.linspace(0, 1, 11)[3] == 0.30000000000000004 (3 * 0.1), not 3 / 10.
  const auto v = linspace(0.0, 1.0, 11);
  ASSERT_EQ(v.size(), 11u);
  EXPECT_EQ(v[0], 0.0);
  EXPECT_EQ(v[3], 0.30000000000000004);
  EXPECT_EQ(v[6], 0.6000000000000001);
  EXPECT_EQ(v[7], 0.7000000000000001);
  EXPECT_EQ(v[10], 1.0);
  EXPECT_EQ(linspace(2.0, 5.0, 1), std::vector<double>{2.0});
  EXPECT_TRUE(linspace(0.0, 1.0, 0).empty());
  EXPECT_EQ(linspace(0.0, 0.7, 3).back(), 0.7);  // the end is stored, not computed
}

TEST(Slerp, TakesTheLinearBranchAboveTheDotThreshold) {
  // dot = 0.9996 > 0.9995: the notebook's (1 - t) v0 + t v1, bit for bit.
  const auto [v0, v1] = unit_pair(std::acos(0.9996));
  for (double t : linspace(0.0, 1.0, 7)) EXPECT_TRUE(bitwise_equal(slerp(t, v0, v1), notebook_linear(t, v0, v1))) << t;
  // And on big random vectors made nearly parallel.
  const Tensor a = gaussian({4, 16, 16}, 1);
  Tensor b = a.clone();
  const Tensor noise = gaussian({4, 16, 16}, 2);
  for (int64_t i = 0; i < b.numel(); ++i) b.f32()[i] += 0.01f * noise.f32()[i];
  for (double t : linspace(0.0, 1.0, 5)) EXPECT_TRUE(bitwise_equal(slerp(t, a, b), notebook_linear(t, a, b))) << t;
}

TEST(Slerp, TakesTheSphericalBranchBelowTheThreshold) {
  // dot = 0.9994: spherical. Its midpoint stays on the unit sphere; the chord's would be cos(a/2).
  const double angle = std::acos(0.9994);
  const auto [v0, v1] = unit_pair(angle);
  const Tensor mid = slerp(0.5, v0, v1);
  EXPECT_NEAR(norm(mid), 1.0, 2e-7);
  EXPECT_GT(std::fabs(norm(notebook_linear(0.5, v0, v1)) - 1.0), 1e-4);  // the linear one would be visibly off
  EXPECT_FALSE(bitwise_equal(mid, notebook_linear(0.5, v0, v1)));
  // The threshold argument is honoured: a threshold below the dot forces the linear branch.
  EXPECT_TRUE(bitwise_equal(slerp(0.5, v0, v1, 0.5), notebook_linear(0.5, v0, v1)));
}

TEST(Slerp, FollowsTheGreatCircleBetweenOrthogonalVectors) {
  const auto [v0, v1] = unit_pair(std::acos(0.0));
  for (double t : linspace(0.0, 1.0, 9)) {
    const Tensor v = slerp(t, v0, v1);
    EXPECT_NEAR(v.f32()[0], std::cos(t * std::numbers::pi / 2), 2e-7) << t;
    EXPECT_NEAR(v.f32()[1], std::sin(t * std::numbers::pi / 2), 2e-7) << t;
  }
}

TEST(Slerp, KeepsTheShapeOfV0AndAcceptsAnyShapeWithTheSameCount) {
  const Tensor a = gaussian({2, 77, 8}, 3), b = gaussian({1, 2 * 77 * 8}, 4);
  const Tensor v = slerp(0.3, a, b);
  EXPECT_EQ(v.shape(), a.shape());
  EXPECT_NE(error_of([&] { slerp(0.3, a, gaussian({5}, 5)); }).find("element counts"), std::string::npos);
}

TEST(Slerp, ZeroVectorsTakeTheLinearBranchInsteadOfNaN) {
  const Tensor zero({16});
  const Tensor b = gaussian({16}, 6);
  const Tensor v = slerp(0.25, zero, b);
  for (int64_t i = 0; i < v.numel(); ++i) ASSERT_FALSE(std::isnan(v.f32()[i]));
  EXPECT_TRUE(bitwise_equal(v, notebook_linear(0.25, zero, b)));
}

TEST(Lerp, IsTorchLerpExactAtTheEnds) {
  const Tensor a = Tensor::from_vector({3}, {1.0f, -2.0f, 10.0f});
  const Tensor b = Tensor::from_vector({3}, {3.0f, 2.0f, 10.0f});
  EXPECT_TRUE(bitwise_equal(lerp(0.0, a, b), a));
  EXPECT_TRUE(bitwise_equal(lerp(1.0, a, b), b));
  const Tensor q = lerp(0.25, a, b), h = lerp(0.75, a, b);
  EXPECT_EQ(q.f32()[0], 1.5f);
  EXPECT_EQ(q.f32()[1], -1.0f);
  EXPECT_EQ(h.f32()[0], 2.5f);
  EXPECT_EQ(h.f32()[2], 10.0f);
  // t >= 0.5 counts back from the end: end - (1 - t)(end - start), one rounding (fused).
  const Tensor x = Tensor::from_vector({1}, {0.1f}), y = Tensor::from_vector({1}, {0.7f});
  EXPECT_EQ(lerp(0.6, x, y).f32()[0], std::fma(float(0.6) - 1.0f, 0.7f - 0.1f, 0.7f));
}

TEST(Planners, RejectBadInputsWithANamedError) {
  const Tensor e = gaussian({1, 77, 8}, 7), n1 = gaussian({1, 4, 8, 8}, 8), n2 = gaussian({2, 4, 8, 8}, 9);
  EXPECT_NE(error_of([&] { plan_drift(e, e, n1, 1, 0.001); }).find("at least 2"), std::string::npos);
  EXPECT_NE(error_of([&] { plan_noise(e, e, n2, 0); }).find("at least 2"), std::string::npos);
  EXPECT_NE(error_of([&] { plan_noise(e, e, n1, 4); }).find("noise walk: noises"), std::string::npos);
  EXPECT_NE(error_of([&] { plan_circle(e, e, gaussian({3, 4, 8, 8}, 1), 4, false); }).find("two noises"),
            std::string::npos);
  EXPECT_NE(error_of([&] { plan_drift(e, gaussian({1, 77, 9}, 1), n1, 3, 0.001); }).find("same shape"),
            std::string::npos);
  EXPECT_NE(error_of([&] { plan_drift(gaussian({2, 77, 8}, 1), e, n1, 3, 0.001); }).find("[2, 77, 8]"),
            std::string::npos);
  EXPECT_NE(error_of([&] { plan_drift(e, e, gaussian({2, 4, 8, 8}, 1), 3, 0.001); }).find("drift walk: noise"),
            std::string::npos);
  EXPECT_NE(error_of([&] { plan_prompts({e}, {e}, n1, 4, false); }).find("at least two prompts"), std::string::npos);
  EXPECT_NE(error_of([&] { plan_prompts({e, e, e}, {e, e}, n1, 4, false); }).find("3 prompt embeddings but 2"),
            std::string::npos);
  EXPECT_NE(error_of([&] { plan_prompts({e, gaussian({1, 76, 8}, 1)}, {e, e}, n1, 4, false); })
                .find("prompt embeddings[1]"),
            std::string::npos);
}

TEST(Planners, AcceptUnbatchedInputsAndHandFramesBatchOne) {
  const Tensor e = gaussian({77, 8}, 10), n = gaussian({4, 8, 8}, 11);
  const auto frames = plan_drift(e, e, n, 3, 0.5);
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_EQ(frames[2].cond.shape(), (Shape{1, 77, 8}));
  EXPECT_EQ(frames[2].latents.shape(), (Shape{1, 4, 8, 8}));
  EXPECT_EQ(frames[2].cond.f32()[5], e.f32()[5] + 1.0f);
  EXPECT_DOUBLE_EQ(frames[2].t, 1.0);
}

TEST(Planners, SeamlessFrameCounts) {
  const Tensor e = gaussian({1, 77, 8}, 12), n1 = gaussian({1, 4, 8, 8}, 13);
  const Tensor n2 = gaussian({2, 1, 4, 8, 8}, 14);
  const std::vector<Tensor> p = {gaussian({1, 77, 8}, 15), gaussian({1, 77, 8}, 16), gaussian({1, 77, 8}, 17),
                                 gaussian({1, 77, 8}, 18)};
  for (int n : {2, 5, 30}) {
    EXPECT_EQ(plan_prompts(p, p, n1, n, false).size(), size_t(3 * n));
    EXPECT_EQ(plan_prompts(p, p, n1, n, true).size(), size_t(3 * (n - 1) + 1));
    EXPECT_EQ(plan_circle(e, e, n2, n, false).size(), size_t(n));
    EXPECT_EQ(plan_circle(e, e, n2, n, true).size(), size_t(n - 1));
  }
  // Positions along a seamless chain are strictly increasing, 0 .. P-1.
  const auto frames = plan_prompts(p, p, n1, 5, true);
  for (size_t i = 1; i < frames.size(); ++i) EXPECT_GT(frames[i].t, frames[i - 1].t);
  EXPECT_EQ(frames.front().t, 0.0);
  EXPECT_EQ(frames.back().t, 3.0);
}

TEST(CircleScales, AreTorchsFloat32Linspace) {
  // torch.linspace(0, 2, 6, dtype=float32): step 0.4f, first half up from 0, second half down from 2.
  const CircleScales s = circle_scales(6);
  const float step = 2.0f / 5.0f;
  EXPECT_EQ(s.t, (std::vector<float>{0.0f, step, 2 * step, 2.0f - 2 * step, 2.0f - step, 2.0f}));
  EXPECT_EQ(s.x.front(), 1.0f);
  EXPECT_EQ(s.y.front(), 0.0f);
  EXPECT_EQ(s.x.back(), 1.0f);
  EXPECT_NEAR(s.y.back(), 1.7484555e-07f, 1e-13);  // sin(float32(2 pi)), as the README notes
}

}  // namespace
}  // namespace sdwalk
