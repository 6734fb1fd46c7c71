#pragma once
// What a walk's pixels depend on, so that --resume never mixes frames of two runs: the settings that
// change pixels (not the output's name, format or timing), and hashes of the model's weights, configs
// and tokenizer files and of the noise file. Every frame carries it (in its settings text chunk).
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "sdwalk/model_files.hpp"
#include "sdwalk/walk_settings.hpp"

namespace sdwalk {

// A flat JSON object: setting name -> value, "weights" / "unet config" / ... -> hash.
nlohmann::json run_fingerprint(const WalkSettings& settings, const ModelFiles& files);

// The keys whose values differ between two fingerprints (either side missing counts), sorted.
std::vector<std::string> fingerprint_changes(const nlohmann::json& before, const nlohmann::json& now);

// Throws Error naming what changed when a frame file already in run_dir (frame_*.png) was rendered
// under another fingerprint than `now`. Frames of older runs, which carry none, are not checked.
void check_run_frames(const std::filesystem::path& run_dir, const nlohmann::json& now);

}  // namespace sdwalk
