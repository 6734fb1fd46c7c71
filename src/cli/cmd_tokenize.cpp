#include "cli/commands.hpp"
// placeholder until the tokenizer lands (issue 2, item 5)
namespace sdwalk::cli {
void add_tokenize_command(CLI::App&) {}
}
