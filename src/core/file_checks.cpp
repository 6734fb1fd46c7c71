#include "core/file_checks.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "sdwalk/error.hpp"

namespace sdwalk {
namespace {

std::string kind_of(mode_t mode) {
  if (S_ISREG(mode)) return "a file";
  if (S_ISLNK(mode)) return "a symlink";
  if (S_ISDIR(mode)) return "a folder";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISCHR(mode) || S_ISBLK(mode)) return "a device";
  return "not a regular file";
}

}  // namespace

std::string what_is_at(const std::filesystem::path& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return "";
    throw Error(path.string() + ": cannot check what is there (" + std::strerror(errno) + ")");
  }
  return kind_of(st.st_mode);
}

void check_regular_file(const std::filesystem::path& path, const std::string& expected) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    throw Error(path.string() + ": cannot open (" + (errno == ENOENT ? std::string("missing") : std::strerror(errno)) +
                "); expected " + expected);
  check(S_ISREG(st.st_mode),
        path.string() + ": not a regular file (" + kind_of(st.st_mode) + "); expected " + expected);
}

void check_output_path(const std::filesystem::path& path, bool replace, const std::string& replace_hint) {
  const std::string what = what_is_at(path);
  if (what.empty()) return;
  if (what == "a file") {
    check(replace, path.string() + ": exists already; " + replace_hint);
    return;
  }
  throw Error(path.string() + ": is " + what + "; expected the name of a new file (sdwalk writes only regular files)");
}

void check_replaceable(const std::filesystem::path& path) {
  const std::string what = what_is_at(path);
  check(what.empty() || what == "a file",
        path.string() + ": is " + what + " now; not replacing it with a regular file");
}

}  // namespace sdwalk
