#pragma once
// The smoothness report of a walk: adjacent frame distances (frame_distance.hpp) and their summary,
// written as <name>.report.json, a plot <name>.distances.png and a contact sheet <name>.contact.png.
// Every walk writes one beside its animation; `sdwalk report` makes one for any animation.
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "sdwalk/frame_distance.hpp"
#include "sdwalk/image.hpp"

namespace sdwalk {

struct ReportPaths {
  std::filesystem::path json, plot, contact;
};
// <base>.report.json, <base>.distances.png, <base>.contact.png for an animation x.gif (base x), a
// frames folder or a run folder (base: the folder's path).
ReportPaths report_paths(const std::filesystem::path& animation);

nlohmann::json smoothness_json(const Smoothness& s);

// Writes the three files (replacing earlier ones); `extra` is merged into the JSON (e.g. the pacing's
// cost and cuts); `compare` (may be empty) is drawn in grey under the distances (e.g. the uniform walk).
Smoothness write_smoothness_report(const std::vector<Image>& frames, const ReportPaths& paths,
                                   const nlohmann::json& extra = {}, const std::vector<double>& compare = {});

// The plot and the sheet as images (for callers that want bytes, e.g. a server).
Image distance_plot(const std::vector<double>& distances, const std::vector<double>& compare = {});
Image contact_sheet(const std::vector<Image>& frames, int columns = 8, int thumb_width = 96);

}  // namespace sdwalk
