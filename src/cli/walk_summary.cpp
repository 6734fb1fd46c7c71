#include "cli/walk_summary.hpp"

#include <cstdio>

#include "sdwalk/smoothness_report.hpp"

namespace sdwalk::cli {

void print_walk_summary(const WalkResult& r, const WalkSettings& s) {
  if (s.pacing == Pacing::Even && r.uniform_steps > 0)
    std::fprintf(stderr, "even pacing: %.0f denoising steps for %zu frames = %.2fx the uniform walk's %.0f%s\n",
                 r.unet_steps, r.frames, r.unet_steps / r.uniform_steps, r.uniform_steps,
                 r.rendered == 0 ? " (all points were in the run folder)" : "");
  for (const auto& c : r.cuts)
    std::fprintf(stderr, "cut at t = %.4f (distance %.3f): %s\n", c.t, c.distance,
                 c.blended ? "bridged by trajectory blending" : "left as it is (--blend off, or no step blended it)");
  if (r.smoothness.distances.empty()) return;
  std::fprintf(stderr, "smoothness: max/median %.2f, 1 - Gini %.2f (report: %s)\n", r.smoothness.max_over_median,
               r.smoothness.one_minus_gini, report_paths(r.output).json.c_str());
}

}  // namespace sdwalk::cli
