#include "placement/export.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "common/error.hpp"

namespace epsim {

namespace {
void require_full(const LayerResult& l) {
  for (std::size_t p = 0; p < l.placement.slot_expert.size(); ++p)
    if (l.placement.slot_expert[p] < 0)
      throw InputError(fmt::format("layer {}: physical slot {} is empty, and deployments need every slot filled "
                                   "(plan contiguous with --redundant 0, or use greedy/epsim)",
                                   l.layer, p));
}
}  // namespace

Json export_sglang(const Plan& plan, const MoeModel& model) {
  const int slots = plan.settings.ep * plan.slots_per_gpu;
  Json rows = Json::array();
  std::size_t next = 0;
  for (int layer = 0; layer < model.num_layers; ++layer) {
    if (next < plan.chosen.layers.size() && plan.chosen.layers[next].layer == layer) {
      const LayerResult& l = plan.chosen.layers[next++];
      require_full(l);
      rows.push_back(l.placement.slot_expert);
    } else {
      std::vector<int> row(static_cast<std::size_t>(slots));
      for (int s = 0; s < slots; ++s) row[static_cast<std::size_t>(s)] = s % plan.num_experts;
      rows.push_back(std::move(row));
    }
  }
  return Json{{"physical_to_logical_map", std::move(rows)}};
}

Json export_eplb(const Plan& plan) {
  Json layers = Json::array(), phy2log = Json::array(), log2phy = Json::array(), logcnt = Json::array();
  for (const LayerResult& l : plan.chosen.layers) {
    require_full(l);
    layers.push_back(l.layer);
    phy2log.push_back(l.placement.slot_expert);
    std::vector<int> counts = l.placement.replica_counts(plan.num_experts);
    int max_replicas = *std::max_element(counts.begin(), counts.end());
    std::vector<std::vector<int>> table(static_cast<std::size_t>(plan.num_experts),
                                        std::vector<int>(static_cast<std::size_t>(max_replicas), -1));
    std::vector<int> filled(static_cast<std::size_t>(plan.num_experts), 0);
    for (std::size_t p = 0; p < l.placement.slot_expert.size(); ++p) {
      auto e = static_cast<std::size_t>(l.placement.slot_expert[p]);
      table[e][static_cast<std::size_t>(filled[e]++)] = static_cast<int>(p);
    }
    log2phy.push_back(table);
    logcnt.push_back(counts);
  }
  return Json{{"layers", layers}, {"phy2log", phy2log}, {"log2phy", log2phy}, {"logcnt", logcnt}};
}

}  // namespace epsim
