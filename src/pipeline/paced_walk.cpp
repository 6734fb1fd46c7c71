// Even pacing on the pipeline: pace_segment's points rendered for real. A full point is the curve's
// frame at u, denoised from its noise, keeping its latents after every step; a blend slerps two
// points' latents at step k and denoises on from there with the conditioning at its own u. Every
// point goes to run_dir/pacing/ as it is done (PNG + latents), so --resume renders none twice.
#include <algorithm>
#include <cstdio>
#include <map>

#include "sdwalk/error.hpp"
#include "sdwalk/frame_distance.hpp"
#include "sdwalk/image.hpp"
#include "sdwalk/pacing.hpp"
#include "sdwalk/safetensors.hpp"
#include "sdwalk/torch_generator.hpp"
#include "sdwalk/walk_runner.hpp"
#include "pipeline/frame_files.hpp"

namespace sdwalk {
namespace fs = std::filesystem;
namespace {

// A point's latents after each step j = 1 .. steps - 1 (after[j - 1]); undefined before a blend's k.
struct Trajectory {
  std::vector<Tensor> after;
};

// The curve's frame at u with its LoRA scales (a morph's LoRAs keep their scales, as plan_walk's).
Frame paced_frame(const WalkCurve& curve, size_t segment, double u, const WalkSettings& s) {
  std::vector<Frame> f{frame_at(curve, segment, u)};
  return s.mode == WalkMode::Morph ? f[0] : with_lora_scales(std::move(f), s)[0];
}

struct RenderedPoint {
  Image image;
  Trajectory trajectory;
};

class SegmentRenderer {
 public:
  SegmentRenderer(const StableDiffusionPipeline& pipe, const WalkSettings& s, const WalkCurve& curve, size_t segment,
                  const fs::path& dir, const RenderProgress& progress, std::map<double, RenderedPoint>& keyframes,
                  size_t& rendered, double& unet_steps, NewRunFolder& folder)
      : pipe_(pipe), s_(s), curve_(curve), segment_(segment), dir_(dir), progress_(progress),
        keyframes_(keyframes), rendered_(rendered), unet_steps_(unet_steps), folder_(folder) {
    auto scheduler = make_scheduler();
    scheduler->set_timesteps(s.num_inference_steps);
    steps_ = int(scheduler->timesteps().size());
    fingerprint_ = s.fingerprint.dump();
  }

  int steps() const { return steps_; }
  const Image& image(size_t id) const { return points_.at(id).image; }

  std::vector<Image> operator()(const std::vector<PacingPoint>& points, size_t first) {
    std::vector<Image> out(points.size());
    std::vector<size_t> full;  // positions in `points` to render from noise, together
    for (size_t i = 0; i < points.size(); ++i) {
      const size_t id = first + i;
      if (points_.size() <= id) points_.resize(id + 1);
      if (load(points[i], id)) continue;
      if (points[i].blended())
        render_blend(points[i], id);
      else
        full.push_back(i);
    }
    for (size_t b = 0; b < full.size(); b += size_t(s_.batch_size)) {
      std::vector<size_t> part(full.begin() + long(b), full.begin() + long(std::min(full.size(), b + size_t(s_.batch_size))));
      render_full(points, first, part);
    }
    for (size_t i = 0; i < points.size(); ++i) out[i] = points_[first + i].image;
    return out;
  }

 private:
  std::unique_ptr<Scheduler> make_scheduler() const { return walk_scheduler(pipe_, s_); }

  Frame frame(double u) const { return paced_frame(curve_, segment_, u, s_); }

  void set_scales(const std::vector<Frame>& frames) const {
    if (s_.loras.empty() || pipe_.lora_mode() != LoraMode::Branch) return;
    std::vector<std::vector<float>> scales(s_.loras.size());
    for (const Frame& f : frames)
      for (size_t l = 0; l < s_.loras.size(); ++l) scales[l].push_back(float(f.lora_scales.at(l)));
    pipe_.set_lora_scales(scales);
  }

  std::string name(size_t id) const {
    char buf[64];
    std::snprintf(buf, sizeof buf, "segment%03zu_point%04zu", segment_, id);
    return buf;
  }

  static nlohmann::json describe(const PacingPoint& p, size_t segment) {
    return {{"segment", segment}, {"u", p.u}, {"k", p.k}, {"from", p.from}, {"to", p.to}, {"s", p.s}};
  }

