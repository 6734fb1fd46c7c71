#include <array>
#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>

#include "sdwalk/error.hpp"
#include "core/file_checks.hpp"
#include "sdwalk/keyframes.hpp"

namespace sdwalk {

namespace {

using nlohmann::json;

std::string type_of(const json& v) { return v.type_name(); }

// [A, B]: two integers >= minimum (SDXL's sizes and crop offsets).
std::array<double, 2> integer_pair(const json& v, const std::string& what, int64_t minimum) {
  const std::string why = what + " must be two integers" + (minimum > 0 ? " > 0" : " >= 0") + ", got " + v.dump();
  check(v.is_array() && v.size() == 2, why);
  std::array<double, 2> out{};
  for (size_t i = 0; i < 2; ++i) {
    check(v[i].is_number_integer() && v[i].get<int64_t>() >= minimum && v[i].get<int64_t>() < (int64_t(1) << 20), why);
    out[i] = double(v[i].get<int64_t>());
  }
  return out;
}

KeyframeSpec parse_one(const json& item, const std::string& where) {
  check(item.is_object(), where + ": expected an object {\"prompt\": ...}, got " + type_of(item));
  KeyframeSpec spec;
  bool has_prompt = false;
  for (const auto& [key, value] : item.items()) {
    if (key == "prompt") {
      check(value.is_string(), where + ": \"prompt\" must be a string, got " + type_of(value));
      spec.prompt = value.get<std::string>();
      has_prompt = true;
    } else if (key == "negative_prompt") {
      check(value.is_string() || value.is_null(),
            where + ": \"negative_prompt\" must be a string, got " + type_of(value));
      if (value.is_string()) spec.negative_prompt = value.get<std::string>();
    } else if (key == "seed") {
      check(value.is_number_integer() || value.is_null(),
            where + ": \"seed\" must be an integer, got " + type_of(value) + " " + value.dump());
      if (value.is_null()) continue;
      const bool fits = value.is_number_unsigned()
                            ? value.get<uint64_t>() <= uint64_t(std::numeric_limits<int64_t>::max())
                            : value.get<int64_t>() >= 0;
      check(fits, where + ": \"seed\" must be in 0 .. 9223372036854775807, got " + value.dump());
      spec.seed = value.get<int64_t>();
    } else if (key == "frames") {
      check(value.is_number_integer(), where + ": \"frames\" must be an integer, got " + type_of(value) +
                                           " " + value.dump());
      // Non-negative JSON integers are unsigned in nlohmann::json, negative ones signed.
      const bool fits = value.is_number_unsigned() && value.get<uint64_t>() >= 2 && value.get<uint64_t>() <= 1000000;
      check(fits, where + ": \"frames\" (frames to the next keyframe, both ends included) must be in 2 .. "
                          "1000000, got " + value.dump());
      spec.frames = value.get<int>();
    } else if (key == "loras") {
      check(value.is_object(), where + ": \"loras\" must be an object {\"style.safetensors\": 0.8}, got " +
                                   type_of(value));
      for (const auto& [name, scale] : value.items()) {
        check(!name.empty(), where + ": \"loras\": an empty LoRA name");
        check(scale.is_number() && std::isfinite(scale.get<double>()),
              where + ": \"loras\": the scale of \"" + name + "\" must be a number, got " + scale.dump());
        spec.loras[name] = scale.get<double>();
      }
    } else if (key == "image") {
      check(value.is_string() && !value.get<std::string>().empty(),
            where + ": \"image\" must be a PNG file's path, got " + value.dump());
      spec.image = value.get<std::string>();
    } else if (key == "original_size") {
      spec.original_size = integer_pair(value, where + ": \"original_size\" [H, W]", 1);
    } else if (key == "crops_coords_top_left") {
      spec.crops_coords_top_left = integer_pair(value, where + ": \"crops_coords_top_left\" [T, L]", 0);
    } else {
      throw Error(where + ": unknown key \"" + key +
                  "\" (expected prompt, negative_prompt, seed, frames, loras, image, original_size, "
                  "crops_coords_top_left)");
    }
  }
  check(has_prompt || spec.image, where + ": \"prompt\" is missing (a keyframe needs a prompt, an image or both)");
  return spec;
}

}  // namespace

std::vector<KeyframeSpec> parse_keyframes_json(const json& doc, const std::string& source) {
  const json* list = &doc;
  if (doc.is_object()) {
    for (const auto& [key, value] : doc.items())
      check(key == "keyframes", source + ": unknown top-level key \"" + key + "\" (expected \"keyframes\")");
    check(doc.contains("keyframes"), source + ": expected {\"keyframes\": [...]} or a list of keyframes");
    list = &doc["keyframes"];
  }
  check(list->is_array(), source + ": expected a list of keyframes, got " + type_of(*list));
  check(list->size() >= 2, source + ": a keyframe walk needs at least two keyframes, got " +
                               std::to_string(list->size()));
  std::vector<KeyframeSpec> out;
  for (size_t i = 0; i < list->size(); ++i)
    out.push_back(parse_one((*list)[i], source + ": keyframe " + std::to_string(i)));
  return out;
}

std::vector<KeyframeSpec> parse_keyframes_text(const std::string& text, const std::string& source) {
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::exception& e) {
    // e.what() reads "[json.exception.parse_error.101] parse error at line 3, column 5: ..."; a number
    // beyond double's range ("frames": 1e999) is an out_of_range.406 instead, not a parse_error.
    std::string msg = e.what();
    if (auto p = msg.find("] "); p != std::string::npos) msg = msg.substr(p + 2);
    throw Error(source + ": not valid JSON: " + msg);
  }
  return parse_keyframes_json(doc, source);
}

std::vector<KeyframeSpec> read_keyframes_file(const std::filesystem::path& path) {
  check_regular_file(path, "a keyframe JSON file");  // before opening: a FIFO would block
  std::ifstream in(path, std::ios::binary);
  check(bool(in), path.string() + ": cannot open the keyframe file");
  std::stringstream text;
  text << in.rdbuf();
  check(!in.bad(), path.string() + ": cannot read the keyframe file");
  std::vector<KeyframeSpec> keys = parse_keyframes_text(text.str(), path.string());
  // A picture named relative to the file is found beside it, wherever the walk is started.
  for (KeyframeSpec& k : keys)
    if (k.image && std::filesystem::path(*k.image).is_relative())
      k.image = (path.parent_path() / *k.image).lexically_normal().string();
  return keys;
}

}  // namespace sdwalk
