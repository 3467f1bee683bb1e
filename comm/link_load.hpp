#pragma once
// Link loads and cost of one layer's all-to-all under an exchange kernel (comm/exchange_kernel.hpp),
// with data-parallel attention: every EP rank originates the same share of every expert's tokens, so
// the selections (token, expert) from rank s into rank d are tokens(d) / EP, and the bytes on a link
// are linear in the per-rank token loads:
//   dispatch_bytes(l) = bytes_per_token / EP x sum_d tokens(d) x in(d, l)
//   combine_bytes(l)  = bytes_per_token / EP x sum_d tokens(d) x out(d, l)
// in(d, l) sums, over the sources s != d, the share of l on the legs the kernel uses from s to d,
// each leg weighted by the copies it carries per selection (ExchangeRouting):
//   per_expert (nccl, deepep-ll):   route(s -> d) x 1
//   per_gpu (nvlink-one-sided):     route(s -> d) x gpu_factor
//   node_forwarding (deepep-normal): same node: route(s -> d) x gpu_factor; other node n:
//                                   route(s -> p) x node_factor + route(p -> d) x gpu_factor, p = the
//                                   GPU of n on s's rail (RouteTable::rail_peer; per_gpu when none)
//   two_phase (hierarchical):       route(s -> q) + route(q -> d), q = the GPU of s's node on d's rail
// out(d, l) is the same with every leg reversed (combine returns the copies the way they came).
// EpLinkModel precomputes in() and out() once per (topology, routing, EP, kernel) so that evaluating a
// placement costs O(EP x links touched per rank), and a move that changes two ranks' loads only touches
// those ranks' rows. The time of an exchange is comm/exchange_cost.hpp's closed form.
#include <array>
#include <memory>
#include <utility>
#include <vector>

#include "comm/exchange_cost.hpp"
#include "comm/exchange_kernel.hpp"
#include "topology/routing.hpp"
#include "topology/topology.hpp"

namespace epsim {

/// Sparse row: (link index, coefficient).
using LinkRow = std::vector<std::pair<int, double>>;

/// Direction of an all-to-all: dispatch sends tokens to the ranks that compute them, combine sends
/// the results back.
enum class Exchange { dispatch, combine };

/// De-duplication of the routing, as copies per (token, expert) selection (<= 1), and the expert
/// count. From comm/exchange_traffic.hpp routing_statistics(); 1 = no de-duplication.
struct ExchangeRouting {
  double gpu_factor = 1;   ///< E[distinct destination GPUs per token] / top-k
  double node_factor = 1;  ///< E[distinct destination nodes per token, own node included] / top-k
  int experts = 0;         ///< routed experts of the layer (deepep-ll's per-expert messages); 0: EP
  int top_k = 0;           ///< experts per token (deepep-ll's issue rounds); 0: unknown, no issue bound
  int expert_slots = 0;    ///< expert slots of the EP group, replicas included (DeepEP's num_experts); 0: experts
  bool operator==(const ExchangeRouting&) const = default;
};

/// Per-rank aggregated legs over EP ranks 0..ep-1 (= GPU ranks 0..ep-1 of the topology) for one kernel.
class EpLinkModel {
 public:
  /// Throws InputError if ep < 1 or ep exceeds the topology's GPUs or limits::kMaxEpRanks, or the
  /// kernel's parameters are invalid (validate_kernel_params); ExchangeKernelRefusal (an InputError,
  /// outside_nvlink_domain) when the kernel is nvlink-one-sided and a rank reaches another over a link
  /// that is not NVLink.
  /// base: GPU rank of EP rank 0 (the group is GPU ranks base..base+ep-1).
  EpLinkModel(const Topology& topology, const RouteTable& routes, int ep,
              ExchangeKernelParams kernel = default_kernel_params(ExchangeKernelKind::deepep_normal),
              ExchangeRouting routing = {}, int base = 0);

