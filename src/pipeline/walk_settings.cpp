#include "sdwalk/walk_settings.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>

#include "sdwalk/animation.hpp"
#include "sdwalk/error.hpp"
#include "core/file_checks.hpp"
#include "sdwalk/stable_diffusion_pipeline.hpp"
#include "sdwalk/scheduler.hpp"
#include "sdwalk/seed.hpp"

namespace sdwalk {

namespace {
nlohmann::json loras_json(const std::vector<WalkLora>& loras) {
  nlohmann::json out = nlohmann::json::array();
  for (const WalkLora& l : loras) out.push_back({{"file", l.file}, {"scales", l.scales}});
  return out;
}
}  // namespace

namespace {

template <class E, size_t N>
E parse_name(const std::string& name, const std::string& what, const std::pair<const char*, E> (&names)[N]) {
  std::string choices;
  for (const auto& [n, e] : names) {
    if (name == n) return e;
    choices += (choices.empty() ? "" : ", ") + std::string(n);
  }
  throw Error(what + ": \"" + name + "\" is not one of " + choices);
}

template <class E, size_t N>
const char* name_of(E e, const std::pair<const char*, E> (&names)[N]) {
  for (const auto& [n, v] : names)
    if (v == e) return n;
  return "?";
}

const std::pair<const char*, WalkMode> kModes[] = {{"drift", WalkMode::Drift},         {"noise", WalkMode::Noise},
                                                   {"prompts", WalkMode::Prompts},     {"circle", WalkMode::Circle},
                                                   {"keyframes", WalkMode::Keyframes}, {"morph", WalkMode::Morph}};
const std::pair<const char*, Interp> kInterps[] = {{"slerp", Interp::Slerp}, {"lerp", Interp::Lerp}};
const std::pair<const char*, Pacing> kPacings[] = {{"uniform", Pacing::Uniform}, {"even", Pacing::Even}};

}  // namespace

const char* walk_mode_name(WalkMode mode) { return name_of(mode, kModes); }
WalkMode parse_walk_mode(const std::string& name, const std::string& what) { return parse_name(name, what, kModes); }
const char* interp_name(Interp interp) { return name_of(interp, kInterps); }
Interp parse_interp(const std::string& name, const std::string& what) { return parse_name(name, what, kInterps); }
const char* pacing_name(Pacing pacing) { return name_of(pacing, kPacings); }
Pacing parse_pacing(const std::string& name, const std::string& what) { return parse_name(name, what, kPacings); }
Pacing default_pacing(WalkMode mode, bool sharded) {
  return mode != WalkMode::Drift && !sharded ? Pacing::Even : Pacing::Uniform;
}

namespace {

nlohmann::json size_conditioning_json(const std::vector<SizeConditioning>& v) {
  nlohmann::json out = nlohmann::json::array();
  for (const SizeConditioning& c : v)
    out.push_back({{"original_size", c.original_size}, {"crops_coords_top_left", c.crops_coords_top_left}});
  return out;
}

}  // namespace

nlohmann::json WalkSettings::to_json() const {
  nlohmann::json j = to_json_base();
  if (!size_conditioning.empty()) j["size_conditioning"] = size_conditioning_json(size_conditioning);
  return j;
}

nlohmann::json WalkSettings::to_json_base() const {
  return {{"mode", walk_mode_name(mode)},
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
          {"embed_interp", interp_name(embed_interp)},
          {"noise_interp", interp_name(noise_interp)},
          {"noise_file", noise_file},
          {"images", images},
          {"fit", fit},
          {"batch_size", batch_size},
          {"pacing", pacing_name(pacing)},
          {"pacing_budget", pacing_budget},
          {"blend", blend ? "auto" : "off"},
          {"max_jump", max_jump},
          {"loras", loras_json(loras)},
          {"model", model},
          {"tokenizer", tokenizer},
          {"config", config},
          {"weights_hash", weights_hash},
          {"fingerprint", fingerprint},
          {"frame_count", frame_count},
          {"precision", precision},
          {"weight_storage", weight_storage},
          {"vae_tiling", vae_tiling},
          {"sdwalk_version", SDWALK_VERSION},
          {"output", output},
          {"format", format},
          {"frame_duration_ms", frame_duration_ms},
          {"loop", loop},
          {"ping_pong", ping_pong}};
}

namespace {

// json's get<int>() wraps a large integer and is undefined for a double beyond int's range, so
// integer settings must be JSON integers that fit (to_json writes nothing else).
template <typename Int>
Int integer(const nlohmann::json& v, const std::string& key) {
  using limits = std::numeric_limits<Int>;
  const bool fits = v.is_number_unsigned() ? v.get<uint64_t>() <= uint64_t(limits::max())
                                           : v.is_number_integer() && v.get<int64_t>() >= int64_t(limits::min()) &&
                                                 v.get<int64_t>() <= int64_t(limits::max());
  check(fits, "walk settings: " + key + " must be an integer in [" + std::to_string(limits::min()) + ", " +
                  std::to_string(limits::max()) + "], got " + v.dump());
  return v.is_number_unsigned() ? Int(v.get<uint64_t>()) : Int(v.get<int64_t>());
}

template <typename Int>
std::vector<Int> integers(const nlohmann::json& v, const std::string& key) {
  check(v.is_array(), "walk settings: " + key + " must be a list of integers, got " + v.dump());
  std::vector<Int> out;
  for (const auto& e : v) out.push_back(integer<Int>(e, key));
  return out;
}

}  // namespace

WalkSettings WalkSettings::from_json(const nlohmann::json& j) {
  WalkSettings s;
  try {
    s.mode = parse_walk_mode(j.at("mode").get<std::string>(), "walk settings: mode");
    s.prompts = j.at("prompts").get<std::vector<std::string>>();
    s.negative_prompts = j.at("negative_prompts").get<std::vector<std::string>>();
    s.seeds = integers<int64_t>(j.at("seeds"), "seeds");
    if (j.contains("keyframe_frames")) s.keyframe_frames = integers<int>(j["keyframe_frames"], "keyframe_frames");
    s.guidance_scale = j.at("guidance_scale").get<double>();
    s.num_inference_steps = integer<int>(j.at("num_inference_steps"), "num_inference_steps");
    s.num_interpolation_steps = integer<int>(j.at("num_interpolation_steps"), "num_interpolation_steps");
    s.height = integer<int>(j.at("height"), "height");
    s.width = integer<int>(j.at("width"), "width");
    s.step_size = j.at("step_size").get<double>();
    s.scheduler = j.at("scheduler").get<std::string>();
    s.prediction_type = j.value("prediction_type", "");  // absent in runs of older versions
    s.timestep_spacing = j.value("timestep_spacing", "");
    s.seamless = j.at("seamless").get<bool>();
    s.embed_interp = parse_interp(j.at("embed_interp").get<std::string>(), "walk settings: embed_interp");
    s.noise_interp = parse_interp(j.at("noise_interp").get<std::string>(), "walk settings: noise_interp");
    s.noise_file = j.at("noise_file").get<std::string>();
    s.images = j.value("images", std::vector<std::string>());  // absent in runs of older versions
    s.fit = j.value("fit", "");
    s.batch_size = integer<int>(j.at("batch_size"), "batch_size");
    s.pacing = parse_pacing(j.value("pacing", "uniform"), "walk settings: pacing");  // absent in older runs
    s.pacing_budget = j.value("pacing_budget", 1.5);
    const std::string blend = j.value("blend", "auto");
    check(blend == "auto" || blend == "off", "walk settings: blend must be auto or off, got \"" + blend + "\"");
    s.blend = blend == "auto";
    s.max_jump = j.value("max_jump", 0.0);
    if (j.contains("size_conditioning"))  // SDXL runs only
      for (const auto& c : j["size_conditioning"]) {
        SizeConditioning sc;
        sc.original_size = c.at("original_size").get<std::array<double, 2>>();
        sc.crops_coords_top_left = c.at("crops_coords_top_left").get<std::array<double, 2>>();
        s.size_conditioning.push_back(sc);
      }
    if (j.contains("loras"))  // absent in runs of older versions
      for (const auto& l : j["loras"])
        s.loras.push_back({l.at("file").get<std::string>(), l.at("scales").get<std::vector<double>>()});
    s.model = j.at("model").get<std::string>();
    s.tokenizer = j.at("tokenizer").get<std::string>();
    s.config = j.at("config").get<std::string>();
    s.weights_hash = j.value("weights_hash", "");
    s.fingerprint = j.value("fingerprint", nlohmann::json());
    if (j.contains("frame_count")) s.frame_count = integer<int64_t>(j["frame_count"], "frame_count");
    s.precision = j.value("precision", "");
    s.weight_storage = j.value("weight_storage", "");
    s.vae_tiling = j.value("vae_tiling", "auto");
    s.output = j.at("output").get<std::string>();
    s.format = j.at("format").get<std::string>();
    s.frame_duration_ms = j.at("frame_duration_ms").get<double>();
    s.loop = integer<int>(j.at("loop"), "loop");
    s.ping_pong = j.at("ping_pong").get<bool>();
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("walk settings: ") + e.what());
  }
  return s;
}

