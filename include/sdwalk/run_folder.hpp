#pragma once
// A walk's run folder: settings.json, one frame_000000.png ... per frame (each written atomically),
// and where the walk's animation goes. The one home of a run's names and files: choosing them for a
// new walk, reopening an interrupted one, which frames exist, whether they may be kept, and the
// animation written from them at the end.
#include <filesystem>
#include <nlohmann/json.hpp>
#include <vector>

#include "sdwalk/frame_distance.hpp"
#include "sdwalk/shard.hpp"
#include "sdwalk/walk_settings.hpp"

namespace sdwalk {

class RunFolder {
 public:
  // A new walk: settings.output names the animation (x.gif, ...; for format png the frames folder),
  // or, when empty, a new sdwalk-YYYYMMDD-HHMMSS name is chosen in save_path (created if missing).
  // The run folder is the animation's name without extension beside it. Refuses an output or run
  // folder that exists (Error saying to resume it); settings.format and .output (absolute) are set.
  // Nothing is created on disk but save_path: the folder appears with the first frame.
  static RunFolder create(WalkSettings settings, const std::filesystem::path& save_path = "output");
  // A new walk whose frames are split over shards that share the folder: the output must be named
  // (every shard derives the same folder from it), and the folder may exist already (another shard
  // made it); settings.json decides whether the shards agree (share_settings).
  static RunFolder create_shared(WalkSettings settings);
  // An interrupted (or finished) run: its settings.json.
  static RunFolder open(const std::filesystem::path& dir);

  const std::filesystem::path& dir() const { return dir_; }
  WalkSettings& settings() { return settings_; }
  const WalkSettings& settings() const { return settings_; }
  bool resumed() const { return resumed_; }

  std::filesystem::path frame_path(size_t index) const;
  // The indices in [0, count) whose frame file is not on disk, ascending.
  std::vector<size_t> missing_frames(size_t count) const;
  // Throws Error naming what changed when a frame on disk was rendered under another fingerprint.
  void check_frames(const nlohmann::json& fingerprint) const;

  // Shards: writes settings.json unless another shard did (atomically: the first writer wins); when
  // it exists, Error naming the settings that differ from this shard's.
  void share_settings() const;

  // Every frame of the walk on disk (Error listing the missing ones, and which shards own them),
  // all rendered under the run's fingerprint: then write_animation. Needs no model.
  void assemble() const;

  // The animation of the `count` frames on disk (ping-pong: forward, then back without the ends),
  // streamed from the frame files, with the settings as JSON beside it (GIF and WebP carry no
  // text). Nothing is written when the animation exists already (a resumed run that had finished)
  // or for PNG frames (the run folder is the output).
  void write_animation(size_t count) const;
  // The smoothness report of the settings.frame_count frames on disk beside the animation
  // (smoothness_report.hpp), with the run's pacing settings in it; returns its figures.
  Smoothness write_report(const nlohmann::json& extra = {}) const;
  // Rewrites settings.json from settings() (e.g. once even pacing knows the frame count).
  void save_settings() const;

 private:
  RunFolder(std::filesystem::path dir, WalkSettings settings, bool resumed)
      : dir_(std::move(dir)), settings_(std::move(settings)), resumed_(resumed) {}

  std::filesystem::path dir_;
  WalkSettings settings_;
  bool resumed_ = false;
};

}  // namespace sdwalk
