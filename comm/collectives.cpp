#include "comm/collectives.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/names.hpp"

namespace epsim {

namespace {
// NCCL getNetOverhead() counts x3 for the Simple protocol on a multi-host ring (tuning.cc "if (p ==
// NCCL_PROTO_SIMPLE) netOverhead *= 3").
constexpr double kSimpleNetOverheadFactor = 3.0;
}  // namespace

std::string_view to_string(CollectiveKind kind) {
  static const std::vector<std::string> names = {"all_reduce", "all_gather", "reduce_scatter"};  // enum order
  return name_of(kind, names);
}

std::optional<CollectiveKind> parse_collective_kind(std::string_view name) {
  for (CollectiveKind k : {CollectiveKind::all_reduce, CollectiveKind::all_gather, CollectiveKind::reduce_scatter})
    if (to_string(k) == name) return k;
  return std::nullopt;
}

std::string_view to_string(CollectiveAlgorithm algorithm) {
  static const std::vector<std::string> names = {"ring", "nvls", "hierarchical", "tree"};  // enum order
  return name_of(algorithm, names);
}

std::string_view to_string(CollectiveProtocol protocol) {
  static const std::vector<std::string> names = {"Simple", "LL", "LL128"};  // enum order, NCCL's spelling
  return name_of(protocol, names);
}

double bus_bandwidth_factor(CollectiveKind kind, int n) {
  if (n < 1) throw std::invalid_argument("bus_bandwidth_factor: n must be >= 1");
  const double f = static_cast<double>(n - 1) / n;
  return kind == CollectiveKind::all_reduce ? 2.0 * f : f;
}

CollectiveParams with_calibration(CollectiveParams params, const std::map<LinkKind, LinkCalibration>& links) {
  for (const auto& [kind, lc] : links) params.calibrated_links[kind] = lc;
  return params;
}

CollectiveParams with_calibration(CollectiveParams params, const Calibration& calibration) {
  params = with_calibration(std::move(params), calibration.links);
  const CollectiveBaseLatencies& b = calibration.collectives;
  if (b.base_latency_us) params.base_latency_us = *b.base_latency_us;
  if (b.ll_base_latency_us) params.ll_base_latency_us = *b.ll_base_latency_us;
  if (b.ll128_base_latency_us) params.ll128_base_latency_us = *b.ll128_base_latency_us;
  return params;
}

CollectiveParams aws_p5_efa_params(CollectiveParams base) {
  base.ethernet_step_latency_us = kAwsP5EfaStepLatency_us + kAwsP5EfaSimpleCompletion_us;
  base.ethernet_ll_step_latency_us = kAwsP5EfaStepLatency_us;  // LL / LL128 add no completion cost
  base.ethernet_ll128_step_latency_us = kAwsP5EfaStepLatency_us;
  base.ethernet_efficiency = kAwsP5EfaEfficiency;
  base.ethernet_tree_bandwidth_fraction = kAwsP5EfaTreeBandwidthFraction;
  return base;
}

CollectiveModel::CollectiveModel(const Topology& topology, const RouteTable& routes, CollectiveParams params)
    : topology_(topology), routes_(routes), params_(std::move(params)) {
  auto in01 = [](double x) { return x > 0 && x <= 1; };
  if (!in01(params_.nvlink_efficiency) || !in01(params_.pcie_efficiency) || !in01(params_.network_efficiency) ||
      !in01(params_.ethernet_efficiency) || !in01(params_.nvls_efficiency) ||
      !in01(params_.network_tree_bandwidth_fraction) || !in01(params_.ethernet_tree_bandwidth_fraction))
    throw std::invalid_argument("CollectiveModel: efficiencies and tree bandwidth fractions must be in (0, 1]");
  if (!(params_.base_latency_us >= 0) || !(params_.nvlink_step_latency_us >= 0) ||
      !(params_.network_step_latency_us >= 0) || !(params_.ethernet_step_latency_us >= 0) ||
      !(params_.nvls_latency_us >= 0) || !(params_.ll_base_latency_us >= 0) ||
      !(params_.nvlink_ll_step_latency_us >= 0) || !(params_.ll128_base_latency_us >= 0) ||
      !(params_.nvlink_ll128_step_latency_us >= 0) || !(params_.network_overhead_us >= 0) ||
      !(params_.network_ll_step_latency_us >= 0) || !(params_.network_ll128_step_latency_us >= 0) ||
      !(params_.ethernet_ll_step_latency_us >= 0) || !(params_.ethernet_ll128_step_latency_us >= 0))
    throw std::invalid_argument("CollectiveModel: latencies must be >= 0");
  if (!(params_.ll_max_bus_bandwidth_GBps > 0) || !(params_.ll_max_bus_bandwidth_2host_GBps > 0) ||
      !(params_.ll_max_bus_bandwidth_4host_GBps > 0) || !in01(params_.ll_bandwidth_fraction) ||
      !in01(params_.ll128_bandwidth_fraction))
    throw std::invalid_argument(
        "CollectiveModel: the ll_max_bus_bandwidth_* caps must be > 0, ll_bandwidth_fraction and "
        "ll128_bandwidth_fraction in (0, 1]");
  // The network's kind: that of the host -> fabric links, ethernet only when all of them are.
  bool any = false, all_ethernet = true;
  for (const Link& l : topology_.links())
    if (is_network_link(l.kind) && topology_.device(l.src).host >= 0 && topology_.device(l.dst).host < 0) {
      any = true;
      all_ethernet = all_ethernet && l.kind == LinkKind::ethernet;
    }
  network_kind_ = any && all_ethernet ? LinkKind::ethernet : LinkKind::infiniband;
  if (!(params_.pipeline_step_bytes > 0) || params_.nvls_channels < 1)
    throw std::invalid_argument("CollectiveModel: pipeline_step_bytes and nvls_channels must be > 0");
  if (routes_.num_gpus() != topology_.num_gpus())
    throw std::invalid_argument("CollectiveModel: route table does not match the topology");
  for (const auto& [kind, lc] : params_.calibrated_links)
    if (lc.bandwidth_GBps) calibrated_link_GBps_[kind] = calibrated_link_bandwidth_GBps(*lc.bandwidth_GBps, topology_, kind);
}

double CollectiveModel::effective_bandwidth_GBps(const Link& link) const {
  auto it = calibrated_link_GBps_.find(link.kind);
  if (it != calibrated_link_GBps_.end()) return std::min(it->second, link.bandwidth_GBps);
  // An already effective bandwidth (NCCL XML import: NCCL's own NVLink/PCIe figures) is not discounted
  // again (issue 13, cause 6).
  if (link.basis == BandwidthBasis::effective) return link.bandwidth_GBps;
  switch (link.kind) {
    case LinkKind::nvlink: return link.bandwidth_GBps * params_.nvlink_efficiency;
    case LinkKind::pcie: return link.bandwidth_GBps * params_.pcie_efficiency;
    case LinkKind::infiniband: return link.bandwidth_GBps * params_.network_efficiency;
    case LinkKind::ethernet: return link.bandwidth_GBps * params_.ethernet_efficiency;
  }
  return link.bandwidth_GBps;
}

double CollectiveModel::step_latency_us(bool network) const {
  // The network's own kind only: a calibrated InfiniBand latency says nothing about an Ethernet (EFA)
  // cluster and vice versa.
  const LinkKind k = network ? network_kind_ : LinkKind::nvlink;
  if (const std::optional<double> cal = calibrated_step_latency_us(k, CollectiveProtocol::simple)) return *cal;
  if (!network) return params_.nvlink_step_latency_us;
  return k == LinkKind::ethernet ? params_.ethernet_step_latency_us : params_.network_step_latency_us;
}

std::optional<double> CollectiveModel::calibrated_step_latency_us(LinkKind kind, CollectiveProtocol protocol) const {
  auto it = params_.calibrated_links.find(kind);
  if (it == params_.calibrated_links.end()) return std::nullopt;
  const LinkCalibration& lc = it->second;
  const std::optional<double>& ns = protocol == CollectiveProtocol::simple ? lc.latency_ns
                                    : protocol == CollectiveProtocol::ll   ? lc.ll_latency_ns
                                                                           : lc.ll128_latency_ns;
  if (!ns) return std::nullopt;
  return *ns * 1e-3;
}

double CollectiveModel::protocol_step_latency_us(bool network, CollectiveProtocol protocol) const {
  if (protocol == CollectiveProtocol::simple) return step_latency_us(network);
  // A calibrated LL / LL128 step latency of the link kind (calibration.json links.<kind>.ll_latency_ns,
  // ll128_latency_ns), else the parameter of that kind.
  const LinkKind k = network ? network_kind_ : LinkKind::nvlink;
  const bool ll = protocol == CollectiveProtocol::ll;
  if (const std::optional<double> cal = calibrated_step_latency_us(k, protocol)) return *cal;
  if (!network) return ll ? params_.nvlink_ll_step_latency_us : params_.nvlink_ll128_step_latency_us;
  if (k == LinkKind::ethernet) return ll ? params_.ethernet_ll_step_latency_us : params_.ethernet_ll128_step_latency_us;
  return ll ? params_.network_ll_step_latency_us : params_.network_ll128_step_latency_us;
}

double CollectiveModel::fill_step_bytes(double bytes) const {
  // One pipeline step of the NVLS channels, or the whole message when it is smaller.
  return std::min(params_.nvls_channels * params_.pipeline_step_bytes, bytes);
}

double CollectiveModel::ll_max_bus_bandwidth_GBps(int hosts) const {
  // NCCL's llMaxBws row: by GPU generation on one node, by host CPU vendor and 2 / more nodes across.
  return hosts <= 1 ? params_.ll_max_bus_bandwidth_GBps
         : hosts == 2 ? params_.ll_max_bus_bandwidth_2host_GBps
                      : params_.ll_max_bus_bandwidth_4host_GBps;
}

bool CollectiveModel::hosts_on_nvlink(const Layout& lay) const {
  for (const auto& h : lay.hosts)
    if (h.size() > 1 && !in_one_nvswitch_domain(h)) return false;
  return true;
}

double CollectiveModel::route_bandwidth_GBps(int src, int dst) const {
  Group g({}, {});
  return route_bandwidth_GBps(src, dst, g);
}

double CollectiveModel::route_bandwidth_GBps(int src, int dst, Group& g) const {
  g.hops.clear();
  routes_.append_route(src, dst, g.scratch, g.hops);
  double bw = std::numeric_limits<double>::infinity();
  for (const RouteHop& h : g.hops)
    bw = std::min(bw, effective_bandwidth_GBps(topology_.link(h.link)) / static_cast<double>(h.fraction));
  return bw;
}

double CollectiveModel::nvswitch_bandwidth_GBps(int gpu) const {
  double bw = 0;
  for (int l : topology_.out_links(topology_.gpu_device(gpu))) {
    const Link& link = topology_.link(l);
    if (link.kind == LinkKind::nvlink && topology_.device(link.dst).kind == DeviceKind::nvswitch)
      bw += effective_bandwidth_GBps(link);
  }
  return bw;
}

bool CollectiveModel::in_one_nvswitch_domain(std::span<const int> gpus) const {
  std::set<int> common;
  bool first = true;
  for (int g : gpus) {
    std::set<int> mine;
    for (int l : topology_.out_links(topology_.gpu_device(g))) {
      const Link& link = topology_.link(l);
      if (link.kind == LinkKind::nvlink && topology_.device(link.dst).kind == DeviceKind::nvswitch) mine.insert(link.dst);
    }
    if (first) {
      common = std::move(mine);
      first = false;
    } else {
      std::set<int> both;
      std::set_intersection(common.begin(), common.end(), mine.begin(), mine.end(), std::inserter(both, both.end()));
      common = std::move(both);
    }
    if (common.empty()) return false;
  }
  return !first;
}

CollectiveModel::Layout CollectiveModel::layout(std::span<const int> gpus) const {
  if (gpus.empty()) throw std::invalid_argument("collective: empty GPU group");
  std::set<int> seen;
  Layout out;
  std::vector<int> host_slot;  // host index -> position in out.hosts
  for (int g : gpus) {
    if (g < 0 || g >= topology_.num_gpus()) throw std::invalid_argument("collective: GPU rank out of range");
    if (!seen.insert(g).second) throw std::invalid_argument("collective: GPU rank repeated in the group");
    int h = topology_.gpu_host(g);
    std::size_t key = static_cast<std::size_t>(h + 1);
    if (host_slot.size() <= key) host_slot.resize(key + 1, -1);
    if (host_slot[key] < 0) {
      host_slot[key] = static_cast<int>(out.hosts.size());
      out.hosts.emplace_back();
    }
    out.hosts[static_cast<std::size_t>(host_slot[key])].push_back(g);
  }
  return out;
}

double CollectiveModel::ring_bus_bandwidth_GBps(std::span<const int> gpus) const {
  Group g(gpus, layout(gpus));
  return ring_bus_bandwidth_GBps(g.layout.hosts, g);
}

double CollectiveModel::ring_bus_bandwidth_GBps(const std::vector<std::vector<int>>& hosts, Group& g,
                                                double network_scale) const {
  double bw = std::numeric_limits<double>::infinity();
  const std::size_t m = hosts.size();
  for (std::size_t h = 0; h < m; ++h) {
    const auto& mine = hosts[h];
    // Intra-host hops of the ring (closing the ring inside the host when it is the only one).
    std::size_t hops = m == 1 ? mine.size() : mine.size() - 1;
    for (std::size_t i = 0; i < hops && mine.size() > 1; ++i)
      bw = std::min(bw, route_bandwidth_GBps(mine[i], mine[(i + 1) % mine.size()], g));
    if (m > 1) {
      // One channel per GPU/NIC: each GPU of this host sends to the GPU at the same position (its rail
      // peer) on the next host; the channels add up.
      const auto& next = hosts[(h + 1) % m];
      double sum = 0;
      for (std::size_t i = 0; i < mine.size(); ++i) sum += route_bandwidth_GBps(mine[i], next[i % next.size()], g);
      bw = std::min(bw, sum * network_scale);
    }
  }
  return bw;
}

double CollectiveModel::group_ring_bus_GBps(Group& g) const {
  if (!g.ring_bus_GBps) g.ring_bus_GBps = ring_bus_bandwidth_GBps(g.layout.hosts, g);
  return *g.ring_bus_GBps;
}

double CollectiveModel::tree_bandwidth_fraction() const {
  auto it = params_.calibrated_links.find(network_kind_);
  if (it != params_.calibrated_links.end() && it->second.tree_bandwidth_fraction) return *it->second.tree_bandwidth_fraction;
  return network_kind_ == LinkKind::ethernet ? params_.ethernet_tree_bandwidth_fraction
                                             : params_.network_tree_bandwidth_fraction;
}

double CollectiveModel::group_tree_bus_GBps(Group& g) const {
  if (!g.tree_bus_GBps) {
    const double f = tree_bandwidth_fraction();
    g.tree_bus_GBps = f == 1.0 ? group_ring_bus_GBps(g) : ring_bus_bandwidth_GBps(g.layout.hosts, g, f);
  }
  return *g.tree_bus_GBps;
}

bool CollectiveModel::available(CollectiveKind kind, CollectiveAlgorithm algo, std::span<const int> gpus) const {
  const Group g(gpus, layout(gpus));
  return available(kind, algo, g);
}

bool CollectiveModel::available(CollectiveKind kind, CollectiveAlgorithm algo, const Group& g) const {
  const std::span<const int> gpus = g.gpus;
  const Layout& lay = g.layout;
  switch (algo) {
    case CollectiveAlgorithm::ring: return true;
    case CollectiveAlgorithm::nvls: return params_.allow_nvls && gpus.size() >= 2 && in_one_nvswitch_domain(gpus);
    case CollectiveAlgorithm::hierarchical:
    case CollectiveAlgorithm::tree: {
      if (kind != CollectiveKind::all_reduce || lay.hosts.size() < 2) return false;
      if (algo == CollectiveAlgorithm::tree && !params_.allow_tree) return false;
      for (const auto& h : lay.hosts)
        if (h.size() != lay.hosts.front().size()) return false;
      return true;
    }
  }
  return false;
}

CollectiveResult CollectiveModel::finish(CollectiveKind kind, CollectiveAlgorithm algo, int n, double bytes,
                                         double time_us, CollectiveProtocol protocol) const {
  CollectiveResult r;
  r.algorithm = algo;
  r.protocol = protocol;
  r.time_us = time_us;
  r.algbw_GBps = time_us > 0 ? bytes / (time_us * 1e-6) / 1e9 : 0.0;
  r.busbw_GBps = r.algbw_GBps * bus_bandwidth_factor(kind, n);
  return r;
}

CollectiveResult CollectiveModel::ring(CollectiveKind kind, Group& g, double bytes) const {
  const int n = static_cast<int>(g.gpus.size());
  if (n == 1) return finish(kind, CollectiveAlgorithm::ring, 1, bytes, 0.0);
  const Layout& lay = g.layout;
  const int m = static_cast<int>(lay.hosts.size());
  const double bus = group_ring_bus_GBps(g);
  // NCCL's tuner prices each protocol p of a ring (src/graph/tuning.cc, ncclTopoTuneModel):
  //   t_p = baseLat[Ring][p] + (steps - net_steps) x intra_p + net_steps x hwLat[NET][Ring][p] + bus bytes / busBw_p
  // Ring all-reduce: reduce-scatter + all-gather, steps = 2(n-1) each moving S/n per rank, bus bytes
  // = 2(n-1)/n x S; all-gather / reduce-scatter: n-1 steps, (n-1)/n x S. Of the steps, 2(m-1) (resp.
  // m-1) cross the network for m hosts (nInterSteps). intra_p = hwLat[NVLINK][Ring][p], on several
  // hosts at least the host's per-step cost getNetOverhead() (x3 for Simple). busBw_Simple = the
  // ring's bus bandwidth, busBw_LL = min(llMaxBw, busBw x 0.5), busBw_LL128 = busBw x 0.92. NCCL takes
  // the cheapest; LL128 needs NVLink between each host's GPUs (typeIntra <= PATH_NVB): here, each
  // host's GPUs in one NVSwitch domain.
  const bool ar = kind == CollectiveKind::all_reduce;
  const int steps = ar ? 2 * (n - 1) : n - 1;
  const int net_steps = ar ? 2 * (m - 1) : m - 1;
  const double bus_bytes = bus_bandwidth_factor(kind, n) * bytes;
  const double overhead_us = m > 1 ? params_.network_overhead_us : 0.0;
  auto time_us = [&](double base_us, double intra_us, CollectiveProtocol p, double bw_GBps) {
    return base_us + (steps - net_steps) * intra_us + net_steps * protocol_step_latency_us(true, p) +
           bus_bytes / (bw_GBps * 1e9) * 1e6;
  };
  CollectiveResult best = finish(kind, CollectiveAlgorithm::ring, n, bytes,
                                 time_us(params_.base_latency_us, std::max(step_latency_us(false), kSimpleNetOverheadFactor * overhead_us),
                                         CollectiveProtocol::simple, bus));
  if (!params_.allow_ll_protocols) return best;
  auto consider = [&](CollectiveProtocol p, double tp) {
    if (tp < best.time_us) best = finish(kind, CollectiveAlgorithm::ring, n, bytes, tp, p);
  };
  const double ll_cap = ll_max_bus_bandwidth_GBps(m);
  consider(CollectiveProtocol::ll,
           time_us(params_.ll_base_latency_us, std::max(protocol_step_latency_us(false, CollectiveProtocol::ll), overhead_us),
                   CollectiveProtocol::ll, std::min(ll_cap, bus * params_.ll_bandwidth_fraction)));
  if (hosts_on_nvlink(lay))
    consider(CollectiveProtocol::ll128,
             time_us(params_.ll128_base_latency_us,
                     std::max(protocol_step_latency_us(false, CollectiveProtocol::ll128), overhead_us),
                     CollectiveProtocol::ll128, bus * params_.ll128_bandwidth_fraction));
  return best;
}

CollectiveResult CollectiveModel::nvls(CollectiveKind kind, Group& g, double bytes) const {
  const int n = static_cast<int>(g.gpus.size());
  double port = std::numeric_limits<double>::infinity();
  for (int gpu : g.gpus) port = std::min(port, nvswitch_bandwidth_GBps(gpu));
  const double bw = port * params_.nvls_efficiency * 1e9;  // bytes/s through one GPU's NVLink port
  // NVLS all-reduce = multimem.ld_reduce of the rank's 1/n shard (the switch reads S/n from every GPU:
  // S out of each port, S/n back in) + multimem.st of the reduced shard (S/n out, S in by multicast):
  // S (n+1)/n per direction. All-gather or reduce-scatter alone: S in the busy direction.
  const double port_bytes = kind == CollectiveKind::all_reduce ? bytes * (n + 1.0) / n : bytes;
  const int stages = kind == CollectiveKind::all_reduce ? 2 : 1;
  // Pipeline fill: the first `stages` steps of nvls_channels x step bytes (a message smaller than that
  // is one step of itself) run before the pipeline is full, in S terms at the same rate.
  const double fill_bytes = stages * fill_step_bytes(bytes) * (port_bytes / std::max(bytes, 1.0));
  const double t = params_.nvls_latency_us + (port_bytes + fill_bytes) / bw * 1e6;
  return finish(kind, CollectiveAlgorithm::nvls, n, bytes, t);
}

CollectiveResult CollectiveModel::hierarchical(Group& group, double bytes) const {
  const std::span<const int> gpus = group.gpus;
  const Layout& lay = group.layout;
  const int n = static_cast<int>(gpus.size());
  const int m = static_cast<int>(lay.hosts.size());
  const int g = static_cast<int>(lay.hosts.front().size());
  // Intra-host phase (reduce-scatter before, all-gather after the network phase, pipelined so that both
  // run at once): NVLS moves S (g+1)/g per port direction; a ring moves 2(g-1)/g S.
  double intra_s = 0, intra_lat = 0;
  bool host_nvls = params_.allow_nvls && g >= 2;
  for (const auto& h : lay.hosts) host_nvls = host_nvls && in_one_nvswitch_domain(h);
  if (g >= 2) {
    if (host_nvls) {
      double port = std::numeric_limits<double>::infinity();
      for (int x : gpus) port = std::min(port, nvswitch_bandwidth_GBps(x));
      intra_s = bytes * (g + 1.0) / g / (port * params_.nvls_efficiency * 1e9);
      intra_lat = params_.nvls_latency_us;
    } else {
      if (!group.host_ring_bus_GBps) {
        double bus = std::numeric_limits<double>::infinity();
        for (const auto& h : lay.hosts) bus = std::min(bus, ring_bus_bandwidth_GBps({h}, group));
        group.host_ring_bus_GBps = bus;
      }
      intra_s = 2.0 * (g - 1.0) / g * bytes / (*group.host_ring_bus_GBps * 1e9);
      intra_lat = 2.0 * (g - 1) * step_latency_us(false);
    }
  }
  // Inter-host phase: each GPU all-reduces its S/g shard with its rail peers over a tree (NCCL
  // NVLSTree / Tree): on 2 hosts S/g up and S/g down per NIC, in opposite directions. On more hosts
  // NCCL's double binary tree makes every host interior in one of the two trees (each tree carries half
  // the shard): it receives two children's halves and sends one up in the reduce, the mirror in the
  // broadcast, and as a leaf of the other tree one half each way: 2 S/g per NIC per direction. NCCL's
  // tuning model says the same: NVLS_TREE bw = min(bwIntra, nNodes <= 2 ? bwInter : bwInter / 2)
  // (src/graph/tuning.cc, ncclTopoTuneModel).
  if (!group.rail_GBps) {
    double net = std::numeric_limits<double>::infinity();
    for (int h = 0; h < m; ++h)
      for (int i = 0; i < g; ++i)
        net = std::min(net, route_bandwidth_GBps(lay.hosts[static_cast<std::size_t>(h)][static_cast<std::size_t>(i)],
                                                 lay.hosts[static_cast<std::size_t>((h + 1) % m)][static_cast<std::size_t>(i)],
                                                 group));
    group.rail_GBps = net;
  }
  const double net = *group.rail_GBps;
  const double inter_s = (m > 2 ? 2.0 : 1.0) * bytes / g / (net * 1e9);
  const int tree_depth = static_cast<int>(std::ceil(std::log2(static_cast<double>(m))));
  const double inter_lat = 2.0 * tree_depth * step_latency_us(true);
  // Pipelined phases: the slowest sets the rate; fill = (2 intra + 2 x depth network stages) steps of
  // nvls_channels x step bytes, or of the whole message when it is smaller.
  const double bottleneck_s = std::max(intra_s, inter_s);
  const double rate = bytes / bottleneck_s;  // bytes of S per second
  const int stages = (g >= 2 ? 2 : 0) + 2 * tree_depth;
  const double fill_s = stages * fill_step_bytes(bytes) / rate;
  const double t = params_.base_latency_us + intra_lat + inter_lat + (bottleneck_s + fill_s) * 1e6;
  return finish(CollectiveKind::all_reduce, CollectiveAlgorithm::hierarchical, n, bytes, t);
}

namespace {

// NCCL's Tree model constants (src/graph/tuning.cc, NCCL 2.23+), indexed by CollectiveProtocol (simple,
// ll, ll128): baseLat[Tree], hwLat[NVLINK][Tree], hwLat[NET][Tree].
constexpr double kTreeBaseLatency_us[3] = {8.4, 6.8, 14.0};
constexpr double kTreeNvlinkHop_us[3] = {4.0, 0.6, 1.25};
constexpr double kTreeNetworkHop_us[3] = {14.0, 5.0, 8.5};
// Tree bandwidth refinements: busBw x 0.92 (all-reduce), LL / 3.8, LL128 x 120/128 across hosts, and
// bus to algorithm bandwidth x 0.5 (tuning.cc "Convert bus BW to algorithm BW", ratio .5 for trees).
constexpr double kTreeBusFraction = 0.92;
constexpr double kTreeLlDivisor = 3.8;
constexpr double kTreeLl128Fraction = 120.0 / 128.0;
constexpr double kTreeAlgbwPerBusbw = 0.5;
// treeCorrectionFactor: NCCL scales the Tree bandwidth by these for 64 B x 2^i <= bytes < 64 B x
// 2^(i+1), i = 0..22 ("Trees are not perfectly sticking to the model for medium sizes"); 1 outside.
constexpr double kTreeCorrection[3][23] = {
    {.9, .9, .9, .9, .9, .9, .9, .8, .7, .6, .6, .5, .5, .5, .5, .6, .7, .8, .7, .7, .8, .9, .9},            // Simple
    {1.0, 1.0, 1.0, 1.0, .9, .8, .7, .7, .7, .7, .6, .5, .4, .4, .5, .6, .7, .8, .9, 1.0, 1.0, 1.0, 1.0},     // LL
    {1.0, 1.0, 1.0, 1.0, 1.0, .9, .8, .8, .8, .7, .6, .6, .6, .6, .6, .6, .8, .9, .9, .9, .9, 1.0, 1.0}};  // LL128

double tree_correction(CollectiveProtocol p, double bytes) {
  if (!(bytes >= 64)) return 1.0;
  const int i = static_cast<int>(std::floor(std::log2(bytes / 64.0)));
  return i < 23 ? kTreeCorrection[static_cast<int>(p)][i] : 1.0;
}

}  // namespace

CollectiveResult CollectiveModel::tree(Group& g, double bytes) const {
  const Layout& lay = g.layout;
  const int n = static_cast<int>(g.gpus.size());
  const int m = static_cast<int>(lay.hosts.size());
  const int ppn = n / m;
  const int depth = static_cast<int>(std::floor(std::log2(static_cast<double>(m))));
  // NCCL's Tree all-reduce (tuning.cc): a reduce up and a broadcast down, each through a chain of the
  // host's ppn GPUs and log2(m) network hops of the double binary tree:
  //   t_p = baseLat[Tree][p] + 2 ((ppn - 1) hwLat[NVLINK][Tree][p] + floor(log2 m) hop_p) + S / algbw_p,
  // algbw_p = busBw_p / 2 x treeCorrectionFactor[p](S), busBw_Simple = B x 0.92, busBw_LL =
  // min(busBw_Simple / 3.8, llMaxBw), busBw_LL128 = busBw_Simple x 120/128 (LL128 on NVLink hosts only).
  // B is the ring's bus bandwidth (NCCL: nChannels x bwIntra on <= 2 hosts, x bwInter on more; both
  // the rail sum or the NVLink rate, whichever is lower) with the rail sum x tree_bandwidth_fraction()
  // (1 on InfiniBand as NCCL's model; EFA 0.5 as aws-ofi-nccl's). hop_p = hwLat[NET][Tree][p] on InfiniBand;
  // a hop crosses the network once, so it costs at least the network's ring step of p (EFA's 52 / 55
  // us; aws-ofi-nccl's tuner prices a tree hop as its ring step too). A calibrated step latency of p on a
  // link kind (calibration.json links.<kind>.latency_ns, ll_latency_ns, ll128_latency_ns) is a
  // measurement: it replaces the Tree's hop of that kind too.
  const double busbw = group_tree_bus_GBps(g) * kTreeBusFraction;
  const double ll_cap = ll_max_bus_bandwidth_GBps(m);
  CollectiveResult best;
  bool have = false;
  auto consider = [&](CollectiveProtocol p, double bus_GBps) {
    const int i = static_cast<int>(p);
    const std::optional<double> net_cal = calibrated_step_latency_us(network_kind_, p);
    const std::optional<double> nvl_cal = calibrated_step_latency_us(LinkKind::nvlink, p);
    const double hop_us = net_cal ? *net_cal : std::max(kTreeNetworkHop_us[i], protocol_step_latency_us(true, p));
    const double nvl_us = nvl_cal ? *nvl_cal : kTreeNvlinkHop_us[i];
    const double algbw = kTreeAlgbwPerBusbw * bus_GBps * tree_correction(p, bytes) * 1e9;
    const double t = kTreeBaseLatency_us[i] + 2.0 * ((ppn - 1) * nvl_us + depth * hop_us) + bytes / algbw * 1e6;
    if (!have || t < best.time_us) {
      best = finish(CollectiveKind::all_reduce, CollectiveAlgorithm::tree, n, bytes, t, p);
      have = true;
    }
  };
  consider(CollectiveProtocol::simple, busbw);
  if (params_.allow_ll_protocols) {
    consider(CollectiveProtocol::ll, std::min(busbw / kTreeLlDivisor, ll_cap));
    if (hosts_on_nvlink(lay)) consider(CollectiveProtocol::ll128, busbw * kTreeLl128Fraction);
  }
  return best;
}

CollectiveResult CollectiveModel::cost(CollectiveKind kind, CollectiveAlgorithm algo, std::span<const int> gpus,
                                       double bytes) const {
  Group g(gpus, layout(gpus));
  return cost(kind, algo, g, bytes);
}

CollectiveResult CollectiveModel::cost(CollectiveKind kind, CollectiveAlgorithm algo, Group& g, double bytes) const {
  if (!(bytes >= 0)) throw std::invalid_argument("collective: bytes must be >= 0");
  if (!available(kind, algo, g))
    throw std::invalid_argument(std::string("collective: algorithm ") + std::string(to_string(algo)) +
                                " does not apply to this group");
  return dispatch(kind, algo, g, bytes);
}

CollectiveResult CollectiveModel::dispatch(CollectiveKind kind, CollectiveAlgorithm algo, Group& g, double bytes) const {
  if (!(bytes >= 0)) throw std::invalid_argument("collective: bytes must be >= 0");
  if (g.gpus.size() == 1) return finish(kind, algo, 1, bytes, 0.0);
  switch (algo) {
    case CollectiveAlgorithm::ring: return ring(kind, g, bytes);
    case CollectiveAlgorithm::nvls: return nvls(kind, g, bytes);
    case CollectiveAlgorithm::hierarchical: return hierarchical(g, bytes);
    case CollectiveAlgorithm::tree: return tree(g, bytes);
  }
  return ring(kind, g, bytes);
}

CollectiveResult CollectiveModel::cost(CollectiveKind kind, std::span<const int> gpus, double bytes) const {
  return cost(kind, gpus, std::span<const double>(&bytes, 1)).front();
}

std::vector<CollectiveResult> CollectiveModel::cost(CollectiveKind kind, std::span<const int> gpus,
                                                    std::span<const double> sizes) const {
  Group g(gpus, layout(gpus));
  std::vector<CollectiveAlgorithm> algorithms;
  for (CollectiveAlgorithm a : {CollectiveAlgorithm::ring, CollectiveAlgorithm::nvls, CollectiveAlgorithm::hierarchical,
                                CollectiveAlgorithm::tree})
    if (available(kind, a, g)) algorithms.push_back(a);
  std::vector<CollectiveResult> out;
  out.reserve(sizes.size());
  for (double bytes : sizes) out.push_back(cheapest(kind, algorithms, g, bytes));
  return out;
}

CollectiveResult CollectiveModel::cheapest(CollectiveKind kind, std::span<const CollectiveAlgorithm> algorithms, Group& g,
                                           double bytes) const {
  CollectiveResult best;
  bool have = false;
  for (CollectiveAlgorithm a : algorithms) {
    CollectiveResult r = dispatch(kind, a, g, bytes);
    if (!have || r.time_us < best.time_us) {
      best = r;
      have = true;
    }
  }
  return best;
}

}  // namespace epsim
