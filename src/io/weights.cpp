#include "sdwalk/weights.hpp"

#include "sdwalk/error.hpp"

namespace sdwalk {

void Weights::add(const std::string& name, Tensor t) {
  check(tensors_.emplace(name, std::move(t)).second, network_ + ": tensor '" + name + "' given twice (" + source_ + ")");
}

void Weights::replace(const std::string& name, Tensor t) {
  auto it = tensors_.find(name);
  check(it != tensors_.end(), network_ + ": no tensor '" + name + "' to replace (" + source_ + ")");
  it->second = std::move(t);
}

const Tensor& Weights::get(const std::string& name) const {
  auto it = tensors_.find(name);
  if (it == tensors_.end()) throw Error(network_ + ": missing tensor '" + name + "' (looked in " + source_ + ")");
  return it->second;
}

Tensor Weights::get_f32(const std::string& name, const Shape& expected) const {
  const Tensor& t = get(name);
  check(t.shape() == expected, network_ + ": tensor '" + name + "' has shape " + shape_string(t.shape()) +
                                   ", expected " + shape_string(expected) + " (" + source_ + ")");
  return t.to_f32();
}

std::vector<std::string> Weights::names() const {
  std::vector<std::string> out;
  out.reserve(tensors_.size());
  for (const auto& [k, v] : tensors_) out.push_back(k);
  return out;
}

int64_t Weights::parameter_count() const {
  int64_t n = 0;
  for (const auto& [k, v] : tensors_) n += v.numel();
  return n;
}

}  // namespace sdwalk
