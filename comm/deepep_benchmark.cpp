#include "comm/deepep_benchmark.hpp"

#include <algorithm>
#include <stdexcept>
#include <vector>

#include "comm/token_router.hpp"

namespace epsim {

DeepEpPrediction predict_deepep_normal(const RouteTable& routes, const DeepEpBenchmark& bench,
                                       ExchangeKernelParams kernel) {
  const Topology& topo = routes.topology();
  const int gpus = topo.num_gpus();
  const int nodes = topo.num_hosts();
  if (gpus < 1 || nodes < 1 || gpus % nodes != 0)
    throw std::invalid_argument("predict_deepep_normal: the topology needs hosts with equal GPU counts");
  if (bench.tokens_per_gpu < 1 || bench.hidden < 1 || bench.topk < 1 || bench.sms < 1 || bench.experts % gpus != 0 ||
      bench.experts % nodes != 0)
    throw std::invalid_argument(
        "predict_deepep_normal: tokens, hidden, topk and sms must be >= 1 and experts a multiple of the GPU count");
  const int gpus_per_node = gpus / nodes;
  for (int g = 0; g < gpus; ++g)
    if (topo.gpu_host(g) != g / gpus_per_node)
      throw std::invalid_argument("predict_deepep_normal: GPU ranks must be numbered host by host");
  const int groups = bench.topk_groups > 0 ? std::min(bench.topk_groups, nodes) : std::min(nodes, 4);
  if (bench.topk > groups * (bench.experts / nodes))
    throw std::invalid_argument("predict_deepep_normal: topk exceeds the experts of the allowed groups");

  // The benchmark's routing: experts in rank-contiguous blocks, grouped by node.
  DeepEpPrediction p;
  p.routing = uniform_routing_statistics(bench.experts, bench.topk, nodes, groups, gpus, gpus_per_node,
                                         bench.tokens_per_gpu * gpus, bench.seed, GroupScore::max);
  kernel.sms = bench.sms;
  const EpLinkModel model(topo, routes, gpus, kernel, p.routing);
  // Every rank computes tokens_per_gpu x topk selections (i.i.d. routing over equal blocks).
  const std::vector<double> gpu_tokens(static_cast<std::size_t>(gpus),
                                       static_cast<double>(bench.tokens_per_gpu) * bench.topk);
  const double fp8_bytes = bench.hidden * (1.0 + 4.0 / 128.0);  // e4m3 values + one fp32 scale per 128
  const double bf16_bytes = bench.hidden * 2.0;

  const auto dispatch_bytes = exchange_link_bytes(model, gpu_tokens, fp8_bytes, Exchange::dispatch);
  const ExchangeCost dispatch = exchange_cost(model, dispatch_bytes, gpu_tokens, fp8_bytes, Exchange::dispatch);
  const auto combine_bytes = exchange_link_bytes(model, gpu_tokens, bf16_bytes, Exchange::combine);
  const ExchangeCost combine = exchange_cost(model, combine_bytes, gpu_tokens, bf16_bytes, Exchange::combine);
  if (!(dispatch.time_s() > 0) || !(combine.time_s() > 0))
    throw std::invalid_argument("predict_deepep_normal: the exchange moves nothing");

  for (int l = 0; l < topo.num_links(); ++l) {
    const double t_us = dispatch_bytes[static_cast<std::size_t>(l)] / model.bandwidth_Bps(l, Exchange::dispatch) * 1e6;
    const LinkKind kind = topo.link(l).kind;
    if (kind == LinkKind::nvlink) p.nvlink_time_us = std::max(p.nvlink_time_us, t_us);
    if (is_network_link(kind)) p.network_time_us = std::max(p.network_time_us, t_us);
  }
  p.bottleneck = dispatch.phase.bottleneck;
  if (dispatch.busiest_link >= 0) p.bottleneck_kind = topo.link(dispatch.busiest_link).kind;
  p.sm_time_us = dispatch.phase.sm_us;
  p.latency_us = dispatch.phase.latency_us;
  p.dispatch_time_us = dispatch.time_s() * 1e6;
  p.combine_time_us = combine.time_s() * 1e6;
  // DeepEP's counts per rank: intranode = received copies (self included); internode = node pairs.
  const double per_rank_selections = static_cast<double>(bench.tokens_per_gpu) * bench.topk;
  const double counted = per_rank_selections * (nodes == 1 ? p.routing.gpu_factor : p.routing.node_factor);
  p.tokens_per_node_pair = bench.topk * p.routing.node_factor;
  p.dispatch_GBps = counted * fp8_bytes / dispatch.time_s() / 1e9;
  p.combine_GBps = counted * bf16_bytes / combine.time_s() / 1e9;
  return p;
}

}  // namespace epsim
