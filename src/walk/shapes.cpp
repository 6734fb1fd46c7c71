#include "walk/shapes.hpp"

#include "sdwalk/error.hpp"

namespace sdwalk::walk_detail {

namespace {

Tensor f32(const Tensor& t) { return t.dtype() == DType::F32 ? t : t.to_f32(); }

}  // namespace

Tensor embedding1(const Tensor& t, const std::string& what) {
  check(t.defined(), what + ": no tensor given");
  const Shape& s = t.shape();
  if (s.size() == 2) return f32(t).reshape({1, s[0], s[1]});
  check(s.size() == 3 && s[0] == 1,
        what + ": expected embeddings [1, 77, C] or [77, C], got " + shape_string(s));
  return f32(t);
}

Tensor latents1(const Tensor& t, const std::string& what) {
  check(t.defined(), what + ": no tensor given");
  const Shape& s = t.shape();
  if (s.size() == 3) return f32(t).reshape({1, s[0], s[1], s[2]});
  check(s.size() == 4 && s[0] == 1,
        what + ": expected latents [1, 4, h, w] or [4, h, w], got " + shape_string(s));
  return f32(t);
}

std::pair<Tensor, Tensor> noise_pair(const Tensor& noises, const std::string& what) {
  check(noises.defined(), what + ": no tensor given");
  const Shape& s = noises.shape();
  const bool flat = s.size() == 4 && s[0] == 2;
  const bool nested = s.size() == 5 && s[0] == 2 && s[1] == 1;
  check(flat || nested,
        what + ": expected two noises [2, 4, h, w] or [2, 1, 4, h, w], got " + shape_string(s));
  const Shape one = {1, s[s.size() - 3], s[s.size() - 2], s[s.size() - 1]};
  const Tensor all = f32(noises);
  return {all.slice0(0, 1).reshape(one), all.slice0(1, 2).reshape(one)};
}

void check_same_shape(const Tensor& a, const std::string& what_a, const Tensor& b, const std::string& what_b) {
  check(a.shape() == b.shape(), what_a + " " + shape_string(a.shape()) + " and " + what_b + " " +
                                    shape_string(b.shape()) + " must have the same shape");
}

void check_frames(int n, const std::string& what) {
  check(n >= 2, what + ": the number of interpolation steps must be at least 2, got " + std::to_string(n));
}

}  // namespace sdwalk::walk_detail
