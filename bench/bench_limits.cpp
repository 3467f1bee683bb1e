// Scale limits (docs/limits.md): time and peak memory (getrusage ru_maxrss of a child process per
// measurement) of the steps whose memory grows fastest:
//   routes G    : generate a DGX cluster of G GPUs, all-pairs routes, EP link model (memory ~ G^2 x hops)
//   plan E      : greedy plan of a 4-layer model with E experts on 64 GPUs (+64 redundant slots)
//   loads L x E : parse an expert-loads JSON text of L layers x E experts (memory ~ text + parsed tree)
// usage: bench_limits [max_gpus=2048] [max_experts=65536]
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
#include "placement/expert_loads.hpp"
#include "placement/plan.hpp"
#include "topology/generators.hpp"
#include "topology/routing.hpp"

namespace {

using Clock = std::chrono::steady_clock;

// Runs `work` in a child process; prints its line with the child's peak RSS in MiB.
void measure(const std::string& what, const std::function<std::string()>& work) {
  std::fflush(stdout);
  pid_t pid = ::fork();
  if (pid == 0) {
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
    std::_Exit(0);
  }
  int status = 0;
  rusage ru{};
  ::wait4(pid, &status, 0, &ru);
  std::printf("  peak %8.1f MiB\n", static_cast<double>(ru.ru_maxrss) / 1024.0);
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
  const int max_gpus = argc > 1 ? std::atoi(argv[1]) : 2048;
  const int max_experts = argc > 2 ? std::atoi(argv[2]) : 65536;
  std::printf("bench_limits: time and peak memory (ru_maxrss of one child process per line)\n");
  measure("baseline (empty)", [] { return std::string("  "); });

  for (int g = 64; g <= max_gpus; g *= 2) {
    measure(fmt::format("routes G={}", g), [g] {
      epsim::DgxClusterOptions o;
      o.nodes = g / 8;
      epsim::Topology topo = epsim::generate_dgx_cluster(o);
      epsim::RouteTable routes(topo);
      epsim::EpLinkModel links(topo, routes, g);
      return fmt::format("{} devices, {} links, route table {:.1f} MiB", topo.num_devices(), topo.num_links(),
                         static_cast<double>(routes.memory_bytes()) / 1048576.0);
    });
  }

  for (int e = 256; e <= max_experts; e *= 4) {
    measure(fmt::format("plan E={} L=4", e), [e] {
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
    });
  }

  for (int e = 256; e <= max_experts; e *= 16) {
    measure(fmt::format("loads L=61 x E={}", e), [e] {
      std::string text = "{\"logical_count\": [";
      for (int l = 0; l < 61; ++l) {
        text += l ? ",[" : "[";
        for (int x = 0; x < e; ++x) text += fmt::format("{}{}", x ? "," : "", (x * 37 + l) % 1000);
        text += "]";
      }
      text += "]}";
      epsim::ExpertLoads loads = epsim::expert_loads_from_json(epsim::Json::parse(text), "bench");
      return fmt::format("{:.1f} MiB of JSON text", static_cast<double>(text.size()) / (1 << 20));
    });
  }
  return 0;
}
