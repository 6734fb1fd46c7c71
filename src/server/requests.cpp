#include "server/requests.hpp"

#include <random>
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
    for (const LoraSpec& l : model.options.loras) s.loras.push_back({l.file.string(), {l.scale}});
    check(s.format == "gif" || s.format == "webp" || s.format == "mp4" || s.format == "webm",
          "format must be gif, webp, mp4 or webm");
    check(s.mode != "morph", "walk morph reads pictures from files: use the command line for it");
    s.validate();
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
                                               "num_inference_steps", "guidance_scale", "scheduler"};
  for (const auto& [key, value] : body.items())
    if (!fields.count(key)) throw HttpError(400, "unknown generate setting \"" + key + "\"");
  GenerateRequest r;
  r.height = r.width = model.defaults.size;
  r.num_inference_steps = model.defaults.demo ? model.defaults.steps : model.defaults.generate_steps;
  r.guidance_scale = model.defaults.demo ? model.defaults.guidance_scale : 7.5;
  try {
    r.prompt = body.value("prompt", "");
    r.negative_prompt = body.value("negative_prompt", "");
    r.seed = body.contains("seed") ? body["seed"].get<uint64_t>() : uint64_t(random_seed());
    r.height = body.value("height", r.height);
    r.width = body.value("width", r.width);
    r.num_inference_steps = body.value("num_inference_steps", r.num_inference_steps);
    r.guidance_scale = body.value("guidance_scale", r.guidance_scale);
    r.scheduler = body.value("scheduler", "");
  } catch (const nlohmann::json::exception& e) {
    throw HttpError(400, std::string("generate settings: ") + e.what());
  }
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
