#include "cuda_validate/prediction.hpp"

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>

#include "comm/point_to_point.hpp"
#include "common/error.hpp"

namespace epsim::validate {

std::vector<Comparison> compare_with_model(const Measurements& m, const Topology& topology, const RouteTable& routes,
                                           const ExchangeKernelParams& nccl, const Calibration* calibration) {
  if (nccl.kind != ExchangeKernelKind::nccl)
    throw std::invalid_argument("compare_with_model: the harness times NCCL all-to-all-v: nccl kernel parameters");
  if (m.num_gpus > topology.num_gpus())
    throw InputError(m.file, "/num_gpus",
                     fmt::format("at most the {} GPUs of the topology, found {}", topology.num_gpus(), m.num_gpus));
  std::vector<Comparison> out;
  if (!m.alltoall.empty()) {
    // The harness times NCCL all-to-all-v (ncclSend/ncclRecv groups): the nccl kernel model.
    EpLinkModel links(topology, routes, m.num_gpus, nccl);
    for (const AllToAllSample& s : m.alltoall) {
      auto bytes = exchange_link_bytes(links, s.gpu_tokens, static_cast<double>(s.bytes_per_token), s.direction);
      ExchangeCost cost =
          exchange_cost(links, bytes, s.gpu_tokens, static_cast<double>(s.bytes_per_token), s.direction);
      out.push_back({fmt::format("alltoallv {} layer {}", s.direction == Exchange::dispatch ? "dispatch" : "combine",
                                 s.layer),
                     s.time_us, cost.time_s() * 1e6});
    }
  }
  for (const P2pSample& s : m.p2p) {
    // The calibration of the sample's link class (what calibrate fitted t = latency + bytes / bandwidth to).
    const LinkCalibration* cal = nullptr;
    const auto kind = parse_link_kind(s.link_class);
    if (calibration && kind) {
      auto it = calibration->links.find(*kind);
      if (it != calibration->links.end()) cal = &it->second;
    }
    const double predicted_s = point_to_point_time_s(routes, s.src, s.dst, static_cast<double>(s.bytes), cal,
                                                     kind.value_or(LinkKind::nvlink));
    out.push_back({fmt::format("p2p {} {}->{} {} B", s.link_class, s.src, s.dst, s.bytes), s.time_us, predicted_s * 1e6});
  }
  return out;
}

}  // namespace epsim::validate
