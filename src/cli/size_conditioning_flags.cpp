#include "cli/size_conditioning_flags.hpp"

#include <cerrno>
#include <cstdlib>

#include "sdwalk/error.hpp"

namespace sdwalk::cli {
namespace {

// "A,B" -> {A, B}: two decimal integers, each >= minimum (and below 2^20: a size, not an overflow).
std::array<double, 2> parse_pair(const std::string& text, const std::string& flag, long minimum,
                                 const std::string& expected) {
  const std::string why = flag + ": expected " + expected + ", got '" + text + "'";
  const size_t comma = text.find(',');
  check(comma != std::string::npos && text.find(',', comma + 1) == std::string::npos, why);
  std::array<double, 2> out{};
  const std::string parts[2] = {text.substr(0, comma), text.substr(comma + 1)};
  for (int i = 0; i < 2; ++i) {
    const std::string& p = parts[i];
    check(!p.empty() && p.find_first_not_of("0123456789") == std::string::npos, why);
    errno = 0;
    const long v = std::strtol(p.c_str(), nullptr, 10);
    check(errno == 0 && v >= minimum && v < (1L << 20), why);
    out[size_t(i)] = double(v);
  }
  return out;
}

}  // namespace

void add_size_conditioning_flags(CLI::App* cmd, SizeConditioningFlags& f) {
  cmd->add_option("--original-size", f.original_size,
                  "SDXL: the size H,W the picture claims to come from (diffusers' original_size; default: the "
                  "image's own size)");
  cmd->add_option("--crops-coords-top-left", f.crops_coords_top_left,
                  "SDXL: the crop offset T,L the picture claims (diffusers' crops_coords_top_left; default 0,0)");
}

SizeConditioning parse_size_conditioning(const SizeConditioningFlags& f) {
  SizeConditioning s;
  if (!f.original_size.empty())
    s.original_size = parse_pair(f.original_size, "--original-size", 1, "two positive integers H,W (e.g. 1024,1024)");
  if (!f.crops_coords_top_left.empty())
    s.crops_coords_top_left =
        parse_pair(f.crops_coords_top_left, "--crops-coords-top-left", 0, "two integers T,L >= 0 (e.g. 0,0)");
  return s;
}

}  // namespace sdwalk::cli
