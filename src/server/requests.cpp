#include "server/requests.hpp"

#include <array>
#include <cstdint>
#include <algorithm>
#include <random>
#include <type_traits>
#include <set>

#include "sdwalk/precision.hpp"
#include "server/http_error.hpp"

namespace sdwalk::server {
namespace {

// Set by the server: where files go and which model renders. Files named by a request (noise,
// pictures, LoRAs) would let a client read the server's disk, so they are refused too.
const std::set<std::string> kServerFields = {"model",     "tokenizer",  "config",         "weights_hash",
                                             "fingerprint", "frame_count", "precision",   "weight_storage",
                                             "output",    "noise_file", "images",         "fit",
                                             "loras",     "vae_tiling"};

// A walk's frames are planned (embeddings and noises) before the first is rendered, so a request for
// millions would take the server's memory: a server renders at most this many per walk.
constexpr int64_t kMaxFrames = 5000;

// The frames the walk's planner makes, near enough to refuse absurd requests (before planning).
int64_t planned_frames(const WalkSettings& s) {
  const int64_t segments = std::max<int64_t>(1, int64_t(s.prompts.size()) - 1);
  if (s.mode == WalkMode::Keyframes && !s.keyframe_frames.empty()) {
    int64_t n = 1;
    for (int f : s.keyframe_frames) n += std::max(0, f);
    return n;
  }
  if (s.mode == WalkMode::Keyframes || s.mode == WalkMode::Prompts) return segments * int64_t(s.num_interpolation_steps) + 1;
  return int64_t(s.num_interpolation_steps) + 1;
}

int64_t random_seed() {
  std::random_device rd;
  return int64_t((uint64_t(rd()) << 21 ^ rd()) & ((uint64_t(1) << 53) - 1));  // exact in JSON (a double)
}

}  // namespace

nlohmann::json parse_body(const std::string& body) {
  nlohmann::json j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) throw HttpError(400, "the request body is not valid JSON");
  if (!j.is_object()) throw HttpError(400, "the request body must be a JSON object");
  return j;
}

WalkSettings walk_settings_from_request(const nlohmann::json& body, const ServedModel& model) {
  WalkSettings defaults;
  defaults.height = defaults.width = model.defaults.size;
  defaults.num_inference_steps = model.defaults.steps;
  defaults.guidance_scale = model.defaults.guidance_scale;
  defaults.scheduler = model.defaults.scheduler;
  defaults.format = "gif";
  nlohmann::json j = defaults.to_json();
  for (const auto& [key, value] : body.items()) {
    if (kServerFields.count(key)) throw HttpError(400, "\"" + key + "\" is set by the server, not by a request");
    if (!j.contains(key) && key != "keyframe_frames") throw HttpError(400, "unknown walk setting \"" + key + "\"");
    j[key] = value;
  }
  j["model"] = model.model;
  j["tokenizer"] = model.tokenizer;
  j["config"] = model.config;
  j["precision"] = precision_name(model.options.precision);
  j["weight_storage"] = weight_storage_name(model.options.weights);
  j["vae_tiling"] = model.options.vae_tiling == VaeTiling::On ? "on" : model.options.vae_tiling == VaeTiling::Off ? "off" : "auto";
  j["output"] = "";
  WalkSettings s;
  try {
    s = WalkSettings::from_json(j);
    if (s.seeds.empty()) s.seeds.push_back(random_seed());
    if (!body.contains("pacing")) s.pacing = default_pacing(s.mode, false);  // as the command line's
    for (const LoraSpec& l : model.options.loras) s.loras.push_back({l.file.string(), {l.scale}});
    check(s.format == "gif" || s.format == "webp" || s.format == "mp4" || s.format == "webm",
          "format must be gif, webp, mp4 or webm");
    check(s.mode != WalkMode::Morph, "walk morph reads pictures from files: use the command line for it");
    s.validate();
    const int64_t frames = planned_frames(s);
    if (frames > kMaxFrames)
      throw HttpError(400, "a walk of about " + std::to_string(frames) + " frames is more than this server renders (" +
                               std::to_string(kMaxFrames) + "); use sdwalk walk for it");
    const SamplingGiven given{body.contains("scheduler"), body.contains("num_inference_steps"),
                              body.contains("guidance_scale")};
    prepare_request(model.engine->pipeline().files(), model.options, s, given);
  } catch (const HttpError&) {
    throw;
  } catch (const Error& e) {
    throw HttpError(400, e.what());
  }
  return s;
}

