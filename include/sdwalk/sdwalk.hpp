#pragma once
// The one header an embedding program needs: sdwalk::Engine (engine.hpp) and the types its requests
// and results are made of (images, tensors, walk settings, animation output).
#include "sdwalk/animation.hpp"
#include "sdwalk/engine.hpp"
#include "sdwalk/error.hpp"
#include "sdwalk/image.hpp"
#include "sdwalk/tensor.hpp"
#include "sdwalk/walk.hpp"
#include "sdwalk/walk_runner.hpp"
#include "sdwalk/walk_settings.hpp"
