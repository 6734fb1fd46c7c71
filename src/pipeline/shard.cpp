#include "sdwalk/shard.hpp"

#include <cstdlib>
#include <limits>

#include "sdwalk/error.hpp"

namespace sdwalk {
namespace {

// A non-negative decimal integer that fits an int, or nothing.
bool parse_count(const std::string& s, int& out) {
  if (s.empty() || s.size() > 9) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  out = std::stoi(s);
  return true;
}

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

Shard checked(const Shard& s, const std::string& flag, const std::string& where) {
  check(s.count >= 1, flag + ": the shard count must be at least 1" + where);
  check(s.index >= 0 && s.index < s.count,
        flag + ": shard " + std::to_string(s.index) + " of " + std::to_string(s.count) +
            " does not exist (K counts from 0 to N - 1)" + where);
  return s;
}

}  // namespace

Shard parse_shard(const std::string& text, const std::string& flag) {
  const std::string expected = " (expected K/N with 0 <= K < N, auto, or auto/N)";
  const size_t slash = text.find('/');
  const std::string k = text.substr(0, slash), n = slash == std::string::npos ? "" : text.substr(slash + 1);
  Shard s;
  if (k == "auto") {
    if (const std::string id = env("SLURM_ARRAY_TASK_ID"); !id.empty()) {
      int task = 0, min = 0, count = 0;
      check(parse_count(id, task), flag + " auto: SLURM_ARRAY_TASK_ID is '" + id + "', not an index");
      const std::string min_text = env("SLURM_ARRAY_TASK_MIN");
      check(min_text.empty() || parse_count(min_text, min), flag + " auto: SLURM_ARRAY_TASK_MIN is '" + min_text + "'");
      const std::string count_text = n.empty() ? env("SLURM_ARRAY_TASK_COUNT") : n;
      check(parse_count(count_text, count),
            flag + " auto: SLURM_ARRAY_TASK_COUNT is '" + count_text + "' (submit with sbatch --array=0-N)");
      s = {task - min, count};
      return checked(s, flag, " (from SLURM_ARRAY_TASK_ID " + id + ")");
    }
    if (const std::string index = env("JOB_COMPLETION_INDEX"); !index.empty()) {
      check(parse_count(index, s.index), flag + " auto: JOB_COMPLETION_INDEX is '" + index + "', not an index");
      check(parse_count(n, s.count), flag + " auto: a Kubernetes Indexed Job gives no count; pass --shard auto/N with N "
                                            "= the Job's completions");
      return checked(s, flag, " (from JOB_COMPLETION_INDEX " + index + ")");
    }
    throw Error(flag + " auto: neither SLURM_ARRAY_TASK_ID (a Slurm job array) nor JOB_COMPLETION_INDEX (a Kubernetes "
                       "Indexed Job) is set; give --shard K/N");
  }
  check(slash != std::string::npos && parse_count(k, s.index) && parse_count(n, s.count),
        flag + " '" + text + "'" + expected);
  return checked(s, flag, "");
}

}  // namespace sdwalk