  int ep() const { return ep_; }
  int base() const { return base_; }
  int num_links() const { return static_cast<int>(nominal_Bps_.size()); }
  /// Hosts among the EP ranks and the most EP ranks on one host.
  int nodes() const { return nodes_; }
  int gpus_per_node() const { return gpus_per_node_; }
  /// in(d, .): link shares of the legs from all other EP ranks into rank d.
  const LinkRow& into(int rank) const { return into_[static_cast<std::size_t>(rank)]; }
  /// out(d, .): link shares of the legs from rank d back to all other EP ranks.
  const LinkRow& out_of(int rank) const { return out_of_[static_cast<std::size_t>(rank)]; }
  const LinkRow& row(int rank, Exchange direction) const {
    return direction == Exchange::dispatch ? into(rank) : out_of(rank);
  }
  /// Nominal link bandwidth in bytes/s (bandwidth_GBps x 1e9).
  double bandwidth_Bps(int link) const { return nominal_Bps_[static_cast<std::size_t>(link)]; }
  /// Bandwidth the kernel reaches on the link in that direction: nominal x the kernel's efficiency of
  /// the link's kind (effective_bandwidth_Bps).
  double bandwidth_Bps(int link, Exchange direction) const {
    return (direction == Exchange::dispatch ? dispatch_Bps_ : combine_Bps_)[static_cast<std::size_t>(link)];
  }
  const ExchangeKernelParams& kernel() const { return kernel_; }
  /// Bytes one token copy occupies on the wire: the caller's bytes per token plus the kernel's
  /// header_bytes_per_token (deepep-ll: 16). Every byte count of the closed form uses this.
  double wire_bytes(double bytes_per_token) const { return bytes_per_token + kernel_.header_bytes_per_token; }
  const KernelPhaseParams& phase(Exchange direction) const {
    return direction == Exchange::dispatch ? kernel_.dispatch : kernel_.combine;
  }
  const ExchangeRouting& routing() const { return routing_; }
  /// Whether the link is an NVLink (phase 1 of hierarchical) rather than on the NIC path (PCIe, network).
  bool intra_node_link(int link) const { return intra_[static_cast<std::size_t>(link)] != 0; }
  const Topology& topology() const { return *topology_; }
  /// The same model with other de-duplication factors (same routes and kernel): rows recombined in
  /// O(EP x row length), no route is expanded again.
  EpLinkModel with_routing(ExchangeRouting routing) const;