  // A point rendered before: in this run's pacing folder under the same description and fingerprint,
  // or (a keyframe at u = 0 / 1) by the segment before.
  bool load(const PacingPoint& p, size_t id) {
    const double t = double(segment_) + p.u;
    if (!p.blended() && (p.u == 0 || p.u == 1)) {
      auto it = keyframes_.find(t);
      if (it != keyframes_.end()) {
        points_[id] = it->second;
        return true;
      }
    }
    const fs::path png = dir_ / (name(id) + ".png"), latents = dir_ / (name(id) + ".safetensors");
    if (!fs::exists(png) || !fs::exists(latents)) return false;
    const auto text = read_png_text(png);
    auto d = text.find("sdwalk_point");
    auto f = text.find("sdwalk_fingerprint");
    if (d == text.end() || d->second != describe(p, segment_).dump() || f == text.end() || f->second != fingerprint_)
      return false;
    RenderedPoint r;
    r.image = read_png(png);
    const SafeTensors file = SafeTensors::open(latents);
    const std::vector<std::string>& names = file.names();
    for (int j = 1; j < steps_; ++j) {
      const std::string key = "after_" + std::to_string(j);
      const bool has = std::find(names.begin(), names.end(), key) != names.end();
      r.trajectory.after.push_back(has ? file.get(key).to_f32().clone() : Tensor());
    }
    keep(p, id, std::move(r));
    return true;
  }

  void keep(const PacingPoint& p, size_t id, RenderedPoint r) {
    if (!p.blended() && (p.u == 0 || p.u == 1)) keyframes_[double(segment_) + p.u] = r;
    points_[id] = std::move(r);
  }

  void save(const PacingPoint& p, size_t id, const RenderedPoint& r) {
    fs::create_directories(dir_);
    std::map<std::string, Tensor> tensors;
    for (size_t j = 0; j < r.trajectory.after.size(); ++j)
      if (r.trajectory.after[j].defined()) tensors["after_" + std::to_string(j + 1)] = r.trajectory.after[j];
    save_safetensors(dir_ / (name(id) + ".safetensors"), tensors);
    // The PNG last: it marks the point done.
    write_png(dir_ / (name(id) + ".png"), r.image,
              {{"sdwalk_point", describe(p, segment_).dump()}, {"sdwalk_fingerprint", fingerprint_}});
    folder_.keep();  // a point on disk: the run can be resumed
  }

  void render_full(const std::vector<PacingPoint>& points, size_t first, const std::vector<size_t>& part) {
    std::vector<Frame> frames;
    std::vector<Tensor> cond, uncond, latents;
    for (size_t i : part) {
      frames.push_back(frame(points[i].u));
      cond.push_back(frames.back().cond);
      uncond.push_back(frames.back().uncond);
      latents.push_back(frames.back().latents);
    }
    set_scales(frames);
    auto scheduler = make_scheduler();
    TorchGenerator generator = TorchGenerator::per_sample(std::vector<uint64_t>(part.size(), uint64_t(s_.seeds[0])));
    std::vector<Trajectory> traj(part.size());
    std::vector<const Frame*> batch;
    for (const Frame& f : frames) batch.push_back(&f);
    const Tensor final_latents = pipe_.denoise(
        *scheduler, cat0(cond), cat0(uncond), cat0(latents), walk_denoise_options(s_, batch), &generator,
        [&](int step, int steps, const Tensor& x) {
          if (step < steps)
            for (size_t j = 0; j < part.size(); ++j) traj[j].after.push_back(x.slice0(int64_t(j), int64_t(j) + 1).clone());
          if (progress_.on_step) progress_.on_step(first + part[0], 0, step, steps);
        });
    unet_steps_ += double(steps_) * double(part.size());
    const Tensor images = pipe_.decode(final_latents);
    for (size_t j = 0; j < part.size(); ++j) {
      RenderedPoint r{image_from_float(images.slice0(int64_t(j), int64_t(j) + 1)), std::move(traj[j])};
      save(points[part[j]], first + part[j], r);
      keep(points[part[j]], first + part[j], std::move(r));
      ++rendered_;
    }
  }