WalkSettings WalkSettings::read_run_folder(const std::filesystem::path& run_dir) {
  const std::filesystem::path file = run_dir / "settings.json";
  check_regular_file(file, "the settings.json of a run folder (--resume DIR)");  // a FIFO would block
  std::ifstream in(file);
  check(bool(in), file.string() + ": cannot read; --resume expects a run folder");
  nlohmann::json j;
  try {
    in >> j;
  } catch (const nlohmann::json::exception& e) {
    throw Error(file.string() + ": not valid JSON (" + e.what() + ")");
  }
  return from_json(j);
}

void WalkSettings::add_keyframes(const std::vector<KeyframeSpec>& keys, const std::string& source) {
  check(mode == WalkMode::Keyframes, source + ": a keyframe file is for the keyframes mode");
  check(prompts.empty(), "give keyframes either with a keyframe file or with prompts, not both");
  check(negative_prompts.size() <= 1, "with a keyframe file, give at most one negative prompt (the default)");
  const std::string default_negative = negative_prompts.empty() ? "" : negative_prompts[0];
  negative_prompts.clear();
  bool pictures = false;
  for (const KeyframeSpec& k : keys) pictures = pictures || k.image.has_value();
  for (size_t i = 0; i < keys.size(); ++i) {
    const KeyframeSpec& k = keys[i];
    prompts.push_back(k.prompt);
    if (pictures) images.push_back(k.image.value_or(""));  // "": a prompt keyframe of the morph
    negative_prompts.push_back(k.negative_prompt.value_or(default_negative));
    if (k.seed) seeds.push_back(*k.seed);
    else if (k.image && std::any_of(keys.begin(), keys.end(), [](const KeyframeSpec& o) { return o.seed && !o.image; }))
      seeds.push_back(0);  // a picture's noise is its inversion: its seed is not used
    if (i + 1 < keys.size()) keyframe_frames.push_back(k.frames.value_or(num_interpolation_steps));
  }
  check(seeds.empty() || seeds.size() == keys.size(),
        source + ": give a seed in every keyframe or in none (picture keyframes need none)");
  // SDXL size conditioning per keyframe, the run's (flags) where a keyframe sets none.
  if (std::any_of(keys.begin(), keys.end(), [](const KeyframeSpec& k) { return k.original_size || k.crops_coords_top_left; })) {
    const SizeConditioning base = size_conditioning.empty() ? SizeConditioning() : size_conditioning[0];
    size_conditioning.clear();
    for (const KeyframeSpec& k : keys) {
      SizeConditioning c = base;
      if (k.original_size) c.original_size = *k.original_size;
      if (k.crops_coords_top_left) c.crops_coords_top_left = *k.crops_coords_top_left;
      size_conditioning.push_back(c);
    }
  }
  // Picture keyframes come back only where their inversion is undone: the walk renders as a morph.
  if (pictures) mode = WalkMode::Morph;
  // Keyframe scales: a LoRA a keyframe does not name keeps its --lora scale there.
  for (size_t i = 0; i < keys.size(); ++i)
    for (const auto& entry : keys[i].loras) {
      const std::string& name = entry.first;  // not a structured binding: C++17 lambdas cannot capture those
      auto it = std::find_if(loras.begin(), loras.end(), [&](const WalkLora& l) {
        return l.file == name || std::filesystem::path(l.file).filename().string() == name;
      });
      check(it != loras.end(), source + ": keyframe " + std::to_string(i) + " sets LoRA \"" + name +
                                   "\", which no --lora gives (give --lora " + name + ")");
    }
  for (WalkLora& l : loras) {
    const double flag_scale = l.scales.empty() ? 1.0 : l.scales[0];
    const std::string name = std::filesystem::path(l.file).filename().string();
    std::vector<double> per_key;
    bool named = false;
    for (const KeyframeSpec& k : keys) {
      auto it = k.loras.find(name);
      if (it == k.loras.end()) it = k.loras.find(l.file);
      named = named || it != k.loras.end();
      per_key.push_back(it != k.loras.end() ? it->second : flag_scale);
    }
    if (named) l.scales = per_key;
  }
}

