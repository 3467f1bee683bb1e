#include "sweep/metric_catalog.hpp"

#include <array>

namespace epsim {

namespace {

constexpr std::array<MetricInfo, 27> kMetrics{{
    {"alltoall_us", "us", MetricSource::both,
     "dispatch + combine time summed over the MoE layers (plan: closed form, busiest link bytes / bandwidth + "
     "latency; simulate: exchange start to arrival at the critical GPU, summed over layers and micro-batches)"},
    {"dispatch_us", "us", MetricSource::both, "dispatch all-to-all time summed over the MoE layers"},
    {"combine_us", "us", MetricSource::both, "combine all-to-all time summed over the MoE layers"},
    {"worst_layer", "", MetricSource::plan, "layer with the slowest dispatch + combine"},
    {"max_gpu_tokens", "tokens", MetricSource::plan, "most tokens computed by one GPU in one layer (max over layers)"},
    {"mean_gpu_tokens", "tokens", MetricSource::plan, "mean tokens per GPU per layer"},
    {"gpu_imbalance", "", MetricSource::both,
     "mean over layers of max / mean GPU tokens of the plan (1 = balanced)"},
    {"busiest_link", "", MetricSource::both,
     "plan: link busy longest over all layers' all-to-alls; simulate: the most utilized link over the iteration "
     "(bytes / bandwidth; src->dst)"},
    {"busiest_link_kind", "", MetricSource::both, "nvlink, pcie, infiniband or ethernet"},
    {"busiest_link_GB", "GB", MetricSource::both, "bytes on the busiest link over all layers, 1e9 bytes"},
    {"busiest_link_util", "", MetricSource::both,
     "plan: busiest link bytes / (bandwidth x alltoall time), 1 = it gates every layer; simulate: busiest link "
     "bytes / (bandwidth x iteration time), the fraction of the iteration it is busy"},
    {"plan_gap", "", MetricSource::both, "sum over layers of the bottleneck-link time / sum of the certified lower bounds - 1"},
    {"iteration_us", "us", MetricSource::simulate, "simulated time of one iteration (one prefill or one decode step)"},
    {"exposed_comm_us", "us", MetricSource::simulate,
     "communication of the critical GPU not hidden behind its compute, summed over layers"},
    {"tokens_per_s_per_gpu", "tokens/s", MetricSource::simulate,
     "throughput per GPU: tokens of all replicas / iteration / GPUs (prefill: prompt tokens; decode: new tokens)"},
    {"latency_ms", "ms", MetricSource::simulate, "request latency: TTFT (prefill) or TPOT (decode) = the iteration time"},
    {"latency_kind", "", MetricSource::simulate, "ttft (prefill) or tpot (decode)"},
    {"exposed_comm_share", "", MetricSource::simulate, "exposed_comm_us / iteration_us"},
    {"busiest_link_tier", "", MetricSource::simulate,
     "tier of the busiest link: nvlink, pcie (GPU-NIC), nic (NIC-leaf InfiniBand) or spine (switch-switch)"},
    {"nvlink_util", "", MetricSource::simulate, "max over NVLink links of bytes / (bandwidth x iteration time)"},
    {"pcie_util", "", MetricSource::simulate, "max over PCIe (GPU-NIC) links of bytes / (bandwidth x iteration time)"},
    {"nic_util", "", MetricSource::simulate,
     "max over NIC-leaf InfiniBand links (both directions) of bytes / (bandwidth x iteration time)"},
    {"spine_util", "", MetricSource::simulate,
     "max over switch-switch InfiniBand links (leaf-spine, spine-core) of bytes / (bandwidth x iteration time)"},
    {"gpus", "GPUs", MetricSource::simulate, "GPUs of the layout: dp x tp x pp"},
    {"micro_batches", "", MetricSource::simulate, "micro-batches of the iteration"},
    {"sim_events", "", MetricSource::simulate, "simulator events executed (cost of the point)"},
    {"compute_us", "us", MetricSource::simulate, "compute wall time of the critical GPU, summed over layers"},
}};

}  // namespace

std::span<const MetricInfo> metric_catalog() { return kMetrics; }

}  // namespace epsim
