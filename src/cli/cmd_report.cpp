// sdwalk report ANIMATION|FOLDER [--compare OTHER]: how evenly an animation's frames are spaced, by
// the frame distance walks are paced with; writes <name>.report.json, .distances.png, .contact.png.
#include <cstdio>
#include <memory>
#include <string>

#include "cli/commands.hpp"
#include "sdwalk/animation_reader.hpp"
#include "sdwalk/error.hpp"
#include "sdwalk/smoothness_report.hpp"

namespace sdwalk::cli {
namespace {

struct ReportOptions {
  std::string input, compare;
};

void run(const ReportOptions& o) {
  const std::vector<Image> frames = read_animation_frames(o.input);
  check(frames.size() >= 2, o.input + ": " + std::to_string(frames.size()) +
                                " frame; a report compares neighbouring frames (2 or more needed)");
  std::vector<double> compare;
  if (!o.compare.empty()) {
    const std::vector<Image> other = read_animation_frames(o.compare);
    check(other.size() >= 2, o.compare + ": fewer than 2 frames to compare with");
    check(other[0].width == frames[0].width && other[0].height == frames[0].height,
          o.compare + ": frames of another size than " + o.input + "'s");
    compare = adjacent_distances(other, default_frame_distance());
  }
  const ReportPaths paths = report_paths(o.input);
  const Smoothness s = write_smoothness_report(frames, paths, {{"source", o.input}}, compare);
  std::printf("%zu frames of %dx%d, distance: RMS CIELAB delta E / 100 between neighbours\n", frames.size(),
              frames[0].width, frames[0].height);
  std::string line = "distances:";
  for (double d : s.distances) line += " " + std::to_string(d).substr(0, 6);
  std::printf("%s\n", line.c_str());
  std::printf("max %.4f, median %.4f, max/median %.2f, 1 - Gini %.3f, ISTD %.4f\n", s.max, s.median,
              s.max_over_median, s.one_minus_gini, s.istd);
  std::string jumps = "largest jumps:";
  for (size_t i : s.largest) jumps += " " + std::to_string(i) + "->" + std::to_string(i + 1);
  std::printf("%s\n", jumps.c_str());
  if (!compare.empty()) {
    const Smoothness c = smoothness_of(compare);
    std::printf("compared with %s: max/median %.2f, 1 - Gini %.3f\n", o.compare.c_str(), c.max_over_median,
                c.one_minus_gini);
  }
  std::printf("%s\n%s\n%s\n", paths.json.c_str(), paths.plot.c_str(), paths.contact.c_str());
}

}  // namespace

void add_report_command(CLI::App& app) {
  auto opts = std::make_shared<ReportOptions>();
  CLI::App* cmd = app.add_subcommand(
      "report", "How evenly an animation moves: distances between neighbouring frames, max/median, 1 - Gini, "
                "a plot and a contact sheet (GIF, WebP, MP4, WebM, a PNG frames folder or a run folder)");
  cmd->add_option("animation", opts->input, "The animation, frames folder or run folder")->required();
  cmd->add_option("--compare", opts->compare, "Another animation whose distances are drawn under these (e.g. the uniform walk)");
  cmd->callback([opts] { run(*opts); });
}

}  // namespace sdwalk::cli
