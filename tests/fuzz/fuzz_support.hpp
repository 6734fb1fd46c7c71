#pragma once
// What the libFuzzer targets share: invariant checks that abort (a finding), and a scratch folder
// for the readers that only take a path.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

// A broken invariant is a finding: libFuzzer saves the input when the process aborts.
#define FUZZ_CHECK(cond)                                                                  \
  do {                                                                                    \
    if (!(cond)) {                                                                        \
      std::fprintf(stderr, "FUZZ_CHECK failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
      std::abort();                                                                       \
    }                                                                                     \
  } while (0)

namespace sdwalk::fuzz {

// One folder per fuzzing process (libFuzzer's -jobs run several), removed when it exits. In
// memory (/dev/shm) where there is one: rewriting a file on a busy disk can stall for longer
// than libFuzzer's -timeout.
inline const std::filesystem::path& scratch_dir() {
  struct Dir {
    std::filesystem::path path;
    Dir() {
      const std::filesystem::path shm = "/dev/shm";
      const auto base = std::filesystem::is_directory(shm) && ::access(shm.c_str(), W_OK) == 0
                            ? shm
                            : std::filesystem::temp_directory_path();
      path = base / ("sdwalk-fuzz-" + std::to_string(::getpid()));
      std::filesystem::create_directories(path);
    }
    ~Dir() {
      std::error_code ec;
      std::filesystem::remove_all(path, ec);
    }
  };
  static const Dir dir;
  return dir.path;
}

inline void write_file(const std::filesystem::path& path, const void* data, size_t size) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(static_cast<const char*>(data), std::streamsize(size));
  FUZZ_CHECK(bool(out));
}

}  // namespace sdwalk::fuzz
