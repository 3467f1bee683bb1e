#include "topology/nic_path.hpp"

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "common/error.hpp"

namespace epsim {

std::vector<RouteHop> nic_path(const Topology& topology, int gpu_rank, NicDirection direction) {
  const bool up = direction == NicDirection::up;
  const int gpu = topology.gpu_device(gpu_rank);
  const int host = topology.device(gpu).host;
  const std::string& id = topology.device(gpu).id;
  if (host < 0) throw InputError(fmt::format("GPU {} has no host: it has no NIC to send through", id));
  // Breadth-first search from the GPU over host-internal, non-NVLink links (reversed when down), never
  // entering another GPU; parent[v] = the link that reached v first.
  std::map<int, int> parent;  // device -> link
  std::vector<int> frontier = {gpu}, nics;
  parent[gpu] = -1;
  while (!frontier.empty() && nics.empty()) {
    std::vector<int> next;
    for (int v : frontier)
      for (int l : up ? topology.out_links(v) : topology.in_links(v)) {
        const Link& link = topology.link(l);
        if (link.kind == LinkKind::nvlink) continue;
        const int w = up ? link.dst : link.src;
        const Device& dev = topology.device(w);
        if (dev.host != host || dev.kind == DeviceKind::gpu || parent.count(w)) continue;
        parent[w] = l;
        (dev.kind == DeviceKind::nic ? nics : next).push_back(w);
      }
    frontier = std::move(next);
  }
  const int rail = topology.device(gpu).rail;
  if (rail >= 0 && std::any_of(nics.begin(), nics.end(), [&](int n) { return topology.device(n).rail == rail; }))
    nics.erase(std::remove_if(nics.begin(), nics.end(), [&](int n) { return topology.device(n).rail != rail; }),
               nics.end());
  std::map<int, double> share;  // link -> fraction
  int reached = 0;
  for (int nic : nics) {
    std::vector<int> fabric;
    for (int l : up ? topology.out_links(nic) : topology.in_links(nic)) {
      const Link& link = topology.link(l);
      if (topology.device(up ? link.dst : link.src).host < 0) fabric.push_back(l);
    }
    if (fabric.empty()) continue;
    ++reached;
    for (int l : fabric) share[l] += 1.0 / static_cast<double>(fabric.size());
    for (int v = nic; parent.at(v) >= 0;) {
      const int l = parent.at(v);
      share[l] += 1.0;
      const Link& link = topology.link(l);
      v = up ? link.src : link.dst;
    }
  }
  if (reached == 0)
    throw InputError(fmt::format("GPU {} reaches no NIC with a link to the fabric (the network path a kernel "
                                 "with NVLink disabled sends same-node peers' bytes over)",
                                 id));
  std::vector<RouteHop> hops;
  hops.reserve(share.size());
  for (const auto& [l, f] : share) hops.push_back(RouteHop{l, static_cast<float>(f / reached)});
  return hops;
}

}  // namespace epsim
