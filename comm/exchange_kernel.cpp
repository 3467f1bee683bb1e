#include "comm/exchange_kernel.hpp"

#include <array>

#include <fmt/format.h>

#include "comm/kernels/kernel_defaults.hpp"
#include "common/error.hpp"

namespace epsim {

namespace {
constexpr std::array<std::string_view, 6> kNames = {"nccl",         "deepep-normal", "deepep-ll", "nvlink-one-sided",
                                                    "hierarchical", "hybrid-ep"};
}

std::span<const std::string_view> exchange_kernel_names() { return kNames; }

const std::vector<std::string>& exchange_kernel_name_list() {
  static const std::vector<std::string> names(kNames.begin(), kNames.end());
  return names;
}

std::string_view to_string(ExchangeKernelKind kind) { return kNames[static_cast<std::size_t>(kind)]; }

ExchangeKernelKind parse_exchange_kernel(std::string_view name) {
  for (std::size_t i = 0; i < kNames.size(); ++i)
    if (kNames[i] == name) return static_cast<ExchangeKernelKind>(i);
  throw UsageError(fmt::format("unknown exchange kernel '{}' (expected one of: {})", name, fmt::join(kNames, ", ")));
}

ExchangeKernelKind default_exchange_kernel(bool decode) {
  return decode ? ExchangeKernelKind::deepep_ll : ExchangeKernelKind::deepep_normal;
}

ExchangeKernelParams default_kernel_params(ExchangeKernelKind kind) {
  switch (kind) {
    case ExchangeKernelKind::nccl: return kernels::nccl_defaults();
    case ExchangeKernelKind::deepep_normal: return kernels::deepep_normal_defaults();
    case ExchangeKernelKind::deepep_ll: return kernels::deepep_ll_defaults();
    case ExchangeKernelKind::nvlink_one_sided: return kernels::nvlink_one_sided_defaults();
    case ExchangeKernelKind::hierarchical: return kernels::hierarchical_defaults();
    case ExchangeKernelKind::hybrid_ep: return kernels::hybrid_ep_defaults();
  }
  return kernels::deepep_normal_defaults();
}

ExchangeKernelParams kernel_for_nodes(ExchangeKernelParams kernel, int nodes) {
  if (nodes == 1 && kernel.one_node) {
    kernel.dispatch = kernel.one_node->dispatch;
    kernel.combine = kernel.one_node->combine;
  }
  kernel.one_node.reset();
  return kernel;
}

KernelDelivery kernel_delivery(ExchangeKernelKind kind) {
  switch (kind) {
    case ExchangeKernelKind::nccl:
    case ExchangeKernelKind::deepep_ll: return KernelDelivery::per_expert;
    case ExchangeKernelKind::nvlink_one_sided: return KernelDelivery::per_gpu;
    case ExchangeKernelKind::deepep_normal:
    case ExchangeKernelKind::hybrid_ep: return KernelDelivery::node_forwarding;
    case ExchangeKernelKind::hierarchical: return KernelDelivery::two_phase;
  }
  return KernelDelivery::per_expert;
}

KernelSmUsage kernel_sm_usage(const ExchangeKernelParams& params) {
  if (params.kind == ExchangeKernelKind::deepep_ll) return {params.sms, 0};
  return {params.sms, params.sms};
}

}  // namespace epsim
