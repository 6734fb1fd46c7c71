#include "server/runs_root.hpp"

#include "sdwalk/error.hpp"
#include "server/http_error.hpp"

namespace sdwalk::server {
namespace fs = std::filesystem;

bool valid_run_id(const std::string& id) {
  if (id.empty() || id.size() > 100) return false;
  for (char c : id)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
      return false;
  return true;
}

RunsRoot::RunsRoot(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  check(fs::is_directory(dir), dir.string() + ": cannot create the runs folder (" + ec.message() + ")");
  dir_ = fs::canonical(dir);
}

fs::path RunsRoot::run_dir(const std::string& id) const {
  if (!valid_run_id(id)) throw HttpError(400, "invalid walk id (letters, digits, '_' and '-' only)");
  return dir_ / id;
}

std::optional<fs::path> RunsRoot::existing_inside(const fs::path& path) const {
  std::error_code ec;
  const fs::path real = fs::canonical(path, ec);
  if (ec) return std::nullopt;
  const std::string root = dir_.string() + "/";
  if (real.string().compare(0, root.size(), root) != 0) return std::nullopt;
  return real;
}

}  // namespace sdwalk::server
