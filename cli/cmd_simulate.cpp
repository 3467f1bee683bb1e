// `epsim simulate`: replay one iteration of a scenario; report JSON, Chrome trace and a table.
#include <algorithm>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "cli/cli_checks.hpp"
#include "cli/commands.hpp"
#include "cli/kernel_refusal.hpp"
#include "cli/scenario_overrides.hpp"
#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "common/json_output.hpp"
#include "common/json_input.hpp"
#include "sim/disaggregation.hpp"
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
  bool json = false;
  bool trace_gpus_given = false;
  int threads = 0;  ///< layers of the per-token routing sample at once (0 = all cores)
  ScenarioOverrides overrides;  ///< --schedule, --network, --chunks, ... and --set POINTER=VALUE
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
  const std::vector<PathArg> outputs{{"--report", o.report}, {"--trace", o.trace}};
  check_output_paths({{"--scenario", o.scenario}}, outputs);
  if (!o.report.empty()) check_writable(o.report);
  if (!o.trace.empty()) check_writable(o.trace);
  SimulateOptions opt;
  opt.trace_gpus = parse_gpu_list(o.trace_gpus);
  opt.routing.threads = o.threads;
  Json doc = read_json_file(o.scenario);
  o.overrides.apply(doc);
  Scenario s;
  try {
    s = scenario_from_json(doc, o.scenario);
    s.set_by = o.overrides.flags_by_pointer();
  } catch (const InputError& e) {
    if (!o.overrides.any()) throw;
    throw UsageError(fmt::format("{} (with the command-line overrides {})", e.what(), o.overrides.describe()));
  }
  // The files the scenario names are inputs too.
  check_output_paths({{"the scenario's topology", s.topology.string()},
                      {"the scenario's model", s.model.string()},
                      {"the scenario's loads", s.loads.string()},
                      {"the scenario's plan", s.plan.string()},
                      {"the scenario's calibration", s.calibration.string()},
                      {"the scenario's gemm_efficiency", s.gemm_efficiency.string()}},
                     outputs);
  // The default trace GPUs (0,1) are clipped to the scenario's GPUs (a one-GPU scenario traces GPU 0).
  if (!o.trace_gpus_given)
    opt.trace_gpus.erase(std::remove_if(opt.trace_gpus.begin(), opt.trace_gpus.end(),
                                        [&](int g) { return g >= s.parallel.gpus(); }),
                         opt.trace_gpus.end());
  for (int g : opt.trace_gpus)
    if (g >= s.parallel.gpus())
      throw UsageError(fmt::format("--trace-gpus: GPU {} is not among the {} GPUs of the scenario", g, s.parallel.gpus()));
  // Where the exchange kernel and the topology came from, for a kernel's refusal (cli/kernel_refusal.hpp).
  const std::string overridden = o.overrides.any() ? " (with the command-line overrides " + o.overrides.describe() + ")" : "";
  const std::string kernel_from = o.scenario + ": /exchange_kernel" + overridden;
  const std::string topology = s.cluster ? o.scenario + ": /topology (generated)" : s.topology.string();
  ScenarioInputs in = with_kernel_context(kernel_from, topology, [&] { return prepare_scenario(s); });
  for (const std::string& w : in.warnings) fmt::print(stderr, "epsim: warning: {}\n", w);
  if (s.disaggregation) {  // a pair of pools: this scenario is the prefill pool (the trace is of it)
    const std::string decode = s.disaggregation->decode_scenario.string();
    const DisaggregatedResult r = with_kernel_context(
        fmt::format("{} (prefill pool) or {} (decode pool): /exchange_kernel{}", o.scenario, decode, overridden),
        fmt::format("{} or the decode pool's", topology), [&] { return simulate_disaggregated(in, opt); });
    if (!o.report.empty()) write_file_atomic(o.report, json_output_text(report_to_json(r), 1, "the report"));
    if (!o.trace.empty()) write_file_atomic(o.trace, json_output_text(trace_to_json(r.prefill), -1, "the trace"));
    if (o.json) {
      fmt::print("{}", json_output_text(report_to_json(r), 1, "the report"));
    } else {
      fmt::print("{}", format_report_table(r));
      if (!o.report.empty()) fmt::print("wrote {}\n", o.report);
      if (!o.trace.empty()) fmt::print("wrote {} (prefill pool)\n", o.trace);
    }
    return;
  }
  SimulationResult r = with_kernel_context(kernel_from, topology, [&] { return simulate(in, opt); });
  if (!o.report.empty()) write_file_atomic(o.report, json_output_text(report_to_json(r), 1, "the report"));
  if (!o.trace.empty()) write_file_atomic(o.trace, json_output_text(trace_to_json(r), -1, "the trace"));
  if (o.json) {
    fmt::print("{}", json_output_text(report_to_json(r), 1, "the report"));
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
  c->add_option("--scenario", o->scenario, "scenario JSON (docs/formats.md)")->required()->check(non_empty_path());
  c->add_option("--report", o->report, "write the report JSON (epsim.report/1) here")->check(non_empty_path());
  c->add_option("--trace", o->trace, "write a Chrome/Perfetto trace JSON here")->check(non_empty_path());
  c->add_option("--trace-gpus", o->trace_gpus, "GPU ranks in the trace, comma-separated")->capture_default_str();
  c->add_flag("--json", o->json, "print the report JSON instead of the table");
  c->add_option("-j,--threads", o->threads,
                "layers of the per-token routing sample in parallel (0 = all cores); output does not depend on it")
      ->capture_default_str()
      ->check(CLI::Range(0, 1024));
  o->overrides.add_flags(*c);
  c->callback([o, c] {
    o->trace_gpus_given = c->count("--trace-gpus") > 0;
    run_simulate(*o);
  });
}

}  // namespace epsim::cli
