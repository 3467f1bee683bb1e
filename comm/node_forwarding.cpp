#include "comm/node_forwarding.hpp"

#include <algorithm>
#include <stdexcept>

namespace epsim {

namespace {

void add_route(const RouteTable& routes, int s, int d, double bytes, RouteScratch& scratch, std::vector<RouteHop>& hops,
               std::vector<double>& link_bytes) {
  hops.clear();
  routes.append_route(s, d, scratch, hops);
  for (const RouteHop& h : hops) link_bytes[static_cast<std::size_t>(h.link)] += bytes * h.fraction;
}

}  // namespace

void add_token_link_bytes(const RouteTable& routes, int src_gpu, std::span<const int> dst_gpus, double bytes,
                          TokenDelivery delivery, RouteScratch& scratch, std::vector<double>& link_bytes) {
  const Topology& topo = routes.topology();
  auto check = [&](int g) {
    if (g < 0 || g >= topo.num_gpus()) throw std::out_of_range("GPU rank out of range in add_token_link_bytes");
  };
  check(src_gpu);
  std::vector<int> dsts(dst_gpus.begin(), dst_gpus.end());
  for (int g : dsts) check(g);
  std::sort(dsts.begin(), dsts.end());
  dsts.erase(std::unique(dsts.begin(), dsts.end()), dsts.end());
  std::vector<RouteHop> hops;
  const int src_host = topo.gpu_host(src_gpu);
  // Hosts already served through their rail peer.
  std::vector<int> forwarded_hosts;
  for (int g : dsts) {
    if (g == src_gpu) continue;
    const int h = topo.gpu_host(g);
    int peer = -1;
    if (delivery == TokenDelivery::node_forwarding && h >= 0 && h != src_host) peer = routes.rail_peer(src_gpu, h);
    if (peer < 0) {
      add_route(routes, src_gpu, g, bytes, scratch, hops, link_bytes);
      continue;
    }
    if (std::find(forwarded_hosts.begin(), forwarded_hosts.end(), h) == forwarded_hosts.end()) {
      forwarded_hosts.push_back(h);
      add_route(routes, src_gpu, peer, bytes, scratch, hops, link_bytes);
    }
    if (g != peer) add_route(routes, peer, g, bytes, scratch, hops, link_bytes);
  }
}

double bytes_leaving_host(const Topology& topology, int host, const std::vector<double>& link_bytes) {
  double total = 0;
  for (int l = 0; l < topology.num_links(); ++l) {
    const Link& link = topology.link(l);
    if (topology.device(link.src).host == host && topology.device(link.dst).host != host)
      total += link_bytes[static_cast<std::size_t>(l)];
  }
  return total;
}

}  // namespace epsim
