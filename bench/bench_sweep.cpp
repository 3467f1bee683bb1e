// Sweep throughput: points per second of the plan and the simulate evaluators with -j 1 and -j 2 on
// the same grid, and the ratio (ideal = 2 on two free cores). Every run starts cold (fresh folder,
// fresh input cache), so parsing, route tables and plans are included, as in a first `epsim sweep`.
//
// Usage: bench_sweep [spec.json]   (default: two 18-point DeepSeek-V3 prefill grids, EP 16..64 x
//                                   3 placements, x 2 oversubscriptions with the plan evaluator, x
//                                   serial / two-batch with the simulate evaluator; a spec file is
//                                   run with its own evaluator)
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <string>

#include <fmt/format.h>

#include "sweep/evaluator.hpp"
#include "sweep/runner.hpp"
#include "sweep/sweep_spec.hpp"

using namespace epsim;
namespace fs = std::filesystem;

namespace {

// CPU seconds of the whole process (all threads).
double process_cpu_s() {
  timespec t{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

// The plan grid (evaluator "plan") or the simulate grid (DeepSeek-V3 prefill as in the shipped
// spec, serial vs two-batch).
SweepSpec default_spec(const std::string& evaluator) {
  const std::string dir = EPSIM_SCENARIOS_DIR;
  Json base = {{"schema", "epsim.scenario/1"},
               {"model", "models/deepseek-v3.config.json"},
               {"loads", "loads/deepseek-v3/prefill_in4096.json"},
               {"gemm_efficiency", "measurements/deepgemm_grouped_fp8_h800.csv"},
               {"phase", {{"kind", "prefill"}, {"tokens_per_gpu", 4096}, {"micro_batches", 2}}},
               {"topology", {{"fabric", "rail-optimized"}}},
               {"parallel", {{"dp", 16}, {"ep", 16}}}};
  Json axes = {{"oversubscription", {1, 2}}, {"ep", {16, 32, 64}}, {"placement", {"contiguous", "greedy", "epsim"}}};
  if (evaluator == "simulate") {
    axes = {{"ep", {16, 32, 64}}, {"schedule", {"serial", "two-batch"}}, {"placement", {"contiguous", "eplb", "epsim"}}};
  }
  Json doc = {{"schema", "epsim.sweep/2"}, {"name", "bench-" + evaluator}, {"evaluator", evaluator},
              {"base", base}, {"axes", axes}};
  return sweep_spec_from_json(doc, "bench spec", dir);
}

double points_per_s(const SweepSpec& spec, int threads) {
  fs::path out = fs::temp_directory_path() / fmt::format("epsim_bench_sweep_{}_j{}", ::getpid(), threads);
  fs::remove_all(out);
  SweepRunOptions o;
  o.out = out;
  o.threads = threads;
  o.plots = false;
  auto t0 = std::chrono::steady_clock::now();
  double cpu0 = process_cpu_s();
  SweepRunResult r = run_sweep(spec, make_evaluator(spec.evaluator), o);
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  double cpu = process_cpu_s() - cpu0;
  fs::remove_all(out);
  // cores busy = CPU time / wall time: below the thread count when the machine is shared (Linux
  // autogroup gives a session a fixed share whatever its thread count).
  fmt::print("-j {}: {} points in {:.2f} s = {:.2f} points/s (CPU {:.2f} s, {:.2f} cores busy)\n", threads,
             r.progress.evaluated, s, static_cast<double>(r.progress.evaluated) / s, cpu, cpu / s);
  return static_cast<double>(r.progress.evaluated) / s;
}

void bench(const SweepSpec& spec) {
  fmt::print("sweep '{}' (evaluator {}): {} points\n", spec.name, spec.evaluator, spec.num_points());
  double j1 = points_per_s(spec, 1);
  double j2 = points_per_s(spec, 2);
  fmt::print("{}: ratio -j 2 / -j 1: {:.2f}x (ideal 2.00x on 2 idle cores)\n", spec.evaluator, j2 / j1);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1) {
    bench(load_sweep_spec(argv[1]));
    return 0;
  }
  bench(default_spec("plan"));
  bench(default_spec("simulate"));
  return 0;
}
