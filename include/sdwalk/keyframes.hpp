#pragma once
// The keyframe file of `sdwalk walk keyframes --keyframes FILE.json`:
//
//   {"keyframes": [
//     {"prompt": "a red fox in snow", "negative_prompt": "blurry", "seed": 42, "frames": 30},
//     {"prompt": "a white owl at night", "seed": 7}
//   ]}
//
// (a bare top-level array of keyframes is accepted too). Per keyframe: "prompt" (string, required
// unless "image" is given),
// "negative_prompt" (string, optional: absent -> the run's --negative-prompt), "seed" (integer
// 0 .. 2^63-1, optional: absent -> the run chooses one), "frames" (integer >= 2, optional: the
// segment to the next keyframe, both ends included; absent -> --num-interpolation-steps; ignored
// on the last keyframe), "loras" (object: LoRA file name -> scale, a finite number, optional: the
// strength of each --lora at this keyframe, interpolated frame by frame; a LoRA the keyframe does not
// name keeps its --lora scale), "image" (a PNG path, optional: the keyframe is this picture, inverted
// to noise under its prompt -- "" when no prompt is given -- as `walk morph` does; a file with any
// image keyframe is rendered as a morph walk, DDIM at guidance 1, so the pictures come back; relative
// paths are taken from the keyframe file's folder), "original_size" ([H, W], positive integers) and
// "crops_coords_top_left" ([T, L], integers >= 0) (SDXL's size conditioning at this keyframe, optional:
// absent -> the run's --original-size / --crops-coords-top-left). Unknown keys are errors, so a misspelt key never
// goes unnoticed.
#include <cstdint>
#include <filesystem>
#include <array>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace sdwalk {

struct KeyframeSpec {
  std::string prompt;
  std::optional<std::string> negative_prompt;
  std::optional<int64_t> seed;
  std::optional<int> frames;
  std::map<std::string, double> loras;  // LoRA file name -> scale at this keyframe
  std::optional<std::string> image;     // a picture keyframe (read_keyframes_file: relative to the file)
  std::optional<std::array<double, 2>> original_size, crops_coords_top_left;  // SDXL
};

// Validates and converts; `source` names the file in errors. Needs at least two keyframes.
std::vector<KeyframeSpec> parse_keyframes_json(const nlohmann::json& doc, const std::string& source = "keyframes JSON");
// The same from the file's text (read_keyframes_file's parsing, without the file).
std::vector<KeyframeSpec> parse_keyframes_text(const std::string& text, const std::string& source);
// Reads and parses a keyframe file; errors name the path (and the line/column of a syntax error).
std::vector<KeyframeSpec> read_keyframes_file(const std::filesystem::path& path);

}  // namespace sdwalk
