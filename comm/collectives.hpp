#pragma once
// Cost of NCCL-style collectives (all-reduce, all-gather, reduce-scatter) on a group of GPUs of a
// Topology: ring, tree (NCCL's Tree across hosts), NVLS (NVLink SHARP inside one NVSwitch domain) and
// hierarchical (intra-node NVLS or ring, inter-node tree over each GPU's rail) algorithms, each with
// NCCL's protocols where NCCL offers them, alpha-beta with pipeline fill, bandwidths
// from the route table times named efficiency factors. Sizes follow nccl-tests: `bytes` is the
// per-rank buffer of all_reduce, the total output of all_gather and the total input of
// reduce_scatter.
#include <map>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "comm/calibration.hpp"
#include "topology/routing.hpp"
#include "topology/topology.hpp"

namespace epsim {

enum class CollectiveKind { all_reduce, all_gather, reduce_scatter };
/// tree: NCCL's Tree all-reduce across hosts (a chain through each host's GPUs, a double binary tree
/// between hosts), the algorithm NCCL picks for small and mid all-reduces on several hosts.
enum class CollectiveAlgorithm { ring, nvls, hierarchical, tree };
/// NCCL's protocols: Simple (the only one of NVLS and hierarchical), LL (8-byte flag+data stores, half
/// the bytes are flags) and LL128 (120 of 128 bytes data), the latter two on rings and trees.
enum class CollectiveProtocol { simple, ll, ll128 };

std::string_view to_string(CollectiveKind kind);
/// The kind named by to_string's name ("all_reduce", "all_gather", "reduce_scatter"); nullopt otherwise.
std::optional<CollectiveKind> parse_collective_kind(std::string_view name);
std::string_view to_string(CollectiveAlgorithm algorithm);
std::string_view to_string(CollectiveProtocol protocol);

/// nccl-tests bus-bandwidth factor (busbw = algbw x factor) for n ranks: all_reduce 2(n-1)/n,
/// all_gather and reduce_scatter (n-1)/n (nccl-tests doc/PERFORMANCE.md). n >= 1.
double bus_bandwidth_factor(CollectiveKind kind, int n);

/// NCCL's pipeline slots per channel connection (src/include/device.h NCCL_STEPS) and its default buffer
/// per connection (NCCL environment documentation: NCCL_BUFFSIZE, 4 MiB): a pipeline step is buffer / steps.
inline constexpr int kNcclSteps = 8;
inline constexpr double kNcclDefaultBuffsizeBytes = 4194304.0;
/// The NCCL_BUFFSIZE settings epsim accepts (`predict collective --nccl-buffsize`, the scenario's
/// /nccl_buffsize_bytes), whole bytes: NCCL takes any size; [64 KiB, 1 GiB] holds every setting in use
/// (a step below 8 KiB is no pipeline).
inline constexpr double kNcclMinBuffsizeBytes = 65536.0;
inline constexpr double kNcclMaxBuffsizeBytes = 1073741824.0;

/// Model parameters, each with its default's source. None is fitted to the nccl-tests outputs that
/// docs/validation.md compares against.
struct CollectiveParams {
  /// Achieved / nominal NVLink bandwidth: NCCL models an SM90 NVLink 4 link at 20.6 GB/s
  /// (src/graph/topo.h SM90_NVLINK_BW) against 25 GB/s nominal per direction: 0.824.
  double nvlink_efficiency = 20.6 / 25.0;
  /// Achieved / nominal PCIe bandwidth: NCCL models Gen5 x16 at 48 GB/s (width x lane rate / 80,
  /// src/graph/topo.cc) against 64 GB/s nominal: 0.75.
  double pcie_efficiency = 48.0 / 64.0;
  /// Achieved / nominal InfiniBand bandwidth: 0.95, an assumption (RDMA payload with a 4 KiB MTU and
  /// ~70 B of headers is 0.98; credits and completions take a few % more). Calibrate.
  double network_efficiency = 0.95;
  /// Achieved / nominal Ethernet bandwidth (RoCE, AWS EFA): 0.95 as InfiniBand, because NCCL runs RoCE
  /// through the same IB verbs transport and tuning constants (src/transport/net_ib; tuning.cc has one
  /// NET row). EFA differs: aws_p5_efa_params() / a calibration set it.
  double ethernet_efficiency = 0.95;
  /// NVLS bandwidth efficiency on Hopper: NCCL tuning nvlsEfficiency[Hopper] = 0.85 (0.74 on Blackwell).
  double nvls_efficiency = 0.85;
  /// Fixed cost of a collective, us: NCCL tuning.cc baseLat[Ring][Simple] = 8.4.
  double base_latency_us = 8.4;
  /// Per ring step latency inside a node, us: NCCL tuning.cc hwLat[NVLINK][Ring][Simple] = 3.4.
  double nvlink_step_latency_us = 3.4;
  /// Per ring step latency across an InfiniBand network, us: NCCL tuning.cc hwLat[NET][Ring][Simple] = 14.
  double network_step_latency_us = 14.0;
  /// Per ring step latency across an Ethernet network, us: 14 as InfiniBand for RoCE (NCCL's one NET
  /// row); EFA: aws_p5_efa_params(). Used when the group's hosts are joined by ethernet links.
  double ethernet_step_latency_us = 14.0;
  /// Latency of an NVLS phase, us: NCCL tuning.cc hwLat[NVLINK][NVLS][Simple] = 25.
  double nvls_latency_us = 25.0;
  /// Bytes one channel moves per pipeline step: NCCL_BUFFSIZE / NCCL_STEPS, 4 MiB / 8 = 512 KiB by default
  /// (kNcclDefaultBuffsizeBytes, kNcclSteps). A run that sets NCCL_BUFFSIZE: `predict collective
  /// --nccl-buffsize`, the scenario's /nccl_buffsize_bytes.
  double pipeline_step_bytes = kNcclDefaultBuffsizeBytes / kNcclSteps;
  /// Channels of the NVLS and hierarchical algorithms: NCCL_NVLS_NCHANNELS default 16 on H100.
  int nvls_channels = 16;
  /// Offer NVLS (needs NVSwitch 3 with SHARP, i.e. H100/H200/B200 NVSwitch systems).
  bool allow_nvls = true;
  /// Offer NCCL's LL and LL128 protocols on rings and trees (CollectiveModel::cost takes the cheapest
  /// protocol as NCCL's tuner does). Constants from NCCL src/graph/tuning.cc ncclTopoTuneModel as of
  /// NCCL 2.23+ (the release with the PAT algorithm and Blackwell rows; the tables measured 2.29.2):
  /// baseLat, hwLat[NVLINK|NET][Ring|Tree], llMaxBws, LL bus bandwidth = min(llMaxBw, busBw x 0.5),
  /// LL128 = busBw x 0.92 (ring).
  bool allow_ll_protocols = true;
  /// Offer NCCL's Tree algorithm for all_reduce across hosts (tuning.cc: baseLat[Tree], hwLat[*][Tree],
  /// busBw x 0.92, LL / 3.8, LL128 x 120/128, algbw = busBw / 2, treeCorrectionFactor).
  bool allow_tree = true;
  /// Fixed cost of a ring collective with LL, us: baseLat[Ring][LL] = 6.6.
  double ll_base_latency_us = 6.6;
  /// Per NVLink ring step with LL, us: hwLat[NVLINK][Ring][LL] = 0.6.
  double nvlink_ll_step_latency_us = 0.6;
  /// LL bus bandwidth / Simple's: 0.5 (8-byte stores of 4 data bytes and a 4-byte flag).
  double ll_bandwidth_fraction = 0.5;
  /// LL bus bandwidth cap, GB/s: llMaxBws[Hopper][N1] = 141 (the nccl exchange kernel's LL bandwidth
  /// is the same NCCL constant, comm/exchange_kernel.hpp).
  double ll_max_bus_bandwidth_GBps = 141.0;
  /// LL bus bandwidth cap across hosts, GB/s: NCCL looks the cap up by host CPU vendor there,
  /// llMaxBws[Intel][N2] = 39.0 on two hosts and [N4] = 20.4 on more (AMD hosts: 22.5 and 19.0). The
  /// defaults are Intel's: DGX H100 / H200 hosts are Xeon 8480C.
  double ll_max_bus_bandwidth_2host_GBps = 39.0;
  double ll_max_bus_bandwidth_4host_GBps = 20.4;
  /// Host cost of each step of a multi-host ring, us: NCCL getNetOverhead() = 1.0 on Intel x86 hosts
  /// (2.0 on AMD), x3 for Simple; an intra-host step of such a ring costs at least this.
  double network_overhead_us = 1.0;
  /// Per network step of a multi-host ring with LL / LL128, us: hwLat[NET][Ring] = 2.7 / 4.0
  /// (InfiniBand; RoCE goes through the same net_ib transport and tuning row).
  double network_ll_step_latency_us = 2.7;
  double network_ll128_step_latency_us = 4.0;
  /// The same on an Ethernet network: RoCE as InfiniBand; EFA: aws_p5_efa_params().
  double ethernet_ll_step_latency_us = 2.7;
  double ethernet_ll128_step_latency_us = 4.0;
  /// Fixed cost of a ring collective with LL128, us: baseLat[Ring][LL128] = 14.
  double ll128_base_latency_us = 14.0;
  /// Per NVLink ring step with LL128, us: hwLat[NVLINK][Ring][LL128] = 1.9.
  double nvlink_ll128_step_latency_us = 1.9;
  /// LL128 bus bandwidth / Simple's: 0.92 (tuning.cc "120.0/128.0" rounded down). NCCL also caps it at
  /// nChannels x 36.7 GB/s (perChMaxRingLL128Bws[Hopper]); with the 16+ ring channels of an NVSwitch
  /// H100 that is >= 587 GB/s, above any NVLink 4 ring (370.8), so the cap is not modelled.
  double ll128_bandwidth_fraction = 0.92;
  /// Tree all-reduce's share of the network bandwidth a ring gets, by network kind. InfiniBand and
  /// RoCE: 1, NCCL's model (tuning.cc prices Tree's busBw as the ring's x 0.92, kTreeBusFraction). EFA:
  /// kAwsP5EfaTreeBandwidthFraction through aws_p5_efa_params(). A calibration's
  /// links.<kind>.tree_bandwidth_fraction replaces the figure of that kind.
  double network_tree_bandwidth_fraction = 1.0;
  double ethernet_tree_bandwidth_fraction = 1.0;
  /// Measured links (calibration.json): an achieved bandwidth (per GPU; one link's share is
  /// calibrated_link_bandwidth_GBps, comm/calibration.hpp) replaces nominal x efficiency, a latency
  /// replaces the step latency of that link kind.
  std::map<LinkKind, LinkCalibration> calibrated_links;
};

/// Collective parameters for AWS EFA (p5.48xlarge; topology: aws_p5_options, kind ethernet), from
/// `base` with: ethernet_ll_step_latency_us = ethernet_ll128_step_latency_us = kAwsP5EfaStepLatency_us;
/// ethernet_step_latency_us = that + kAwsP5EfaSimpleCompletion_us (Simple's completion overhead);
/// ethernet_efficiency = kAwsP5EfaEfficiency; ethernet_tree_bandwidth_fraction =
/// kAwsP5EfaTreeBandwidthFraction (a source's constant, not fitted). The efficiency and the step latency are one fit on
/// nccl-tests all_gather at 2 and 4 nodes only (docs/validation.md, "AWS p5 (EFA)", which reports the
/// other rows as held out).
CollectiveParams aws_p5_efa_params(CollectiveParams base = {});
/// EFA achieved / nominal bandwidth (12.5 GB/s per NIC): the fit above, rounded (comm/collective_fit.hpp
/// fit_network_efficiency with FitStepLatency::yes; tests/sim_models/test_nccl_validation.cpp
/// reproduces it from the rows).
inline constexpr double kAwsP5EfaEfficiency = 0.77;
/// EFA cost of one ring or Tree step across the network with LL / LL128, us: the same fit, rounded.
/// aws-ofi-nccl's tuner priced it at 20 us (src/nccl_ofi_param.h TUNER_NET_LATENCY) and later at 75
/// (src/tuner/nccl_ofi_model.c NCCL_OFI_TUNER_NETWORK_LATENCY: "shortcomings in the model forced this
/// param high"); 20 us made 8-32-node rows at 64-512 MiB 1.3-2x too fast.
inline constexpr double kAwsP5EfaStepLatency_us = 52.0;
/// Tree all-reduce's network bandwidth on EFA / the ring's: 0.5. aws-ofi-nccl's tuner model for P5 and
/// P5en (src/tuner/nccl_ofi_model.cpp nccl_ofi_tuner_compute_cost) prices NCCL_ALGO_TREE's bandwidth as
/// internode_bw x rails x channels / 2 against NCCL_ALGO_RING's x 1. Physically: an interior node of a
/// binary tree takes its two children's data in through the NIC that sends one share to its parent.
inline constexpr double kAwsP5EfaTreeBandwidthFraction = 0.5;
/// Simple's extra completion cost per network step on EFA, us: aws-ofi-nccl TUNER_NET_COMP_OVERHEAD
/// ("~2 us in the device and ~1 us to write that completion up to the host").
inline constexpr double kAwsP5EfaSimpleCompletion_us = 3.0;

/// A copy of params with measured links (calibration.json "links", keyed by link kind) applied.
CollectiveParams with_calibration(CollectiveParams params, const std::map<LinkKind, LinkCalibration>& links);
/// A copy of params with a whole calibration's collective figures applied: its links (above) and the
/// base latencies it holds (calibration.json "collectives": base_latency_us, ll_base_latency_us,
/// ll128_base_latency_us replace the fields of the same names).
CollectiveParams with_calibration(CollectiveParams params, const Calibration& calibration);

/// Predicted cost of one collective. algbw = bytes / time; busbw = algbw x bus_bandwidth_factor.
struct CollectiveResult {
  CollectiveAlgorithm algorithm = CollectiveAlgorithm::ring;
  CollectiveProtocol protocol = CollectiveProtocol::simple;
  double time_us = 0;
  double algbw_GBps = 0;
  double busbw_GBps = 0;
};

/// Collective cost model over a topology and its routes. Holds references: topology and routes must
/// outlive it. Const and thread-safe.
class CollectiveModel {
 public:
  /// Throws std::invalid_argument when a parameter is out of range (efficiency not in (0, 1], negative
  /// latency, non-positive step bytes or channels).
  CollectiveModel(const Topology& topology, const RouteTable& routes, CollectiveParams params = {});

