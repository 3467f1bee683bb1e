// Hold-model benchmark of the event engine: keep `pending` events queued; each step pops the earliest
// and schedules one new event at (its time + a random increment). Prints events/s for the Simulator
// (typed handlers, lazy cancel) and for a plain std::priority_queue of (time, sequence) measured in the
// same run, and their ratio. Usage: bench_event_queue [pending=1000000] [steps=10000000] [rounds=3]
// [which=both|engine|baseline] (best of `rounds` alternating runs of each; `which` runs one side only,
// e.g. under `valgrind --tool=callgrind` to count instructions per event independent of machine load).
// Times are process CPU time (CLOCK_PROCESS_CPUTIME_ID), not wall time: on a shared machine the
// process is descheduled for much of the wall time, which CPU time does not count.
#include <algorithm>
#include <ctime>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <queue>
#include <random>
#include <string_view>
#include <utility>
#include <vector>

#include "sim/engine/simulator.hpp"

namespace {

// Process CPU time, seconds.
struct Clock {
  static double now() {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
  }
};

// Precomputed exponential increments (mean 1 us) so both sides pay the same, tiny, RNG cost.
std::vector<std::int64_t> make_increments() {
  std::mt19937_64 rng(1);
  std::exponential_distribution<double> exp(1.0 / 1e6);
  std::vector<std::int64_t> inc(1 << 16);
  for (auto& v : inc) v = static_cast<std::int64_t>(exp(rng));
  return inc;
}

struct HoldContext {
  epsim::Simulator* sim;
  const std::vector<std::int64_t>* inc;
  std::size_t next = 0;
  std::int64_t checksum = 0;
  void fire() {
    checksum += sim->now().count_ps();
    std::int64_t d = (*inc)[next++ & 0xffff];
    sim->schedule(sim->now() + epsim::Time::ps(d), 0, [this] { fire(); });
  }
};

double bench_engine(std::size_t pending, std::size_t steps, const std::vector<std::int64_t>& inc,
                    std::int64_t& checksum) {
  epsim::Simulator sim;
  sim.reserve(pending + 1);
  HoldContext ctx{&sim, &inc};
  for (std::size_t i = 0; i < pending; ++i)
    sim.schedule(epsim::Time::ps(inc[i & 0xffff] + static_cast<std::int64_t>(i)), 0, [&ctx] { ctx.fire(); });
  auto t0 = Clock::now();
  for (std::size_t i = 0; i < steps; ++i) sim.step();
  auto t1 = Clock::now();
  checksum = ctx.checksum;
  return t1 - t0;
}

double bench_baseline(std::size_t pending, std::size_t steps, const std::vector<std::int64_t>& inc,
                      std::int64_t& checksum) {
  using Item = std::pair<std::int64_t, std::uint64_t>;  // (time ps, sequence)
  std::priority_queue<Item, std::vector<Item>, std::greater<>> q;
  std::uint64_t seq = 0;
  for (std::size_t i = 0; i < pending; ++i) q.emplace(inc[i & 0xffff] + static_cast<std::int64_t>(i), seq++);
  std::size_t next = 0;
  std::int64_t sum = 0;
  auto t0 = Clock::now();
  for (std::size_t i = 0; i < steps; ++i) {
    std::int64_t now = q.top().first;
    q.pop();
    sum += now;
    q.emplace(now + inc[next++ & 0xffff], seq++);
  }
  auto t1 = Clock::now();
  checksum = sum;
  return t1 - t0;
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t pending = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1'000'000;
  std::size_t steps = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 10'000'000;
  int rounds = argc > 3 ? std::atoi(argv[3]) : 3;
  std::string_view which = argc > 4 ? argv[4] : "both";
  bool run_engine = which == "both" || which == "engine";
  bool run_base = which == "both" || which == "baseline";
  if (pending == 0 || steps == 0 || rounds <= 0 || (!run_engine && !run_base)) {
    std::fprintf(stderr, "usage: bench_event_queue [pending>0] [steps>0] [rounds>0] [both|engine|baseline]\n");
    return 2;
  }
  auto inc = make_increments();
  std::int64_t sum_engine = 0;
  std::int64_t sum_base = 0;
  // Alternate the two a few times and keep the best of each, to damp noise from other processes.
  double t_engine = 1e300;
  double t_base = 1e300;
  for (int round = 0; round < rounds; ++round) {
    if (run_engine) t_engine = std::min(t_engine, bench_engine(pending, steps, inc, sum_engine));
    if (run_base) t_base = std::min(t_base, bench_baseline(pending, steps, inc, sum_base));
  }
  if (!run_engine || !run_base) {
    double t = run_engine ? t_engine : t_base;
    std::printf("hold model, %s only: %zu pending, %zu steps: %.2f M events/s (%.3f s)\n",
                run_engine ? "engine" : "baseline", pending, steps, static_cast<double>(steps) / t / 1e6, t);
    return 0;
  }
  double r_engine = static_cast<double>(steps) / t_engine;
  double r_base = static_cast<double>(steps) / t_base;
  std::printf("hold model: %zu pending events, %zu steps (pop + schedule), best of %d\n", pending, steps, rounds);
  std::printf("  epsim::Simulator        %8.2f M events/s  (%.3f s CPU)\n", r_engine / 1e6, t_engine);
  std::printf("  std::priority_queue     %8.2f M events/s  (%.3f s CPU)  [no handlers, no cancel]\n", r_base / 1e6,
              t_base);
  std::printf("  ratio engine/baseline   %8.2f\n", r_engine / r_base);
  std::printf("  same event times: %s\n", sum_engine == sum_base ? "yes" : "NO");
  std::printf("  target >= 5 M events/s: %s\n", r_engine >= 5e6 ? "met" : "NOT met");
  return sum_engine == sum_base ? 0 : 1;
}
