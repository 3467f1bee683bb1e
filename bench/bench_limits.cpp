// Scale limits (docs/limits.md): time and peak memory (getrusage ru_maxrss of a child process per
// measurement) of the steps whose memory grows fastest:
//   routes G    : generate a DGX cluster of G GPUs and build its compact route table (shortest)
//   ep link EP  : the same for EP GPUs plus the EP link model of an all-to-all over all of them (it
//                 aggregates EP^2 routes: the step the EP cap limits)
//   plan E      : greedy plan of a 4-layer model with E experts on 64 GPUs (+64 redundant slots)
//   loads L x E : parse an expert-loads JSON text of L layers x E experts (memory ~ text + parsed tree)
// Each line gives wall time, CPU time (user + system of the child: what a loaded machine does not
// inflate) and peak memory, and its CPU time and memory over the line before it in the same series
// (x per step), the figures docs/limits.md quotes.
// usage: bench_limits [max_gpus=16384] [max_experts=65536] [max_ep=2048]
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>

#include <fmt/format.h>

#include "common/json_input.hpp"
#include "model/expert_loads.hpp"
#include "placement/plan.hpp"
#include "topology/generators.hpp"
#include "topology/routing.hpp"

namespace {

using Clock = std::chrono::steady_clock;

// Wall time (s), CPU time (user + system, s) and peak resident memory (MiB) of one measurement.
struct Cost {
  double seconds = 0;
  double cpu_seconds = 0;
  double peak_MiB = 0;
};

// Runs `work` in a child process; prints its line with the child's peak RSS in MiB and, given the
// previous line of the same series, the ratios of time and memory to it.
Cost measure(const std::string& what, const std::function<std::string()>& work, const Cost* previous = nullptr) {
  std::fflush(stdout);
  int fds[2];
  if (::pipe(fds) != 0) return {};
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    auto t0 = Clock::now();
    std::string detail;
    try {
      detail = work();
    } catch (const std::exception& e) {
      detail = std::string("error: ") + e.what();
    }
    double s = std::chrono::duration<double>(Clock::now() - t0).count();
    std::printf("%-22s %9.2f s  %s", what.c_str(), s, detail.c_str());
    std::fflush(stdout);
    if (::write(fds[1], &s, sizeof s) != static_cast<ssize_t>(sizeof s)) std::_Exit(1);
    std::_Exit(0);
  }
  ::close(fds[1]);
  Cost c;
  if (::read(fds[0], &c.seconds, sizeof c.seconds) != static_cast<ssize_t>(sizeof c.seconds)) c.seconds = 0;
  ::close(fds[0]);
  int status = 0;
  rusage ru{};
  ::wait4(pid, &status, 0, &ru);
  c.peak_MiB = static_cast<double>(ru.ru_maxrss) / 1024.0;
  c.cpu_seconds = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                  static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
  std::printf("  cpu %8.2f s  peak %8.1f MiB", c.cpu_seconds, c.peak_MiB);
  if (previous && previous->cpu_seconds > 0 && previous->peak_MiB > 0)
    std::printf("  (x%.1f cpu time, x%.2f memory)", c.cpu_seconds / previous->cpu_seconds, c.peak_MiB / previous->peak_MiB);
  std::printf("\n");
  return c;
}

epsim::MoeModel model_with(int experts, int layers) {
  epsim::Json j = {{"num_hidden_layers", layers}, {"hidden_size", 7168}, {"n_routed_experts", experts},
                   {"num_experts_per_tok", 8},    {"moe_intermediate_size", 2048}, {"num_attention_heads", 128}};
  return epsim::moe_model_from_json(j, "bench");
}

// Zipf-like skew (hottest expert ~ 10x the mean), deterministic.
std::vector<double> skewed(int experts, int layer) {
  std::vector<double> v(static_cast<std::size_t>(experts));
  for (int e = 0; e < experts; ++e) v[static_cast<std::size_t>(e)] = 1000.0 / std::pow(1.0 + ((e * 7 + layer) % experts), 0.6);
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  const int max_gpus = argc > 1 ? std::atoi(argv[1]) : 16384;
  const int max_experts = argc > 2 ? std::atoi(argv[2]) : 65536;
  const int max_ep = argc > 3 ? std::atoi(argv[3]) : 2048;
  std::printf("bench_limits: time and peak memory (ru_maxrss of one child process per line)\n");
  measure("baseline (empty)", [] { return std::string("  "); });

  Cost prev;
  for (int g = 64; g <= max_gpus; g *= 2) {
    prev = measure(fmt::format("routes G={}", g), [g] {
      epsim::DgxClusterOptions o;
      o.nodes = g / 8;
      epsim::Topology topo = epsim::generate_dgx_cluster(o);
      epsim::RouteTable routes(topo);
      return fmt::format("{} devices, {} links, route table {:.1f} MiB", topo.num_devices(), topo.num_links(),
                         static_cast<double>(routes.memory_bytes()) / 1048576.0);
    }, g > 64 ? &prev : nullptr);
  }

  for (int g = 64; g <= max_ep; g *= 2) {
    prev = measure(fmt::format("ep link EP={}", g), [g] {
      epsim::DgxClusterOptions o;
      o.nodes = g / 8;
      epsim::Topology topo = epsim::generate_dgx_cluster(o);
      epsim::RouteTable routes(topo);
      epsim::EpLinkModel links(topo, routes, g);
      return fmt::format("{} links, route table {:.1f} MiB", links.num_links(),
                         static_cast<double>(routes.memory_bytes()) / 1048576.0);
    }, g > 64 ? &prev : nullptr);
  }

  for (int e = 256; e <= max_experts; e *= 4) {
    prev = measure(fmt::format("plan E={} L=4", e), [e] {
      epsim::DgxClusterOptions o;
      o.nodes = 8;
      epsim::Topology topo = epsim::generate_dgx_cluster(o);
      epsim::RouteTable routes(topo);
      epsim::EpLinkModel links(topo, routes, 64);
      epsim::MoeModel model = model_with(e, 4);
      epsim::ExpertLoads loads;
      for (int l = 0; l < 4; ++l) loads.count.push_back(skewed(e, l));
      epsim::PlanSettings s;
      s.ep = 64;
      s.redundant = 64;
      s.threads = 1;
      epsim::Plan plan = epsim::make_plan(links, model, loads, s);
      return fmt::format("greedy max/mean {:.3f}", plan.chosen.mean_imbalance);
    }, e > 256 ? &prev : nullptr);
  }

  for (int e = 256; e <= max_experts; e *= 16) {
    prev = measure(fmt::format("loads L=61 x E={}", e), [e] {
      std::string text = "{\"logical_count\": [";
      for (int l = 0; l < 61; ++l) {
        text += l ? ",[" : "[";
        for (int x = 0; x < e; ++x) text += fmt::format("{}{}", x ? "," : "", (x * 37 + l) % 1000);
        text += "]";
      }
      text += "]}";
      epsim::ExpertLoads loads = epsim::expert_loads_from_json(epsim::Json::parse(text), "bench");
      return fmt::format("{:.1f} MiB of JSON text", static_cast<double>(text.size()) / (1 << 20));
    }, e > 256 ? &prev : nullptr);
  }
  return 0;
}
