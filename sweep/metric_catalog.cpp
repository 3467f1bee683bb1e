#include "sweep/metric_catalog.hpp"

#include <array>

namespace epsim {

namespace {

constexpr std::array<MetricInfo, 16> kMetrics{{
    {"alltoall_us", "us", MetricSource::plan,
     "dispatch + combine time summed over the MoE layers (closed form: busiest link bytes / bandwidth + latency)"},
    {"dispatch_us", "us", MetricSource::plan, "dispatch all-to-all time summed over the MoE layers"},
    {"combine_us", "us", MetricSource::plan, "combine all-to-all time summed over the MoE layers"},
    {"worst_layer", "", MetricSource::plan, "layer with the slowest dispatch + combine"},
    {"max_gpu_tokens", "tokens", MetricSource::plan, "most tokens computed by one GPU in one layer (max over layers)"},
    {"mean_gpu_tokens", "tokens", MetricSource::plan, "mean tokens per GPU per layer"},
    {"gpu_imbalance", "", MetricSource::plan, "mean over layers of max / mean GPU tokens (1 = balanced)"},
    {"busiest_link", "", MetricSource::plan, "link busy longest over all layers' all-to-alls (src->dst)"},
    {"busiest_link_kind", "", MetricSource::plan, "nvlink, pcie, infiniband or ethernet"},
    {"busiest_link_GB", "GB", MetricSource::plan, "bytes on the busiest link over all layers, 1e9 bytes"},
    {"busiest_link_util", "", MetricSource::plan,
     "busiest link bytes / (bandwidth x alltoall time): 1 = it gates every layer"},
    {"plan_gap", "", MetricSource::plan, "sum over layers of the bottleneck-link time / sum of the certified lower bounds - 1"},
    {"iteration_us", "us", MetricSource::simulate, "simulated time of one iteration (simulate evaluator)"},
    {"exposed_comm_us", "us", MetricSource::simulate, "communication not hidden behind compute (simulate evaluator)"},
    {"tokens_per_s_per_gpu", "tokens/s", MetricSource::simulate, "throughput per GPU (simulate evaluator)"},
    {"latency_ms", "ms", MetricSource::simulate, "request latency (simulate evaluator)"},
}};

}  // namespace

std::span<const MetricInfo> metric_catalog() { return kMetrics; }

const MetricInfo* find_metric(std::string_view name) {
  for (const MetricInfo& m : kMetrics)
    if (m.name == name) return &m;
  return nullptr;
}

}  // namespace epsim
