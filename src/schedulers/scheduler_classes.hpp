#pragma once
// The scheduler classes behind make_scheduler (one .cpp each, named after diffusers' module).
#include <deque>
#include <memory>
#include <vector>

#include "sdwalk/scheduler.hpp"

namespace sdwalk::sched {

// Scheduler with Karras-style sigmas indexed by step (LMS, Euler, EulerAncestral): shared
// init_noise_sigma, scale_model_input and add_noise.
class SigmaScheduler : public Scheduler {
 public:
  float init_noise_sigma() const override;
  Tensor scale_model_input(const Tensor& sample, double timestep) const override;
  Tensor add_noise(const Tensor& original, const Tensor& noise, double timestep) const override;

 protected:
  using Scheduler::Scheduler;
  // Timesteps of the config's timestep_spacing, float32 values (LMS / Euler / EulerAncestral).
  std::vector<float> spaced_timesteps_f32(int n) const;
  // diffusers: index used by add_noise (begin_index / step_index aware).
  int noise_index(double timestep) const;
};

// Scheduler on the DDPM alphas_cumprod (DDIM, PNDM, LCM): init_noise_sigma 1, no input scaling.
class AlphaScheduler : public Scheduler {
 public:
  Tensor add_noise(const Tensor& original, const Tensor& noise, double timestep) const override;

 protected:
  using Scheduler::Scheduler;
  float alpha_prod(int64_t timestep) const;  // alphas_cumprod[t], or the final alpha when t < 0
  float final_alpha_cumprod_ = 1.0f;
};

class LMSDiscreteScheduler : public SigmaScheduler {
 public:
  explicit LMSDiscreteScheduler(SchedulerConfig config);
  void set_timesteps(int num_inference_steps) override;
  Tensor step(const Tensor& model_output, double timestep, const Tensor& sample, TorchGenerator* generator) override;
  std::string name() const override { return "lms"; }
  // The linear multistep coefficient of diffusers' get_lms_coefficient (scipy quad, epsrel 1e-4).
  double lms_coefficient(int order, int t, int current_order) const;

 private:
  std::deque<Tensor> derivatives_;
};

class EulerDiscreteScheduler : public SigmaScheduler {
 public:
  explicit EulerDiscreteScheduler(SchedulerConfig config);
  void set_timesteps(int num_inference_steps) override;
  Tensor step(const Tensor& model_output, double timestep, const Tensor& sample, TorchGenerator* generator) override;
  std::string name() const override { return "euler"; }
};

class EulerAncestralDiscreteScheduler : public SigmaScheduler {
 public:
  explicit EulerAncestralDiscreteScheduler(SchedulerConfig config);
  void set_timesteps(int num_inference_steps) override;
  Tensor step(const Tensor& model_output, double timestep, const Tensor& sample, TorchGenerator* generator) override;
  std::string name() const override { return "euler_a"; }
};

class DDIMScheduler : public AlphaScheduler {
 public:
  explicit DDIMScheduler(SchedulerConfig config);
  void set_timesteps(int num_inference_steps) override;
  Tensor step(const Tensor& model_output, double timestep, const Tensor& sample, TorchGenerator* generator) override;
  std::string name() const override { return "ddim"; }
};

// diffusers DDIMInverseScheduler: DDIM run from the image towards the noise (inversion). Its
// timesteps go up (1, 101, ... with leading spacing); step(eps, t, x) moves x from the timestep
// t - N / n (alphas_cumprod[0], or 1 with set_alpha_to_one, below 0) to t, with eps evaluated at t.
class DDIMInverseScheduler : public AlphaScheduler {
 public:
  explicit DDIMInverseScheduler(SchedulerConfig config);
  void set_timesteps(int num_inference_steps) override;
  Tensor step(const Tensor& model_output, double timestep, const Tensor& sample, TorchGenerator* generator) override;
  std::string name() const override { return "ddim_inverse"; }
};

class PNDMScheduler : public AlphaScheduler {
 public:
  explicit PNDMScheduler(SchedulerConfig config);
  void set_timesteps(int num_inference_steps) override;
  Tensor step(const Tensor& model_output, double timestep, const Tensor& sample, TorchGenerator* generator) override;
  std::string name() const override { return "pndm"; }

 private:
  std::deque<Tensor> ets_;
  Tensor cur_sample_;
  int counter_ = 0;
};

class DPMSolverMultistepScheduler : public Scheduler {
 public:
  explicit DPMSolverMultistepScheduler(SchedulerConfig config);
  void set_timesteps(int num_inference_steps) override;
  Tensor step(const Tensor& model_output, double timestep, const Tensor& sample, TorchGenerator* generator) override;
  Tensor add_noise(const Tensor& original, const Tensor& noise, double timestep) const override;
  std::string name() const override;

 private:
  Tensor convert_model_output(const Tensor& model_output, const Tensor& sample, int step_index) const;
  std::vector<Tensor> model_outputs_;  // solver_order entries, newest last
  int lower_order_nums_ = 0;
};

class LCMScheduler : public AlphaScheduler {
 public:
  explicit LCMScheduler(SchedulerConfig config);
  void set_timesteps(int num_inference_steps) override;
  Tensor step(const Tensor& model_output, double timestep, const Tensor& sample, TorchGenerator* generator) override;
  std::string name() const override { return "lcm"; }
};

// Checks shared by every class (prediction_type, timestep_spacing, unsupported options).
void check_common_config(const SchedulerConfig& config);

}  // namespace sdwalk::sched
