// sdwalk: Stable Diffusion interpolation animations.
#include <cstdio>
#include <exception>

#include "cli/commands.hpp"
#include "backend/cpu/ops.hpp"
#include "sdwalk/error.hpp"

int main(int argc, char** argv) {
  sdwalk::ops::use_passive_omp_wait(argv);
  CLI::App app{"sdwalk " SDWALK_VERSION ": Stable Diffusion interpolation animations (walks through prompt and noise space)"};
  app.set_version_flag("--version", "sdwalk " SDWALK_VERSION);
  app.require_subcommand(1);
  sdwalk::cli::add_tokenize_command(app);
  sdwalk::cli::add_info_command(app);
  sdwalk::cli::add_bench_command(app);
  sdwalk::cli::add_generate_command(app);
  sdwalk::cli::add_walk_command(app);
  sdwalk::cli::add_assemble_command(app);
  sdwalk::cli::add_invert_command(app);
  sdwalk::cli::add_report_command(app);
  sdwalk::cli::add_serve_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // Wrong flags get the same one-line form as every other error.
    std::fprintf(stderr, "sdwalk: error: %s (see sdwalk --help)\n", e.what());
    return e.get_exit_code() ? e.get_exit_code() : 1;
  } catch (const sdwalk::Error& e) {
    std::fprintf(stderr, "sdwalk: error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sdwalk: internal error: %s\n", e.what());
    return 2;
  }
  return 0;
}
