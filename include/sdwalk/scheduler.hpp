#pragma once
// The diffusion schedulers of diffusers v0.30.3, behind one interface, with diffusers' numerics:
// betas/alphas in float32 (torch), sigmas through float64 (numpy) then float32, timesteps exactly
// as diffusers holds them, and every step computed in float32 in diffusers' operation order.
//
//   auto s = make_scheduler("dpmpp_2m_karras", base_config);  // or make_scheduler_from_config(json)
//   s->set_timesteps(25);
//   Tensor x = noise * s->init_noise_sigma();
//   for (double t : s->timesteps()) {
//     Tensor eps = unet(s->scale_model_input(x, t), t, ...);
//     x = s->step(eps, t, x, &generator);
//   }
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "sdwalk/tensor.hpp"
#include "sdwalk/torch_generator.hpp"

namespace sdwalk {

// Every config key that changes the numbers, under diffusers' names. Defaults are those of the
// class named by class_name (diffusers' defaults differ per class: e.g. timestep_spacing is
// "leading" for DDIM/PNDM/LCM and "linspace" for LMS/Euler/DPM).
struct SchedulerConfig {
  std::string class_name;  // "LMSDiscreteScheduler", "DDIMScheduler", ...

  // beta schedule (all classes)
  int num_train_timesteps = 1000;
  double beta_start = 0.0001;
  double beta_end = 0.02;
  std::string beta_schedule = "linear";  // linear, scaled_linear, squaredcos_cap_v2
  std::vector<double> trained_betas;     // non-empty: used instead of the schedule
  bool rescale_betas_zero_snr = false;
  std::string prediction_type = "epsilon";  // epsilon, v_prediction, sample
  std::string timestep_spacing = "linspace";  // linspace, leading, trailing
  int steps_offset = 0;

  // DDIM / PNDM / LCM
  bool set_alpha_to_one = true;
  bool clip_sample = true;
  double clip_sample_range = 1.0;
  bool thresholding = false;  // dynamic thresholding: not supported (rejected)
  bool skip_prk_steps = false;  // PNDM: only true (PLMS) is supported
  // LCM
  int original_inference_steps = 50;
  double timestep_scaling = 10.0;

  // LMS / Euler / DPM sigmas
  bool use_karras_sigmas = false;
  std::optional<double> sigma_min, sigma_max;  // Euler: Karras range overrides
  std::string interpolation_type = "linear";   // Euler
  std::string timestep_type = "discrete";      // Euler: discrete, continuous (v_prediction only)
  std::string final_sigmas_type = "zero";      // Euler / DPM: zero, sigma_min

  // DPMSolverMultistep
  int solver_order = 2;
  std::string algorithm_type = "dpmsolver++";
  std::string solver_type = "midpoint";  // midpoint, heun
  bool lower_order_final = true;
  bool euler_at_final = false;
  bool use_lu_lambdas = false;  // not supported (rejected)
  double lambda_min_clipped = -std::numeric_limits<double>::infinity();
  std::optional<std::string> variance_type;  // only null is supported

  // Not a diffusers config key: DDIMScheduler.step's `eta` argument (0 = deterministic DDIM).
  double eta = 0.0;

  // Defaults of one diffusers class; Error for a class sdwalk does not implement.
  static SchedulerConfig defaults_for(const std::string& class_name);
  // `_class_name` picks the defaults (Error when absent); keys present override them; keys that
  // do not belong to the class are ignored (as diffusers' from_config does).
  static SchedulerConfig from_json(const nlohmann::json& config);
  // The same with the class given explicitly (json's _class_name is then ignored).
  static SchedulerConfig from_json(const nlohmann::json& config, const std::string& class_name);
};

// diffusers' from_config(config, **kwargs) overrides a user gives on top of the model's scheduler
// config (SD-Turbo-like runs: trailing spacing, epsilon); "" keeps the config's value.
struct SchedulerOverrides {
  std::string prediction_type;   // epsilon | v_prediction | sample
  std::string timestep_spacing;  // linspace | leading | trailing
  bool empty() const { return prediction_type.empty() && timestep_spacing.empty(); }
  // `config` with the overrides set (a null config counts as {}).
  nlohmann::json applied_to(const nlohmann::json& config) const;
};

class Scheduler {
 public:
  virtual ~Scheduler() = default;

