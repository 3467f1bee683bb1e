// Flow-model benchmark: one all-to-all of G GPUs (G(G-1) flows of `bytes` each) on a generated DGX
// cluster (generate_dgx_cluster, nodes = G/8), simulated to the end with the "flow" NetworkModel.
// Prints wall time per G and the growth ratio between successive G (flows grow 16x per 4x G).
// skew > 0: bytes(s -> d) = bytes x (1 + skew x ((d x 7919) mod 13) / 12), a deterministic per-destination
// load as in an MoE dispatch (bytes into GPU d = tokens[d] x hidden), so flows complete at many
// distinct instants instead of the handful of the uniform case.
// Usage: bench_flow_network [max_G=256] [bytes=1048576] [skew=0]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "sim/network/flow_network_model.hpp"
#include "topology/generators.hpp"
#include "topology/routing.hpp"

int main(int argc, char** argv) {
  int max_g = argc > 1 ? std::atoi(argv[1]) : 256;
  double bytes = argc > 2 ? std::atof(argv[2]) : 1048576.0;
  double skew = argc > 3 ? std::atof(argv[3]) : 0.0;
  if (max_g < 16 || !(bytes > 0) || !(skew >= 0)) {
    std::fprintf(stderr, "usage: bench_flow_network [max_G>=16] [bytes>0] [skew>=0]\n");
    return 2;
  }
  std::printf("%6s %9s %9s %8s %12s %10s %12s %10s\n", "G", "flows", "events", "solves", "flows_solved",
              "sim_ms", "wall_s", "growth");
  double previous = 0;
  for (int g = 16; g <= max_g; g *= 4) {
    epsim::Topology topo = epsim::generate_dgx_cluster(epsim::dgx_options_for_nodes(g / 8));
    epsim::RouteTable routes(topo);
    epsim::Simulator sim;
    epsim::FlowNetworkModel net(sim, topo, routes);
    std::vector<epsim::Transfer> transfers;
    transfers.reserve(static_cast<std::size_t>(g) * static_cast<std::size_t>(g - 1));
    for (int s = 0; s < g; ++s)
      for (int d = 0; d < g; ++d)
        if (s != d) transfers.push_back({s, d, bytes * (1.0 + skew * ((d * 7919) % 13) / 12.0)});
    std::size_t flows = transfers.size();
    auto t0 = std::chrono::steady_clock::now();
    net.start_exchange(std::move(transfers), nullptr, nullptr);
    sim.run();
    double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const auto& st = net.network().stats();
    std::printf("%6d %9zu %9llu %8llu %12llu %10.3f %12.4f", g, flows,
                static_cast<unsigned long long>(sim.events_executed()), static_cast<unsigned long long>(st.solves),
                static_cast<unsigned long long>(st.flows_resolved), sim.now().to_ms(), wall);
    if (previous > 0)
      std::printf(" %9.1fx\n", wall / previous);
    else
      std::printf(" %10s\n", "-");
    previous = wall;
  }
  return 0;
}
