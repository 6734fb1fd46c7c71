#pragma once
// Reads the frames of an animation back as RGB pictures: GIF (frames composited as a player shows
// them), animated WebP, MP4 / WebM (decoded with FFmpeg, converted to RGB), a folder of PNG frames,
// or a run folder (its frame_000000.png ...). `sdwalk report` measures what a viewer sees with it.
#include <filesystem>
#include <vector>

#include "sdwalk/image.hpp"

namespace sdwalk {

// Error naming the file and what is wrong (not an animation, unreadable, no frames) otherwise.
std::vector<Image> read_animation_frames(const std::filesystem::path& path);

}  // namespace sdwalk
