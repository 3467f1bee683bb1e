// `epsim predict`: the cost of one operation from epsim's models, without a scenario. The compute
// subcommands (gemm, mla, moe) are in cmd_predict_compute.cpp; the communication ones (collective:
// cmd_predict_comm.cpp, exchange: cmd_predict_exchange.cpp) join this parent.
#include "cli/commands.hpp"

namespace epsim::cli {

void add_predict_command(CLI::App& app) {
  CLI::App* predict = app.add_subcommand("predict", "Predict the time of one operation (GEMM, MLA, MoE grouped GEMM, collective, EP exchange)");
  predict->require_subcommand(1);
  add_predict_compute_commands(*predict);
  add_predict_comm_commands(*predict);
  add_predict_exchange_command(*predict);
}

}  // namespace epsim::cli