bool WalkSettings::loras_vary() const {
  for (const WalkLora& l : loras)
    for (double v : l.scales)
      if (v != l.scales[0]) return true;
  return false;
}

std::vector<LoraSpec> WalkSettings::lora_specs() const {
  std::vector<LoraSpec> out;
  for (const WalkLora& l : loras) out.push_back({l.file, l.scales.empty() ? 1.0 : l.scales[0]});
  return out;
}

double WalkSettings::lora_scale(size_t l, size_t i) const {
  const std::vector<double>& v = loras.at(l).scales;
  return v.size() == 1 ? v[0] : v.at(i);
}

int WalkSettings::noise_count() const {
  if (mode == WalkMode::Noise || mode == WalkMode::Circle) return 2;
  if (mode == WalkMode::Keyframes || mode == WalkMode::Morph) return int(prompts.size());
  return 1;
}

SizeConditioning WalkSettings::size_conditioning_of(size_t i) const {
  if (size_conditioning.empty()) return {};
  return size_conditioning.size() == 1 ? size_conditioning[0] : size_conditioning.at(i);
}

void WalkSettings::validate() const {
  const std::string name = walk_mode_name(mode);
  if (mode == WalkMode::Morph) {
    check(images.size() >= 2, "walk morph needs at least two pictures (--image A.png --image B.png), got " +
                                  std::to_string(images.size()));
    check(std::any_of(images.begin(), images.end(), [](const std::string& i) { return !i.empty(); }),
          "walk morph: no picture among its keyframes");
    check(prompts.size() == images.size(), "walk morph: give no --prompt, one for all, or one per --image (" +
                                               std::to_string(images.size()) + "), got " + std::to_string(prompts.size()));
    check(guidance_scale == 1.0, "walk morph renders at guidance 1 (where the inversion is exact), got --guidance-scale " +
                                     std::to_string(guidance_scale));
    check(scheduler == "ddim", "walk morph renders with the DDIM sampler its inversion undoes, got --scheduler " + scheduler);
    check(noise_file.empty(), "walk morph: the noises come from inverting the pictures; --noise is not taken");
    check(prediction_type.empty() && timestep_spacing.empty(),
          "walk morph: --prediction-type/--timestep-spacing are set by the inversion");
    check(fit.empty() || fit == "crop" || fit == "pad" || fit == "stretch", "--fit must be crop, pad or stretch");
  } else {
    check(images.empty(), "--image is for walk morph");
  }
  check(!prompts.empty(), "walk " + name + ": no --prompt given");
  check(size_conditioning.size() <= 1 || size_conditioning.size() == prompts.size(),
        "walk settings: " + std::to_string(size_conditioning.size()) + " size conditionings for " +
            std::to_string(prompts.size()) + " prompts (expected none, one, or one per prompt)");
  const bool multi = mode == WalkMode::Prompts || mode == WalkMode::Keyframes || mode == WalkMode::Morph;
  if (multi)
    check(prompts.size() >= 2, "walk " + name + " needs at least two prompts (--prompt A --prompt B), got " +
                                   std::to_string(prompts.size()));
  else
    check(prompts.size() == 1, "walk " + name + " takes one --prompt, got " + std::to_string(prompts.size()));
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
  check(pacing == Pacing::Uniform || mode != WalkMode::Drift, "--pacing even is for noise, prompts, circle, keyframes and morph "
                                               "walks (a drift walk's frames are steps of --step-size: uniform)");
  check(std::isfinite(pacing_budget) && pacing_budget >= 1 && pacing_budget <= 16,
        "--pacing-budget is renders per output frame, 1 .. 16, got " + std::to_string(pacing_budget));
  check(std::isfinite(max_jump) && max_jump >= 0, "--max-jump must be a distance >= 0 (0: off), got " +
                                                      std::to_string(max_jump));
  check(!seeds.empty(), "walk " + name + ": no seed");
  check(!(ping_pong && format == "png"),
        "--ping-pong is for animations (gif, webp, mp4, webm); PNG frames are the run's frames, each written once");
  if (!output.empty()) output_format(output, format);  // the name agrees with the format
  parse_vae_tiling(vae_tiling, "--vae-tiling");
  check_scheduler_name(scheduler);  // the model's config is checked with it by check_walk_request
  AnimationOptions animation;
  animation.frame_duration_ms = frame_duration_ms;
  animation.loop = loop;
  check_animation_options(animation);  // the writers' limits, known before any frame is rendered
  for (int64_t seed : seeds) check_seed(seed, "walk seeds");
  check(prediction_type.empty() || prediction_type == "epsilon" || prediction_type == "v_prediction",
        "--prediction-type must be epsilon or v_prediction, got '" + prediction_type + "'");
  check(timestep_spacing.empty() || timestep_spacing == "linspace" || timestep_spacing == "leading" ||
            timestep_spacing == "trailing",
        "--timestep-spacing must be linspace, leading or trailing, got '" + timestep_spacing + "'");
  for (const WalkLora& l : loras) {
    check(!l.file.empty(), "--lora: an empty file name");
    check(l.scales.size() == 1 || (multi && l.scales.size() == prompts.size()),
          "LoRA " + l.file + ": " + std::to_string(l.scales.size()) + " scales for " + std::to_string(prompts.size()) +
              " prompts (give one, or one per prompt / keyframe" + (multi ? "" : "; walk " + name + " takes one") + ")");
    for (double v : l.scales) check(std::isfinite(v), "LoRA " + l.file + ": a scale is not a finite number");
  }
  if (mode == WalkMode::Morph) {
    check(seeds.size() == 1 || seeds.size() == images.size(),
          "walk morph takes one --seed, or one per keyframe (its prompt keyframes' noises)");
    check(keyframe_frames.empty() || keyframe_frames.size() == images.size() - 1,
          "morph: give one --frames count per transition (" + std::to_string(images.size() - 1) + "), got " +
              std::to_string(keyframe_frames.size()));
    for (int f : keyframe_frames) check(f >= 2, "morph: --frames must be at least 2, got " + std::to_string(f));
  } else if (mode == WalkMode::Keyframes) {
    // Keyframe k uses seed + k with one seed: the last must still be a seed.
    if (seeds.size() == 1)
      check(seeds[0] <= kMaxSeed - int64_t(prompts.size() - 1),
            "keyframes: --seed " + std::to_string(seeds[0]) + " + " + std::to_string(prompts.size() - 1) +
                " (keyframe k uses seed + k) passes the largest seed " + std::to_string(kMaxSeed));
    check(seeds.size() == 1 || seeds.size() == prompts.size(),
          "keyframes: give one --seed (keyframe k uses seed + k) or one per prompt, got " + std::to_string(seeds.size()));
    check(keyframe_frames.empty() || keyframe_frames.size() == prompts.size() - 1,
          "keyframes: give one --frames count per transition (" + std::to_string(prompts.size() - 1) + "), got " +
              std::to_string(keyframe_frames.size()));
    for (int f : keyframe_frames) check(f >= 2, "keyframes: --frames must be at least 2, got " + std::to_string(f));
  } else {
    check(seeds.size() == 1, "walk " + name + " takes one --seed");
  }
}

}  // namespace sdwalk
