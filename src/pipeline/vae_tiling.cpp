// parse_vae_tiling (sdwalk/stable_diffusion_pipeline.hpp), on its own so that readers of settings need not link the pipeline.
#include "sdwalk/error.hpp"
#include "sdwalk/stable_diffusion_pipeline.hpp"

namespace sdwalk {

VaeTiling parse_vae_tiling(const std::string& name, const std::string& flag) {
  if (name == "auto") return VaeTiling::Auto;
  if (name == "on") return VaeTiling::On;
  if (name == "off") return VaeTiling::Off;
  throw Error(flag + ": '" + name + "' is not a tiling mode; expected auto, on or off");
}

}  // namespace sdwalk
