#pragma once
// One network's tensors under diffusers/transformers names (e.g. "down_blocks.0.resnets.0.conv1.weight"),
// whatever the file layout they came from. Tensors keep their stored dtype (views into mmap'ed files);
// models convert what they take once, at construction.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "sdwalk/lora_scales.hpp"
#include "sdwalk/tensor.hpp"

namespace sdwalk {

// One LoRA adapter's factors on one module, applied at run time (LoraMode::Branch, sdwalk/lora.hpp).
struct LowRankFactors {
  Tensor down, up;     // f32 [r, in(, kh, kw)], [out, r(, 1, 1)]
  double scaling = 1;  // alpha / rank
  size_t adapter = 0;  // row of LoraScales
};

class Weights {
 public:
  Weights() = default;
  Weights(std::string network, std::string source) : network_(std::move(network)), source_(std::move(source)) {}

  void add(const std::string& name, Tensor t);
  // Replaces an existing tensor (a LoRA merged into it); Error when there is none.
  void replace(const std::string& name, Tensor t);
  // Run-time LoRA branches: the models attach these to the layer `module` (its weight is <module>.weight).
  void add_low_rank(const std::string& module, LowRankFactors f) { low_rank_[module].push_back(std::move(f)); }
  const std::vector<LowRankFactors>* low_rank(const std::string& module) const {
    auto it = low_rank_.find(module);
    return it == low_rank_.end() ? nullptr : &it->second;
  }
  void set_lora_scales(std::shared_ptr<const LoraScales> s) { lora_scales_ = std::move(s); }
  const std::shared_ptr<const LoraScales>& lora_scales() const { return lora_scales_; }
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
  std::map<std::string, std::vector<LowRankFactors>> low_rank_;
  std::shared_ptr<const LoraScales> lora_scales_;
};

// Drops this process's resident pages of `t` when it is a view into a checkpoint mapped by
// SafeTensors::open (the bytes stay in the file and come back when touched again); a no-op for
// tensors in ordinary memory. Call after a weight has been converted, checked or hashed, so the
// resident set holds the converted weights and not the file too.
void release_mapped_pages(const Tensor& t);
void release_mapped_pages(const Weights& w);

}  // namespace sdwalk
