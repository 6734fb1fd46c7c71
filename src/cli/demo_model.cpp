#include "cli/demo_model.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "sdwalk/error.hpp"

namespace sdwalk::cli {
namespace fs = std::filesystem;
namespace {

std::vector<fs::path> demo_model_candidates() {
  std::vector<fs::path> out;
  const auto add = [&](const fs::path& p) {  // once each (build/ in the source tree finds it twice)
    const fs::path n = p.lexically_normal();
    if (std::find(out.begin(), out.end(), n) == out.end()) out.push_back(n);
  };
  if (const char* env = std::getenv("SDWALK_DEMO_MODEL"); env && *env) add(env);
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) add(exe.parent_path().parent_path() / "models" / "demo");
  add(fs::path(SDWALK_SOURCE_DIR) / "models" / "demo");
  return out;
}

}  // namespace

std::optional<fs::path> find_demo_model() {
  for (const auto& dir : demo_model_candidates())
    if (fs::is_regular_file(dir / "model_index.json")) return dir;
  return std::nullopt;
}

bool use_demo_model_if_none(ModelOptions& o) {
  if (!o.model.empty()) return false;
  check(o.tokenizer.empty() && o.config.empty(), "--tokenizer and --config describe a --model: give the model too");
  const auto dir = find_demo_model();
  if (!dir) {
    std::string looked;
    for (const auto& c : demo_model_candidates()) looked += (looked.empty() ? "" : ", ") + c.string();
    throw Error("no --model given and the built-in demo model is missing (looked in " + looked +
                "): pass --model DIR|FILE (a diffusers folder or an SD 1.x .safetensors checkpoint)");
  }
  o.model = dir->string();
  std::fprintf(stderr, "no --model: using the built-in demo model %s (64x64 coloured shapes; see its README.md)\n",
               o.model.c_str());
  return true;
}

void use_demo_model_if_none(ModelOptions& options, DemoModelRequest r) {
  if (!use_demo_model_if_none(options)) return;
  const DemoModelDefaults d;
  if (!r.size_given) r.height = r.width = d.size;
  if (!r.given.steps) r.steps = d.steps;
  if (!r.given.guidance) r.guidance_scale = d.guidance_scale;
}

}  // namespace sdwalk::cli
