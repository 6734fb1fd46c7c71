#pragma once
// The last lines of a walk's progress output: what even pacing cost, the cuts it found, and how
// smooth the frames came out (the report beside the animation has the rest).
#include "sdwalk/engine.hpp"

namespace sdwalk::cli {

void print_walk_summary(const WalkResult& result, const WalkSettings& settings);

}  // namespace sdwalk::cli
