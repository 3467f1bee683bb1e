#include "sweep/axis_catalog.hpp"

#include <array>

namespace epsim {

namespace {

constexpr std::array<AxisInfo, 13> kAxes{{
    {"model", "/model", AxisKind::path, "Hugging Face config.json of the MoE model"},
    {"phase", "/phase", AxisKind::phase, "prefill, decode or train"},
    {"tokens_per_gpu", "/tokens_per_gpu", AxisKind::non_negative,
     "tokens each GPU originates per iteration (loads are rescaled to it; 0 = counts as is)"},
    {"batch_per_gpu", "/batch_per_gpu", AxisKind::count, "requests per GPU (simulator only)"},
    {"fabric", "/topology/fabric", AxisKind::fabric, "rail_optimized (DGX SuperPOD) or fat_tree (one leaf per node group)"},
    {"nic_GBps", "/topology/nic_GBps", AxisKind::positive, "NIC bandwidth per direction, GB/s (ConnectX-7 = 50)"},
    {"oversubscription", "/topology/oversubscription", AxisKind::at_least_one, "leaf down-link : up-link ratio"},
    {"nodes", "/topology/nodes", AxisKind::count, "nodes of 8 GPUs (default: just enough for the layout)"},
    {"layout", "/parallel/layout", AxisKind::layout, "ep, or a TP x PP baseline without EP such as tp8xpp2"},
    {"ep", "/parallel/ep", AxisKind::count, "EP size = GPU ranks 0..ep-1"},
    {"redundant", "/parallel/redundant", AxisKind::count0,
     "extra expert slots for replicas of hot experts (EPLB); experts + redundant must divide over EP"},
    {"schedule", "/schedule", AxisKind::text, "overlap strategy (simulator only)"},
    {"placement", "/placement/algorithm", AxisKind::algorithm, "contiguous, greedy or epsim"},
}};

}  // namespace

std::span<const AxisInfo> axis_catalog() { return kAxes; }

const AxisInfo* find_axis(std::string_view name) {
  for (const AxisInfo& a : kAxes)
    if (a.name == name) return &a;
  return nullptr;
}

}  // namespace epsim
