// sdwalk assemble RUN_FOLDER: the animation of a walk whose frames were rendered by shards
// (walk --shard K/N on several processes or machines), once every frame is there. Needs no model.
#include <cstdio>

#include "cli/commands.hpp"
#include "sdwalk/run_folder.hpp"

namespace sdwalk::cli {

void add_assemble_command(CLI::App& app) {
  auto dir = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("assemble", "Write the animation of a sharded walk once all its frames exist");
  cmd->add_option("run_folder", *dir, "The walk's run folder (shared by its shards)")->required();
  cmd->callback([dir] {
    const RunFolder run = RunFolder::open(*dir);
    run.assemble();
    std::printf("%s\n", run.settings().output.c_str());
  });
}

}  // namespace sdwalk::cli
