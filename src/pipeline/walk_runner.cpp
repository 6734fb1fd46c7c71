#include "sdwalk/walk_runner.hpp"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <cstdio>
#include <map>
#include <tuple>

#include "output/temp_path.hpp"
#include "pipeline/frame_files.hpp"
#include "sdwalk/animation.hpp"
#include "core/atomic_file.hpp"
#include "sdwalk/error.hpp"
#include "sdwalk/image.hpp"
#include "sdwalk/request_checks.hpp"
#include "core/file_checks.hpp"
#include "sdwalk/safetensors.hpp"

namespace sdwalk {
namespace fs = std::filesystem;

Tensor load_noise_file(const fs::path& path, int count, const Shape& noise_shape) {
  const SafeTensors file = SafeTensors::open(path);
  check(file.names().size() == 1, path.string() + ": expected exactly one tensor (the noise latents), found " +
                                      std::to_string(file.names().size()));
  const Tensor t = file.get(file.names()[0]);
  Shape shape = noise_shape;
  shape.insert(shape.begin(), count);
  check(t.numel() == shape_numel(shape),
        path.string() + ": tensor '" + file.names()[0] + "' " + shape_string(t.shape()) + " has " +
            std::to_string(t.numel()) + " elements; this walk needs " + std::to_string(count) + " noise(s) of " +
            shape_string(noise_shape) + " = " + std::to_string(shape_numel(shape)));
  Tensor out = t.to_f32().reshape(shape);
  const float* p = out.f32();
  for (int64_t i = 0; i < out.numel(); ++i)
    check(std::isfinite(p[i]), path.string() + ": tensor '" + file.names()[0] + "' holds NaN/Inf (element " +
                                   std::to_string(i) + "); noise latents must be finite");
  return out;
}

void check_walk_request(const ModelFiles& files, const WalkSettings& s) {
  s.validate();
  const Shape one = latent_shape_for(files, 1, s.height, s.width);
  check_scheduler_request(files, s.scheduler, s.num_inference_steps);
  for (const SizeConditioning& c : s.size_conditioning) check_size_conditioning(files, c);
  if (s.mode == WalkMode::Morph) check_invertible(files);
  if (!s.noise_file.empty()) load_noise_file(s.noise_file, s.noise_count(), Shape(one.begin() + 1, one.end()));
  for (size_t i = 0; i < s.images.size(); ++i)  // readable, and of the walk's size or fitted
    if (!s.images[i].empty()) load_walk_image(s, i);
}

namespace {

// A morph walk: each picture is inverted once (exactly, under its prompt, at guidance 1) and the walk
// goes through the noises (slerp) and embeddings as a keyframes walk; DDIM renders it (render_walk),
// so the endpoint frames regenerate the pictures' VAE round trips.
template <class Embed, class Negative>
std::vector<Keyframe> morph_keyframes(const StableDiffusionPipeline& pipe, const WalkSettings& s, Embed& embed,
                              Negative& negative) {
  std::vector<Keyframe> keys;
  const int n = s.num_interpolation_steps;
  for (size_t i = 0; i < s.images.size(); ++i) {
    const Tensor cond = embed(s.prompts[i]);
    const int64_t seed = s.seeds.size() == 1 ? s.seeds[0] + int64_t(i) : s.seeds[i];
    Tensor noise;
    if (s.images[i].empty()) {  // a prompt keyframe (keyframe file): its seed's noise, as a keyframes walk's
      noise = TorchGenerator(uint64_t(seed)).randn(pipe.latent_shape(1, s.height, s.width));
    } else {
      const Image image = load_walk_image(s, i);
      const Tensor x0 = pipe.image_latents(pipe.encode(StableDiffusionPipeline::image_to_tensor(image)), nullptr);
      InversionOptions options;
      options.num_inference_steps = s.num_inference_steps;
      options.method = InversionMethod::Exact;
      noise = pipe.invert(x0, cond, options).noise;
    }
    const int frames = i + 1 < s.images.size() ? (s.keyframe_frames.empty() ? n : s.keyframe_frames[i]) : 0;
    keys.push_back({cond, embed(negative(i)), noise, s.images[i].empty() ? seed : s.seeds[0], frames});
  }
  return keys;
}

}  // namespace

Image load_walk_image(const WalkSettings& s, size_t i) {
  const std::string& path = s.images.at(i);
  const Image image = read_png(path);
  if (image.width == s.width && image.height == s.height) return image;
  check(!s.fit.empty(), path + " is " + std::to_string(image.width) + "x" + std::to_string(image.height) +
                            ", the walk " + std::to_string(s.width) + "x" + std::to_string(s.height) +
                            ": pass --fit crop|pad|stretch");
  return fit_image(image, s.width, s.height, parse_image_fit(s.fit, "--fit"));
}

// Frame::t of a prompts/keyframes walk is the segment index + the local t: each LoRA's scale there is
// (1 - t) a + t b between the segment's keyframes (exactly a at t = 0 and b at t = 1: scales are finite).
std::vector<Frame> with_lora_scales(std::vector<Frame> frames, const WalkSettings& s) {
  if (s.loras.empty()) return frames;
  const double last = double(s.prompts.size() - 1);
  for (Frame& f : frames) {
    const double seg = std::min(std::floor(f.t), last - 1);
    const double local = f.t - seg;
    for (size_t l = 0; l < s.loras.size(); ++l) {
      const double a = s.lora_scale(l, size_t(seg)), b = s.lora_scale(l, size_t(seg) + 1);
      f.lora_scales.push_back((1 - local) * a + local * b);
    }
  }
  return frames;
}

std::vector<Frame> plan_walk(const StableDiffusionPipeline& pipe, const WalkSettings& s) {
  const WalkCurve curve = walk_curve(pipe, s);
  std::vector<Frame> frames = plan_uniform(curve);
  if (curve.kind == CurveKind::Prompts || (curve.kind == CurveKind::Keyframes && s.mode != WalkMode::Morph))
    frames = with_lora_scales(std::move(frames), s);
  return frames;
}

WalkCurve walk_curve(const StableDiffusionPipeline& pipe, const WalkSettings& s) {
  s.validate();
  check(s.loras.size() == pipe.loras().size(),
        "walk: " + std::to_string(s.loras.size()) + " LoRA(s) in the settings, " + std::to_string(pipe.loras().size()) +
            " loaded with the model");
  const bool branch = !s.loras.empty() && pipe.lora_mode() == LoraMode::Branch;
  check(!s.loras_vary() || branch, "walk: the LoRA scales change along the walk, but the model merged its LoRAs "
                                   "(load it with LoraMode::Branch)");
  // The text encoder's LoRAs at prompt i's scales (diffusers applies the scale to both networks): a
  // keyframe's embedding is the one a still image of it gets; frames between interpolate embeddings.
  size_t scales_of = 0;
  auto use_scales_of = [&](size_t i) {
    scales_of = i;
    if (!branch) return;
    std::vector<std::vector<float>> v;
    for (size_t l = 0; l < s.loras.size(); ++l) v.push_back({float(s.lora_scale(l, i))});
    pipe.set_lora_scales(v);
  };
  // Each distinct prompt (at its scales, as prompt or as negative) is encoded once.
  std::map<std::tuple<std::string, size_t, bool>, EncodedPrompt> cache;
  auto encoded = [&](const std::string& prompt, bool negative) -> const EncodedPrompt& {
    const size_t key = s.loras_vary() ? scales_of : 0;
    auto it = cache.find({prompt, key, negative});
    if (it == cache.end())
      it = cache.emplace(std::make_tuple(prompt, key, negative),
                         negative ? pipe.encode_negative_prompt(prompt) : pipe.encode_prompt(prompt))
               .first;
    return it->second;
  };
  auto embed = [&](const std::string& prompt) { return encoded(prompt, false).embeds; };
  // SDXL: an empty negative prompt is zeros (force_zeros_for_empty_prompt); SD: the encoded "".
  auto embed_negative = [&](const std::string& prompt) { return encoded(prompt, true).embeds; };
  // SDXL's added conditioning of prompt i, beside its embeddings (WalkCurve::pooled, ...).
  WalkCurve curve;
  auto add_sdxl = [&](size_t i, const std::string& negative_prompt) {
    if (!pipe.is_sdxl()) return;
    curve.pooled.push_back(encoded(s.prompts[i], false).pooled);
    curve.unpooled.push_back(encoded(negative_prompt, true).pooled);
    curve.time_ids.push_back(add_time_ids(s.size_conditioning_of(i), s.height, s.width));
  };
  check(pipe.is_sdxl() || s.size_conditioning.empty(),
        "walk: original_size / crops_coords_top_left are SDXL's size conditioning; " + s.model + " is not SDXL");
  use_scales_of(0);
  auto negative = [&](size_t i) -> std::string {
    if (s.negative_prompts.empty()) return "";
    return s.negative_prompts.size() == 1 ? s.negative_prompts[0] : s.negative_prompts[i];
  };
  const Shape one = pipe.latent_shape(1, s.height, s.width);
  const Shape single(one.begin() + 1, one.end());  // [4, h, w]
  auto noise_shape = [&](std::initializer_list<int64_t> lead) {
    Shape out(lead);
    out.insert(out.end(), single.begin(), single.end());
    return out;
  };
  const int n = s.num_interpolation_steps;
  const int k = s.noise_count();
  curve.frames = n;
  curve.step_size = s.step_size;
  curve.seamless = s.seamless;
  curve.embed_interp = s.embed_interp;
  curve.noise_interp = s.noise_interp;
  Tensor noise;
  if (!s.noise_file.empty()) noise = load_noise_file(s.noise_file, k, single);

  if (s.mode == WalkMode::Drift || s.mode == WalkMode::Noise || s.mode == WalkMode::Circle) {
    // One prompt: the LoRAs' scales are constant (validate), merged or at their load-time values.
    curve.conds = {embed(s.prompts[0])};
    curve.unconds = {embed_negative(negative(0))};
    add_sdxl(0, negative(0));
    const Shape shape = s.mode == WalkMode::Drift ? one : s.mode == WalkMode::Noise ? noise_shape({2}) : noise_shape({2, 1});
    curve.kind = s.mode == WalkMode::Drift ? CurveKind::Drift : s.mode == WalkMode::Noise ? CurveKind::Noise : CurveKind::Circle;
    curve.noise = (noise.defined() ? noise : TorchGenerator(uint64_t(s.seeds[0])).randn(shape)).reshape(shape);
    return curve;
  }
  curve.kind = CurveKind::Keyframes;
  if (s.mode == WalkMode::Morph) {
    check_invertible(pipe.files());
    curve.keys = morph_keyframes(pipe, s, embed, negative);
    return curve;
  }
  std::vector<Tensor> conds, unconds;
  for (size_t i = 0; i < s.prompts.size(); ++i) {
    use_scales_of(i);
    conds.push_back(embed(s.prompts[i]));
    unconds.push_back(embed_negative(negative(i)));
    add_sdxl(i, negative(i));
  }
  use_scales_of(0);
  if (s.mode == WalkMode::Prompts) {
    curve.kind = CurveKind::Prompts;
    curve.conds = conds;
    curve.unconds = unconds;
    curve.noise = (noise.defined() ? noise : TorchGenerator(uint64_t(s.seeds[0])).randn(one)).reshape(one);
    return curve;
  }
  for (size_t i = 0; i < s.prompts.size(); ++i) {
    const int64_t seed = s.seeds.size() == 1 ? s.seeds[0] + int64_t(i) : s.seeds[i];
    const Tensor x = noise.defined() ? noise.slice0(int64_t(i), int64_t(i) + 1).clone()
                                     : TorchGenerator(uint64_t(seed)).randn(one);
    const int frames = i + 1 < s.prompts.size() ? (s.keyframe_frames.empty() ? n : s.keyframe_frames[i]) : 0;
    curve.keys.push_back({conds[i], unconds[i], x.reshape(one), seed, frames});
  }
  return curve;
}

DenoiseOptions walk_denoise_options(const WalkSettings& s, const std::vector<const Frame*>& batch) {
  DenoiseOptions options(s.num_inference_steps, s.guidance_scale);
  if (batch.empty() || !batch[0]->pooled.defined()) return options;
  std::vector<Tensor> pooled, unpooled, time_ids;
  for (const Frame* f : batch) {
    check(f->pooled.defined() && f->uncond_pooled.defined() && f->time_ids.defined(),
          "walk: an SDXL frame without its pooled embeddings or time ids");
    pooled.push_back(f->pooled);
    unpooled.push_back(f->uncond_pooled);
    time_ids.push_back(f->time_ids);
  }
  const Tensor ids = cat0(time_ids);
  options.added_cond = {cat0(pooled), ids};
  options.negative_added_cond = {cat0(unpooled), ids};
  return options;
}

void remove_run_temporaries(const fs::path& run_dir, const Shard& shard) {
  // Shards running now share the folder: each removes only the temporaries of its own frames.
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(run_dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind(".settings.json", 0) == 0 && shard.whole()) fs::remove(e.path(), ec);
    if (name.rfind(".frame_", 0) != 0) continue;
    const size_t index = std::strtoull(name.c_str() + std::strlen(".frame_"), nullptr, 10);
    if (shard.has(index)) fs::remove(e.path(), ec);
  }
  // Even pacing's points (one process only): any temporary there is a killed run's.
  if (!shard.whole()) return;
  for (const auto& e : fs::directory_iterator(run_dir / "pacing", ec))
    if (e.path().filename().string().rfind(".", 0) == 0) fs::remove(e.path(), ec);
}

