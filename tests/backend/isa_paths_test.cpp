// Our own kernels on every ISA path the CPU can run (ops::set_isa), llama.cpp test-backend-ops style.
// Norms and activations are built without FP contraction, so every path must give the very bits of
// the generic path; the other tests in this folder check the default path against double-precision
// references, so together every path meets the references.
#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "backend/reference.hpp"
#include "backend/cpu/ops.hpp"

namespace sdwalk::test {
namespace {

bool bit_equal(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && a.dtype() == b.dtype() && std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0;
}

struct OpCase {
  std::string name;
  std::function<Tensor()> run;
};

std::vector<OpCase> op_cases() {
  // Odd sizes: every path's vector tails run too.
  static const Tensor img = random_tensor({2, 5, 7, 96}, 1, 2.0f, 0.5f);
  static const Tensor seq = random_tensor({3, 11, 83}, 2, 3.0f, -1.0f);
  static const Tensor gamma96 = random_tensor({96}, 3, 0.5f, 1.0f), beta96 = random_tensor({96}, 4);
  static const Tensor gamma83 = random_tensor({83}, 5, 0.5f, 1.0f), beta83 = random_tensor({83}, 6);
  static const Tensor wide = random_tensor({4, 2 * 77}, 7, 2.0f);
  return {
      {"group_norm", [] { return ops::group_norm(img, 32, gamma96, beta96, 1e-5f); }},
      {"group_norm_silu_bf16", [] { return ops::group_norm(img, 8, gamma96, beta96, 1e-6f, true, DType::BF16); }},
      {"layer_norm", [] { return ops::layer_norm(seq, gamma83, beta83, 1e-5f); }},
      {"layer_norm_bf16", [] { return ops::layer_norm(seq, gamma83, beta83, 1e-5f, DType::BF16); }},
      {"silu", [] { return ops::silu(seq); }},
      {"gelu", [] { return ops::gelu(seq); }},
      {"quick_gelu", [] { return ops::quick_gelu(seq); }},
      {"geglu", [] { return ops::geglu(wide); }},
      {"geglu_bf16", [] { return ops::geglu(wide, DType::BF16); }},
      {"to_bf16", [] { return ops::to_bf16(seq); }},
  };
}

class IsaPaths : public ::testing::Test {
 protected:
  void TearDown() override {
    ops::set_isa(saved_);
    ops::set_threads(0);
  }
  ops::Isa saved_ = ops::isa();
};

TEST_F(IsaPaths, NormsAndActivationsGiveTheGenericPathsBits) {
  for (const OpCase& c : op_cases()) {
    ops::set_isa(ops::Isa::Generic);
    ops::set_threads(1);
    const Tensor want = c.run();
    for (ops::Isa isa : ops::supported_isas())
      for (int threads : {1, 2}) {
        ops::set_isa(isa);
        ops::set_threads(threads);
        EXPECT_TRUE(bit_equal(c.run(), want)) << c.name << " on " << ops::isa_name(isa) << ", " << threads << " threads";
      }
  }
}

TEST_F(IsaPaths, EveryPathThisCpuCanRunIsListedAndSettable) {
  const auto isas = ops::supported_isas();
  ASSERT_FALSE(isas.empty());
  EXPECT_EQ(isas.front(), ops::Isa::Generic);  // every x86-64 CPU runs the generic path
  for (ops::Isa isa : isas) {
    ops::set_isa(isa);
    EXPECT_EQ(ops::isa(), isa);
    EXPECT_EQ(ops::parse_isa(ops::isa_name(isa), "test"), isa);
  }
  std::printf("[ paths ] ");
  for (ops::Isa isa : isas) std::printf("%s ", ops::isa_name(isa).c_str());
  std::printf("\n");
}

}  // namespace
}  // namespace sdwalk::test
