#pragma once
// The flags of `sdwalk walk`: a new walk's settings, or --resume DIR (with --threads only).
#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "cli/model_options.hpp"
#include "cli/size_conditioning_flags.hpp"
#include "sdwalk/walk_settings.hpp"

namespace sdwalk::cli {

struct WalkArgs {
  WalkSettings s;
  ModelOptions model;
  std::vector<std::string> seed_flags;  // parsed by parse_seed (one rule for every seed)
  std::string save_path = "output/";
  std::string keyframes_file, resume;
  double fps = 0;
  SchedulerOverrides overrides;
  std::string shard;  // "K/N" or "auto": this process renders shard K of N (sdwalk assemble finishes)
  bool mpi = false;   // one shard per MPI rank; rank 0 assembles
  std::string pacing;  // --pacing ("": even where the mode and the run allow it, else uniform)
  // The flags that name a WalkSettings enum, as given (walk_settings_of converts them).
  std::string mode, embed_interp = "slerp", noise_interp = "slerp", blend = "auto";
  SizeConditioningFlags size;  // SDXL's --original-size / --crops-coords-top-left (a keyframe file may set its own)
};

void add_walk_flags(CLI::App* cmd, WalkArgs& args);

// The run's settings.json holds every setting: a flag beside --resume would be ignored or would mix
// two runs. Only --threads (how fast, not what) and --shard/--mpi (which frames) may come with it.
void check_resume_alone(const CLI::App& cmd);

// A new walk's settings from the flags (seeds drawn and printed when none is given, the demo model's
// and a morph's defaults, the keyframes file read, --pacing's default for the mode).
WalkSettings walk_settings_of(WalkArgs& args, bool size_given, SamplingGiven given);

// The model flags a run's settings say (--threads and --max-memory from `flags`).
ModelOptions model_options_of(const WalkSettings& settings, const ModelOptions& flags);

}  // namespace sdwalk::cli
