// Config values that the shape checks cannot see but that turn every picture black or NaN without
// an error: normalisation epsilons and the VAE's latent scaling.
#include <cmath>

#include "io/model_loading.hpp"
#include "sdwalk/error.hpp"

namespace sdwalk::io {
namespace {

void check_positive(const json& config, const std::string& key, const std::string& where) {
  const auto it = config.find(key);
  if (it == config.end() || it->is_null()) return;  // the model's default applies
  check(it->is_number() && std::isfinite(it->get<double>()) && it->get<double>() > 0,
        where + ": " + key + " must be a positive number, got " + it->dump());
}

}  // namespace

void check_config_values(const ModelFiles& m) {
  check_positive(m.unet_config, "norm_eps", "unet config (" + m.config_source + ")");
  check_positive(m.vae_config, "scaling_factor", "vae config (" + m.config_source + ")");
  check_positive(m.text_encoder_config, "layer_norm_eps", "text_encoder config (" + m.config_source + ")");
}

}  // namespace sdwalk::io
