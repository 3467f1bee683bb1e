#pragma once
// Inter-layer affinity post-pass: permute the nodes (then the ranks inside each node) of layer
// l+1's placement so that tokens find their layer-(l+1) experts on the nodes (ranks) that served
// them at layer l, without making layer l+1 worse on its own objective.
//
// What it saves, and in which model (affinity.hpp): under expert-to-expert hand-off execution the
// layer-(l+1) dispatch of token t starts from the nodes/GPUs D_t that computed it at layer l, so a
// node in hosts(D_t) ∩ hosts(D'_t) needs no cross-node copy (node_copies_saved) and a GPU in
// D_t ∩ D'_t no copy at all (gpu_copies_saved). Under the standard combine-to-source DP-attention
// execution both are 0: the pass then changes nothing that matters, and it is harmless because it
// only accepts permutations that do not worsen the layer's objective.
//
// Method, per consecutive pair (layers in trace order, layer l already final): with the serving
// GPUs of every token at both layers (replica rule of trace_traffic.hpp), A[h][h'] = tokens whose
// layer-l nodes include h and layer-(l+1) nodes include h'; the node permutation sigma maximizing
// sum_h' A[sigma(h')][h'] is found by pairwise exchanges until none improves (a local optimum of
// the linear assignment; O(passes x nodes^2)); rank i of node h' moves to rank i of node sigma(h')
// (all nodes must hold the same number of EP ranks, else the node level is skipped). Then the same
// inside every node with the per-rank matrix. The candidate is kept when `acceptable` says so,
// else the node-level permutation alone, else nothing.
#include <functional>
#include <vector>

#include "model/layer_placement.hpp"
#include "model/trace.hpp"
#include "topology/topology.hpp"

namespace epsim {

struct InterLayerReport {
  int layer_pairs = 0;       ///< consecutive trace-layer pairs considered
  int layers_permuted = 0;   ///< layers whose placement the pass changed
  int layers_rejected = 0;   ///< layers where a better-aligned permutation worsened the objective
};

/// placements[i] belongs to layers[i] (consecutive trace layers, same tokens in each). acceptable(i,
/// candidate) decides whether placements[i] may become `candidate`. Changes placements[1..] in place.
/// Throws InputError when two consecutive layers do not have the same tokens.
InterLayerReport align_consecutive_layers(std::vector<LayerPlacement>& placements,
                                          const std::vector<const TraceLayer*>& layers, int top_k,
                                          const Topology& topology,
                                          const std::function<bool(std::size_t, const LayerPlacement&)>& acceptable);

}  // namespace epsim
