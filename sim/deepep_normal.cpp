#include "sim/deepep_normal.hpp"

#include <algorithm>
#include <functional>
#include <map>
#include <random>
#include <stdexcept>
#include <utility>
#include <vector>

#include "comm/node_forwarding.hpp"

namespace epsim {
namespace {

// Top-k experts of one token, DeepEP test style: scores i.i.d.; experts are grouped by node (group
// n = experts [n E/N, (n+1) E/N)); the `groups` groups with the largest maximum score are allowed;
// the `topk` best allowed experts are chosen. Writes the GPU ranks hosting them (duplicates kept).
class TokenRouter {
 public:
  TokenRouter(const DeepEpBenchmark& b, int gpus, int nodes) : b_(b), gpus_(gpus), nodes_(nodes) {
    groups_ = b.topk_groups > 0 ? std::min(b.topk_groups, nodes) : std::min(nodes, 4);
    scores_.resize(static_cast<std::size_t>(b.experts));
  }
  void route(std::mt19937_64& rng, std::vector<int>& dst_gpus) {
    for (auto& s : scores_) s = rng();
    const int per_group = b_.experts / nodes_;
    group_order_.clear();
    for (int g = 0; g < nodes_; ++g) {
      auto first = scores_.begin() + static_cast<std::ptrdiff_t>(g) * per_group;
      group_order_.push_back({*std::max_element(first, first + per_group), g});
    }
    std::partial_sort(group_order_.begin(), group_order_.begin() + groups_, group_order_.end(), std::greater<>());
    candidates_.clear();
    for (int k = 0; k < groups_; ++k) {
      const int g = group_order_[static_cast<std::size_t>(k)].second;
      for (int e = g * per_group; e < (g + 1) * per_group; ++e) candidates_.push_back({scores_[static_cast<std::size_t>(e)], e});
    }
    std::nth_element(candidates_.begin(), candidates_.begin() + (b_.topk - 1), candidates_.end(), std::greater<>());
    dst_gpus.clear();
    const int experts_per_gpu = b_.experts / gpus_;
    for (int k = 0; k < b_.topk; ++k) dst_gpus.push_back(candidates_[static_cast<std::size_t>(k)].second / experts_per_gpu);
  }
  int groups() const { return groups_; }

