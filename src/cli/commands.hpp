#pragma once
// Each sdwalk subcommand lives in its own cmd_<name>.cpp and registers itself here.
// A command's callback throws sdwalk::Error on bad input; main() turns that into one line + exit 1.
#include <CLI/CLI.hpp>

namespace sdwalk::cli {

void add_tokenize_command(CLI::App& app);
void add_info_command(CLI::App& app);
void add_bench_command(CLI::App& app);
void add_generate_command(CLI::App& app);
void add_walk_command(CLI::App& app);
void add_assemble_command(CLI::App& app);
void add_invert_command(CLI::App& app);
void add_report_command(CLI::App& app);
void add_serve_command(CLI::App& app);

}  // namespace sdwalk::cli
