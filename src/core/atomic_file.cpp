#include "core/atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "sdwalk/error.hpp"
#include "core/file_checks.hpp"

namespace sdwalk {

AtomicFile::AtomicFile(std::filesystem::path path) : path_(std::move(path)) {
  const auto dir = path_.has_parent_path() ? path_.parent_path() : std::filesystem::path(".");
  std::string name = ".";  // built by appending: GCC 12 warns falsely on "." + string (bug 105329)
  name += path_.filename().string();
  name += ".tmp-XXXXXX";
  std::string tmpl = (dir / name).string();
  const int fd = ::mkstemp(tmpl.data());
  if (fd < 0)
    throw Error(path_.string() + ": cannot write (" + std::strerror(errno) + ")");
  ::fchmod(fd, 0644);
  temp_ = tmpl;
  file_ = ::fdopen(fd, "wb");
  if (!file_) {
    ::close(fd);
    std::filesystem::remove(temp_);
    throw Error(path_.string() + ": cannot write (" + std::strerror(errno) + ")");
  }
}

AtomicFile::~AtomicFile() {
  if (file_) std::fclose(file_);
  if (!committed_) {
    std::error_code ec;
    std::filesystem::remove(temp_, ec);
  }
}

void AtomicFile::write(const void* data, size_t size) {
  if (size && std::fwrite(data, 1, size, file_) != size)
    throw Error(path_.string() + ": write failed (" + std::strerror(errno) + ")");
}

void AtomicFile::commit(bool no_clobber) {
  const bool ok = std::fflush(file_) == 0 && ::fsync(::fileno(file_)) == 0;
  const int err = errno;
  std::fclose(file_);
  file_ = nullptr;
  if (!ok) throw Error(path_.string() + ": write failed (" + std::strerror(err) + ")");
  if (no_clobber) {
    // link() fails with EEXIST instead of replacing: never overwrite an existing output.
    if (::link(temp_.c_str(), path_.c_str()) != 0)
      throw Error(path_.string() + ": cannot create (" + std::strerror(errno) + ")");
    std::filesystem::remove(temp_);
  } else {
    check_replaceable(path_);  // never turn a device, FIFO or symlink into a file
    if (std::rename(temp_.c_str(), path_.c_str()) != 0)
      throw Error(path_.string() + ": cannot rename into place (" + std::strerror(errno) + ")");
  }
  committed_ = true;
}

}  // namespace sdwalk
