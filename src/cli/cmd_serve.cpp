// sdwalk serve: the web studio. Loads one model (the built-in demo model without --model) and hands
// it to the server (src/server/), which queues walks and serves the page and the JSON API.
#include <cstdio>

#include "cli/commands.hpp"
#include "cli/demo_model.hpp"
#include "cli/model_options.hpp"
#include "server/runs_root.hpp"
#include "server/security.hpp"
#include "server/serve.hpp"

namespace sdwalk::cli {
namespace {

struct ServeArgs {
  ModelOptions model;
  server::ServeConfig config;
};

void run_serve(ServeArgs& a) {
  server::ServeConfig& c = a.config;
  check(c.port >= 0 && c.port <= 65535, "--port must be 0..65535 (0: any free port), got " + std::to_string(c.port));
  check(!c.host.empty(), "--host must name an address (127.0.0.1 by default)");
  for (char ch : c.token)
    check(ch > ' ' && ch < 127, "--token must be printable ASCII without spaces");
  if (!server::is_loopback_host(c.host) && c.token.empty()) {
    // Another interface means other machines: never without a token.
    c.token = server::random_token();
    std::printf("token: %s\n", c.token.c_str());
  }
  server::StopSignals signals;  // before the model load starts OpenMP's threads
  server::RunsRoot{c.runs};  // a runs folder that cannot be made fails before the model loads
  server::ServedModel m;
  using server::RequestDefaults;
  m.defaults.demo = use_demo_model_if_none(a.model);
  if (m.defaults.demo) {
    const DemoModelDefaults d;
    m.defaults.size = d.size;
    m.defaults.steps = m.defaults.generate_steps = d.steps;
    m.defaults.guidance_scale = d.guidance_scale;
  }
  m.options = engine_options(a.model);
  m.options.memory = MemoryPolicy::Keep;  // one model for many requests
  m.options.loras = lora_specs(a.model);
  m.model = a.model.model;
  m.tokenizer = a.model.tokenizer;
  m.config = a.model.config;
  std::fprintf(stderr, "loading %s\n", m.model.c_str());
  m.engine = std::make_shared<const Engine>(m.options);
  // What the page offers first: a few-step model's own scheduler, steps and guidance (LCM, Turbo).
  RequestDefaults& d = m.defaults;
  print_notice(follow_few_step_model(m.engine->pipeline().files(), {d.scheduler, d.steps, d.guidance_scale, {}}));
  server::serve(m, c, signals);
}

}  // namespace

void add_serve_command(CLI::App& app) {
  auto a = std::make_shared<ServeArgs>();
  CLI::App* cmd = app.add_subcommand("serve", "Web studio: a local page and JSON API that render walks with one model");
  add_model_options(cmd, a->model);
  cmd->add_option("--host", a->config.host, "Address to listen on; other than loopback needs --token (one is made and printed if not given)")
      ->capture_default_str();
  cmd->add_option("--port", a->config.port, "Port (0: any free one; the address printed says which)")->capture_default_str();
  cmd->add_option("--runs", a->config.runs, "Folder of the run folders (created if missing)")->capture_default_str();
  cmd->add_option("--token", a->config.token, "Every /api request then needs the header Authorization: Bearer TOKEN");
  cmd->callback([a] { run_serve(*a); });
}

}  // namespace sdwalk::cli
