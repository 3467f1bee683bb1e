#pragma once
// The trace-based objective of one layer and its incremental evaluator (the inner loop of `epsim`
// when `plan --trace` is given).
//
// Traffic: every token of the trace layer is dispatched exactly as trace_traffic.hpp evaluates it
// (replica rule, per-GPU de-duplication, node forwarding to the source's rail peer), so
//   link_bytes(l) = bytes_per_token x sum over (GPU, GPU) pairs p of copies(p) x share of route(p) on l
// and the objective's link time is T = max_l link_bytes(l) / bw(l) (dispatch; combine returns the
// same copies over the reverse routes and is not added). Co-activation enters through the copies:
// a token whose experts share a node sends that node one copy.
//
// Objective (ObjectiveKind): link = (T, cross-node bytes); gpu = (max tokens computed by a rank,
// T); balanced = (max(T / T_norm, max rank tokens / mean rank tokens), cross-node bytes) with
// T_norm > 0 given by the caller. With max_nodes_per_token M > 0 the penalty is
// sum_t max(0, nodes(t) - M), nodes(t) = distinct nodes (hosts) of the GPUs serving token t
// (its own node included when an expert is served there); it is compared before everything else.
//
// State and cost: per token its k serving GPUs; per expert the tokens that select it (CSR).
// A move that changes the replicas of experts X recomputes the serving GPUs of the tokens of X
// only: O(sum_{e in X} tokens(e) x k) to update pair copy counts, plus O(pairs changed x route
// hops) to update link bytes, plus O(links + EP) to evaluate. Memory: O(tokens x k) + route rows
// of the pairs used (built lazily).
#include <cstdint>
#include <unordered_map>
#include <utility>
#include <vector>

#include "comm/link_load.hpp"
#include "placement/objective.hpp"
#include "model/layer_placement.hpp"
#include "model/trace.hpp"
#include "comm/node_forwarding.hpp"
#include "topology/routing.hpp"

namespace epsim {

/// What the trace objective of one layer needs; pointers must outlive the evaluator.
struct TraceObjectiveInput {
  const TraceLayer* layer = nullptr;
  int top_k = 0;
  const RouteTable* routes = nullptr;
  TokenDelivery delivery = TokenDelivery::node_forwarding;
  double bytes_per_token = 0;   ///< dispatch bytes of one token on the wire
  int max_nodes_per_token = 0;  ///< M; 0 = no limit
};

/// Incremental trace-based link loads of one layer's placement.
class TraceLayerState {
 public:
  /// Throws InputError when a token comes from a rank >= placement.num_gpus or uses an expert the
  /// placement does not hold (same checks as trace_layer_traffic).
  TraceLayerState(const TraceObjectiveInput& input, const LayerPlacement& placement, int num_experts,
                  ObjectiveKind kind, double link_norm_s = 0);

  /// Set slots (slot, expert or -1); every expert must keep >= 1 replica. Undo with revert().
  void change_slots(const std::vector<std::pair<int, int>>& slot_expert);
  /// Undo the last change_slots (only one level).
  void revert();

  ObjectiveValue value() const;
  double bottleneck_s() const;      ///< max_l bytes(l) / bw(l)
  int bottleneck_link() const;      ///< a link l with the largest bytes(l) / bw(l); -1 when no byte moves
  double cross_node_bytes() const;  ///< bytes on links that leave a host
  double max_gpu_tokens() const;
  double mean_gpu_tokens() const;
  double excess_nodes() const { return excess_; }  ///< sum_t max(0, nodes(t) - M); 0 when M = 0
  const std::vector<double>& link_bytes() const { return link_bytes_; }
  const std::vector<double>& gpu_tokens() const { return gpu_tokens_; }
  const LayerPlacement& placement() const { return placement_; }
  /// Distinct nodes reached by token t (hosts of its serving GPUs).
  int nodes_of_token(int t) const;

 private:
  int pair_id(int s, int d);
  void add_token(int t, double sign);
  void token_delta(int t, const int* old_serving, const int* new_serving);
  int nodes_of(const int* serving) const;
  void apply_pair_deltas(double sign);
  void set_expert_gpus(int e);

  TraceObjectiveInput in_;
  const Topology* topo_;
  int E_, k_, ep_, H_;
  ObjectiveKind kind_;
  double link_norm_s_;
  LayerPlacement placement_;
  std::vector<std::vector<int>> expert_gpus_;
  std::vector<int> token_offset_, token_list_;  // CSR: tokens selecting expert e
  std::vector<int> serving_;                    // [t * k + j]
  std::vector<int> host_of_rank_;
  std::vector<int> peer_cache_;                 // [s * H + h], -2 = unknown
  std::vector<double> link_bytes_, inv_bw_;
  std::vector<char> cross_link_;
  double cross_bytes_ = 0;
  std::vector<double> gpu_tokens_;
  double excess_ = 0;
  // Pairs (s, d) -> id -> route row; pending copy deltas of the current change.
  std::unordered_map<std::int64_t, int> pair_index_;
  std::vector<int> dense_pairs_;
  std::vector<LinkRow> pair_rows_;
  std::vector<double> pair_delta_;
  std::vector<int> touched_pairs_;
  RouteScratch scratch_;
  std::vector<RouteHop> hops_;
  // Undo record of the last change.
  std::vector<std::pair<int, int>> undo_slots_;
  std::vector<int> undo_experts_;
  std::vector<int> undo_tokens_;
  std::vector<int> undo_serving_;
  std::vector<std::pair<int, double>> undo_pairs_;
  std::vector<std::pair<int, double>> undo_gpu_;
  double undo_excess_ = 0;
  std::vector<std::uint32_t> stamp_;
  std::uint32_t epoch_ = 0;
  std::vector<int> scratch_dst_, scratch_hosts_;
};

/// Full (non-incremental) trace objective of a placement; equals TraceLayerState(...).value().
ObjectiveValue trace_objective(const TraceObjectiveInput& input, const LayerPlacement& placement, int num_experts,
                               ObjectiveKind kind, double link_norm_s = 0);

}  // namespace epsim
