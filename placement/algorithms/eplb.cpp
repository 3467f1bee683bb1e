#include "placement/algorithms/eplb.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <utility>

#include "common/error.hpp"

namespace epsim {
namespace {

using std::size_t;

size_t sz(int v) { return static_cast<size_t>(v); }

/// inv[perm[i]] = i (the reference's inverse()).
std::vector<int> inverse(const std::vector<int>& perm) {
  std::vector<int> inv(perm.size(), -1);
  for (size_t i = 0; i < perm.size(); ++i) inv[sz(perm[i])] = static_cast<int>(i);
  return inv;
}

/// Indices of `w` in descending order, ties ordered exactly as torch.sort(descending=True) on CPU:
/// std::sort over (value, index) pairs starting from 0..n-1 with a value-only comparator.
std::vector<int> torch_sort_desc_indices(const std::vector<float>& w) {
  std::vector<std::pair<float, int>> kv(w.size());
  for (size_t i = 0; i < w.size(); ++i) kv[i] = {w[i], static_cast<int>(i)};
  std::sort(kv.begin(), kv.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<int> idx(w.size());
  for (size_t i = 0; i < kv.size(); ++i) idx[i] = kv[i].second;
  return idx;
}

struct LayerOut {
  std::vector<int> phy2log, phyrank, logcnt;
};

/// rebalance_experts_hierarchical for one layer (arguments already validated).
LayerOut hierarchical_layer(const std::vector<float>& w, int num_phy, int num_groups, int num_nodes, int num_gpus) {
  const int num_log = static_cast<int>(w.size());
  const int group_size = num_log / num_groups;
  const int groups_per_node = num_groups / num_nodes;
  const int phy_per_gpu = num_phy / num_gpus;
  const int log_per_node = num_log / num_nodes;
  const int phy_per_node = num_phy / num_nodes;

  // Step 1: pack groups to nodes.
  std::vector<float> tokens_per_group(sz(num_groups), 0.0f);
  for (int g = 0; g < num_groups; ++g)
    for (int j = 0; j < group_size; ++j) tokens_per_group[sz(g)] += w[sz(g * group_size + j)];
  PackingResult gp = eplb_balanced_packing(tokens_per_group, num_nodes);
  std::vector<int> log2mlog(sz(num_log));
  for (int g = 0; g < num_groups; ++g)
    for (int j = 0; j < group_size; ++j)
      log2mlog[sz(g * group_size + j)] =
          (gp.pack_index[sz(g)] * groups_per_node + gp.rank_in_pack[sz(g)]) * group_size + j;
  std::vector<int> mlog2log = inverse(log2mlog);

  LayerOut out;
  out.phy2log.assign(sz(num_phy), -1);
  out.phyrank.assign(sz(num_phy), -1);
  std::vector<int> mlogcnt(sz(num_log), 0);  // node-major concatenation of each node's counts
  for (int n = 0; n < num_nodes; ++n) {
    // Step 2: replicate experts within the node.
    std::vector<float> tokens_per_mlog(sz(log_per_node));
    for (int k = 0; k < log_per_node; ++k) tokens_per_mlog[sz(k)] = w[sz(mlog2log[sz(n * log_per_node + k)])];
    ReplicationResult rep = eplb_replicate_experts(tokens_per_mlog, phy_per_node);

    // Step 3: pack the node's physical replicas to its GPUs.
    std::vector<float> tokens_per_phy(sz(phy_per_node));
    for (int p = 0; p < phy_per_node; ++p) {
      const int m = rep.phy2log[sz(p)];
      tokens_per_phy[sz(p)] = tokens_per_mlog[sz(m)] / static_cast<float>(rep.logcnt[sz(m)]);
    }
    PackingResult pp = eplb_balanced_packing(tokens_per_phy, num_gpus / num_nodes);
    std::vector<int> phy2pphy(sz(phy_per_node));
    for (int p = 0; p < phy_per_node; ++p) phy2pphy[sz(p)] = pp.pack_index[sz(p)] * phy_per_gpu + pp.rank_in_pack[sz(p)];
    std::vector<int> pphy2phy = inverse(phy2pphy);

    for (int q = 0; q < phy_per_node; ++q) {
      const int p = pphy2phy[sz(q)];
      const int mlog = rep.phy2log[sz(p)] + n * log_per_node;
      out.phy2log[sz(n * phy_per_node + q)] = mlog2log[sz(mlog)];
      out.phyrank[sz(n * phy_per_node + q)] = rep.rank[sz(p)];
    }
    for (int k = 0; k < log_per_node; ++k) mlogcnt[sz(n * log_per_node + k)] = rep.logcnt[sz(k)];
  }
  out.logcnt.resize(sz(num_log));
  for (int e = 0; e < num_log; ++e) out.logcnt[sz(e)] = mlogcnt[sz(log2mlog[sz(e)])];
  return out;
}

/// Checks shapes and values of `weight` and converts it to float32 (the reference's weight.float()).
std::vector<std::vector<float>> to_float_weights(const std::vector<std::vector<double>>& weight) {
  if (weight.empty()) throw InputError("EPLB: weight has no layers; expected [layers][experts] token loads");
  const size_t num_log = weight.front().size();
  if (num_log == 0) throw InputError("EPLB: weight layer 0 has no experts");
  std::vector<std::vector<float>> out(weight.size());
  for (size_t l = 0; l < weight.size(); ++l) {
    if (weight[l].size() != num_log)
      throw InputError(fmt::format("EPLB: weight layer {} has {} experts, layer 0 has {}; expected equal lengths", l,
                                   weight[l].size(), num_log));
    out[l].resize(num_log);
    for (size_t e = 0; e < num_log; ++e) {
      const double v = weight[l][e];
      const float f = static_cast<float>(v);
      if (!std::isfinite(v) || !std::isfinite(f) || v < 0.0)
        throw InputError(
            fmt::format("EPLB: weight[{}][{}] = {}; expected a finite load >= 0 (within float32 range)", l, e, v));
      out[l][e] = f;
    }
  }
  return out;
}

void check_positive(int v, const char* name) {
  if (v <= 0) throw InputError(fmt::format("EPLB: {} = {}; expected a positive integer", name, v));
}

/// The reference's assertions for the hierarchical policy, plus num_replicas >= num_experts.
void check_hierarchical_args(int num_log, int num_replicas, int num_groups, int num_nodes, int num_gpus) {
  check_positive(num_replicas, "num_replicas");
  check_positive(num_groups, "num_groups");
  check_positive(num_nodes, "num_nodes");
  check_positive(num_gpus, "num_gpus");
  if (num_log % num_groups != 0)
    throw InputError(fmt::format("EPLB: {} experts do not split into num_groups = {} equal groups", num_log, num_groups));
  if (num_groups % num_nodes != 0)
    throw InputError(fmt::format("EPLB: num_groups = {} is not a multiple of num_nodes = {}", num_groups, num_nodes));
  if (num_gpus % num_nodes != 0)
    throw InputError(fmt::format("EPLB: num_gpus = {} is not a multiple of num_nodes = {}", num_gpus, num_nodes));
  if (num_replicas % num_gpus != 0)
    throw InputError(fmt::format("EPLB: num_replicas = {} is not a multiple of num_gpus = {}", num_replicas, num_gpus));
  if (num_replicas < num_log)
    throw InputError(fmt::format("EPLB: num_replicas = {} is fewer than the {} experts; every expert needs a slot",
                                 num_replicas, num_log));
}

}  // namespace

PackingResult eplb_balanced_packing(const std::vector<float>& weight, int num_packs) {
  const int n = static_cast<int>(weight.size());
  if (num_packs <= 0 || n % num_packs != 0)
    throw InputError(
        fmt::format("EPLB balanced_packing: {} items do not split into {} packs of equal size", n, num_packs));
  const int per_pack = n / num_packs;
  PackingResult r;
  if (per_pack == 1) {
    r.pack_index.resize(sz(n));
    for (int i = 0; i < n; ++i) r.pack_index[sz(i)] = i;
    r.rank_in_pack.assign(sz(n), 0);
    return r;
  }
  r.pack_index.assign(sz(n), -1);
  r.rank_in_pack.assign(sz(n), -1);
  std::vector<float> pack_weight(sz(num_packs), 0.0f);
  std::vector<int> pack_items(sz(num_packs), 0);
  for (int item : torch_sort_desc_indices(weight)) {
    int best = -1;  // first pack with room and the smallest weight (Python min() keeps the first)
    for (int p = 0; p < num_packs; ++p)
      if (pack_items[sz(p)] < per_pack && (best < 0 || pack_weight[sz(p)] < pack_weight[sz(best)])) best = p;
    r.pack_index[sz(item)] = best;
    r.rank_in_pack[sz(item)] = pack_items[sz(best)];
    pack_weight[sz(best)] += weight[sz(item)];
    ++pack_items[sz(best)];
  }
  return r;
}

ReplicationResult eplb_replicate_experts(const std::vector<float>& weight, int num_phy) {
  const int num_log = static_cast<int>(weight.size());
  if (num_log == 0) throw InputError("EPLB replicate_experts: no experts; expected at least one load");
  if (num_phy < num_log)
    throw InputError(fmt::format("EPLB replicate_experts: {} replicas for {} experts; expected at least one each",
                                 num_phy, num_log));
  ReplicationResult r;
  r.phy2log.resize(sz(num_phy));
  r.rank.assign(sz(num_phy), 0);
  r.logcnt.assign(sz(num_log), 1);
  for (int i = 0; i < num_log; ++i) r.phy2log[sz(i)] = i;
  for (int i = num_log; i < num_phy; ++i) {
    int best = 0;  // torch.max(dim).indices: first maximum
    float best_v = weight[0] / static_cast<float>(r.logcnt[0]);
    for (int e = 1; e < num_log; ++e) {
      const float v = weight[sz(e)] / static_cast<float>(r.logcnt[sz(e)]);
      if (v > best_v) {
        best = e;
        best_v = v;
      }
    }
    r.phy2log[sz(i)] = best;
    r.rank[sz(i)] = r.logcnt[sz(best)];
    ++r.logcnt[sz(best)];
  }
  return r;
}

EplbResult eplb_rebalance_hierarchical(const std::vector<std::vector<double>>& weight, int num_replicas,
                                       int num_groups, int num_nodes, int num_gpus) {
  auto w = to_float_weights(weight);
  check_hierarchical_args(static_cast<int>(w.front().size()), num_replicas, num_groups, num_nodes, num_gpus);
  EplbResult r;
  r.used_hierarchical = true;
  for (const auto& layer : w) {
    LayerOut o = hierarchical_layer(layer, num_replicas, num_groups, num_nodes, num_gpus);
    r.phy2log.push_back(std::move(o.phy2log));
    r.phyrank.push_back(std::move(o.phyrank));
    r.logcnt.push_back(std::move(o.logcnt));
  }
  return r;
}

EplbResult eplb_rebalance(const std::vector<std::vector<double>>& weight, int num_replicas, int num_groups,
                          int num_nodes, int num_gpus) {
  check_positive(num_groups, "num_groups");
  check_positive(num_nodes, "num_nodes");
  check_positive(num_gpus, "num_gpus");
  // Stated precondition of the reference (its docstring); the global policy itself would not need it.
  if (num_gpus % num_nodes != 0)
    throw InputError(fmt::format("EPLB: num_gpus = {} is not a multiple of num_nodes = {}", num_gpus, num_nodes));
  EplbResult r;
  if (num_groups % num_nodes == 0) {
    r = eplb_rebalance_hierarchical(weight, num_replicas, num_groups, num_nodes, num_gpus);
    r.note = fmt::format("EPLB hierarchical policy: {} groups packed onto {} nodes, replicas packed per node",
                         num_groups, num_nodes);
  } else {
    r = eplb_rebalance_hierarchical(weight, num_replicas, 1, 1, num_gpus);
    r.used_hierarchical = false;
    r.note = fmt::format(
        "EPLB global policy: num_groups = {} is not a multiple of num_nodes = {}, so groups and nodes are ignored",
        num_groups, num_nodes);
  }
  int max_cnt = 0;
  for (const auto& c : r.logcnt) max_cnt = std::max(max_cnt, *std::max_element(c.begin(), c.end()));
  const size_t num_log = r.logcnt.front().size();
  r.log2phy.assign(r.phy2log.size(), std::vector<std::vector<int>>(num_log, std::vector<int>(sz(max_cnt), -1)));
  for (size_t l = 0; l < r.phy2log.size(); ++l)
    for (size_t p = 0; p < r.phy2log[l].size(); ++p)
      r.log2phy[l][sz(r.phy2log[l][p])][sz(r.phyrank[l][p])] = static_cast<int>(p);
  return r;
}

LayerPlacement eplb_layer_placement(const std::vector<double>& weight, int num_replicas, int num_groups,
                                    int num_nodes, int num_gpus, std::string* note) {
  EplbResult r = eplb_rebalance({weight}, num_replicas, num_groups, num_nodes, num_gpus);
  LayerPlacement pl;
  pl.num_gpus = num_gpus;
  pl.slots_per_gpu = num_replicas / num_gpus;
  pl.slot_expert = std::move(r.phy2log.front());
  if (note != nullptr) {
    *note = r.note;
    std::vector<int> colocated;
    for (int g = 0; g < pl.num_gpus; ++g)
      for (int a = 0; a < pl.slots_per_gpu; ++a)
        for (int b = a + 1; b < pl.slots_per_gpu; ++b) {
          const int ea = pl.slot_expert[sz(g * pl.slots_per_gpu + a)];
          if (ea == pl.slot_expert[sz(g * pl.slots_per_gpu + b)]) colocated.push_back(ea);
        }
    if (!colocated.empty())
      *note += fmt::format("; {} replica pair(s) share a GPU (EPLB does not forbid it), e.g. expert {}",
                           colocated.size(), colocated.front());
  }
  return pl;
}

}  // namespace epsim