 private:
  const DeepEpBenchmark& b_;
  int gpus_, nodes_, groups_ = 1;
  std::vector<std::uint64_t> scores_;
  std::vector<std::pair<std::uint64_t, int>> group_order_, candidates_;
};

}  // namespace

DeepEpPrediction predict_deepep_normal(const RouteTable& routes, const DeepEpBenchmark& bench,
                                       const CollectiveParams& params) {
  const Topology& topo = routes.topology();
  const int gpus = topo.num_gpus();
  const int nodes = topo.num_hosts();
  if (gpus < 1 || nodes < 1 || gpus % nodes != 0)
    throw std::invalid_argument("predict_deepep_normal: the topology needs hosts with equal GPU counts");
  if (bench.tokens_per_gpu < 1 || bench.hidden < 1 || bench.topk < 1 || bench.experts % gpus != 0 ||
      bench.experts % nodes != 0)
    throw std::invalid_argument("predict_deepep_normal: tokens, hidden and topk must be >= 1 and experts a multiple of the GPU count");
  for (int g = 0; g < gpus; ++g)
    if (topo.gpu_host(g) != g / (gpus / nodes))
      throw std::invalid_argument("predict_deepep_normal: GPU ranks must be numbered host by host");
  TokenRouter router(bench, gpus, nodes);
  if (bench.topk > router.groups() * (bench.experts / nodes))
    throw std::invalid_argument("predict_deepep_normal: topk exceeds the experts of the allowed groups");

  // Reverse link of every link (combine runs the dispatch traffic backwards).
  std::map<std::pair<int, int>, int> by_ends;
  for (int l = 0; l < topo.num_links(); ++l) by_ends[{topo.link(l).src, topo.link(l).dst}] = l;
  std::vector<int> reverse(static_cast<std::size_t>(topo.num_links()));
  for (int l = 0; l < topo.num_links(); ++l) {
    auto it = by_ends.find({topo.link(l).dst, topo.link(l).src});
    if (it == by_ends.end()) throw std::invalid_argument("predict_deepep_normal: a link has no reverse link");
    reverse[static_cast<std::size_t>(l)] = it->second;
  }

  // Token copies on every link (bytes = 1 per token), and DeepEP's per-rank byte counts in tokens.
  std::vector<double> link_tokens(static_cast<std::size_t>(topo.num_links()), 0.0);
  double received_copies = 0;  // all ranks: (token, destination GPU) pairs, self included
  double node_pairs = 0;       // all ranks: (token, destination node) pairs, own node included
  RouteScratch scratch;
  std::vector<int> dst, dst_nodes;
  const int gpus_per_node = gpus / nodes;
  // NVLink-stage copies per GPU (tokens): issued (sender / forwarder) and received, self included.
  std::vector<double> copies_out(static_cast<std::size_t>(gpus), 0.0), copies_in(static_cast<std::size_t>(gpus), 0.0);
  for (int src = 0; src < gpus; ++src) {
    std::mt19937_64 rng(bench.seed * 0x9E3779B97F4A7C15ULL + static_cast<std::uint64_t>(src));
    for (int t = 0; t < bench.tokens_per_gpu; ++t) {
      router.route(rng, dst);
      std::sort(dst.begin(), dst.end());
      dst.erase(std::unique(dst.begin(), dst.end()), dst.end());
      received_copies += static_cast<double>(dst.size());
      dst_nodes.clear();
      for (int g : dst) dst_nodes.push_back(g / gpus_per_node);
      node_pairs += static_cast<double>(std::unique(dst_nodes.begin(), dst_nodes.end()) - dst_nodes.begin());
      add_token_link_bytes(routes, src, dst, 1.0, TokenDelivery::node_forwarding, scratch, link_tokens);
      // The NVLink-stage sender of each copy, as add_token_link_bytes routes it: at home the source
      // itself; elsewhere the destination host's GPU on the source's rail (RouteTable::rail_peer),
      // or the source when that host has none (sent directly).
      for (int g : dst) {
        const int host = topo.gpu_host(g);
        const int peer = host == topo.gpu_host(src) ? -1 : routes.rail_peer(src, host);
        const int forwarder = peer >= 0 ? peer : src;
        copies_out[static_cast<std::size_t>(forwarder)] += 1.0;
        copies_in[static_cast<std::size_t>(g)] += 1.0;
      }
    }
  }

  const CollectiveModel model(topo, routes, params);
  const double fp8_bytes = bench.hidden * (1.0 + 4.0 / 128.0);  // e4m3 values + one fp32 scale per 128
  const double bf16_bytes = bench.hidden * 2.0;
  DeepEpPrediction p;
  double dispatch_s = 0, combine_s = 0;
  for (int l = 0; l < topo.num_links(); ++l) {
    const Link& link = topo.link(l);
    const double bw_Bps = model.effective_bandwidth_GBps(link) * 1e9;
    const double d = link_tokens[static_cast<std::size_t>(l)] * fp8_bytes / bw_Bps;
    const double c = link_tokens[static_cast<std::size_t>(reverse[static_cast<std::size_t>(l)])] * bf16_bytes / bw_Bps;
    if (d > dispatch_s) {
      dispatch_s = d;
      p.bottleneck = link.kind;
    }
    combine_s = std::max(combine_s, c);
    if (link.kind == LinkKind::nvlink) p.nvlink_time_us = std::max(p.nvlink_time_us, d * 1e6);
    if (link.kind == LinkKind::infiniband || link.kind == LinkKind::ethernet)
      p.network_time_us = std::max(p.network_time_us, d * 1e6);
  }
  if (bench.nvl_copy_GBps > 0) {
    // Combine runs the copies backwards: the busiest GPU is the same, in the other direction.
    const double busiest = std::max(*std::max_element(copies_out.begin(), copies_out.end()),
                                    *std::max_element(copies_in.begin(), copies_in.end()));
    const double copy_dispatch_s = busiest * fp8_bytes / (bench.nvl_copy_GBps * 1e9);
    const double copy_combine_s = busiest * bf16_bytes / (bench.nvl_copy_GBps * 1e9);
    p.nvl_copy_time_us = copy_dispatch_s * 1e6;
    p.nvlink_time_us = std::max(p.nvlink_time_us, p.nvl_copy_time_us);
    if (copy_dispatch_s > dispatch_s) {
      dispatch_s = copy_dispatch_s;
      p.bottleneck = LinkKind::nvlink;
    }
    combine_s = std::max(combine_s, copy_combine_s);
  }
  if (dispatch_s <= 0 || combine_s <= 0) throw std::invalid_argument("predict_deepep_normal: no traffic crosses a link");
  // DeepEP's counts, per rank on average: intranode = received copies; internode = node pairs.
  const double counted = (nodes == 1 ? received_copies : node_pairs) / gpus;
  p.tokens_per_node_pair = node_pairs / (static_cast<double>(gpus) * bench.tokens_per_gpu);
  p.dispatch_time_us = dispatch_s * 1e6;
  p.combine_time_us = combine_s * 1e6;
  p.dispatch_GBps = counted * fp8_bytes / dispatch_s / 1e9;
  p.combine_GBps = counted * bf16_bytes / combine_s / 1e9;
  return p;
}

}  // namespace epsim
