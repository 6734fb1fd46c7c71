#pragma once
// What stands at a path, checked with lstat/stat and never by opening it: opening a FIFO blocks
// until a writer comes, and renaming a temporary over /dev/null turns the device into a file.
#include <filesystem>
#include <string>

namespace sdwalk {

// "a file", "a symlink", "a folder", "a FIFO", "a socket", "a device", or "" when nothing is there
// (lstat: a symlink is named as one, whatever it points to).
std::string what_is_at(const std::filesystem::path& path);

// Inputs: throws Error "<path>: not a regular file (<what>); expected <expected>" unless the path
// (following symlinks) is a regular file; "<path>: cannot open (missing); expected <expected>" when absent.
void check_regular_file(const std::filesystem::path& path, const std::string& expected);

// Outputs: throws Error naming the path and what is there unless nothing is there, or a regular
// file is there and `replace` is true. `replace_hint` ends the "exists already" message.
void check_output_path(const std::filesystem::path& path, bool replace, const std::string& replace_hint);

// The last guard before a rename: throws unless nothing or a regular file is at `path`.
void check_replaceable(const std::filesystem::path& path);

}  // namespace sdwalk