NewRunFolder::NewRunFolder(const fs::path& dir) : dir_(dir), created_(!fs::exists(dir)) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  check(fs::is_directory(dir), dir.string() + ": cannot create the run folder (" + ec.message() + ")");
}

NewRunFolder::~NewRunFolder() {
  if (!created_ || kept_) return;
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

void write_settings_file(const fs::path& run_dir, const nlohmann::json& settings) {
  const std::string text = settings.dump(2) + "\n";
  AtomicFile f(run_dir / "settings.json");
  f.write(text.data(), text.size());
  f.commit();
}

nlohmann::json frame_metadata(const nlohmann::json& settings, size_t index, const Frame& frame, const WalkSettings& s) {
  nlohmann::json meta = settings;
  meta["frame"] = index;
  meta["t"] = frame.t;
  if (!frame.lora_scales.empty()) meta["lora_scales"] = frame.lora_scales;
  meta["frame_seed"] = frame.seed >= 0 ? frame.seed : s.seeds[0];
  return meta;
}

std::unique_ptr<Scheduler> walk_scheduler(const StableDiffusionPipeline& pipe, const WalkSettings& s) {
  // A morph renders with the DDIM its inversion undid (the inversion's spacing).
  if (s.mode == WalkMode::Morph) return pipe.make_scheduler("ddim", pipe.inversion_overrides());
  return pipe.make_scheduler(s.scheduler, {s.prediction_type, s.timestep_spacing});
}

fs::path frame_path(const fs::path& run_dir, size_t index) {
  return run_dir / frame_file_name(int64_t(index));
}

namespace {


}  // namespace

size_t render_walk(const StableDiffusionPipeline& pipe, const WalkSettings& s, const std::vector<Frame>& frames,
                   const fs::path& run_dir, const RenderProgress& progress, const Shard& shard) {
  NewRunFolder folder(run_dir);
  remove_run_temporaries(run_dir, shard);
  const nlohmann::json settings = s.to_json();
  if (!fs::exists(run_dir / "settings.json")) write_settings_file(run_dir, settings);

  std::vector<size_t> missing;
  for (size_t i = 0; i < frames.size(); ++i)
    if (shard.has(i) && !fs::exists(frame_path(run_dir, i))) missing.push_back(i);

  // Hands frames [next, upto) to on_frame, reading back the ones an earlier run wrote.
  size_t next = 0;
  std::map<size_t, Image> fresh;  // rendered now, not handed on yet
  auto deliver_until = [&](size_t upto) {
    for (; next < upto; ++next) {
      if (!progress.on_frame || !shard.has(next)) continue;
      auto it = fresh.find(next);
      progress.on_frame(next, it != fresh.end() ? it->second : read_png(frame_path(run_dir, next)));
      if (it != fresh.end()) fresh.erase(it);
    }
  };
  for (size_t b = 0; b < missing.size(); b += size_t(s.batch_size)) {
    deliver_until(missing[b]);
    const size_t e = std::min(missing.size(), b + size_t(s.batch_size));
    std::vector<Tensor> cond, uncond, latents;
    std::vector<const Frame*> batch;
    for (size_t j = b; j < e; ++j) {
      const Frame& f = frames[missing[j]];
      cond.push_back(f.cond);
      uncond.push_back(f.uncond);
      latents.push_back(f.latents);
      batch.push_back(&f);
    }
    const DenoiseOptions options = walk_denoise_options(s, batch);
    if (!s.loras.empty() && pipe.lora_mode() == LoraMode::Branch) {
      // Each frame of the batch at its own LoRA scales (the branches read them per sample).
      std::vector<std::vector<float>> scales(s.loras.size());
      for (size_t j = b; j < e; ++j)
        for (size_t l = 0; l < s.loras.size(); ++l) {
          const Frame& f = frames[missing[j]];
          scales[l].push_back(float(l < f.lora_scales.size() ? f.lora_scales[l] : s.lora_scale(l, 0)));
        }
      pipe.set_lora_scales(scales);
    }
    auto scheduler = walk_scheduler(pipe, s);
    // Ancestral schedulers draw per-step noise: every frame has its own stream from the walk's seed
    // (diffusers' list of generators), so a frame renders the same whatever its batch, whatever was
    // rendered before it and whether the run was resumed.
    TorchGenerator generator = TorchGenerator::per_sample(std::vector<uint64_t>(e - b, uint64_t(s.seeds[0])));
    const Tensor final_latents =
        pipe.denoise(*scheduler, cat0(cond), cat0(uncond), cat0(latents), options, &generator,
                     [&](int step, int steps, const Tensor&) {
                       if (progress.on_step) progress.on_step(missing[b], frames.size(), step, steps);
                     });
    const Tensor images = pipe.decode(final_latents);
    for (size_t j = b; j < e; ++j) {
      const size_t index = missing[j];
      const nlohmann::json meta = frame_metadata(settings, index, frames[index], s);
      Image image = image_from_float(images.slice0(int64_t(j - b), int64_t(j - b) + 1));
      write_png(frame_path(run_dir, index), image, {{"sdwalk", meta.dump()}});
      folder.keep();
      if (progress.on_frame) fresh.emplace(index, std::move(image));
    }
    deliver_until(missing[e - 1] + 1);
  }
  folder.keep();  // also when every frame was there already
  deliver_until(frames.size());
  return missing.size();
}

}  // namespace sdwalk
