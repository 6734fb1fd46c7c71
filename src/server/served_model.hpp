#pragma once
// The one model a server holds: its engine, the options it was loaded with, and the defaults a
// request gets for what it leaves out (the built-in demo model has its own: 64x64, 20 steps, guidance 2).
#include <memory>
#include <string>

#include "sdwalk/engine.hpp"

namespace sdwalk::server {

struct RequestDefaults {
  int size = 512;
  int steps = 15;         // a walk's (WalkSettings) default
  int generate_steps = 50;
  double guidance_scale = 8;
  std::string scheduler = "lms";  // a walk's default (a few-step model's own, see follow_few_step_model)
  bool demo = false;      // the built-in demo model
};

struct ServedModel {
  EngineOptions options;  // as loaded (memory Keep)
  std::string model, tokenizer, config;  // as in a run's settings.json
  RequestDefaults defaults;
  std::shared_ptr<const Engine> engine;
};

}  // namespace sdwalk::server
