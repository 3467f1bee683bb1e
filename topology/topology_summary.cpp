#include "topology/topology_summary.hpp"

#include <algorithm>
#include <set>

#include "topology/validate.hpp"

namespace epsim {

TopologySummary summarize_topology(const Topology& topo) {
  TopologySummary s;
  s.hosts = topo.num_hosts();
  s.gpus = topo.num_gpus();
  s.devices = topo.num_devices();
  s.links = topo.num_links();
  const Device& g0 = topo.device(topo.gpu_device(0));
  for (int g = 0; g < topo.num_gpus(); ++g)
    if (topo.device(topo.gpu_device(g)).host == g0.host) ++s.gpus_per_host;
  // NICs no GPU uses (validate.hpp unused_nics) carry no GPU's traffic: neither rails nor NICs per GPU.
  std::vector<char> unused(static_cast<std::size_t>(topo.num_devices()), 0);
  for (int nic : unused_nics(topo)) unused[static_cast<std::size_t>(nic)] = 1;
  std::set<int> rails;
  int host_nics = 0;
  for (int d = 0; d < topo.num_devices(); ++d) {
    const Device& dev = topo.device(d);
    if (dev.kind != DeviceKind::nic || unused[static_cast<std::size_t>(d)]) continue;
    if (dev.rail >= 0) rails.insert(dev.rail);
    if (dev.host == g0.host && dev.host >= 0) ++host_nics;
  }
  s.rails = static_cast<int>(rails.size());
  s.nics_per_gpu = s.gpus_per_host > 0 ? static_cast<double>(host_nics) / s.gpus_per_host : 0.0;
  for (int li : topo.out_links(topo.gpu_device(0))) {
    const Link& l = topo.link(li);
    if (l.kind == LinkKind::nvlink) s.gpu_nvlink_GBps += l.bandwidth_GBps;
    else if (l.kind == LinkKind::pcie) s.gpu_pcie_GBps += l.bandwidth_GBps;
  }
  // Per-host injection and per-GPU share.
  std::vector<double> host_injection(static_cast<std::size_t>(std::max(1, topo.num_hosts())), 0.0);
  double host_nic = 0;
  for (int li = 0; li < topo.num_links(); ++li) {
    const Link& l = topo.link(li);
    const Device& a = topo.device(l.src);
    const Device& b = topo.device(l.dst);
    if (a.host >= 0 && b.host < 0 && is_network_link(l.kind)) {
      s.nic_to_leaf_GBps += l.bandwidth_GBps;
      host_injection[static_cast<std::size_t>(a.host)] += l.bandwidth_GBps;
      if (a.host == g0.host && !unused[static_cast<std::size_t>(l.src)]) host_nic += l.bandwidth_GBps;
    }
    if (a.kind == DeviceKind::leaf && (b.kind == DeviceKind::spine || b.kind == DeviceKind::core))
      s.leaf_up_GBps += l.bandwidth_GBps;
  }
  int sharing = 0;
  for (int g = 0; g < topo.num_gpus(); ++g) {
    const Device& d = topo.device(topo.gpu_device(g));
    if (d.host == g0.host) ++sharing;
  }
  s.gpu_network_GBps = sharing > 0 ? host_nic / sharing : 0.0;
  if (s.leaf_up_GBps > 0) s.oversubscription = s.nic_to_leaf_GBps / s.leaf_up_GBps;
  if (topo.num_hosts() > 1) {
    std::sort(host_injection.begin(), host_injection.end());
    double half = 0;
    for (int h = 0; h < topo.num_hosts() / 2; ++h) half += host_injection[static_cast<std::size_t>(h)];
    s.bisection_GBps = s.leaf_up_GBps > 0 ? std::min(half, s.leaf_up_GBps / 2) : half;
  }
  return s;
}

}  // namespace epsim