  /// Cheapest available algorithm and protocol for the collective (as
  /// NCCL's tuner picks the minimum predicted time). gpus: GPU ranks, distinct, at least 1; bytes >= 0. A 1-GPU group costs 0.
  /// Throws std::invalid_argument on an empty group, a repeated or out-of-range rank, negative bytes.
  CollectiveResult cost(CollectiveKind kind, std::span<const int> gpus, double bytes) const;

  /// The same for several sizes of one collective on one group: element i is cost(kind, gpus, bytes[i]).
  /// The group's layout and route bandwidths are worked out once for all sizes (a fit evaluates every
  /// row of a run at each step; a 256-GPU ring looks up ~500 routes). Throws as cost().
  std::vector<CollectiveResult> cost(CollectiveKind kind, std::span<const int> gpus, std::span<const double> bytes) const;

  /// Cost with a given algorithm (rings and trees: their cheapest protocol). Throws
  /// std::invalid_argument when the algorithm does not apply to the group (NVLS outside one NVSwitch
  /// domain; hierarchical or tree within one host, with unequal GPUs per host, or for anything but
  /// all_reduce).
  CollectiveResult cost(CollectiveKind kind, CollectiveAlgorithm algorithm, std::span<const int> gpus,
                        double bytes) const;

  /// Whether the algorithm applies to this group and collective.
  bool available(CollectiveKind kind, CollectiveAlgorithm algorithm, std::span<const int> gpus) const;

