#pragma once
// The "flow" network model: transfers become FlowNetwork flows on their routes (link capacity =
// bandwidth_GBps * 1e9 bytes/s, first byte after the route latency), so concurrent transfers and
// concurrent exchanges share links max-min fairly.
//
// Granularity. `per_transfer`: one flow per transfer. `per_destination_host` (the default): the
// transfers of one exchange from one GPU to the GPUs of one host form one flow, as a DeepEP normal
// kernel or an NCCL proxy sends one message stream per destination node. Its bytes are the sum B of the
// members' bytes b_i, and its route puts sum_i (b_i / B) * fraction_i(l) on every link l of the members'
// routes: 1 on the shared part (source NIC, fabric, destination NIC), b_i / B on member i's own last hops
// (the NVLink fan-out inside the destination host). The members progress in lockstep: all arrive when
// the flow completes, after the slowest member's route latency. This cuts the flows of an all-to-all
// from G (G - 1) to about G x hosts (8x fewer on 8-GPU hosts) and the hops per exchange about 4x; the
// price is that, within one (GPU, host) group, a small member no longer finishes before a large one,
// and a group's share in the max-min sharing is its member count, as if each member were its own flow
// on the shared links (docs/simulator.md "Flow network" gives the measured difference against
// per_transfer).
//
// Tied links (exact). Two links are tied when every GPU-pair route of the table crosses both with the
// same fraction, or neither: the ECMP fan of a leaf over its spines, or of the spines into one leaf.
// Their constraints sum_f w_f r_f <= c differ only in c, so the flow network keeps one of them (the
// tightest capacity) and the routes name it once: max-min rates are unchanged while a flow on a 2-tier
// fat tree crosses ~6 links instead of ~18. Ties are found once, from a 128-bit signature per link
// summed over all routes (O(G^2 H) at construction); link_bytes() reports every tied link's bytes.
#include <cstdint>
#include <span>
#include <vector>

#include "sim/network/flow_network.hpp"
#include "sim/network/network_model.hpp"

namespace epsim {

/// What one FlowNetwork flow carries (see the file comment).
enum class FlowGranularity { per_transfer, per_destination_host };

/// NetworkModel over FlowNetwork. Cost per exchange: O(flows x hops) to build the flows plus one
/// coalesced re-solve per distinct arrival/completion instant (see sim/network/flow_network.hpp). Routes are
/// expanded once per (source, destination) pair and cached (O(pairs used x hops) memory).
class FlowNetworkModel final : public NetworkModel {
 public:
  /// The simulator, topology and routes must outlive the model.
  FlowNetworkModel(Simulator& sim, const Topology& topology, const RouteTable& routes,
                   FlowGranularity granularity = FlowGranularity::per_destination_host);
  void start_exchange(std::vector<Transfer> transfers, std::function<void(std::size_t)> on_transfer_done,
                      std::function<void()> on_done) override;
  std::string_view name() const override {
    return granularity_ == FlowGranularity::per_transfer ? "flow-per-transfer" : "flow";
  }
  /// See FlowNetwork::link_bytes() (exact whenever no flow is mid-transfer).
  const std::vector<double>& link_bytes() const override;
  /// The underlying flow network (rates, counters).
  const FlowNetwork& network() const { return network_; }
  /// Topology links folded into another (tied) link's representative.
  int tied_links() const {
    int n = 0;
    for (std::size_t l = 0; l < ties_.representative.size(); ++l) n += ties_.representative[l] != static_cast<std::int32_t>(l);
    return n;
  }
  /// The granularity flows are built with.
  FlowGranularity granularity() const { return granularity_; }

 private:
  struct CachedRoute {
    std::uint32_t begin = 0;  ///< first hop in hops_
    std::uint32_t end = 0;
    Time latency;
  };
  /// Representative of each topology link (itself when untied) and the capacities (bytes/s) of the
  /// flow network: the smallest capacity among each representative's tied links.
  struct Ties {
    std::vector<std::int32_t> representative;
    std::vector<double> capacity_Bps;
  };
  static Ties find_ties(const Topology& topology, const RouteTable& routes);
  const CachedRoute& route(int src, int dst);
  /// One flow for `members` (indices into transfers, >= 2, same source and destination host).
  void start_group(const std::vector<Transfer>& transfers, std::span<const std::uint32_t> members,
                   const std::shared_ptr<detail::ExchangeState>& state);

  Simulator& sim_;
  std::vector<int> host_of_;  ///< host index of each GPU rank (-1: none)
  const RouteTable& routes_;
  FlowGranularity granularity_;
  Ties ties_;
  FlowNetwork network_;
  mutable std::vector<double> link_bytes_;  ///< per topology link, filled by link_bytes()
  RouteScratch scratch_;
  std::vector<RouteHop> hops_;  ///< cached routes, back to back
  std::vector<CachedRoute> cache_;
  /// Per source GPU (row allocated on first use): index into cache_ per destination, -1 = not yet.
  std::vector<std::vector<std::int32_t>> route_index_;
  // Scratch of start_grouped (members to avoid reallocating): per-link merged weight.
  std::vector<double> weight_;
  std::vector<std::int32_t> touched_;
  std::vector<RouteHop> merged_;
};

}  // namespace epsim
