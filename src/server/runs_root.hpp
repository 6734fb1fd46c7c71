#pragma once
// The folder the server keeps its runs in, and the one place that turns names from requests into
// paths: run ids are [A-Za-z0-9_-] only, and every path handed out resolves (symlinks followed)
// inside the root, so no request reads or writes anything else.
#include <filesystem>
#include <optional>
#include <string>

namespace sdwalk::server {

bool valid_run_id(const std::string& id);

class RunsRoot {
 public:
  explicit RunsRoot(const std::filesystem::path& dir);  // created when missing; Error when it cannot be
  const std::filesystem::path& dir() const { return dir_; }
  // runs_root/<id>: HttpError 400 for an id of other characters (or too long).
  std::filesystem::path run_dir(const std::string& id) const;
  // `path` when it exists and its canonical path lies inside the root (nullopt otherwise: missing,
  // or a symlink leading out).
  std::optional<std::filesystem::path> existing_inside(const std::filesystem::path& path) const;

 private:
  std::filesystem::path dir_;  // canonical
};

}  // namespace sdwalk::server
