// The epsim command: the only place that turns exceptions into exit codes
// (0 success, 1 invalid input, 2 usage error, 3 internal error).
#include <cstdio>
#include <exception>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/commands.hpp"
#include "common/error.hpp"

int main(int argc, char** argv) {
  CLI::App app{"epsim: plan and simulate expert parallelism of MoE models on GPU clusters"};
  app.set_version_flag("--version", std::string("epsim ") + EPSIM_VERSION);
  app.require_subcommand(1);
  app.allow_extras(false);
  epsim::cli::add_plan_command(app);
  epsim::cli::add_topo_commands(app);
  epsim::cli::add_calibrate_commands(app);
  epsim::cli::add_sweep_commands(app);
  epsim::cli::add_simulate_command(app);
  epsim::cli::add_trace_commands(app);
  epsim::cli::add_schema_commands(app);
  epsim::cli::add_predict_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  } catch (const epsim::UsageError& e) {
    fmt::print(stderr, "epsim: usage error: {}\n", e.what());
    return 2;
  } catch (const epsim::InputError& e) {
    fmt::print(stderr, "epsim: error: {}\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    fmt::print(stderr, "epsim: internal error: {}\n", e.what());
    return 3;
  }
  return 0;
}
