#pragma once
// The files of a run folder that every way of rendering writes alike: settings.json and each frame's
// metadata (the PNG's "sdwalk" text).
#include <filesystem>
#include <nlohmann/json.hpp>

#include "sdwalk/walk.hpp"
#include "sdwalk/walk_settings.hpp"

namespace sdwalk {

// settings.json, written atomically.
void write_settings_file(const std::filesystem::path& run_dir, const nlohmann::json& settings);
// The run's settings, plus which frame this is, its t, LoRA scales and seed.
nlohmann::json frame_metadata(const nlohmann::json& settings, size_t index, const Frame& frame, const WalkSettings& s);

}  // namespace sdwalk
