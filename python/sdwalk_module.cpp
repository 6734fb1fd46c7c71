// The Python module: sdwalk.Engine over the C++ Engine (include/sdwalk/engine.hpp), numpy arrays in
// and out. Glue only: every argument maps onto a request field, and the GIL is released while the
// engine works (callbacks take it back).
#include <pybind11/functional.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <array>
#include <cstring>

#include "sdwalk/animation.hpp"
#include "sdwalk/engine.hpp"

namespace py = pybind11;
using namespace sdwalk;

namespace {

using Array = py::array_t<float, py::array::c_style | py::array::forcecast>;

Tensor to_tensor(const Array& a) {
  Shape shape(a.shape(), a.shape() + a.ndim());
  Tensor t(shape);
  std::memcpy(t.raw(), a.data(), t.nbytes());
  return t;
}

Array to_array(const Tensor& t) {
  const Tensor f = t.dtype() == DType::F32 ? t : t.to_f32();
  Array a(std::vector<py::ssize_t>(f.shape().begin(), f.shape().end()));
  std::memcpy(a.mutable_data(), f.raw(), f.nbytes());
  return a;
}

py::array_t<uint8_t> to_array(const Image& image) {
  py::array_t<uint8_t> a({py::ssize_t(image.height), py::ssize_t(image.width), py::ssize_t(3)});
  std::memcpy(a.mutable_data(), image.rgb.data(), image.rgb.size());
  return a;
}

// f() with the GIL released (the engine's work runs while Python threads go on).
template <class F> auto released(F f) {
  py::gil_scoped_release nogil;
  return f();
}

// A Python callable (or None) as the engine's step callback: returning False cancels.
Callbacks step_callbacks(const py::object& callback) {
  Callbacks cb;
  if (!callback.is_none())
    cb.on_step = [callback](int step, int steps) {
      py::gil_scoped_acquire gil;
      const py::object r = callback(step, steps);
      return r.is_none() || r.cast<bool>();
    };
  return cb;
}

// SDXL's size conditioning from Python pairs: original_size (height, width), crops_coords_top_left
// (top, left); None is diffusers' default (the image's size, (0, 0)).
std::array<double, 2> pair_or_zeros(const py::object& o, const std::string& what) {
  if (o.is_none()) return {0, 0};
  const auto v = o.cast<std::vector<double>>();
  check(v.size() == 2, what + ": expected two numbers, got " + std::to_string(v.size()));
  return {v[0], v[1]};
}

SizeConditioning size_conditioning(const py::object& original_size, const py::object& crops_coords_top_left) {
  SizeConditioning s;
  s.original_size = pair_or_zeros(original_size, "original_size");
  s.crops_coords_top_left = pair_or_zeros(crops_coords_top_left, "crops_coords_top_left");
  return s;
}

Engine make_engine(const std::string& model, const std::string& tokenizer, const std::string& config, int threads,
                   const std::string& precision, const std::string& weights) {
  py::gil_scoped_release nogil;
  EngineOptions o;
  o.model = model;
  o.tokenizer = tokenizer;
  o.config = config;
  o.threads = threads;
  o.precision = parse_precision(precision, "precision");
  o.weights = parse_weight_storage(weights, "weights");
  return Engine(o);
}

// uint8 [H, W, 3] frames -> the animation file's bytes (gif, webp, mp4, webm), as the CLI writes them.
py::bytes encode_animation(const std::vector<py::array_t<uint8_t, py::array::c_style | py::array::forcecast>>& frames,
                           const std::string& format, double frame_duration_ms, int loop, bool ping_pong) {
  AnimationOptions o;
  o.frame_duration_ms = frame_duration_ms;
  o.loop = loop;
  o.ping_pong = ping_pong;
  std::vector<uint8_t> bytes;
  const auto sink = make_memory_frame_sink(format_from_name(format), bytes, o);
  for (const auto& f : frames) {
    check(f.ndim() == 3 && f.shape(2) == 3, "encode_animation: frames are uint8 arrays [height, width, 3]");
    Image image{int(f.shape(1)), int(f.shape(0)), std::vector<uint8_t>(f.data(), f.data() + f.size())};
    sink->add(image);
  }
  sink->finish();
  return py::bytes(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

}  // namespace

PYBIND11_MODULE(sdwalk, m) {
  m.doc() = "sdwalk: Stable Diffusion interpolation walks on the CPU";
  // Error first: pybind11 tries the translators newest first, and Cancelled is an Error.
  const auto error = py::register_exception<Error>(m, "Error");
  py::register_exception<Cancelled>(m, "Cancelled", error.ptr());
  m.def("encode_animation", &encode_animation, py::arg("frames"), py::arg("format") = "gif",
        py::arg("frame_duration_ms") = 100.0, py::arg("loop") = 0, py::arg("ping_pong") = false,
        "uint8 frames [height, width, 3] -> the bytes of a gif, webp, mp4 or webm animation.");
  py::class_<Engine>(m, "Engine")
      .def(py::init(&make_engine), py::arg("model"), py::arg("tokenizer") = "", py::arg("config") = "",
           py::arg("threads") = 0, py::arg("precision") = "auto", py::arg("weights") = "auto")
      .def_property_readonly("threads", &Engine::threads)
      .def(
          "generate",
          [](const Engine& e, const std::string& prompt, const std::string& negative_prompt, int height, int width,
             int num_inference_steps, double guidance_scale, const std::string& scheduler, uint64_t seed,
             const py::object& callback, const py::object& original_size, const py::object& crops_coords_top_left) {
            GenerateRequest r;
            r.prompt = prompt;
            r.negative_prompt = negative_prompt;
            r.height = height;
            r.width = width;
            r.num_inference_steps = num_inference_steps;
            r.guidance_scale = guidance_scale;
            r.scheduler = scheduler;
            r.seed = seed;
            r.size_conditioning = size_conditioning(original_size, crops_coords_top_left);
            const Callbacks cb = step_callbacks(callback);
            return to_array(released([&] { return e.generate(r, cb).image; }));
          },
          py::arg("prompt"), py::arg("negative_prompt") = "", py::arg("height") = 512, py::arg("width") = 512,
          py::arg("num_inference_steps") = 50, py::arg("guidance_scale") = 7.5, py::arg("scheduler") = "",
          py::arg("seed") = 0, py::arg("callback") = py::none(), py::arg("original_size") = py::none(),
          py::arg("crops_coords_top_left") = py::none(),
          "One picture: a uint8 array [height, width, 3]. callback(step, steps) -> False cancels. SDXL: "
          "original_size (height, width) and crops_coords_top_left (top, left) as StableDiffusionXLPipeline's.")
      .def(
          "encode_prompt",
          [](const Engine& e, const std::string& prompt, bool return_pooled, bool negative) -> py::object {
            const EncodedPrompt p =
                released([&] { return negative ? e.encode_negative_prompt(prompt) : e.encode_prompt(prompt); });
            if (!return_pooled) return to_array(p.embeds);
            check(p.pooled.defined(), "encode_prompt: return_pooled: this model is not SDXL (it has no pooled embeddings)");
            return py::make_tuple(to_array(p.embeds), to_array(p.pooled));
          },
          py::arg("prompt"), py::arg("return_pooled") = false, py::arg("negative") = false,
          "Prompt embeddings [1, 77, C] (float32); return_pooled (SDXL): (embeddings, pooled [1, P]). negative: "
          "encode it as the unconditional side (SDXL's force_zeros_for_empty_prompt gives zeros for \"\").")
      .def(
          "denoise",
          [](const Engine& e, const Array& cond, const Array& uncond, const Array& latents, int num_inference_steps,
             double guidance_scale, const std::string& scheduler, uint64_t seed, const py::object& callback,
             const py::object& pooled, const py::object& negative_pooled, const py::object& original_size,
             const py::object& crops_coords_top_left) {
            const Tensor c = to_tensor(cond), u = to_tensor(uncond), x = to_tensor(latents);
            DenoiseOptions options{num_inference_steps, guidance_scale};
            const SizeConditioning size = size_conditioning(original_size, crops_coords_top_left);
            check(!pooled.is_none() || size.is_default(),
                  "denoise: original_size / crops_coords_top_left go with pooled embeddings (SDXL)");
            if (!pooled.is_none()) options.added_cond = e.added_cond(to_tensor(pooled.cast<Array>()), x, size);
            if (!negative_pooled.is_none())
              options.negative_added_cond = e.added_cond(to_tensor(negative_pooled.cast<Array>()), x, size);
            const Callbacks cb = step_callbacks(callback);
            return to_array(released([&] { return e.denoise(c, u, x, options, scheduler, seed, cb); }));
          },
          py::arg("cond"), py::arg("uncond"), py::arg("latents"), py::arg("num_inference_steps") = 50,
          py::arg("guidance_scale") = 7.5, py::arg("scheduler") = "", py::arg("seed") = 0,
          py::arg("callback") = py::none(), py::arg("pooled") = py::none(), py::arg("negative_pooled") = py::none(),
          py::arg("original_size") = py::none(), py::arg("crops_coords_top_left") = py::none(),
          "The denoising loop from noise latents [B, 4, h, w] (before init_noise_sigma), as diffusers' latents=. "
          "SDXL: pooled / negative_pooled [1 or B, P] (from encode_prompt(..., return_pooled=True)) and the size "
          "conditioning, as StableDiffusionXLPipeline's added_cond_kwargs.")
      .def(
          "decode",
          [](const Engine& e, const Array& latents) {
            const Tensor x = to_tensor(latents);
            return to_array(released([&] { return e.decode(x); }));
          },
          py::arg("latents"), "Latents -> float32 images [B, H, W, 3] in [0, 1].")
      .def(
          "walk",
          [](const Engine& e, const std::string& mode, const std::vector<std::string>& prompts, int64_t seed,
             int frames, int num_inference_steps, double guidance_scale, int height, int width,
             const std::string& scheduler, const std::string& run_dir, const py::object& on_frame,
             const py::object& original_size, const py::object& crops_coords_top_left) {
            WalkSettings s;
            s.mode = parse_walk_mode(mode);
            s.prompts = prompts;
            s.seeds = {seed};
            s.num_interpolation_steps = frames;
            s.num_inference_steps = num_inference_steps;
            s.guidance_scale = guidance_scale;
            s.height = height;
            s.width = width;
            if (!scheduler.empty()) s.scheduler = scheduler;
            s.format = "png";
            const SizeConditioning size = size_conditioning(original_size, crops_coords_top_left);
            if (!size.is_default()) s.size_conditioning = {size};
            std::vector<py::object> out;
            Callbacks cb;
            cb.on_frame = [&](size_t i, const Image& image) {
              py::gil_scoped_acquire gil;
              out.push_back(to_array(image));
              if (on_frame.is_none()) return true;
              const py::object r = on_frame(i, out.back());
              return r.is_none() || r.cast<bool>();
            };
            released([&] { return e.render(s, e.plan(s), run_dir, cb); });
            return out;
          },
          py::arg("mode"), py::arg("prompts"), py::arg("seed") = 0, py::arg("frames") = 30,
          py::arg("num_inference_steps") = 15, py::arg("guidance_scale") = 8.0, py::arg("height") = 512,
          py::arg("width") = 512, py::arg("scheduler") = "", py::arg("run_dir"), py::arg("on_frame") = py::none(),
          py::arg("original_size") = py::none(), py::arg("crops_coords_top_left") = py::none(),
          "A walk (drift, noise, prompts, circle) at the notebook's uniform t (even pacing: the CLI or Engine::walk), "
          "rendered into run_dir (resumable); its frames as uint8 arrays, "
          "in order. on_frame(index, frame) -> False cancels. SDXL: the size conditioning of every frame.");
}