  void render_blend(const PacingPoint& p, size_t id) {
    const Tensor& a = points_.at(size_t(p.from)).trajectory.after.at(size_t(p.k - 1));
    const Tensor& b = points_.at(size_t(p.to)).trajectory.after.at(size_t(p.k - 1));
    check(a.defined() && b.defined(), "pacing: a blend at step " + std::to_string(p.k) +
                                          " of points without latents there");
    const Tensor x = slerp(p.s, a, b);
    const Frame f = frame(p.u);
    set_scales({f});
    auto scheduler = make_scheduler();
    TorchGenerator generator = TorchGenerator::per_sample({uint64_t(s_.seeds[0])});
    RenderedPoint r;
    r.trajectory.after.assign(size_t(steps_ - 1), Tensor());
    r.trajectory.after[size_t(p.k - 1)] = x;
    const Tensor final_latents = pipe_.denoise_continue(
        *scheduler, f.cond, f.uncond, x, p.k, walk_denoise_options(s_, {&f}), &generator,
        [&](int step, int steps, const Tensor& latents) {
          if (step < steps) r.trajectory.after[size_t(p.k + step - 1)] = latents.clone();
          if (progress_.on_step) progress_.on_step(id, 0, step, steps);
        });
    unet_steps_ += double(steps_ - p.k);
    r.image = image_from_float(pipe_.decode(final_latents));
    save(p, id, r);
    keep(p, id, std::move(r));
    ++rendered_;
  }

  const StableDiffusionPipeline& pipe_;
  const WalkSettings& s_;
  const WalkCurve& curve_;
  size_t segment_;
  fs::path dir_;
  const RenderProgress& progress_;
  std::map<double, RenderedPoint>& keyframes_;  // full renders at u = 0 / 1, by Frame::t: shared by segments
  size_t& rendered_;
  double& unet_steps_;
  NewRunFolder& folder_;
  int steps_ = 1;
  std::string fingerprint_;
  std::vector<RenderedPoint> points_;
};

}  // namespace

PacedRender render_paced_walk(const StableDiffusionPipeline& pipe, const WalkSettings& s, const WalkCurve& curve,
                              const fs::path& run_dir, const RenderProgress& progress) {
  check(curve.continuous(), "pacing: a " + std::string(walk_mode_name(s.mode)) + " walk has no positions between its frames");
  NewRunFolder folder(run_dir);
  remove_run_temporaries(run_dir, {});
  const nlohmann::json settings = s.to_json();
  if (!fs::exists(run_dir / "settings.json")) write_settings_file(run_dir, settings);
  PacedRender out;
  std::map<double, RenderedPoint> keyframes;
  const FrameDistance distance = default_frame_distance();
  int steps = 1;
  for (size_t seg = 0; seg < curve.segments(); ++seg) {
    SegmentRenderer renderer(pipe, s, curve, seg, run_dir / "pacing", progress, keyframes, out.rendered, out.unet_steps,
                             folder);
    steps = renderer.steps();
    PacingOptions o;
    o.frames = curve.segment_frames(seg);
    o.budget = s.pacing_budget;
    o.steps = steps;
    o.blend = s.blend;
    o.max_jump = s.max_jump;
    o.batch = s.batch_size;
    const PacedSegment paced = pace_segment(
        o, [&](const std::vector<PacingPoint>& p, size_t first) { return renderer(p, first); }, distance);
    for (const PacingCut& c : paced.cuts) out.cuts.push_back({double(seg) + c.u, c.distance, c.blended});
    for (size_t j = 0; j < paced.chosen.size(); ++j) {
      const bool repeat = s.seamless && seg > 0 && j == 0;  // the previous segment's last frame
      const bool closing = s.seamless && curve.kind == CurveKind::Circle && j + 1 == paced.chosen.size();
      if (repeat || closing) continue;
      const PacingPoint& p = paced.points[paced.chosen[j]];
      Frame frame = paced_frame(curve, seg, p.u, s);
      frame.latents = Tensor();
      const size_t index = out.t.size();
      out.t.push_back(frame.t);
      const fs::path path = frame_path(run_dir, index);
      const Image& image = renderer.image(paced.chosen[j]);
      if (!fs::exists(path)) {
        nlohmann::json meta = frame_metadata(settings, index, frame, s);
        meta["pacing"] = {{"u", p.u}, {"blend_step", p.k}, {"blend_s", p.s}};
        write_png(path, image, {{"sdwalk", meta.dump()}});
      }
      if (progress.on_frame) progress.on_frame(index, image);
    }
  }
  folder.keep();
  out.frames = out.t.size();
  out.uniform_steps = double(curve.uniform_frame_count()) * double(steps);
  return out;
}

}  // namespace sdwalk
