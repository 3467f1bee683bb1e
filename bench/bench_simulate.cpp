// Simulator benchmark: DeepSeek-V3 prefill (58 MoE layers, 4096 tokens per GPU in 2 micro-batches,
// two-batch overlap) at EP 32, 64, 128, 256 on generated DGX H100 clusters (ep / 8 nodes), with the
// analytical and the flow network. Prints the time of prepare_scenario (load + route + plan) and of
// simulate(), the events, peak RSS (getrusage; a process-wide running maximum) and the growth ratio
// of simulate() time between successive EP sizes (an all-to-all has EP x (EP - 1) transfers, so 4x
// per doubling is the G^2 bound).
// With both flow and flow-per-transfer, a summary prints per EP the speed-up of flow (one flow per
// source GPU and destination host) over flow-per-transfer and the ratio of their iteration times.
// Usage: bench_simulate [max_ep=256] [networks=analytical,flow] (comma-separated: analytical, flow,
// flow-per-transfer)
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <vector>
#include <unistd.h>

#include "common/atomic_file.hpp"
#include "sim/simulate.hpp"
#include "topology/generators.hpp"
#include "topology/topology_json.hpp"

namespace {

double peak_rss_mib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;  // Linux: KiB
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  const int max_ep = argc > 1 ? std::atoi(argv[1]) : 256;
  std::vector<std::string> networks;
  {
    std::stringstream list(argc > 2 ? argv[2] : "analytical,flow");
    for (std::string item; std::getline(list, item, ',');) {
      if (item != "analytical" && item != "flow" && item != "flow-per-transfer") {
        std::fprintf(stderr, "bench_simulate: unknown network '%s'\n", item.c_str());
        return 2;
      }
      networks.push_back(item);
    }
  }
  std::map<std::pair<std::string, int>, std::pair<double, double>> results;  // (net, ep) -> (simulate_s, iteration_ms)
  if (max_ep < 32) {
    std::fprintf(stderr, "usage: bench_simulate [max_ep>=32] [analytical,flow]\n");
    return 2;
  }
  const std::string dir = EPSIM_SCENARIOS_DIR;
  const auto tmp = std::filesystem::temp_directory_path() / ("epsim_bench_simulate_" + std::to_string(::getpid()));
  std::filesystem::create_directories(tmp);
  std::printf("%5s %-18s %10s %10s %9s %9s %12s %10s %8s\n", "EP", "network", "prepare_s", "simulate_s", "tasks",
              "events", "iteration_ms", "peak_MiB", "growth");
  for (const std::string& net : networks) {
    double previous = 0;
    for (int ep = 32; ep <= max_ep; ep *= 2) {
      epsim::DgxClusterOptions o;
      o.nodes = ep / 8;
      const auto topo_path = tmp / ("dgx-h100-" + std::to_string(o.nodes) + "node.json");
      epsim::write_file_atomic(topo_path, epsim::topology_to_json(epsim::generate_dgx_cluster(o)).dump());
      epsim::Scenario s;
      s.file = "bench";
      s.topology = topo_path;
      s.model = dir + "/models/deepseek-v3.config.json";
      s.loads = dir + "/loads/deepseek-v3/prefill_in4096.json";
      s.gemm_efficiency = dir + "/measurements/deepgemm_grouped_fp8_h800.csv";
      s.parallel = epsim::ParallelConfig{ep, 1, 1, ep, 1};
      s.phase.kind = epsim::PhaseKind::prefill;
      s.phase.sequence_length = 4096;
      s.phase.batch = 1;
      s.phase.micro_batches = 2;
      s.schedule = epsim::ScheduleKind::two_batch;
      s.network = net;
      s.placement_algorithm = "greedy";
      auto t0 = std::chrono::steady_clock::now();
      epsim::ScenarioInputs in = epsim::prepare_scenario(s);
      double prep = seconds_since(t0);
      epsim::SimulateOptions opt;
      opt.trace_gpus = {0};
      t0 = std::chrono::steady_clock::now();
      epsim::SimulationResult r = epsim::simulate(in, opt);
      double sim_s = seconds_since(t0);
      results[{net, ep}] = {sim_s, r.iteration.to_ms()};
      std::printf("%5d %-18s %10.3f %10.3f %9d %9llu %12.3f %10.1f", ep, net.c_str(), prep, sim_s, r.tasks,
                  static_cast<unsigned long long>(r.events), r.iteration.to_ms(), peak_rss_mib());
      if (previous > 0) std::printf(" %8.2f", sim_s / previous);
      std::printf("\n");
      std::fflush(stdout);
      previous = sim_s;
    }
  }
  bool header = false;
  for (int ep = 32; ep <= max_ep; ep *= 2) {
    auto grouped = results.find({"flow", ep});
    auto exact = results.find({"flow-per-transfer", ep});
    if (grouped == results.end() || exact == results.end()) continue;
    if (!header) std::printf("\n%5s %28s %36s\n", "EP", "speed-up flow / per-transfer", "iteration flow / per-transfer");
    header = true;
    std::printf("%5d %28.2f %36.6f\n", ep, exact->second.first / grouped->second.first,
                grouped->second.second / exact->second.second);
  }
  std::filesystem::remove_all(tmp);
  return 0;
}
