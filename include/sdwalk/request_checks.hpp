#pragma once
// Checks of a request against a model's files alone (its configs, and the scheduler built from
// them): cheap enough to run before the networks are built and before anything is written, so a
// request the model cannot run fails at once instead of after its first frame.
#include <string>

#include "sdwalk/model_files.hpp"
#include "sdwalk/tensor.hpp"

namespace sdwalk {

// Image sizes must be multiples of this: the VAE's factor (8 for SD) times 2 for each UNet
// downsampling (SD 1.5's four levels: 8 * 2^3 = 64).
int size_multiple(const ModelFiles& files);
// [batch, latent channels, height / f, width / f]; Error naming the multiple when the size is not one.
Shape latent_shape_for(const ModelFiles& files, int batch, int height, int width);
// Builds scheduler `name` ("": the model's own) from the model's scheduler config and sets `steps`
// timesteps: unknown names, configs the class cannot run and step counts out of range fail here.
void check_scheduler_request(const ModelFiles& files, const std::string& name, int steps);

}  // namespace sdwalk
