#pragma once
// Writes a file under a temporary name in the same folder and renames it into place on commit(),
// so a reader never sees a half-written file. Destroyed without commit(): the temporary is removed.
#include <cstddef>
#include <cstdio>
#include <filesystem>
#include <string>

namespace sdwalk {

class AtomicFile {
 public:
  explicit AtomicFile(std::filesystem::path path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const void* data, size_t size);  // throws Error (e.g. disk full) naming the file
  FILE* stream() { return file_; }            // for libraries that want a FILE*
  const std::filesystem::path& temp_path() const { return temp_; }
  // Flushes, fsyncs and renames over the final path. When `no_clobber`, fails if it exists; otherwise
  // it replaces only a regular file (never a device, FIFO, folder or symlink).
  void commit(bool no_clobber = false);

 private:
  std::filesystem::path path_, temp_;
  FILE* file_ = nullptr;
  bool committed_ = false;
};

}  // namespace sdwalk
