#pragma once
// The numpy / torch computations diffusers' schedulers are built from, reproduced with the same
// dtypes and operation order (float32 where diffusers uses torch tensors or np.float32, float64
// where it uses numpy's default), so that timesteps come out identical and sigmas to the last bit.
#include <vector>

#include "sdwalk/scheduler.hpp"

namespace sdwalk::sched {

// ---- torch (float32)
// torch.linspace(start, end, steps, dtype=float32) as torch 1.13's CPU kernel computes it:
// first half from start, second half from end, in vectors of 8 with fused multiply-adds.
std::vector<float> torch_linspace_f32(float start, float end, int steps);
// betas of the config's beta_schedule (or trained_betas), float32 as diffusers' __init__ makes them,
// with rescale_betas_zero_snr applied when set.
std::vector<float> make_betas(const SchedulerConfig& config);
// torch.cumprod(1 - betas): float32 values, accumulated in double as torch's CPU kernel does.
std::vector<float> alphas_cumprod_of(const std::vector<float>& betas);
// ((1 - alphas_cumprod) / alphas_cumprod) ** 0.5 in float32.
std::vector<float> train_sigmas(const std::vector<float>& alphas_cumprod);
// np.log of a float32 array.
std::vector<float> log_f32(const std::vector<float>& x);

// ---- numpy (float64)
// np.linspace(start, stop, num, endpoint) in float64.
std::vector<double> np_linspace(double start, double stop, int num, bool endpoint = true);
// np.arange(start, stop, step) for float arguments.
std::vector<double> np_arange(double start, double stop, double step);
// np.round: half to even.
double np_round(double x);
// np.interp(x, np.arange(len(fp)), fp) in float64.
std::vector<double> np_interp_arange(const std::vector<double>& x, const std::vector<float>& fp);
// The Karras et al. (2022) schedule between sigma_max and sigma_min (rho = 7), float64.
std::vector<double> karras_sigmas(double sigma_min, double sigma_max, int num_inference_steps);
// diffusers' _sigma_to_t: the fractional training timestep of `sigma` (log-sigma interpolation).
double sigma_to_t(double sigma, const std::vector<float>& log_sigmas);

}  // namespace sdwalk::sched
