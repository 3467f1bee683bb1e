#pragma once
// Subcommands of the `epsim` executable. Each add_* registers its options and a callback; the
// callbacks throw epsim::InputError / UsageError, which main() maps to exit codes 1 / 2.
#include <CLI/CLI.hpp>

namespace epsim::cli {

void add_plan_command(CLI::App& app);
void add_evaluate_command(CLI::App& app);
void add_rebalance_command(CLI::App& app);
void add_topo_commands(CLI::App& app);
void add_calibrate_commands(CLI::App& app);  // calibrate, validate
void add_sweep_commands(CLI::App& app);
void add_simulate_command(CLI::App& app);
void add_trace_commands(CLI::App& app);  // trace generate
void add_schema_commands(CLI::App& app);  // schema scenario | sweep-axes

}  // namespace epsim::cli
