#include "pipeline/run_fingerprint.hpp"

#include <fstream>
#include <iterator>
#include <set>

#include "sdwalk/error.hpp"
#include "core/file_checks.hpp"
#include "sdwalk/image.hpp"
#include "io/weights_hash.hpp"

namespace sdwalk {
namespace fs = std::filesystem;
namespace {

std::string file_hash(const fs::path& path) {
  check_regular_file(path, "a file the run depends on");
  std::ifstream in(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), {});
  check(!in.bad(), path.string() + ": cannot read");
  return bytes_hash(bytes.data(), bytes.size());
}

std::string json_hash(const nlohmann::json& j) {
  const std::string text = j.dump();  // objects keep their keys sorted: the same config, the same text
  return bytes_hash(text.data(), text.size());
}

}  // namespace

nlohmann::json run_fingerprint(const WalkSettings& s, const ModelFiles& files) {
  const nlohmann::json all = s.to_json();
  nlohmann::json fp = nlohmann::json::object();
  // The settings that change pixels. Not: output, format, frame_duration_ms, loop, ping_pong (the
  // animation, not the frames), model/tokenizer/config paths (their contents are hashed below),
  // vae_tiling and batch_size (the same pixels: each frame has its own noise streams),
  // weights_hash/fingerprint/sdwalk_version.
  for (const char* key : {"mode", "prompts", "negative_prompts", "seeds", "keyframe_frames", "guidance_scale",
                          "num_inference_steps", "num_interpolation_steps", "height", "width", "step_size",
                          "scheduler", "seamless", "embed_interp", "noise_interp", "precision"})
    fp[key] = all.at(key);
  // Even pacing chooses the frames' t from what it rendered: its settings decide the frames too.
  if (s.pacing == Pacing::Even)
    for (const char* key : {"pacing", "pacing_budget", "blend", "max_jump"}) fp[key] = all.at(key);
  // --weights f16 rounds an f32 checkpoint's weights; auto and f32 give the same pixels.
  fp["fp16 weights"] = s.weight_storage == "f16";
  fp["weights"] = weights_hash(files);
  fp["text_encoder config"] = json_hash(files.text_encoder_config);
  fp["unet config"] = json_hash(files.unet_config);
  fp["vae config"] = json_hash(files.vae_config);
  fp["scheduler config"] = json_hash(files.scheduler_config);
  fp["tokenizer"] = file_hash(files.tokenizer_dir / "vocab.json") + file_hash(files.tokenizer_dir / "merges.txt");
  fp["noise file"] = s.noise_file.empty() ? "" : file_hash(s.noise_file);
  if (files.is_sdxl()) {  // only then: SD runs keep the fingerprints they had
    fp["text_encoder_2 config"] = json_hash(files.text_encoder_2_config);
    fp["tokenizer_2"] = file_hash(files.tokenizer_2_dir / "vocab.json") + file_hash(files.tokenizer_2_dir / "merges.txt");
    fp["force_zeros_for_empty_prompt"] = files.force_zeros_for_empty_prompt;
  }
  if (all.contains("size_conditioning")) fp["size_conditioning"] = all.at("size_conditioning");
  if (!s.images.empty()) {  // morph: the pictures' contents and how they are fitted
    nlohmann::json images = nlohmann::json::array();
    for (const std::string& image : s.images) images.push_back(image.empty() ? "" : file_hash(image));
    fp["images"] = images;
    fp["fit"] = s.fit;
  }
  // LoRAs: their contents and scales (merged ones are in the weights' hash too).
  if (!s.loras.empty()) {
    nlohmann::json loras = nlohmann::json::array();
    for (const WalkLora& l : s.loras) loras.push_back({{"file", file_hash(l.file)}, {"scales", l.scales}});
    fp["loras"] = loras;
  }
  return fp;
}

std::vector<std::string> fingerprint_changes(const nlohmann::json& before, const nlohmann::json& now) {
  std::set<std::string> keys;
  for (const auto& j : {before, now})
    for (auto it = j.begin(); it != j.end(); ++it) keys.insert(it.key());
  std::vector<std::string> out;
  for (const std::string& k : keys)
    if (!before.contains(k) || !now.contains(k) || before[k] != now[k]) out.push_back(k);
  return out;
}

void check_run_frames(const fs::path& run_dir, const nlohmann::json& now) {
  if (!fs::is_directory(run_dir)) return;
  for (const auto& e : fs::directory_iterator(run_dir)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("frame_", 0) != 0 || e.path().extension() != ".png") continue;
    const auto text = read_png_text(e.path());
    const auto it = text.find("sdwalk");
    if (it == text.end()) continue;
    const nlohmann::json meta = nlohmann::json::parse(it->second, nullptr, false);
    // Frames of an older sdwalk, or rendered through the library without one, are not checked.
    if (meta.is_discarded() || !meta.contains("fingerprint") || !meta["fingerprint"].is_object()) continue;
    const auto changes = fingerprint_changes(meta["fingerprint"], now);
    if (changes.empty()) continue;
    std::string list;
    for (const auto& c : changes) list += (list.empty() ? "" : ", ") + c;
    throw Error(run_dir.string() + ": " + name + " was rendered with other settings or another model; changed since: " +
                list + ". Resuming would mix two runs: undo the change, or start a new walk");
  }
}

}  // namespace sdwalk
