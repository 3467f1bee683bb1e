// Benchmark: generate, validate and route rail-optimized DGX H100 clusters of 16, 64, 256 and 1024
// nodes (128..8192 GPUs). Each size runs in a forked child so that getrusage's ru_maxrss is that
// size's peak. Prints time and memory against GPU count and growth ratios between sizes.
//   build    = generate_dgx_cluster + validate_topology + RouteTable construction
//   route    = append_route for every destination from `kSources` sources spread over the cluster
//              (kSources x G pairs), reported per pair and extrapolated to all G^2 pairs
// Usage: bench_topology [max_nodes]   (default 1024)
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "topology/generators.hpp"
#include "topology/routing.hpp"
#include "topology/validate.hpp"

namespace {

using Clock = std::chrono::steady_clock;
constexpr int kSources = 64;

struct Figures {
  double gpus = 0, build_s = 0, route_ns_per_pair = 0, table_MB = 0, peak_MB = 0, hops_per_pair = 0;
};

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

Figures run(int nodes) {
  Figures f;
  auto t0 = Clock::now();
  epsim::DgxClusterOptions o;
  o.nodes = nodes;
  epsim::Topology topo = epsim::generate_dgx_cluster(o);
  epsim::validate_topology(topo, "generated");
  epsim::RouteTable routes(topo);
  f.build_s = seconds_since(t0);
  f.gpus = topo.num_gpus();
  f.table_MB = static_cast<double>(routes.memory_bytes()) / 1e6;
  epsim::RouteScratch scratch;
  std::vector<epsim::RouteHop> hops;
  std::size_t total_hops = 0, pairs = 0;
  auto t1 = Clock::now();
  const int G = topo.num_gpus();
  // Destination-major with sources inner, the order EpLinkModel uses.
  for (int d = 0; d < G; ++d)
    for (int k = 0; k < kSources; ++k) {
      int s = static_cast<int>(static_cast<long long>(k) * G / kSources + 3) % G;
      hops.clear();
      routes.append_route(s, d, scratch, hops);
      total_hops += hops.size();
      ++pairs;
    }
  f.route_ns_per_pair = seconds_since(t1) * 1e9 / static_cast<double>(pairs);
  f.hops_per_pair = static_cast<double>(total_hops) / static_cast<double>(pairs);
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  f.peak_MB = static_cast<double>(usage.ru_maxrss) / 1024.0;  // Linux: kilobytes
  return f;
}

}  // namespace

int main(int argc, char** argv) {
  int max_nodes = argc > 1 ? std::atoi(argv[1]) : 1024;
  std::vector<Figures> all;
  fmt::print("{:>6} {:>6} {:>9} {:>10} {:>11} {:>10} {:>9} {:>14}\n", "nodes", "GPUs", "build_s", "route_ns", "all_pairs_s",
             "table_MB", "peak_MB", "CSR_est_MB");
  for (int nodes : {16, 64, 256, 1024}) {
    if (nodes > max_nodes) break;
    int pipe_fd[2];
    if (pipe(pipe_fd) != 0) return 3;
    pid_t pid = fork();
    if (pid == 0) {
      Figures f = run(nodes);
      if (write(pipe_fd[1], &f, sizeof f) != static_cast<ssize_t>(sizeof f)) _exit(3);
      _exit(0);
    }
    Figures f;
    if (read(pipe_fd[0], &f, sizeof f) != static_cast<ssize_t>(sizeof f)) return 3;
    waitpid(pid, nullptr, 0);
    close(pipe_fd[0]);
    close(pipe_fd[1]);
    // An all-pairs CSR (the previous scheme) would hold G^2 x hops x 8 bytes.
    double csr_MB = f.gpus * f.gpus * f.hops_per_pair * 8 / 1e6;
    double all_pairs_s = f.route_ns_per_pair * 1e-9 * f.gpus * f.gpus;
    fmt::print("{:>6} {:>6.0f} {:>9.3f} {:>10.0f} {:>11.1f} {:>10.2f} {:>9.1f} {:>14.0f}\n", nodes, f.gpus, f.build_s,
               f.route_ns_per_pair, all_pairs_s, f.table_MB, f.peak_MB, csr_MB);
    all.push_back(f);
  }
  fmt::print("\ngrowth per 4x GPUs (ideal: G -> 4, G^2 -> 16):\n");
  for (std::size_t i = 1; i < all.size(); ++i)
    fmt::print("  {:.0f} -> {:.0f} GPUs: build x{:.1f}, table x{:.1f}, peak RSS x{:.1f}, route per pair x{:.2f}\n", all[i - 1].gpus,
               all[i].gpus, all[i].build_s / all[i - 1].build_s, all[i].table_MB / all[i - 1].table_MB,
               all[i].peak_MB / all[i - 1].peak_MB, all[i].route_ns_per_pair / all[i - 1].route_ns_per_pair);
  return 0;
}