GenerateRequest generate_request_from(const nlohmann::json& body, const ServedModel& model) {
  static const std::set<std::string> fields = {"prompt", "negative_prompt", "seed", "height", "width",
                                               "num_inference_steps", "guidance_scale", "scheduler",
                                               "original_size", "crops_coords_top_left"};
  for (const auto& [key, value] : body.items())
    if (!fields.count(key)) throw HttpError(400, "unknown generate setting \"" + key + "\"");
  GenerateRequest r;
  r.height = r.width = model.defaults.size;
  r.num_inference_steps = model.defaults.demo ? model.defaults.steps : model.defaults.generate_steps;
  r.guidance_scale = model.defaults.demo ? model.defaults.guidance_scale : 7.5;
  // Whole numbers must be whole (64.5 is an error, not 64), seeds 0 .. 2^63-1 as everywhere.
  const auto whole = [&](const char* key, auto& out, int64_t lo, int64_t hi) {
    if (!body.contains(key)) return;
    const nlohmann::json& v = body[key];
    const bool too_big = v.is_number_unsigned() && v.get<uint64_t>() > uint64_t(hi);
    if (!v.is_number_integer() || too_big || v.get<int64_t>() < lo || v.get<int64_t>() > hi)
      throw HttpError(400, std::string(key) + " must be a whole number in " + std::to_string(lo) + " .. " + std::to_string(hi));
    out = static_cast<std::decay_t<decltype(out)>>(v.get<int64_t>());
  };
  const auto text = [&](const char* key, std::string& out) {
    if (!body.contains(key)) return;
    if (!body[key].is_string()) throw HttpError(400, std::string(key) + " must be a string");
    out = body[key].get<std::string>();
  };
  text("prompt", r.prompt);
  text("negative_prompt", r.negative_prompt);
  text("scheduler", r.scheduler);
  r.seed = uint64_t(random_seed());
  whole("seed", r.seed, 0, INT64_MAX);
  whole("height", r.height, 8, 16384);
  whole("width", r.width, 8, 16384);
  whole("num_inference_steps", r.num_inference_steps, 1, 10000);
  if (body.contains("guidance_scale")) {
    if (!body["guidance_scale"].is_number()) throw HttpError(400, "guidance_scale must be a number");
    r.guidance_scale = body["guidance_scale"].get<double>();
  }
  // SDXL's size conditioning, as StableDiffusionXLPipeline's: [height, width] and [top, left].
  const auto pair = [&](const char* key, std::array<double, 2>& out) {
    if (!body.contains(key)) return;
    const nlohmann::json& v = body[key];
    if (!v.is_array() || v.size() != 2 || !v[0].is_number() || !v[1].is_number())
      throw HttpError(400, std::string(key) + " must be two numbers, e.g. [1024, 1024]");
    out = {v[0].get<double>(), v[1].get<double>()};
  };
  pair("original_size", r.size_conditioning.original_size);
  pair("crops_coords_top_left", r.size_conditioning.crops_coords_top_left);
  try {
    check(r.num_inference_steps >= 1, "num_inference_steps must be at least 1");
    const SamplingGiven given{body.contains("scheduler"), body.contains("num_inference_steps"),
                              body.contains("guidance_scale")};
    prepare_request(model.engine->pipeline().files(), model.options, r, given);
    model.engine->check(r);
  } catch (const Error& e) {
    throw HttpError(400, e.what());
  }
  return r;
}

}  // namespace sdwalk::server
