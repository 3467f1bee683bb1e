#include "topology/validate.hpp"

#include <cmath>
#include <deque>

#include <fmt/format.h>

#include "common/error.hpp"

namespace epsim {

namespace {

// Devices reachable from `start`, following links forward (or backward), with GPUs other than
// `start` not forwarding traffic unless allow_gpu_transit.
std::vector<char> reachable(const Topology& topo, int start, bool backward) {
  std::vector<char> seen(static_cast<std::size_t>(topo.num_devices()), 0);
  std::deque<int> queue{start};
  seen[static_cast<std::size_t>(start)] = 1;
  while (!queue.empty()) {
    int v = queue.front();
    queue.pop_front();
    const auto& links = backward ? topo.in_links(v) : topo.out_links(v);
    for (int li : links) {
      const Link& l = topo.link(li);
      int w = backward ? l.src : l.dst;
      if (!seen[static_cast<std::size_t>(w)]) {
        seen[static_cast<std::size_t>(w)] = 1;
        queue.push_back(w);
      }
    }
  }
  return seen;
}

}  // namespace

std::vector<std::string> validate_topology(const Topology& topo, const std::string& source) {
  std::vector<std::string> warnings;
  if (topo.num_gpus() == 0) throw InputError(source, "/devices", "expected at least one device of kind \"gpu\"");
  for (int i = 0; i < topo.num_links(); ++i) {
    const Link& l = topo.link(i);
    if (!std::isfinite(l.bandwidth_GBps) || l.bandwidth_GBps <= 0)
      throw InputError(source, "", fmt::format("link {}: bandwidth_GBps must be finite and > 0, found {}",
                                               topo.link_name(i), l.bandwidth_GBps));
    if (!std::isfinite(l.latency_ns) || l.latency_ns < 0)
      throw InputError(source, "", fmt::format("link {}: latency_ns must be finite and >= 0, found {}",
                                               topo.link_name(i), l.latency_ns));
  }
  // Strong connectivity among GPUs: every GPU reaches GPU 0 and GPU 0 reaches every GPU.
  int g0 = topo.gpu_device(0);
  auto fwd = reachable(topo, g0, false);
  auto bwd = reachable(topo, g0, true);
  for (int g = 1; g < topo.num_gpus(); ++g) {
    int d = topo.gpu_device(g);
    if (!fwd[static_cast<std::size_t>(d)])
      throw InputError(source, "", fmt::format("GPU {} cannot be reached from GPU {} (no path of links)",
                                               topo.device(d).id, topo.device(g0).id));
    if (!bwd[static_cast<std::size_t>(d)])
      throw InputError(source, "", fmt::format("GPU {} cannot reach GPU {} (no path of links)",
                                               topo.device(d).id, topo.device(g0).id));
  }
  // In a multi-host cluster every GPU needs a NIC on its own host.
  if (topo.num_hosts() > 1) {
    std::vector<char> host_has_nic(static_cast<std::size_t>(topo.num_hosts()), 0);
    for (const Device& d : topo.devices())
      if (d.kind == DeviceKind::nic && d.host >= 0) host_has_nic[static_cast<std::size_t>(d.host)] = 1;
    for (int g = 0; g < topo.num_gpus(); ++g) {
      const Device& d = topo.device(topo.gpu_device(g));
      if (d.host < 0) throw InputError(source, "", fmt::format("GPU {} has no host in a multi-host cluster", d.id));
      if (!host_has_nic[static_cast<std::size_t>(d.host)])
        throw InputError(source, "", fmt::format("GPU {} has no NIC on its host {} in a multi-host cluster", d.id,
                                                 topo.hosts()[static_cast<std::size_t>(d.host)]));
    }
  }
  for (int i = 0; i < topo.num_devices(); ++i)
    if (topo.out_links(i).empty() && topo.in_links(i).empty())
      warnings.push_back(fmt::format("device {} has no links", topo.device(i).id));
  return warnings;
}

}  // namespace epsim
