#include "topology/validate.hpp"

#include <cmath>
#include <deque>
#include <map>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common/error.hpp"
#include "common/limits.hpp"

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

std::string link_range_error(double bandwidth_GBps, double latency_ns) {
  if (!(bandwidth_GBps >= limits::kMinLinkBandwidthGBps && bandwidth_GBps <= limits::kMaxLinkBandwidthGBps))
    return fmt::format("expected a bandwidth of {} to {} GB/s per direction (1 MB/s to 100 TB/s; docs/limits.md), "
                       "found {}",
                       limits::kMinLinkBandwidthGBps, limits::kMaxLinkBandwidthGBps, bandwidth_GBps);
  if (!(latency_ns >= 0 && latency_ns <= limits::kMaxLinkLatencyNs))
    return fmt::format("expected a latency of 0 to {} ns (1 s; docs/limits.md), found {}", limits::kMaxLinkLatencyNs,
                       latency_ns);
  return {};
}

std::vector<int> unused_nics(const Topology& topo) {
  // Per host: GPUs per rail.
  std::map<std::pair<int, int>, int> gpus_on_rail;  // (host, rail) -> GPUs
  std::set<int> sharing_hosts;
  for (int g = 0; g < topo.num_gpus(); ++g) {
    const Device& d = topo.device(topo.gpu_device(g));
    if (d.host < 0 || d.rail < 0) continue;
    if (++gpus_on_rail[{d.host, d.rail}] == 2) sharing_hosts.insert(d.host);
  }
  std::vector<int> out;
  for (int i = 0; i < topo.num_devices(); ++i) {
    const Device& d = topo.device(i);
    if (d.kind == DeviceKind::nic && d.rail >= 0 && sharing_hosts.count(d.host) && !gpus_on_rail.count({d.host, d.rail}))
      out.push_back(i);
  }
  return out;
}

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
    if (std::string why = link_range_error(l.bandwidth_GBps, l.latency_ns); !why.empty())
      throw InputError(source, "", fmt::format("link {}: {}", topo.link_name(i), why));
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
  // In a multi-host cluster every GPU needs a path to a NIC on its own host that does not cross
  // another GPU (a GPU does not forward scale-out traffic for its neighbours).
  if (topo.num_hosts() > 1) {
    std::vector<char> seen(static_cast<std::size_t>(topo.num_devices()), 0);
    std::vector<int> visited;
    for (int g = 0; g < topo.num_gpus(); ++g) {
      const int start = topo.gpu_device(g);
      const Device& d = topo.device(start);
      if (d.host < 0) throw InputError(source, "", fmt::format("GPU {} has no host in a multi-host cluster", d.id));
      bool found = false;
      std::deque<int> queue{start};
      seen[static_cast<std::size_t>(start)] = 1;
      visited.assign(1, start);
      while (!queue.empty() && !found) {
        int v = queue.front();
        queue.pop_front();
        for (int li : topo.out_links(v)) {
          int w = topo.link(li).dst;
          const Device& dw = topo.device(w);
          if (seen[static_cast<std::size_t>(w)] || dw.host != d.host) continue;
          seen[static_cast<std::size_t>(w)] = 1;
          visited.push_back(w);
          if (dw.kind == DeviceKind::nic) {
            found = true;
            break;
          }
          if (dw.kind != DeviceKind::gpu) queue.push_back(w);
        }
      }
      for (int v : visited) seen[static_cast<std::size_t>(v)] = 0;
      if (!found)
        throw InputError(source, "", fmt::format("GPU {} has no path to a NIC on its host {} in a multi-host cluster", d.id,
                                                 topo.hosts()[static_cast<std::size_t>(d.host)]));
    }
  }
  for (int i = 0; i < topo.num_devices(); ++i)
    if (topo.out_links(i).empty() && topo.in_links(i).empty())
      warnings.push_back(fmt::format("device {} has no links", topo.device(i).id));
  for (int nic : unused_nics(topo)) {
    const Device& n = topo.device(nic);
    std::map<int, std::vector<std::string>> by_rail;
    for (int g = 0; g < topo.num_gpus(); ++g) {
      const Device& d = topo.device(topo.gpu_device(g));
      if (d.host == n.host && d.rail >= 0) by_rail[d.rail].push_back(d.id);
    }
    std::string shared;
    for (const auto& [rail, ids] : by_rail)
      if (ids.size() >= 2 && shared.empty()) shared = fmt::format("{} share rail {}", fmt::join(ids, ", "), rail);
    warnings.push_back(fmt::format("NIC {} (rail {}) is unused: no GPU of its host has rail {} while {} (a "
                                   "mis-detected PCIe topology?); `topo show` leaves it out of the network per GPU",
                                   n.id, n.rail, n.rail, shared));
  }
  return warnings;
}

}  // namespace epsim