 private:
  /// One link of a rank's row with its coefficient per leg class (0: weight 1, 1: x gpu_factor,
  /// 2: x node_factor; 0 where the class does not use the link).
  struct ClassEntry {
    int link;
    std::array<double, 3> coef;
  };
  using ClassRow = std::vector<ClassEntry>;  ///< sorted by link
  struct ClassRows {
    std::vector<ClassRow> into, out_of;  ///< per rank
  };
  EpLinkModel(const EpLinkModel& other, ExchangeRouting routing);  ///< other's routes, new rows
  static ClassRow merge_classes(const std::array<LinkRow, 3>& classes);
  void combine_rows();
  const Topology* topology_;
  int ep_;
  int base_ = 0;
  int nodes_ = 1;
  int gpus_per_node_ = 1;
  ExchangeKernelParams kernel_;
  ExchangeRouting routing_;
  std::vector<LinkRow> into_;
  std::vector<LinkRow> out_of_;
  // Per rank: the link shares per leg class, shared by the models with_routing derives (immutable).
  std::shared_ptr<const ClassRows> class_rows_;
  std::vector<double> nominal_Bps_, dispatch_Bps_, combine_Bps_;
  std::vector<char> intra_;
};

/// The most EP ranks (GPU ranks 0..ep-1) on one host of the topology (1 when hosts are unknown).
int ep_gpus_per_node(const Topology& topology, int ep);

/// Bytes on every link (size num_links) for one all-to-all. gpu_tokens: selections computed by each EP
/// rank (size ep); bytes_per_token: bytes of one token's data; the kernel's header_bytes_per_token is
/// added to every copy here and in the closed form's terms.
std::vector<double> exchange_link_bytes(const EpLinkModel& model, const std::vector<double>& gpu_tokens,
                                        double bytes_per_token, Exchange direction);

/// Cost of one all-to-all direction in the closed form (comm/exchange_cost.hpp).
struct ExchangeCost {
  int busiest_link = -1;         ///< the link of bottleneck_s; -1 when no byte crosses any link
  double busiest_link_bytes = 0;
  double bottleneck_s = 0;       ///< busiest link's bytes / its effective bandwidth
  double latency_s = 0;          ///< the kernel's latency terms
  PhaseTime phase;               ///< the whole closed form (two phases summed for hierarchical)
  double time_s() const { return phase.time_us * 1e-6; }
};

/// What the closed form needs for this exchange at the GPU that finishes last (gpu < 0) or at one
/// rank (gpu >= 0: only the links of its row, its own SM work and self copy). link_bytes from
/// exchange_link_bytes with the same gpu_tokens and bytes_per_token. `intra`: only NVLink links
/// (1), only the others (0), all (-1).
ExchangeLoadSummary exchange_load_summary(const EpLinkModel& model, const std::vector<double>& link_bytes,
                                          const std::vector<double>& gpu_tokens, double bytes_per_token,
                                          Exchange direction, int gpu = -1, int intra = -1);

/// deepep-ll's issuing CTAs (DeepEP csrc/kernels/internode_ll.cu, the dispatch launch): warp groups =
/// ceil(slots / device_sms), CTAs = ceil(slots / warp groups); 0 when either is < 1. E.g. 256 slots on
/// 132 SMs: 2 groups, 128 CTAs; 8 slots: 8 CTAs.
int deepep_ll_issue_sms(int expert_slots, int device_sms);
/// Tokens one issuing CTA sends in turn after its first: ceil(sent_selections / top_k /
/// deepep_ll_issue_sms) - 1 (each CTA takes every num_sms-th token, its first top-k warps send one copy
/// each; the first token's round is part of the kernel's latency_us, which a one-token exchange
/// measures). 0 for other kernels, an unknown top-k, or device_sms 0.
double deepep_ll_issue_rounds(const ExchangeKernelParams& kernel, const ExchangeRouting& routing, double sent_selections);

/// The placement-independent terms of the summary for `total` selections of which the busiest rank
/// computes `max_rank_tokens` (sm, self, sent, message size, peers, nodes, remote experts; link_s 0).
ExchangeLoadSummary exchange_load_terms(const EpLinkModel& model, double total, double max_rank_tokens,
                                        double bytes_per_token);

/// The closed form of one direction given its busiest link time link_s_lb (seconds), the selections
/// `total` and the busiest rank's max_rank_tokens_lb, seconds (notify included for a dispatch): what
/// exchange_cost gives (the planner's inner loop calls this). Non-decreasing in link_s and the busiest
/// rank's tokens, so with lower bounds of both it is a lower bound of the time. Hierarchical: the
/// busiest link is in one of the two phases, so the smaller of (phase 1 at link_s_lb + phase 2 at 0)
/// and (phase 1 at 0 + phase 2 at link_s_lb), each phase with its own latency, peers and ramp: a lower
/// bound of exchange_cost (equal when the other phase's links are idle), never above it.
double exchange_time_s(const EpLinkModel& model, double link_s_lb, double total,
                                   double max_rank_tokens_lb, double bytes_per_token, Exchange direction);

/// Evaluate an all-to-all (bytes from exchange_link_bytes with the same gpu_tokens and bytes_per_token).
/// gpu >= 0: the time at which that rank has sent and received its part. A dispatch includes
/// deepep-normal's notify phase (notify_time_us).
ExchangeCost exchange_cost(const EpLinkModel& model, const std::vector<double>& link_bytes,
                           const std::vector<double>& gpu_tokens, double bytes_per_token, Exchange direction,
                           int gpu = -1);

}  // namespace epsim
