// Benchmark: building the EP link model (comm/link_load.hpp EpLinkModel: the link rows of one
// all-to-all over EP GPUs, EP^2 source-destination pairs) per exchange kernel, on DGX H100 and AWS p5
// clusters of EP GPUs. Baseline in the same run: deepep-ll, whose legs are direct (s -> d), so every
// pair expands its own route. deepep-normal and hierarchical forward through a rail peer and keep each
// repeated leg's hops per destination host (s -> rail peer serves every GPU of that host), so they
// expand about EP^2 / 8 cross-node legs instead of EP^2. The ratio column is time / deepep-ll's.
// Usage: bench_ep_link_model [max_ep]   (default 1024; 256 and 512 always run)
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "comm/link_load.hpp"
#include "topology/generators.hpp"
#include "topology/routing.hpp"

namespace {

using Clock = std::chrono::steady_clock;

double build_seconds(const epsim::Topology& topo, const epsim::RouteTable& routes, int ep, epsim::ExchangeKernelKind kind) {
  const auto t0 = Clock::now();
  const epsim::EpLinkModel links(topo, routes, ep, epsim::default_kernel_params(kind));
  const double s = std::chrono::duration<double>(Clock::now() - t0).count();
  if (links.ep() != ep) std::abort();
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  const int max_ep = argc > 1 ? std::atoi(argv[1]) : 1024;
  using epsim::ExchangeKernelKind;
  const std::vector<ExchangeKernelKind> kinds = {ExchangeKernelKind::deepep_ll, ExchangeKernelKind::deepep_normal,
                                                 ExchangeKernelKind::hierarchical};
  fmt::print("{:>8} {:>6} {:>15} {:>9} {:>7}\n", "cluster", "EP", "kernel", "build_s", "ratio");
  for (const bool p5 : {false, true})
    for (int ep = 256; ep <= std::max(max_ep, 512); ep *= 2) {
      const epsim::DgxClusterOptions o = p5 ? epsim::aws_p5_options(ep / 8) : epsim::dgx_options_for_nodes(ep / 8);
      const epsim::Topology topo = epsim::generate_dgx_cluster(o);
      const epsim::RouteTable routes(topo);
      double base = 0;
      for (ExchangeKernelKind kind : kinds) {
        const double s = build_seconds(topo, routes, ep, kind);
        if (kind == ExchangeKernelKind::deepep_ll) base = s;
        fmt::print("{:>8} {:>6} {:>15} {:>9.2f} {:>7.2f}\n", p5 ? "p5" : "dgx-h100", ep, epsim::to_string(kind), s, s / base);
      }
    }
  return 0;
}
