#include "sdwalk/walk_settings.hpp"

#include <algorithm>
#include <cmath>

#include "sdwalk/error.hpp"
#include "sdwalk/scheduler.hpp"

namespace sdwalk {

nlohmann::json WalkSettings::to_json() const {
  return {{"mode", mode},
          {"prompts", prompts},
          {"negative_prompts", negative_prompts},
          {"seeds", seeds},
          {"keyframe_frames", keyframe_frames},
          {"guidance_scale", guidance_scale},
          {"num_inference_steps", num_inference_steps},
          {"num_interpolation_steps", num_interpolation_steps},
          {"height", height},
          {"width", width},
          {"step_size", step_size},
          {"scheduler", scheduler},
          {"prediction_type", prediction_type},
          {"timestep_spacing", timestep_spacing},
          {"seamless", seamless},
          {"embed_interp", embed_interp},
          {"noise_interp", noise_interp},
          {"noise_file", noise_file},
          {"batch_size", batch_size},
          {"model", model},
          {"tokenizer", tokenizer},
          {"config", config},
          {"weights_hash", weights_hash},
          {"precision", precision},
          {"weight_storage", weight_storage},
          {"sdwalk_version", SDWALK_VERSION},
          {"output", output},
          {"format", format},
          {"frame_duration_ms", frame_duration_ms},
          {"loop", loop},
          {"ping_pong", ping_pong}};
}

WalkSettings WalkSettings::from_json(const nlohmann::json& j) {
  WalkSettings s;
  try {
    s.mode = j.at("mode").get<std::string>();
    s.prompts = j.at("prompts").get<std::vector<std::string>>();
    s.negative_prompts = j.at("negative_prompts").get<std::vector<std::string>>();
    s.seeds = j.at("seeds").get<std::vector<int64_t>>();
    s.keyframe_frames = j.value("keyframe_frames", std::vector<int>{});
    s.guidance_scale = j.at("guidance_scale").get<double>();
    s.num_inference_steps = j.at("num_inference_steps").get<int>();
    s.num_interpolation_steps = j.at("num_interpolation_steps").get<int>();
    s.height = j.at("height").get<int>();
    s.width = j.at("width").get<int>();
    s.step_size = j.at("step_size").get<double>();
    s.scheduler = j.at("scheduler").get<std::string>();
    s.prediction_type = j.value("prediction_type", "");  // absent in runs of older versions
    s.timestep_spacing = j.value("timestep_spacing", "");
    s.seamless = j.at("seamless").get<bool>();
    s.embed_interp = j.at("embed_interp").get<std::string>();
    s.noise_interp = j.at("noise_interp").get<std::string>();
    s.noise_file = j.at("noise_file").get<std::string>();
    s.batch_size = j.at("batch_size").get<int>();
    s.model = j.at("model").get<std::string>();
    s.tokenizer = j.at("tokenizer").get<std::string>();
    s.config = j.at("config").get<std::string>();
    s.weights_hash = j.value("weights_hash", "");
    s.precision = j.value("precision", "");
    s.weight_storage = j.value("weight_storage", "");
    s.output = j.at("output").get<std::string>();
    s.format = j.at("format").get<std::string>();
    s.frame_duration_ms = j.at("frame_duration_ms").get<double>();
    s.loop = j.at("loop").get<int>();
    s.ping_pong = j.at("ping_pong").get<bool>();
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("walk settings: ") + e.what());
  }
  return s;
}

int WalkSettings::noise_count() const {
  if (mode == "noise" || mode == "circle") return 2;
  if (mode == "keyframes") return int(prompts.size());
  return 1;
}

void WalkSettings::validate() const {
  static const std::vector<std::string> modes = {"drift", "noise", "prompts", "circle", "keyframes"};
  check(std::find(modes.begin(), modes.end(), mode) != modes.end(),
        "unknown walk mode '" + mode + "' (expected drift, noise, prompts, circle or keyframes)");
  check(!prompts.empty(), "walk " + mode + ": no --prompt given");
  const bool multi = mode == "prompts" || mode == "keyframes";
  if (multi)
    check(prompts.size() >= 2, "walk " + mode + " needs at least two prompts (--prompt A --prompt B), got " +
                                   std::to_string(prompts.size()));
  else
    check(prompts.size() == 1, "walk " + mode + " takes one --prompt, got " + std::to_string(prompts.size()));
  check(negative_prompts.size() <= 1 || negative_prompts.size() == prompts.size(),
        "got " + std::to_string(negative_prompts.size()) + " negative prompts for " + std::to_string(prompts.size()) +
            " prompts: give one negative prompt for all, or one per prompt");
  check(num_interpolation_steps >= 2,
        "--num-interpolation-steps must be at least 2, got " + std::to_string(num_interpolation_steps));
  check(num_inference_steps >= 1, "--num-inference-steps must be at least 1, got " + std::to_string(num_inference_steps));
  check(height > 0 && height % 8 == 0, "--height " + std::to_string(height) + " must be a positive multiple of 8");
  check(width > 0 && width % 8 == 0, "--width " + std::to_string(width) + " must be a positive multiple of 8");
  check(std::isfinite(guidance_scale), "--guidance-scale must be a finite number");
  check(std::isfinite(step_size), "--step-size must be a finite number");
  check(batch_size >= 1, "--batch-size must be at least 1, got " + std::to_string(batch_size));
  check(frame_duration_ms > 0 && std::isfinite(frame_duration_ms), "--frame-duration must be positive");
  check(loop >= 0, "--loop must be 0 (forever) or a positive count");
  check(embed_interp == "slerp" || embed_interp == "lerp", "--embed-interp must be slerp or lerp");
  check(noise_interp == "slerp" || noise_interp == "lerp", "--noise-interp must be slerp or lerp");
  check(!seeds.empty(), "walk " + mode + ": no seed");
  make_scheduler(scheduler, nlohmann::json::object());  // throws "unknown scheduler ..." with the known names
  check(prediction_type.empty() || prediction_type == "epsilon" || prediction_type == "v_prediction",
        "--prediction-type must be epsilon or v_prediction, got '" + prediction_type + "'");
  check(timestep_spacing.empty() || timestep_spacing == "linspace" || timestep_spacing == "leading" ||
            timestep_spacing == "trailing",
        "--timestep-spacing must be linspace, leading or trailing, got '" + timestep_spacing + "'");
  if (mode == "keyframes") {
    check(seeds.size() == 1 || seeds.size() == prompts.size(),
          "keyframes: give one --seed (keyframe k uses seed + k) or one per prompt, got " + std::to_string(seeds.size()));
    check(keyframe_frames.empty() || keyframe_frames.size() == prompts.size() - 1,
          "keyframes: give one --frames count per transition (" + std::to_string(prompts.size() - 1) + "), got " +
              std::to_string(keyframe_frames.size()));
    for (int f : keyframe_frames) check(f >= 2, "keyframes: --frames must be at least 2, got " + std::to_string(f));
  } else {
    check(seeds.size() == 1, "walk " + mode + " takes one --seed");
  }
}

}  // namespace sdwalk
