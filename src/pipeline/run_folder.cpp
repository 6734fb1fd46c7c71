#include "sdwalk/run_folder.hpp"
#include "sdwalk/smoothness_report.hpp"
#include "pipeline/frame_files.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <set>

#include "output/temp_path.hpp"
#include "sdwalk/animation.hpp"
#include "core/atomic_file.hpp"
#include "sdwalk/error.hpp"
#include "core/file_checks.hpp"
#include "sdwalk/image.hpp"
#include "pipeline/run_fingerprint.hpp"

namespace sdwalk {
namespace fs = std::filesystem;

namespace {

std::string timestamp_name() {
  char buf[64];
  const std::time_t now = std::time(nullptr);
  std::strftime(buf, sizeof buf, "sdwalk-%Y%m%d-%H%M%S", std::localtime(&now));
  return buf;
}

// The frames folder for PNG frames, else a folder beside the animation with its name minus the extension.
fs::path run_dir_of(const WalkSettings& s) {
  if (s.format == "png") return s.output;
  const fs::path p(s.output);
  return p.parent_path() / p.stem();
}

// Names settings.output (and .format) for a new walk, refusing what is taken.
void choose_output(WalkSettings& s, const fs::path& save_path) {
  if (!s.output.empty()) s.format = extension_of(output_format(s.output, s.format));
  if (s.format.empty()) s.format = "gif";
  format_from_name(s.format);  // validates
  if (s.output.empty()) {
    std::error_code ec;
    fs::create_directories(save_path, ec);
    check(fs::is_directory(save_path), save_path.string() + ": cannot create the save folder (" + ec.message() + ")");
    const std::string ext = s.format == "png" ? "" : "." + s.format;
    const std::string stem = timestamp_name();
    fs::path p = save_path / (stem + ext);
    for (int i = 1; !what_is_at(p).empty() || !what_is_at(p.parent_path() / p.stem()).empty(); ++i)
      p = save_path / (stem + "-" + std::to_string(i) + ext);
    s.output = p.string();
  } else {
    if (s.format != "png")
      check_output_path(s.output, false, "sdwalk never overwrites an output (use --resume for an interrupted run)");
    const fs::path run = run_dir_of(s);
    const std::string at_run = what_is_at(run);
    check(at_run.empty() || at_run == "a folder", run.string() + ": is " + at_run + "; the run folder needs this name");
    check(at_run.empty(), run.string() + ": a run folder of that name exists; resume it with --resume " + run.string());
  }
  const fs::path out(s.output);
  const fs::path dir = out.has_parent_path() ? out.parent_path() : fs::path(".");
  check(fs::is_directory(dir), s.output + ": folder " + dir.string() + " does not exist");
  s.output = fs::absolute(out).string();
}

void write_text_file(const fs::path& path, const std::string& text) {
  AtomicFile f(path);
  f.write(text.data(), text.size());
  f.commit();
}

}  // namespace

RunFolder RunFolder::create(WalkSettings settings, const fs::path& save_path) {
  // Absolute paths, so that a resume works from any folder.
  for (std::string* p : {&settings.model, &settings.tokenizer, &settings.config})
    if (!p->empty()) *p = fs::absolute(*p).lexically_normal().string();
  if (!settings.noise_file.empty()) settings.noise_file = fs::absolute(settings.noise_file).string();
  for (std::string& image : settings.images)  // "": a prompt keyframe
    if (!image.empty()) image = fs::absolute(image).lexically_normal().string();
  settings.validate();
  choose_output(settings, save_path);
  fs::path dir = run_dir_of(settings);
  return RunFolder(std::move(dir), std::move(settings), false);
}

RunFolder RunFolder::create_shared(WalkSettings settings) {
  check(!settings.output.empty(), "a walk split over shards needs its --output named: every shard finds the shared "
                                  "run folder by that name");
  for (std::string* p : {&settings.model, &settings.tokenizer, &settings.config})
    if (!p->empty()) *p = fs::absolute(*p).lexically_normal().string();
  if (!settings.noise_file.empty()) settings.noise_file = fs::absolute(settings.noise_file).string();
  for (std::string& image : settings.images)  // "": a prompt keyframe
    if (!image.empty()) image = fs::absolute(image).lexically_normal().string();
  settings.validate();
  settings.format = extension_of(output_format(settings.output, settings.format));
  if (settings.format != "png")
    check(what_is_at(settings.output).empty(), settings.output + ": the walk's animation exists already");
  settings.output = fs::absolute(settings.output).string();
  const fs::path out(settings.output);
  check(fs::is_directory(out.parent_path()), settings.output + ": folder " + out.parent_path().string() + " does not exist");
  fs::path dir = run_dir_of(settings);
  const std::string at = what_is_at(dir);
  check(at.empty() || at == "a folder", dir.string() + ": is " + at + "; the run folder needs this name");
  return RunFolder(std::move(dir), std::move(settings), false);
}

RunFolder RunFolder::open(const fs::path& dir) { return RunFolder(dir, WalkSettings::read_run_folder(dir), true); }

fs::path RunFolder::frame_path(size_t index) const { return dir_ / frame_file_name(int64_t(index)); }

std::vector<size_t> RunFolder::missing_frames(size_t count) const {
  std::vector<size_t> missing;
  for (size_t i = 0; i < count; ++i)
    if (!fs::exists(frame_path(i))) missing.push_back(i);
  return missing;
}

void RunFolder::check_frames(const nlohmann::json& fingerprint) const { check_run_frames(dir_, fingerprint); }

void RunFolder::share_settings() const {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  check(fs::is_directory(dir_), dir_.string() + ": cannot create the run folder (" + ec.message() + ")");
  const fs::path file = dir_ / "settings.json";
  const nlohmann::json mine = settings_.to_json();
  // Written under a name of its own (mkstemp: unique even when shards on other hosts share a PID, as
  // pods do), then linked into place: link() fails when another shard's is there, so exactly one
  // shard's settings become the run's.
  bool first = false;
  int link_errno = 0;
  {
    const detail::TempFile temp(file, "");
    std::ofstream out(temp.path());
    out << mine.dump(2) << "\n";
    check(bool(out.flush()), temp.path().string() + ": cannot write (" + std::strerror(errno) + ")");
    out.close();
    first = ::link(temp.path().c_str(), file.c_str()) == 0;
    link_errno = errno;
  }
  if (first) return;
  check(link_errno == EEXIST, file.string() + ": cannot write (" + std::strerror(link_errno) + ")");
  const nlohmann::json theirs = WalkSettings::read_run_folder(dir_).to_json();
  // The settings that differ, and of the fingerprint what the settings do not show (weights, configs).
  std::set<std::string> keys;
  for (auto it = mine.begin(); it != mine.end(); ++it)
    if (it.key() != "fingerprint" && (!theirs.contains(it.key()) || theirs[it.key()] != it.value())) keys.insert(it.key());
  for (const std::string& k : fingerprint_changes(theirs.value("fingerprint", nlohmann::json::object()),
                                                  mine.value("fingerprint", nlohmann::json::object())))
    if (!mine.contains(k)) keys.insert(k);
  std::string differ;
  for (const std::string& k : keys) differ += (differ.empty() ? "" : ", ") + k;
  const bool seeds = theirs["seeds"] != mine["seeds"];
  check(differ.empty(), dir_.string() + ": another shard started this walk with other settings (" + differ +
                            "); every shard must get the same flags and model" +
                            (seeds ? " (give --seed: without it each shard draws its own)" : ""));
}

void RunFolder::assemble() const {
  const WalkSettings& s = settings_;
  check(s.frame_count > 0, dir_.string() + ": settings.json does not say how many frames the walk has (a run of an "
                                           "older sdwalk, or none rendered yet): finish it with sdwalk walk --resume");
  const std::vector<size_t> missing = missing_frames(size_t(s.frame_count));
  if (!missing.empty()) {
    std::string list;
    for (size_t i = 0; i < missing.size() && i < 20; ++i) list += (i ? ", " : "") + std::to_string(missing[i]);
    if (missing.size() > 20) list += ", ...";
    throw Error(dir_.string() + ": " + std::to_string(missing.size()) + " of " + std::to_string(s.frame_count) +
                " frames are missing (" + list + "; frame i belongs to shard i % N): run or resume the shards that "
                "own them, then assemble again");
  }
  if (s.fingerprint.is_object()) check_frames(s.fingerprint);
  write_animation(size_t(s.frame_count));
  write_report();
}

void RunFolder::write_animation(size_t count) const {
  const WalkSettings& s = settings_;
  const AnimationFormat format = format_from_name(s.format);
  if (format == AnimationFormat::PngFrames || what_is_at(s.output) == "a file") return;
  check_output_path(s.output, false, "sdwalk never overwrites an output");
  detail::remove_leftover_temporaries(s.output);  // of an animation a killed run was writing
  AnimationOptions options;
  options.frame_duration_ms = s.frame_duration_ms;
  options.loop = s.loop;
  options.text["sdwalk"] = s.to_json().dump();
  options.no_clobber = true;
  // Ping-pong reads the frames back from the run folder, which holds them all already.
  auto sink = make_frame_sink(format, s.output, options);
  for (size_t i = 0; i < count; ++i) sink->add(read_png(frame_path(i)));
  if (s.ping_pong)
    for (size_t i = count >= 2 ? count - 2 : 0; i >= 1; --i) sink->add(read_png(frame_path(i)));
  sink->finish();
  // The settings beside the animation, so the run can be repeated.
  const fs::path json = fs::path(s.output).replace_extension(".json");
  if (!fs::exists(json)) write_text_file(json, s.to_json().dump(2) + "\n");
}

Smoothness RunFolder::write_report(const nlohmann::json& extra) const {
  const WalkSettings& s = settings_;
  std::vector<Image> frames;
  for (size_t i = 0; i < size_t(s.frame_count); ++i) frames.push_back(read_png(frame_path(i)));
  if (frames.size() < 2) return smoothness_of({});
  nlohmann::json j = extra.is_object() ? extra : nlohmann::json::object();
  j["pacing"] = pacing_name(s.pacing);
  if (s.pacing == Pacing::Even) {
    j["pacing_budget"] = s.pacing_budget;
    j["blend"] = s.blend ? "auto" : "off";
    j["max_jump"] = s.max_jump;
  }
  return write_smoothness_report(frames, report_paths(s.output), j);
}

void RunFolder::save_settings() const { write_settings_file(dir_, settings_.to_json()); }

}  // namespace sdwalk
