#include "model/layer_placement.hpp"

#include <fmt/format.h>

#include "common/error.hpp"

namespace epsim {

std::vector<int> LayerPlacement::replica_counts(int num_experts) const {
  std::vector<int> r(static_cast<std::size_t>(num_experts), 0);
  for (int e : slot_expert)
    if (e >= 0 && e < num_experts) ++r[static_cast<std::size_t>(e)];
  return r;
}

std::vector<int> LayerPlacement::gpus_of_expert(int expert) const {
  std::vector<int> gpus;
  for (std::size_t p = 0; p < slot_expert.size(); ++p)
    if (slot_expert[p] == expert) gpus.push_back(gpu_of_slot(static_cast<int>(p)));
  return gpus;
}

int LayerPlacement::gpus_without_expert() const {
  if (slots_per_gpu <= 0) return 0;
  int idle = 0;
  for (int g = 0; g < num_gpus; ++g) {
    bool any = false;
    for (int u = 0; u < slots_per_gpu && !any; ++u)
      any = slot_expert[static_cast<std::size_t>(g) * static_cast<std::size_t>(slots_per_gpu) + static_cast<std::size_t>(u)] >= 0;
    idle += any ? 0 : 1;
  }
  return idle;
}

std::string idle_ranks_notice(int idle, int num_gpus, int num_experts, const std::string& where) {
  if (idle <= 0) return "";
  return fmt::format("EP ranks without an expert: {} of {} ({}: {} experts and their replicas fill {} ranks); such a "
                     "rank sends its tokens out and gets them back but receives none to compute",
                     idle, num_gpus, where, num_experts, num_gpus - idle);
}

std::string uneven_experts_notice(int num_experts, int num_gpus, const std::string& where) {
  if (num_gpus < 1 || num_experts < 1 || num_experts % num_gpus == 0) return "";
  const int fewer = num_experts / num_gpus;
  const std::string excess =
      fewer > 0 ? fmt::format(", so under uniform routing the fuller ranks receive {:.1f}% more tokens", 100.0 / fewer) : "";
  return fmt::format("EP {} does not divide the {} experts ({}: ranks hold {} or {}{}); DeepEP's kernels and SGLang's "
                     "EP need experts % EP == 0: plan with --redundant {} (or that plus a multiple of {}) to even them",
                     num_gpus, num_experts, where, fewer, fewer + 1, excess, num_gpus - num_experts % num_gpus, num_gpus);
}

LayerPlacement contiguous_placement(int num_experts, int num_gpus, int slots_per_gpu) {
  if (num_experts < 1 || num_gpus < 1 || slots_per_gpu < 1)
    throw InputError(fmt::format("contiguous placement: {} experts, {} ranks, {} slots per rank (each at least 1)",
                                 num_experts, num_gpus, slots_per_gpu));
  LayerPlacement pl{num_gpus, slots_per_gpu,
                    std::vector<int>(static_cast<std::size_t>(num_gpus) * static_cast<std::size_t>(slots_per_gpu), -1)};
  std::vector<int> used(static_cast<std::size_t>(num_gpus), 0);
  for (int e = 0; e < num_experts; ++e) {
    const int g = static_cast<int>(static_cast<long long>(e) * num_gpus / num_experts);
    int& u = used[static_cast<std::size_t>(g)];
    if (u >= slots_per_gpu)
      throw InputError(fmt::format("contiguous placement: rank {} has only {} slots for its experts", g, slots_per_gpu));
    pl.slot_expert[static_cast<std::size_t>(g) * static_cast<std::size_t>(slots_per_gpu) + static_cast<std::size_t>(u)] = e;
    ++u;
  }
  return pl;
}

std::vector<double> gpu_token_loads(const LayerPlacement& placement, const std::vector<double>& load) {
  auto replicas = placement.replica_counts(static_cast<int>(load.size()));
  std::vector<double> out(static_cast<std::size_t>(placement.num_gpus), 0.0);
  for (std::size_t p = 0; p < placement.slot_expert.size(); ++p) {
    int e = placement.slot_expert[p];
    if (e < 0) continue;
    out[static_cast<std::size_t>(placement.gpu_of_slot(static_cast<int>(p)))] +=
        load[static_cast<std::size_t>(e)] / replicas[static_cast<std::size_t>(e)];
  }
  return out;
}

void check_placement(const LayerPlacement& pl, int num_experts, const std::string& what) {
  if (static_cast<int>(pl.slot_expert.size()) != pl.num_gpus * pl.slots_per_gpu)
    throw InputError(fmt::format("{}: {} slots, expected {} GPUs x {} slots", what, pl.slot_expert.size(), pl.num_gpus,
                                 pl.slots_per_gpu));
  for (int e : pl.slot_expert)
    if (e < -1 || e >= num_experts) throw InputError(fmt::format("{}: slot holds unknown expert {}", what, e));
  auto replicas = pl.replica_counts(num_experts);
  for (int e = 0; e < num_experts; ++e)
    if (replicas[static_cast<std::size_t>(e)] == 0) throw InputError(fmt::format("{}: expert {} has no slot", what, e));
  for (int g = 0; g < pl.num_gpus; ++g)
    for (int a = 0; a < pl.slots_per_gpu; ++a)
      for (int b = a + 1; b < pl.slots_per_gpu; ++b) {
        int ea = pl.slot_expert[static_cast<std::size_t>(g * pl.slots_per_gpu + a)];
        if (ea >= 0 && ea == pl.slot_expert[static_cast<std::size_t>(g * pl.slots_per_gpu + b)])
          throw InputError(fmt::format("{}: GPU {} holds two replicas of expert {}", what, g, ea));
      }
}

}  // namespace epsim
