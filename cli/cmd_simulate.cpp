// `epsim simulate`: replay one iteration of a scenario; report JSON, Chrome trace and a table.
#include <algorithm>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "cli/commands.hpp"
#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "sim/scenario/scenario.hpp"
#include "sim/sim_report.hpp"
#include "sim/simulate.hpp"

namespace epsim::cli {

namespace {

struct SimulateCliOptions {
  std::string scenario;
  std::string report;
  std::string trace;
  std::string trace_gpus = "0,1";
  std::string network;
  std::string schedule;
  std::string calibration;
  std::string exchange_kernel;
  int chunks = 0;
  bool json = false;
  // Which overrides were given on the command line (an empty or zero value given is an error, not
  // "use the scenario's").
  bool trace_gpus_given = false, network_given = false, schedule_given = false, chunks_given = false;
};

std::vector<int> parse_gpu_list(const std::string& s) {
  std::vector<int> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    try {
      std::size_t used = 0;
      int v = std::stoi(item, &used);
      if (used != item.size() || v < 0) throw std::invalid_argument(item);
      out.push_back(v);
    } catch (const std::exception&) {
      throw UsageError(fmt::format("--trace-gpus '{}': expected GPU ranks separated by commas (0,1,5)", s));
    }
  }
  if (out.empty()) throw UsageError("--trace-gpus: expected at least one GPU rank");
  return out;
}

void run_simulate(const SimulateCliOptions& o) {
  if (!o.report.empty()) check_writable(o.report);
  if (!o.trace.empty()) check_writable(o.trace);
  SimulateOptions opt;
  opt.trace_gpus = parse_gpu_list(o.trace_gpus);
  if (o.network_given) {
    if (o.network != "analytical" && o.network != "flow" && o.network != "flow-per-transfer")
      throw UsageError(fmt::format("--network '{}': expected analytical, flow or flow-per-transfer", o.network));
    opt.network = o.network;
  }
  if (o.schedule_given) opt.schedule = parse_schedule(o.schedule);
  if (!o.exchange_kernel.empty()) opt.exchange_kernel = parse_exchange_kernel(o.exchange_kernel);
  if (o.chunks_given) {
    if (o.chunks < 1 || o.chunks > 64) throw UsageError(fmt::format("--chunks {}: expected 1 to 64", o.chunks));
    opt.chunks = o.chunks;
  }
  Scenario s = load_scenario(o.scenario);
  // The default trace GPUs (0,1) are clipped to the scenario's GPUs (a one-GPU scenario traces GPU 0).
  if (!o.trace_gpus_given)
    opt.trace_gpus.erase(std::remove_if(opt.trace_gpus.begin(), opt.trace_gpus.end(),
                                        [&](int g) { return g >= s.parallel.gpus(); }),
                         opt.trace_gpus.end());
  if (!o.calibration.empty()) s.calibration = o.calibration;
  if (opt.schedule == ScheduleKind::two_batch && s.phase.micro_batches % 2 != 0)
    throw UsageError(fmt::format("--schedule two-batch needs an even number of micro-batches ({} has {})", o.scenario,
                                 s.phase.micro_batches));
  for (int g : opt.trace_gpus)
    if (g >= s.parallel.gpus())
      throw UsageError(fmt::format("--trace-gpus: GPU {} is not among the {} GPUs of the scenario", g, s.parallel.gpus()));
  ScenarioInputs in = prepare_scenario(s);
  SimulationResult r = simulate(in, opt);
  if (!o.report.empty()) write_file_atomic(o.report, report_to_json(r).dump(1) + "\n");
  if (!o.trace.empty()) write_file_atomic(o.trace, trace_to_json(r).dump() + "\n");
  if (o.json) {
    fmt::print("{}\n", report_to_json(r).dump(1));
  } else {
    fmt::print("{}", format_report_table(r));
    if (!o.report.empty()) fmt::print("wrote {}\n", o.report);
    if (!o.trace.empty()) fmt::print("wrote {}\n", o.trace);
  }
}

}  // namespace

void add_simulate_command(CLI::App& app) {
  auto o = std::make_shared<SimulateCliOptions>();
  CLI::App* c = app.add_subcommand("simulate", "Replay one iteration of a scenario (epsim.scenario/1) event by event");
  c->add_option("--scenario", o->scenario, "scenario JSON (docs/formats.md)")->required();
  c->add_option("--report", o->report, "write the report JSON (epsim.report/1) here");
  c->add_option("--trace", o->trace, "write a Chrome/Perfetto trace JSON here");
  c->add_option("--trace-gpus", o->trace_gpus, "GPU ranks in the trace, comma-separated")->capture_default_str();
  c->add_option("--network", o->network, "override the scenario: analytical, flow (one flow per GPU and destination host) or flow-per-transfer");
  c->add_option("--schedule", o->schedule, "override the scenario: serial, overlap or two-batch");
  c->add_option("--exchange-kernel", o->exchange_kernel,
                 "EP exchange kernel: nccl, deepep-normal, deepep-ll, nvlink-one-sided or hierarchical (default: "
                 "deepep-ll for decode, deepep-normal otherwise)");
  c->add_option("--chunks", o->chunks, "override the scenario: dispatch chunks of the overlap schedule");
  c->add_option("--calibration", o->calibration, "override the scenario: calibration.json");
  c->add_flag("--json", o->json, "print the report JSON instead of the table");
  c->callback([o, c] {
    o->trace_gpus_given = c->count("--trace-gpus") > 0;
    o->network_given = c->count("--network") > 0;
    o->schedule_given = c->count("--schedule") > 0;
    o->chunks_given = c->count("--chunks") > 0;
    run_simulate(*o);
  });
}

}  // namespace epsim::cli
