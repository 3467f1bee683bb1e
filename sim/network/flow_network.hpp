#pragma once
// Flow-level network model: flows share link capacity max-min fairly (progressive filling with
// fractional route weights and per-flow shares), and rates are re-solved incrementally, only for the
// flows whose rates can change when flows start or end (see "Saturated-link traversal").
//
// Model. Link l has capacity c_l (bytes/s). Flow f has a route of hops (l, w_fl) with 0 < w <= 1
// (ECMP splitting: a flow of rate r_f puts w_fl * r_f bytes/s on l) and a share k_f >= 1 (default 1).
// Rates satisfy sum_f w_fl * r_f <= c_l for every link, and are weighted max-min fair: progressive
//   filling raises all unfrozen rates together as r_f = k_f lambda; link l saturates at
//   lambda_l = (c_l - sum_{frozen f} w_fl r_f) / (sum_{unfrozen f} w_fl k_f);
//   the link with the smallest lambda_l freezes its unfrozen flows at that level; repeat.
// A flow started at t0 with latency d joins the network at t0 + d (its first byte) and completes when
// its bytes have crossed at its (piecewise-constant) rate; completion time is rounded up to the ps.
//
// Events. Changes at one instant (flows joining, flows completing) are coalesced: the first change
// schedules one re-solve event at (now, Simulator::kLatestPriority), which re-solves once for all of
// them. A flow's completion event is cancelled and rescheduled only when its rate
// changed. Remaining bytes are advanced lazily from the time of the flow's last rate change.
//
// Partial re-solve. When only completions happened since the last re-solve, let v be the smallest
// level (rate / share) among the completed flows. Progressive filling raises levels monotonically and
// a completed flow's links never saturate below its level, so removing it leaves every stage below
// level v as it was: flows with level < v keep their rates exactly. (A join can lower rates at any level, so a batch
// with a join uses v = 0.)
//
// Saturated-link traversal. Each link keeps `allocated` = sum_f w_fl r_f. The re-solved set S starts
// from the joined flows and from the links of completed flows that were saturated (allocated >=
// c_l (1 - 1e-9)); it grows through saturated links only: every flow with level >= v on a saturated
// link of a flow in S joins S. An unsaturated link is no flow's bottleneck, so a flow outside S keeps
// a bottleneck that no flow of S crosses and keeps its rate -- as long as the links of S that were not
// traversed stay unsaturated. Progressive filling over S (the others' rates held) checks that: when
// such a link saturates, its flows with level >= v join S and the filling restarts. The result is the
// same max-min allocation as a re-solve of the whole component (tests/sim/test_flow_network.cpp
// compares against a from-scratch reference), without visiting the flows of unsaturated shared links
// (fabric spines, PCIe) that an all-to-all crosses by the thousand.
//
// Complexity of one re-solve: O(H log L_c) for H hops of the re-solved flows and L_c links in them,
// plus the entries of the traversed (saturated) links, times the restarts (rare: a restart needs a
// link that was unsaturated to saturate and to carry flows outside S). Memory O(links + total hops).
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "sim/engine/simulator.hpp"
#include "sim/engine/time.hpp"
#include "topology/routing.hpp"

namespace epsim {

/// Handle to a flow (valid to query after the flow completed: it then reads as not active).
struct FlowId {
  std::uint64_t value = 0;
  friend bool operator==(FlowId, FlowId) = default;
};

/// Counters for tests and benchmarks.
struct FlowNetworkStats {
  std::uint64_t solves = 0;          ///< re-solve events executed
  std::uint64_t flows_resolved = 0;  ///< sum over re-solves of flows in the re-solved components
  std::uint64_t reschedules = 0;     ///< completion events cancelled and scheduled again
  std::uint64_t restarts = 0;        ///< progressive fillings restarted (an untraversed link saturated)
};

/// The flow-level model over a fixed set of links. Owned by (and must not outlive) one Simulator.
class FlowNetwork {
 public:
  /// capacities_Bps: capacity of each link, bytes/s, finite and > 0 (throws std::invalid_argument
  /// naming the link index otherwise). event_priority: priority class of the completion events.
  FlowNetwork(Simulator& sim, std::vector<double> capacities_Bps, int event_priority = Simulator::kDefaultPriority);
  FlowNetwork(const FlowNetwork&) = delete;
  FlowNetwork& operator=(const FlowNetwork&) = delete;
  /// Cancels this network's pending events (they capture it), so the simulator may outlive it.
  ~FlowNetwork();

  /// Start a flow at sim.now(): `bytes` (finite, >= 0) over `route` (link indices in range, fractions
  /// in (0, 1]; throws std::invalid_argument otherwise), first byte after `latency` (>= 0).
  /// on_complete runs inside the completion event. A flow with 0 bytes or an empty route completes
  /// exactly at now + latency without occupying links. `share` (finite, >= 1): the flow's weight in
  /// the max-min sharing, as if it were `share` flows on its route (rate = share x level; a flow that
  /// stands for a group of transfers). O(route length) plus one event.
  FlowId start_flow(std::span<const RouteHop> route, double bytes, Time latency, std::function<void()> on_complete,
                    double share = 1.0);

