// What the kernel tables cost simulate(): scenarios/deepseek-v3/prefill-ep256.json simulated with the
// shipped H100 kernel tables and with rooflines only (ServingConfig::kernel_tables_off, the model before
// the tables), alternately, in one run. Prints the time to read the tables, the median simulate() time of
// each and their ratio (target: tables / rooflines <= 1.5, docs/simulator.md "Speed and memory").
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include "sim/simulate.hpp"

int main(int argc, char** argv) {
  const int runs = argc > 1 ? std::max(1, std::atoi(argv[1])) : 3;
  using Clock = std::chrono::steady_clock;
  auto seconds = [](Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); };
  epsim::Scenario s = epsim::load_scenario(std::string(EPSIM_SCENARIOS_DIR) + "/deepseek-v3/prefill-ep256.json");
  auto t0 = Clock::now();
  const epsim::ScenarioInputs with = epsim::prepare_scenario(s);
  const double prepare_with = seconds(t0);
  s.serving.kernel_tables_off = true;
  t0 = Clock::now();
  const epsim::ScenarioInputs without = epsim::prepare_scenario(s);
  const double prepare_without = seconds(t0);
  t0 = Clock::now();
  (void)epsim::load_scenario_kernels(with.scenario);
  const double read_tables = seconds(t0);
  std::vector<double> a, b;
  double it_a = 0, it_b = 0;
  epsim::SimulateOptions opt;
  opt.trace_gpus.clear();
  for (int i = 0; i < runs; ++i) {
    t0 = Clock::now();
    it_a = epsim::simulate(with, opt).iteration.to_ms();
    a.push_back(seconds(t0));
    t0 = Clock::now();
    it_b = epsim::simulate(without, opt).iteration.to_ms();
    b.push_back(seconds(t0));
  }
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  const double ma = a[a.size() / 2], mb = b[b.size() / 2];
  std::printf("prepare_scenario: %.3f s with tables, %.3f s without; reading the tables alone %.3f s\n", prepare_with,
              prepare_without, read_tables);
  std::printf("simulate (median of %d): %.3f s with tables (iteration %.3f ms), %.3f s rooflines (iteration %.3f ms)\n",
              runs, ma, it_a, mb, it_b);
  std::printf("ratio simulate tables / rooflines: %.2f (target <= 1.5)\n", ma / mb);
  return 0;
}
