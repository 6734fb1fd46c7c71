#pragma once
// The files of a run folder that every way of rendering writes alike: settings.json and each frame's
// metadata (the PNG's "sdwalk" text).
#include <filesystem>
#include <nlohmann/json.hpp>

#include "sdwalk/shard.hpp"
#include "sdwalk/walk.hpp"
#include "sdwalk/walk_settings.hpp"

namespace sdwalk {

// Removes a run folder this run created when it fails before anything resumable is on disk: such a
// folder holds nothing to resume, and its name would block the same command.
class NewRunFolder {
 public:
  explicit NewRunFolder(const std::filesystem::path& dir);
  ~NewRunFolder();
  void keep() { kept_ = true; }

 private:
  std::filesystem::path dir_;
  bool created_, kept_ = false;
};

// A killed run leaves the temporary of the file it was writing: removes those of `shard`'s frames
// (and of settings.json and the pacing points when the shard is the whole walk).
void remove_run_temporaries(const std::filesystem::path& run_dir, const Shard& shard);

// settings.json, written atomically.
void write_settings_file(const std::filesystem::path& run_dir, const nlohmann::json& settings);
// The run's settings, plus which frame this is, its t, LoRA scales and seed.
nlohmann::json frame_metadata(const nlohmann::json& settings, size_t index, const Frame& frame, const WalkSettings& s);

}  // namespace sdwalk
