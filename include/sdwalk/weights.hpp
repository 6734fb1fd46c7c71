#pragma once
// One network's tensors under diffusers/transformers names (e.g. "down_blocks.0.resnets.0.conv1.weight"),
// whatever the file layout they came from. Tensors keep their stored dtype (views into mmap'ed files);
// models convert what they take once, at construction.
#include <map>
#include <string>
#include <vector>

#include "sdwalk/tensor.hpp"

namespace sdwalk {

class Weights {
 public:
  Weights() = default;
  Weights(std::string network, std::string source) : network_(std::move(network)), source_(std::move(source)) {}

  void add(const std::string& name, Tensor t);
  bool contains(const std::string& name) const { return tensors_.count(name) != 0; }
  // Throws Error "<network>: missing tensor '<name>' (looked in <source>)".
  const Tensor& get(const std::string& name) const;
  // get() converted to f32, after checking the shape: "<network>: tensor '<name>' has shape [..], expected [..]".
  Tensor get_f32(const std::string& name, const Shape& expected) const;
  // Same, when the shape is decided by the tensor itself.
  Tensor get_f32(const std::string& name) const { return get(name).to_f32(); }
  std::vector<std::string> names() const;
  size_t size() const { return tensors_.size(); }
  int64_t parameter_count() const;
  const std::string& network() const { return network_; }
  const std::string& source() const { return source_; }

 private:
  std::string network_, source_;
  std::map<std::string, Tensor> tensors_;
};

// Drops this process's resident pages of `t` when it is a view into a checkpoint mapped by
// SafeTensors::open (the bytes stay in the file and come back when touched again); a no-op for
// tensors in ordinary memory. Call after a weight has been converted, checked or hashed, so the
// resident set holds the converted weights and not the file too.
void release_mapped_pages(const Tensor& t);
void release_mapped_pages(const Weights& w);

}  // namespace sdwalk
