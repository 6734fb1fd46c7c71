#include "cli/bench_lora.hpp"

#include <string>

#include "sdwalk/torch_generator.hpp"

namespace sdwalk::cli {
namespace {

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// The linear layers kohya's sd-scripts trains by default in a UNet's transformer blocks.
bool lora_target(const std::string& module) {
  for (const char* t : {".to_q", ".to_k", ".to_v", ".to_out.0", ".ff.net.0.proj", ".ff.net.2"})
    if (ends_with(module, t)) return true;
  return false;
}

}  // namespace

LoraAdapter random_unet_lora(const Weights& unet, int rank) {
  LoraAdapter a;
  a.spec.file = "random-rank-" + std::to_string(rank) + ".safetensors";
  a.format = "kohya";
  TorchGenerator g(0);
  for (const std::string& name : unet.names()) {
    if (!ends_with(name, ".weight")) continue;
    const std::string module = name.substr(0, name.size() - 7);
    const Tensor& w = unet.get(name);
    if (!lora_target(module) || w.ndim() != 2) continue;
    LoraLayer l;
    l.network = "unet";
    l.module = module;
    l.down = g.randn({rank, w.dim(1)});
    l.up = g.randn({w.dim(0), rank});
    l.scaling = 0.01 / rank;  // small: the timings must not depend on the values, the images stay sane
    a.layers.push_back(std::move(l));
  }
  return a;
}

}  // namespace sdwalk::cli
