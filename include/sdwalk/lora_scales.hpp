#pragma once
// The strengths of run-time LoRA branches (LoraMode::Branch): scale[adapter][sample]. A row with one
// value applies to the whole batch; with B values, sample n of a batch uses value n % B (the
// unconditional and conditional halves of a CFG batch are the same frames in the same order).
// Shared by every branch of a model and changed between calls (frame by frame), never during one.
#include <vector>

namespace sdwalk {

struct LoraScales {
  std::vector<std::vector<float>> by_adapter;
  float at(size_t adapter, int64_t sample) const {
    if (adapter >= by_adapter.size() || by_adapter[adapter].empty()) return 0.0f;
    const auto& row = by_adapter[adapter];
    return row[size_t(sample) % row.size()];
  }
};

}  // namespace sdwalk
