#include "cli/commands.hpp"
// placeholder until the model loader lands (issue 2, item 4)
namespace sdwalk::cli {
void add_info_command(CLI::App&) {}
}