  /// Current rate of a flow, bytes/s; 0 when it has not joined yet, has completed, or is waiting for
  /// the re-solve at the current instant. O(1).
  double rate(FlowId id) const;
  /// True from start_flow until the completion handler runs. O(1).
  bool is_active(FlowId id) const;
  /// Flows started and not yet completed. O(1).
  std::size_t num_flows() const { return num_flows_; }
  /// Bytes carried by each link so far, credited when a flow's remaining bytes are advanced (at every
  /// rate change of its component and at its completion): exact whenever no flow is mid-transfer,
  /// otherwise lags by the bytes sent since each active flow's last rate change.
  const std::vector<double>& link_bytes() const { return link_bytes_; }
  /// Capacity of each link, bytes/s.
  const std::vector<double>& capacities() const { return capacity_; }
  /// Counters (re-solves, flows re-solved, reschedules).
  const FlowNetworkStats& stats() const { return stats_; }

 private:
  enum class State : std::uint8_t { free, waiting, active };
  struct Hop {
    std::int32_t link;
    double weight;
    std::uint32_t position;  ///< index of this hop's entry in links_[link].entries
  };
  struct Entry {
    std::uint32_t flow;
    std::uint32_t hop;
  };
  struct Flow {
    std::vector<Hop> hops;
    double remaining = 0;  ///< bytes left at last_update
    double rate = 0;       ///< bytes/s since last_update
    Time last_update;
    EventId completion;
    std::function<void()> on_complete;
    std::uint32_t generation = 1;
    double rate_before = 0;  ///< rate when the current re-solve took it in
    double share = 1;        ///< max-min weight: rate = share x level
    double level = 0;        ///< level it froze at in its last re-solve (compared exactly: flows
                             ///< frozen at one link share this double, which rate / share may not)
    std::uint32_t mark = 0;  ///< visit epoch of the last re-solve that reached it
    State state = State::free;
    bool frozen = false;
  };
  struct LinkState {
    std::vector<Entry> entries;  ///< active flows' hops on this link
    double residual = 0;         ///< solver scratch: capacity not yet given to frozen flows
    double weight = 0;           ///< solver scratch: sum of unfrozen flows' weights
    double level = 0;            ///< solver scratch: current saturation level
    double heap_key = 0;         ///< solver scratch: key of the link's representative heap entry (<= level)
    double allocated = 0;        ///< sum over active flows of weight x rate, bytes/s
    std::uint32_t unfrozen = 0;  ///< solver scratch: number of unfrozen entries
    std::uint32_t mark = 0;      ///< visit epoch: the link is in component_links_
    std::uint32_t traversed = 0; ///< visit epoch: the link's flows were scanned
  };

  Flow* find(FlowId id);
  const Flow* find(FlowId id) const;
  void activate(std::uint32_t index);
  void complete(std::uint32_t index);
  void request_resolve();
  bool saturated(std::int32_t link) const;
  void traverse(std::int32_t link);
  bool take_in_link_flows(std::int32_t link, double floor, Time now);
  void take_in(std::uint32_t index, Time now);
  bool fill();
  void resolve();
  void advance(Flow& flow, Time now);
  void reschedule(std::uint32_t index);
  void release(std::uint32_t index);

  Simulator& sim_;
  int event_priority_;
  std::vector<double> capacity_;
  std::vector<LinkState> links_;
  std::vector<double> link_bytes_;
  std::vector<Flow> flows_;
  std::vector<std::uint32_t> free_flows_;
  std::size_t num_flows_ = 0;
  // Changes since the last re-solve and solver scratch (members to avoid reallocating).
  std::vector<std::int32_t> touched_links_;  ///< saturated links of flows completed since
  std::vector<std::uint32_t> joined_flows_;  ///< flows that joined since
  EventId resolve_event_;
  std::uint32_t epoch_ = 0;
  std::vector<std::int32_t> component_links_;
  std::vector<std::uint32_t> component_flows_;
  std::vector<std::int32_t> frontier_;  ///< traversed links whose flows are still to be scanned
  std::vector<std::pair<double, std::int32_t>> heap_;  ///< progressive filling: (level, link)
  // Batch bookkeeping for the partial re-solve (see resolve()): whether a flow joined since the last
  // re-solve, and the smallest level (rate / share) of the flows that completed since then.
  bool batch_has_join_ = false;
  double batch_min_completed_level_ = 0;
  double batch_floor_ = 0;  ///< floor of the re-solve in progress
  bool batch_has_completion_ = false;
  FlowNetworkStats stats_;
};

}  // namespace epsim
