#pragma once
// Walk planners: pure functions from embeddings and noise to the list of frames a walk renders.
// Each planner reproduces one walk of the Hugging Face cookbook notebook "Stable Diffusion
// Interpolation" number for number (float32 where the notebook is float32, float64 where NumPy is);
// plan_keyframes walks a list of keyframes the way stable-diffusion-videos does.
//
// Shapes: embeddings are [1, 77, C] (a [77, C] input is accepted and given the leading 1);
// latents are [1, 4, h, w] (a [4, h, w] input likewise). Every error is an sdwalk::Error.
#include <cstdint>
#include <vector>

#include "sdwalk/tensor.hpp"

namespace sdwalk {

// numpy.linspace(a, b, n) in float64: a + i * ((b - a) / (n - 1)), the last value exactly b.
std::vector<double> linspace(double a, double b, int n);

// The notebook's slerp at one t (Karpathy's gist, NumPy semantics): dot = sum(v0 * v1 / (|v0| |v1|))
// over all elements in float32; |dot| > dot_threshold -> (1 - t) v0 + t v1, else
// sin((1 - t) theta) / sin(theta) v0 + sin(t theta) / sin(theta) v1 with float64 coefficients
// rounded to float32. Computed in float32; the result has v0's shape. v0 and v1 may have any shape
// with the same number of elements. Zero-norm inputs (slerp undefined) take the linear branch.
Tensor slerp(double t, const Tensor& v0, const Tensor& v1, double dot_threshold = 0.9995);

// torch.lerp(v0, v1, t) on the CPU: v0 + t (v1 - v0) for t < 0.5, v1 - (1 - t)(v1 - v0) otherwise
// (one fused multiply-add, as torch's vectorised kernel); exact at t = 0 and t = 1.
Tensor lerp(double t, const Tensor& v0, const Tensor& v1);

struct Frame {
  Tensor cond;        // [1, 77, C] prompt embeddings for this frame
  Tensor uncond;      // [1, 77, C] negative prompt embeddings
  Tensor latents;     // [1, 4, h, w] initial noise (before init_noise_sigma scaling)
  int64_t seed = -1;  // the seed the noise came from, when there is one
  // Position along the walk: drift: the offset i * step_size; noise: t; prompts/keyframes: segment
  // index + local t; circle: the fraction of the turn (t_i of linspace(0, 1, n)).
  double t = 0;
  // prompts/keyframes walks with LoRAs (WalkSettings::loras): each LoRA's scale at this frame,
  // interpolated linearly from the keyframes' (filled by plan_walk; empty without LoRAs).
  std::vector<double> lora_scales;
  // SDXL: the pooled text embeddings [1, P] of the prompt and the negative, and add_time_ids [1, 6]
  // (both halves), interpolated with the embeddings (walk_curve.hpp). Undefined for SD 1.x/2.x.
  Tensor pooled, uncond_pooled, time_ids;
};

// Example 1 (drift): frame i (i = 0..n-1) uses cond + i*step_size and uncond + i*step_size (the
// offset computed in float64 and rounded to float32, then float32 adds, as torch does), one noise.
std::vector<Frame> plan_drift(const Tensor& cond, const Tensor& uncond, const Tensor& noise, int n,
                              double step_size);

// Example 2 (noise): noises [2, 4, h, w] (the notebook's randn((2, 4, h, w)); [2, 1, 4, h, w] is
// accepted too); frame i = slerp(t_i, noises[0], noises[1]) over t = linspace(0, 1, n).
std::vector<Frame> plan_noise(const Tensor& cond, const Tensor& uncond, const Tensor& noises, int n);

// Example 3 (prompts): P >= 2 prompts, each with its negative (conds.size() == unconds.size());
// every consecutive pair slerped over linspace(0, 1, n) (the whole embedding as one vector),
// positives and negatives alike; the pairs concatenated: (P-1)*n frames. seamless drops the first
// frame of every pair after the first (it repeats the previous pair's last): (P-1)*(n-1)+1 frames.
std::vector<Frame> plan_prompts(const std::vector<Tensor>& conds, const std::vector<Tensor>& unconds,
                                const Tensor& noise, int n, bool seamless);
// Rows of a stacked [P, ...] tensor (e.g. the notebook's prompts_embeds [P, 77, C]), sharing storage.
std::vector<Tensor> unstack0(const Tensor& stacked);

// Example 4 (circle): the scales of the circular walk exactly as torch computes them in float32:
// s = linspace(0, 2, n) * pi, x = cos(s), y = sin(s).
struct CircleScales {
  std::vector<float> t;     // linspace(0, 2, n) in float32 (torch's CPU algorithm): the angle over pi
  std::vector<float> x, y;  // cos / sin of t * float32(pi)
};
CircleScales circle_scales(int n);
// The circle walk's latents at angle t * pi (t: a float32 value as circle_scales' t):
// cos(t pi) * x + sin(t pi) * y, float32 products then a float32 add, as plan_circle's frames.
Tensor circle_latents(float t, const Tensor& x, const Tensor& y);
// noises [2, 1, 4, h, w] (the notebook's randn((2, 1, 4, h, w)); [2, 4, h, w] accepted too);
// latents_i = x_i * noises[0] + y_i * noises[1] (float32 products, then a float32 add).
// seamless drops the last frame (it equals the first up to float32 rounding of sin(2 pi)).
std::vector<Frame> plan_circle(const Tensor& cond, const Tensor& uncond, const Tensor& noises, int n,
                               bool seamless);

// Keyframes (stable-diffusion-videos style).
struct Keyframe {
  Tensor cond, uncond;  // [1, 77, C] embeddings of the keyframe's prompt and negative prompt
  Tensor noise;         // [1, 4, h, w], e.g. randn((1, 4, h, w)) of its own seed
  int64_t seed = -1;
  int frames_to_next = 0;  // frames of the segment to the next keyframe, both ends included (>= 2);
                           // ignored on the last keyframe
};
enum class Interp { Slerp, Lerp };
// Segment k (keyframe k -> k+1) renders t = linspace(0, 1, keys[k].frames_to_next), both ends
// included, as stable-diffusion-videos' walk does: embeddings (cond and uncond) and noise are
// interpolated together, each with its own Interp (Slerp: the notebook's slerp; Lerp: torch.lerp).
// At t = 0 and t = 1 a frame is the keyframe itself, bit for bit (its seed recorded in Frame::seed),
// so a keyframe renders exactly as a still image of its prompt and seed.
// Without seamless, each inner keyframe is rendered twice (end of one segment, start of the next),
// like stable-diffusion-videos: sum(frames_to_next) frames. With seamless, every keyframe appears
// exactly once: sum(frames_to_next) - (K - 2) frames. The last keyframe's frame is always included.
// The frame at t of the segment a -> b (Frame::t = t): plan_keyframes' frame there. The keyframes are
// taken as given (plan_keyframes checks their shapes).
Frame keyframe_frame(const Keyframe& a, const Keyframe& b, double t, Interp embed_interp, Interp noise_interp);
std::vector<Frame> plan_keyframes(const std::vector<Keyframe>& keys, Interp embed_interp,
                                  Interp noise_interp, bool seamless);

}  // namespace sdwalk