  /// Ring bus bandwidth of the group, GB/s: the minimum over the ring of achievable per-GPU rates:
  /// route bandwidth between ring neighbours inside a host, and for each host the sum of its GPUs'
  /// rail bandwidths to the next host (one ring channel per NIC, as NCCL builds them).
  double ring_bus_bandwidth_GBps(std::span<const int> gpus) const;

  /// Effective bandwidth of a route src -> dst GPU, GB/s: min over its links of effective link
  /// bandwidth / fraction of the pair's bytes on that link.
  double route_bandwidth_GBps(int src_gpu, int dst_gpu) const;

  /// True when every GPU of the group has NVLink to one common NVSwitch device.
  bool in_one_nvswitch_domain(std::span<const int> gpus) const;

  const CollectiveParams& params() const { return params_; }

  /// Kind of the topology's NIC-to-fabric links (the per-step network latency's kind): ethernet when
  /// every such link is ethernet, infiniband otherwise (also without any).
  LinkKind network_kind() const { return network_kind_; }

  /// Effective bandwidth of one link, GB/s: a calibrated bandwidth of its kind, as one link's share of
  /// the per-GPU figure (calibrated_link_bandwidth_GBps: / the GPU's NICs on network kinds; AWS p5, 40
  /// GB/s per GPU over 4 EFA NICs: 10 per NIC link), capped at the link's bandwidth, else, for a nominal link (Link::basis), nominal x the efficiency of its kind (nvlink,
  /// pcie, network), and for an already effective one (NCCL XML import) its bandwidth as is.
  double effective_bandwidth_GBps(const Link& link) const;

