#include "placement/affinity.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "common/error.hpp"
#include "comm/trace_traffic.hpp"

namespace epsim {

namespace {
void check_pair(const Trace& trace, std::size_t i) {
  const TraceLayer& a = trace.layers[i];
  const TraceLayer& b = trace.layers[i + 1];
  if (a.source != b.source)
    throw InputError(trace.file, fmt::format("/layers/{}/source", i + 1),
                     fmt::format("the same tokens (count and sources) as layer {} for inter-layer affinity", a.layer));
}
}  // namespace

std::vector<LayerPairAffinity> inter_layer_affinity(const Trace& trace) {
  std::vector<LayerPairAffinity> out;
  const int E = trace.num_experts, k = trace.top_k;
  for (std::size_t i = 0; i + 1 < trace.layers.size(); ++i) {
    check_pair(trace, i);
    const TraceLayer& a = trace.layers[i];
    const TraceLayer& b = trace.layers[i + 1];
    LayerPairAffinity p;
    p.layer_from = a.layer;
    p.layer_to = b.layer;
    p.num_experts = E;
    p.shared.assign(static_cast<std::size_t>(E) * static_cast<std::size_t>(E), 0.0);
    for (int t = 0; t < a.num_tokens(); ++t)
      for (int e : a.token_experts(t, k))
        for (int e2 : b.token_experts(t, k)) p.shared[static_cast<std::size_t>(e) * E + static_cast<std::size_t>(e2)] += 1;
    out.push_back(std::move(p));
  }
  return out;
}

AffinityReport plan_affinity(const Trace& trace, const std::function<const LayerPlacement*(int)>& placement_of,
                             const Topology& topology, double bytes_per_token) {
  AffinityReport r;
  const int E = trace.num_experts, k = trace.top_k;
  std::vector<int> da, db, ha, hb;
  for (std::size_t i = 0; i + 1 < trace.layers.size(); ++i) {
    check_pair(trace, i);
    const TraceLayer& a = trace.layers[i];
    const TraceLayer& b = trace.layers[i + 1];
    const LayerPlacement* pa = placement_of(a.layer);
    const LayerPlacement* pb = placement_of(b.layer);
    if (!pa || !pb) continue;
    std::vector<std::vector<int>> ga(static_cast<std::size_t>(E)), gb(static_cast<std::size_t>(E));
    for (int e = 0; e < E; ++e) {
      ga[static_cast<std::size_t>(e)] = pa->gpus_of_expert(e);
      gb[static_cast<std::size_t>(e)] = pb->gpus_of_expert(e);
    }
    r.layer_pairs += 1;
    for (int t = 0; t < a.num_tokens(); ++t) {
      const int src = a.source[static_cast<std::size_t>(t)];
      da.clear();
      db.clear();
      for (int e : a.token_experts(t, k)) da.push_back(serving_rank(ga[static_cast<std::size_t>(e)], src, t, topology));
      for (int e : b.token_experts(t, k)) db.push_back(serving_rank(gb[static_cast<std::size_t>(e)], src, t, topology));
      for (int x : da)
        for (int y : db) {
          r.token_expert_pairs += 1;
          if (x == y) r.same_gpu_pairs += 1;
          if (topology.gpu_host(x) == topology.gpu_host(y)) r.same_node_pairs += 1;
        }
      auto uniq = [](std::vector<int>& v) {
        std::sort(v.begin(), v.end());
        v.erase(std::unique(v.begin(), v.end()), v.end());
      };
      ha.clear();
      hb.clear();
      for (int x : da) ha.push_back(topology.gpu_host(x));
      for (int y : db) hb.push_back(topology.gpu_host(y));
      uniq(da), uniq(db), uniq(ha), uniq(hb);
      for (int y : db) r.gpu_copies_saved += std::binary_search(da.begin(), da.end(), y);
      for (int h : hb) r.node_copies_saved += std::binary_search(ha.begin(), ha.end(), h);
    }
  }
  r.bytes_saved_gpu = r.gpu_copies_saved * bytes_per_token;
  r.bytes_saved_cross_node = r.node_copies_saved * bytes_per_token;
  return r;
}

Json affinity_report_json(const AffinityReport& r) {
  return Json{{"layer_pairs", r.layer_pairs},
              {"token_expert_pairs", r.token_expert_pairs},
              {"same_gpu_pairs", r.same_gpu_pairs},
              {"same_node_pairs", r.same_node_pairs},
              {"gpu_copies_saved", r.gpu_copies_saved},
              {"node_copies_saved", r.node_copies_saved},
              {"bytes_saved_gpu", r.bytes_saved_gpu},
              {"bytes_saved_cross_node", r.bytes_saved_cross_node},
              {"execution_model", "expert-to-expert hand-off (0 under combine-to-source DP attention)"}};
}

}  // namespace epsim
