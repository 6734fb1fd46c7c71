#pragma once
// Everything that defines a walk: enough to render it again, frame for frame (settings.json of a run).
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "sdwalk/keyframes.hpp"
#include "sdwalk/lora.hpp"
#include "sdwalk/pacing.hpp"
#include "sdwalk/size_conditioning.hpp"
#include "sdwalk/walk.hpp"

namespace sdwalk {

// A LoRA of a walk: its file and its strength, constant (one scale) or one per prompt / keyframe,
// interpolated linearly between them frame by frame.
struct WalkLora {
  std::string file;
  std::vector<double> scales;
};

// The walks: the notebook's four (drift, noise, prompts, circle), keyframes, and morphs between pictures.
enum class WalkMode { Drift, Noise, Prompts, Circle, Keyframes, Morph };
// Names as in settings.json and on the command line, and back (Error naming `what` and the choices).
const char* walk_mode_name(WalkMode mode);
WalkMode parse_walk_mode(const std::string& name, const std::string& what = "walk mode");
const char* interp_name(Interp interp);  // slerp | lerp
Interp parse_interp(const std::string& name, const std::string& what);
const char* pacing_name(Pacing pacing);  // uniform | even
Pacing parse_pacing(const std::string& name, const std::string& what = "--pacing");
// What a new walk paces by when not told: even, except drift (its frames are steps of step_size) and
// walks split over shards (each paced frame depends on the ones before it).
Pacing default_pacing(WalkMode mode, bool sharded);

struct WalkSettings {
  WalkMode mode = WalkMode::Prompts;
  std::vector<std::string> prompts;
  std::vector<std::string> negative_prompts;  // none, one for all, or one per prompt
  std::vector<int64_t> seeds;                 // one; for keyframes one per keyframe (or one: seed + k)
  std::vector<int> keyframe_frames;           // keyframes: frames from each keyframe to the next
  double guidance_scale = 8;
  int num_inference_steps = 15;
  int num_interpolation_steps = 30;
  int height = 512, width = 512;
  double step_size = 0.001;
  std::string scheduler = "lms";
  // diffusers' from_config overrides on the model's scheduler config ("": the config's own).
  std::string prediction_type, timestep_spacing;
  bool seamless = false;
  Interp embed_interp = Interp::Slerp, noise_interp = Interp::Slerp;  // keyframes and morphs
  std::string noise_file;  // noise latents to use instead of drawing them
  // morph: the endpoint pictures (each inverted to noise under its prompt: prompts[i] is images[i]'s)
  // and how one of another size is brought to width x height (crop | pad | stretch; "": refused).
  std::vector<std::string> images;
  std::string fit;
  int batch_size = 1;      // frames per UNet batch
  // Frame spacing (pacing.hpp): uniform is the notebook's even t; even spaces frames by how much the
  // picture changes (noise, prompts, circle, keyframes walks), within pacing_budget renders per frame,
  // bridging cuts by trajectory blending unless blend is "off"; max_jump > 0 adds frames while two
  // neighbours differ by more (frame distance, frame_distance.hpp).
  Pacing pacing = Pacing::Uniform;
  double pacing_budget = 1.5;
  bool blend = true;  // settings.json "blend": "auto" (true) | "off"
  double max_jump = 0;
  std::vector<WalkLora> loras;  // --lora, with the keyframes' "loras" scales
  // SDXL's size conditioning: none (the frame size, 0,0), one for all (--original-size,
  // --crops-coords-top-left), or one per prompt / keyframe (a keyframe file's), interpolated frame by frame.
  std::vector<SizeConditioning> size_conditioning;
  // Model
  std::string model, tokenizer, config;
  std::string weights_hash;  // weights_hash() of the model the run started with
  nlohmann::json fingerprint;  // run_fingerprint() as the run started (null: older runs)
  int64_t frame_count = 0;     // the planned walk's frames (0: not planned yet, or an older run)
  std::string precision;     // f32 | bf16, as the run started ("": older runs, the resume's --precision)
  std::string weight_storage;  // auto | f32 | f16, as the run started ("": older runs, auto)
  std::string vae_tiling = "auto";  // auto | on | off: how frames are decoded (same pixels; memory and time)
  // Output
  std::string output;  // animation file (or the frames folder for png)
  std::string format;  // gif | webp | mp4 | webm | png
  double frame_duration_ms = 100;
  int loop = 0;
  bool ping_pong = false;

  nlohmann::json to_json() const;
  static WalkSettings from_json(const nlohmann::json& j);
  // <run_dir>/settings.json; Error naming the file when it is missing, not a regular file or invalid.
  static WalkSettings read_run_folder(const std::filesystem::path& run_dir);
  // Throws Error naming the setting that is wrong (before any model is loaded).
  void validate() const;
  // A keyframes walk's prompts, negative prompts (absent: the one negative_prompts holds), seeds (in
  // every keyframe or in none) and frame counts from a keyframe file's entries; `source` names it.
  void add_keyframes(const std::vector<KeyframeSpec>& keys, const std::string& source);
  // Whether some LoRA's scale changes along the walk (then it runs as a run-time branch, else merged).
  bool loras_vary() const;
  // The LoRAs as the model loads them: each at its first scale.
  std::vector<LoraSpec> lora_specs() const;
  // LoRA l's scale at prompt / keyframe i.
  double lora_scale(size_t l, size_t i) const;
  // The size conditioning of prompt / keyframe i (the default when none is given).
  SizeConditioning size_conditioning_of(size_t i) const;
  // How many noises the mode uses (drift/prompts 1, noise/circle 2, keyframes one per keyframe).
  int noise_count() const;

 private:
  nlohmann::json to_json_base() const;  // every key but the SDXL-only ones
};

}  // namespace sdwalk
