#include "topology/nic_path.hpp"

#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>

#include "common/error.hpp"

namespace epsim {

namespace {

// Hops from the GPU to `v` along the search tree (`parent`: device -> the link that reached it).
std::size_t hops_to(const std::map<int, int>& parent, const Topology& topology, int v, bool up) {
  std::size_t hops = 0;
  for (int l = parent.at(v); l >= 0; l = parent.at(v), ++hops) v = up ? topology.link(l).src : topology.link(l).dst;
  return hops;
}

// Whether a GPU of nic's host other than `gpu` is at most `depth` host-internal, non-NVLink hops from
// the NIC (never through a GPU). Breadth-first over the NIC's host, O(host devices).
bool nearest_to_another_gpu(const Topology& topology, int nic, int gpu, std::size_t depth) {
  const int host = topology.device(nic).host;
  std::set<int> seen = {nic};
  std::vector<int> frontier = {nic};
  for (std::size_t d = 0; d < depth && !frontier.empty(); ++d) {
    std::vector<int> next;
    for (int v : frontier)
      for (int l : topology.out_links(v)) {
        const Link& link = topology.link(l);
        const Device& w = topology.device(link.dst);
        if (link.kind == LinkKind::nvlink || w.host != host || !seen.insert(link.dst).second) continue;
        if (w.kind == DeviceKind::gpu) {
          if (link.dst != gpu) return true;
          continue;
        }
        next.push_back(link.dst);
      }
    frontier = std::move(next);
  }
  return false;
}

}  // namespace

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
  // A NIC that another GPU of the host reaches in as few hops is shared (two GPUs and two NICs on one
  // PCIe switch): the GPU keeps it only when it is on its rail. NICs no other GPU is as near to (AWS
  // p5: one GPU and four NICs per switch) are all the GPU's. No NIC left: all nearest ones.
  const int rail = topology.device(gpu).rail;
  const std::size_t depth = hops_to(parent, topology, nics.empty() ? gpu : nics.front(), up);
  std::vector<int> own;
  for (int n : nics)
    if (!nearest_to_another_gpu(topology, n, gpu, depth) || (rail >= 0 && topology.device(n).rail == rail)) own.push_back(n);
  if (!own.empty()) nics = std::move(own);
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
