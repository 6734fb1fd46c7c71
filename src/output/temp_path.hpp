#pragma once
// Temporary files and folders beside an output, for writers that open files by name (FFmpeg) or
// keep frames on disk (ping-pong). Removed by the destructor unless committed.
#include <filesystem>
#include <string>

namespace sdwalk::detail {

// ".<name>.tmp-XXXXXX<suffix>" beside `final_path`, created empty so no one else takes the name.
class TempFile {
 public:
  TempFile(std::filesystem::path final_path, const std::string& suffix);
  ~TempFile();
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  const std::filesystem::path& path() const { return temp_; }
  const std::filesystem::path& final_path() const { return final_; }
  // fsyncs the temporary and renames it over final_path() (no_clobber: fails if that exists).
  void commit(bool no_clobber);

 private:
  std::filesystem::path final_, temp_;
  bool committed_ = false;
};

// ".<name>.<tag>-XXXXXX/" beside `beside`, removed with its contents by the destructor.
class TempDir {
 public:
  TempDir(const std::filesystem::path& beside, const std::string& tag);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return dir_; }

 private:
  std::filesystem::path dir_;
};

// Removes what writers killed before commit() left beside `final_path`: ".<name>.tmp-*" files
// (AtomicFile, TempFile) and ".<name>.pingpong-*" folders (TempDir of the ping-pong sink).
void remove_leftover_temporaries(const std::filesystem::path& final_path);

// Replaces or creates `to` with the bytes of `from` (temporary name, then rename).
void copy_file_atomically(const std::filesystem::path& from, const std::filesystem::path& to);

}  // namespace sdwalk::detail