 private:
  struct Layout {
    std::vector<std::vector<int>> hosts;  // group GPUs grouped by host, in order of first appearance
  };
  // One group's working state for one cost() call: its layout, the route scratch every route lookup
  // of the call shares (RouteTable::route allocates O(devices) per call; a 256-GPU ring looks up ~500
  // routes per algorithm) and the group's route-derived bandwidths once worked out (they depend on the
  // group and the model's parameters, not on the size).
  struct Group {
    Group(std::span<const int> g, Layout l) : gpus(g), layout(std::move(l)) {}
    std::span<const int> gpus;
    Layout layout;
    RouteScratch scratch;
    std::vector<RouteHop> hops;
    std::optional<double> ring_bus_GBps;      // ring_bus_bandwidth_GBps of the whole group
    std::optional<double> tree_bus_GBps;      // group_tree_bus_GBps
    std::optional<double> host_ring_bus_GBps;  // the least of each host's own ring
    std::optional<double> rail_GBps;          // the least route to the rail peer on the next host
  };
  double group_ring_bus_GBps(Group& g) const;
  Layout layout(std::span<const int> gpus) const;
  double route_bandwidth_GBps(int src_gpu, int dst_gpu, Group& g) const;
  // The ring's bus bandwidth with each host's network sum (the rails to the next host) x network_scale.
  double ring_bus_bandwidth_GBps(const std::vector<std::vector<int>>& hosts, Group& g, double network_scale = 1.0) const;
  // Tree's bus bandwidth before kTreeBusFraction: the ring's with the network at tree_bandwidth_fraction().
  double group_tree_bus_GBps(Group& g) const;
  // links.<network kind>.tree_bandwidth_fraction when calibrated, else the parameter of the network's kind.
  double tree_bandwidth_fraction() const;
  bool available(CollectiveKind kind, CollectiveAlgorithm algorithm, const Group& g) const;
  CollectiveResult cost(CollectiveKind kind, CollectiveAlgorithm algorithm, Group& g, double bytes) const;
  // The algorithm's cost without the availability check (the caller made it).
  CollectiveResult dispatch(CollectiveKind kind, CollectiveAlgorithm algorithm, Group& g, double bytes) const;
  CollectiveResult cheapest(CollectiveKind kind, std::span<const CollectiveAlgorithm> algorithms, Group& g,
                            double bytes) const;
  double nvswitch_bandwidth_GBps(int gpu) const;
  double step_latency_us(bool network) const;
  double protocol_step_latency_us(bool network, CollectiveProtocol protocol) const;
  std::optional<double> calibrated_step_latency_us(LinkKind kind, CollectiveProtocol protocol) const;
  bool hosts_on_nvlink(const Layout& lay) const;
  double ll_max_bus_bandwidth_GBps(int hosts) const;
  double fill_step_bytes(double bytes) const;
  CollectiveResult finish(CollectiveKind kind, CollectiveAlgorithm algo, int n, double bytes, double time_us,
                          CollectiveProtocol protocol = CollectiveProtocol::simple) const;
  CollectiveResult ring(CollectiveKind kind, Group& g, double bytes) const;
  CollectiveResult nvls(CollectiveKind kind, Group& g, double bytes) const;
  CollectiveResult hierarchical(Group& g, double bytes) const;
  CollectiveResult tree(Group& g, double bytes) const;

  const Topology& topology_;
  const RouteTable& routes_;
  CollectiveParams params_;
  LinkKind network_kind_ = LinkKind::infiniband;
  std::map<LinkKind, double> calibrated_link_GBps_;  // per link, from params_.calibrated_links' per-GPU figures
};

}  // namespace epsim