  virtual void set_timesteps(int num_inference_steps) = 0;
  // As diffusers holds them: float values for LMS/Euler/EulerAncestral, integers otherwise.
  const std::vector<double>& timesteps() const { return timesteps_; }
  // float32 values (as doubles); n + 1 entries ending with the final sigma; empty for
  // schedulers without sigmas (DDIM, PNDM, LCM).
  const std::vector<double>& sigmas() const { return sigmas_; }
  int num_inference_steps() const { return num_inference_steps_; }
  const SchedulerConfig& config() const { return config_; }
  // Training schedule, float32 like diffusers' torch tensors.
  const std::vector<float>& betas() const { return betas_; }
  const std::vector<float>& alphas_cumprod() const { return alphas_cumprod_; }

  virtual float init_noise_sigma() const { return 1.0f; }
  // Returns the sample unchanged for schedulers that do not scale it.
  virtual Tensor scale_model_input(const Tensor& sample, double timestep) const { return sample; }
  // One denoising step: the previous sample (float32). `generator` is drawn from by the schedulers
  // diffusers draws noise in (EulerAncestral, LCM, Euler, DDIM with eta > 0); it may be null,
  // except for EulerAncestral and LCM (and DDIM with eta > 0), where it is required.
  virtual Tensor step(const Tensor& model_output, double timestep, const Tensor& sample,
                      TorchGenerator* generator) = 0;
  // Noise an image latent to `timestep` (img2img), as the scheduler's add_noise does.
  virtual Tensor add_noise(const Tensor& original, const Tensor& noise, double timestep) const = 0;
  // Start stepping at timesteps()[index] (diffusers' set_begin_index; img2img). Call after
  // set_timesteps.
  void set_begin_index(int index) { begin_index_ = index; }
  // Continue another loop's latents from timesteps()[index] (trajectory blending): like
  // set_begin_index, and a multistep scheduler builds its history up from there (LMS's order counts
  // the derivatives it has, not the index, which diffusers' img2img keeps). Call after set_timesteps.
  void restart_at(int index) {
    begin_index_ = index;
    restarted_ = true;
  }

  // Short name (lms, ddim, pndm, euler, euler_a, dpmpp_2m, dpmpp_2m_karras, lcm).
  virtual std::string name() const = 0;
  const std::string& class_name() const { return config_.class_name; }

 protected:
  explicit Scheduler(SchedulerConfig config);
  // diffusers' index_for_timestep: the position of `timestep` in timesteps() (the second one when
  // it occurs twice). Error when absent.
  int index_for_timestep(double timestep) const;
  // The step index in use: the running one, else begin_index, else index_for_timestep.
  int current_step_index(double timestep) const;
  // Clears the running step index (set_timesteps does this).
  void reset_step_index();

  SchedulerConfig config_;
  std::vector<float> betas_, alphas_cumprod_;
  std::vector<double> timesteps_, sigmas_;
  int num_inference_steps_ = 0;
  std::optional<int> step_index_, begin_index_;
  bool restarted_ = false;  // restart_at: no history before the begin index
};

// name: lms, ddim, pndm, euler, euler_a (or euler_ancestral), dpmpp_2m, dpmpp_2m_karras, lcm, or a
// diffusers class name. The scheduler is `Class.from_config(base_config, **kwargs)` with the
// kwargs that make the short name (dpmpp_2m: algorithm_type dpmsolver++, solver_order 2;
// dpmpp_2m_karras: the same + use_karras_sigmas), as swapping the scheduler of an SD pipeline does.
std::unique_ptr<Scheduler> make_scheduler(const std::string& name, const nlohmann::json& base_config);
// Throws make_scheduler's "unknown scheduler ..." unless `name` is one it accepts. Only the name:
// whether the model's config suits the class is make_scheduler's check (PNDM needs skip_prk_steps).
void check_scheduler_name(const std::string& name);
// The class named by the config's _class_name, with that config (a scheduler_config.json).
std::unique_ptr<Scheduler> make_scheduler_from_config(const nlohmann::json& scheduler_config);
// DDIMInverseScheduler.from_config(base_config): the inversion's scheduler (not a sampler, so not
// among make_scheduler's names). Its timesteps go up; step() moves a latent towards the noise.
std::unique_ptr<Scheduler> make_ddim_inverse_scheduler(const nlohmann::json& base_config);
// The short names make_scheduler accepts (canonical spellings).
std::vector<std::string> scheduler_names();

}  // namespace sdwalk
