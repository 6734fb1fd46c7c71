#include "output/temp_path.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "core/atomic_file.hpp"
#include "sdwalk/error.hpp"
#include "core/file_checks.hpp"

namespace sdwalk::detail {
namespace {

std::filesystem::path folder_of(const std::filesystem::path& p) {
  return p.has_parent_path() ? p.parent_path() : std::filesystem::path(".");
}

std::string why() { return std::string(" (") + std::strerror(errno) + ")"; }

}  // namespace

TempFile::TempFile(std::filesystem::path final_path, const std::string& suffix)
    : final_(std::move(final_path)) {
  std::string name = ".";  // built by appending: GCC 12 warns falsely on "." + string (bug 105329)
  name += final_.filename().string();
  name += ".tmp-XXXXXX";
  name += suffix;
  std::string tmpl = (folder_of(final_) / name).string();
  const int fd = ::mkstemps(tmpl.data(), int(suffix.size()));
  if (fd < 0) throw Error(final_.string() + ": cannot write" + why());
  ::fchmod(fd, 0644);
  ::close(fd);
  temp_ = tmpl;
}

TempFile::~TempFile() {
  if (!committed_) {
    std::error_code ec;
    std::filesystem::remove(temp_, ec);
  }
}

void TempFile::commit(bool no_clobber) {
  const int fd = ::open(temp_.c_str(), O_RDONLY);
  if (fd < 0 || ::fsync(fd) != 0) {
    const std::string reason = why();
    if (fd >= 0) ::close(fd);
    throw Error(final_.string() + ": write failed" + reason);
  }
  ::close(fd);
  if (no_clobber) {
    // link() fails with EEXIST instead of replacing: never overwrite an existing output.
    if (::link(temp_.c_str(), final_.c_str()) != 0) throw Error(final_.string() + ": cannot create" + why());
    std::filesystem::remove(temp_);
  } else {
    check_replaceable(final_);  // never turn a device, FIFO or symlink into a file
    if (std::rename(temp_.c_str(), final_.c_str()) != 0) throw Error(final_.string() + ": cannot rename into place" + why());
  }
  committed_ = true;
}

TempDir::TempDir(const std::filesystem::path& beside, const std::string& tag) {
  std::string name = ".";
  name += beside.filename().string();
  name += "." + tag + "-XXXXXX";
  std::string tmpl = (folder_of(beside) / name).string();
  if (!::mkdtemp(tmpl.data())) throw Error(beside.string() + ": cannot create a temporary folder beside it" + why());
  dir_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

void remove_leftover_temporaries(const std::filesystem::path& final_path) {
  const std::filesystem::path dir = folder_of(final_path);
  std::string base = ".";
  base += final_path.filename().string();
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    for (const char* tag : {".tmp-", ".pingpong-"})
      if (name.rfind(base + tag, 0) == 0) std::filesystem::remove_all(e.path(), ec);
  }
}

void copy_file_atomically(const std::filesystem::path& from, const std::filesystem::path& to) {
  FILE* in = std::fopen(from.c_str(), "rb");
  if (!in) throw Error(from.string() + ": cannot open" + why());
  std::unique_ptr<FILE, int (*)(FILE*)> guard(in, std::fclose);
  AtomicFile out(to);
  std::vector<char> buffer(1 << 16);
  size_t n;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), in)) > 0) out.write(buffer.data(), n);
  if (std::ferror(in)) throw Error(from.string() + ": read failed" + why());
  out.commit();
}

}  // namespace sdwalk::detail
