#include "cuda_validate/prediction.hpp"

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>

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
    double bottleneck_s = 0;
    for (const RouteHop& h : routes.route(s.src, s.dst)) {
      const Link& link = topology.link(h.link);
      double bw = link.bandwidth_GBps;
      if (cal && cal->bandwidth_GBps && link.kind == *kind) bw = std::min(bw, *cal->bandwidth_GBps);
      bottleneck_s = std::max(bottleneck_s, h.fraction * s.bytes / (bw * 1e9));
    }
    const double latency_ns = cal && cal->latency_ns ? *cal->latency_ns : routes.latency_ns(s.src, s.dst);
    double predicted_s = bottleneck_s + latency_ns * 1e-9;
    out.push_back({fmt::format("p2p {} {}->{} {} B", s.link_class, s.src, s.dst, s.bytes), s.time_us, predicted_s * 1e6});
  }
  return out;
}

}  // namespace epsim::validate
