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
void add_predict_command(CLI::App& app);  // the `predict` parent
/// predict gemm | mla | moe (cmd_predict_compute.cpp), added to the `predict` parent.
void add_predict_compute_commands(CLI::App& predict);
/// predict collective (cmd_predict_comm.cpp), added to the `predict` parent.
void add_predict_comm_commands(CLI::App& predict);
/// predict exchange (cmd_predict_exchange.cpp), added to the `predict` parent.
void add_predict_exchange_command(CLI::App& predict);

}  // namespace epsim::cli
