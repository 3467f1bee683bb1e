#include "comm/trace_traffic.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

#include "common/error.hpp"
#include "common/json_output.hpp"

namespace epsim {

int serving_rank(const std::vector<int>& gpus, int source, int token, const Topology& topology) {
  if (gpus.empty()) throw std::invalid_argument("serving_rank: expert has no replica");
  if (gpus.size() == 1) return gpus.front();
  if (std::binary_search(gpus.begin(), gpus.end(), source)) return source;
  const int host = topology.gpu_host(source);
  int on_node = 0;
  if (host >= 0)
    for (int g : gpus) on_node += topology.gpu_host(g) == host;
  if (on_node > 0) {
    int idx = token % on_node;
    for (int g : gpus)
      if (topology.gpu_host(g) == host && idx-- == 0) return g;
  }
  return gpus[static_cast<std::size_t>(token) % gpus.size()];
}

TraceTraffic trace_layer_traffic(const RouteTable& routes, const LayerPlacement& placement, const TraceLayer& layer,
                                 int top_k, int num_experts, double bytes_per_token, TokenDelivery delivery) {
  const Topology& topo = routes.topology();
  const int ep = placement.num_gpus;
  const int G = topo.num_gpus();
  const int H = topo.num_hosts();
  if (ep < 1 || ep > G) throw InputError(fmt::format("trace evaluation: EP {} outside the topology's {} GPUs", ep, G));
  std::vector<std::vector<int>> expert_gpus(static_cast<std::size_t>(num_experts));
  for (int e = 0; e < num_experts; ++e) expert_gpus[static_cast<std::size_t>(e)] = placement.gpus_of_expert(e);
  TraceTraffic r;
  r.link_bytes.assign(static_cast<std::size_t>(topo.num_links()), 0.0);
  r.gpu_tokens.assign(static_cast<std::size_t>(ep), 0.0);
  // first[s * G + d]: copies routed s -> d (direct, or first leg to a rail peer);
  // fwd[g * G + p]: copies forwarded from rail peer p to GPU g (g < ep).
  const std::size_t cells = static_cast<std::size_t>(ep) * static_cast<std::size_t>(G);
  std::vector<double> first(cells, 0.0), fwd;
  if (delivery == TokenDelivery::node_forwarding) fwd.assign(cells, 0.0);
  std::vector<int> peer_cache(static_cast<std::size_t>(ep) * static_cast<std::size_t>(std::max(H, 1)), -2);
  std::vector<int> dst, hosts_done;
  r.nodes_histogram.assign(static_cast<std::size_t>(top_k) + 1, 0.0);
  for (int t = 0; t < layer.num_tokens(); ++t) {
    const int src = layer.source[static_cast<std::size_t>(t)];
    if (src >= ep)
      throw InputError(fmt::format("trace layer {}: token {} comes from rank {} but EP is {}", layer.layer, t, src, ep));
    dst.clear();
    for (int e : layer.token_experts(t, top_k)) {
      if (e < 0 || e >= num_experts || expert_gpus[static_cast<std::size_t>(e)].empty())
        throw InputError(fmt::format("trace layer {}: token {} uses expert {} that the placement does not hold",
                                     layer.layer, t, e));
      int g = serving_rank(expert_gpus[static_cast<std::size_t>(e)], src, t, topo);
      r.gpu_tokens[static_cast<std::size_t>(g)] += 1;
      dst.push_back(g);
    }
    std::sort(dst.begin(), dst.end());
    dst.erase(std::unique(dst.begin(), dst.end()), dst.end());
    const int src_host = topo.gpu_host(src);
    hosts_done.clear();
    for (int g : dst)
      if (std::find(hosts_done.begin(), hosts_done.end(), topo.gpu_host(g)) == hosts_done.end())
        hosts_done.push_back(topo.gpu_host(g));
    r.nodes_histogram[std::min(hosts_done.size(), r.nodes_histogram.size() - 1)] += 1;
    hosts_done.clear();
    for (int g : dst) {
      if (g == src) continue;
      const int h = topo.gpu_host(g);
      int peer = -1;
      if (delivery == TokenDelivery::node_forwarding && h >= 0 && h != src_host) {
        int& c = peer_cache[static_cast<std::size_t>(src) * static_cast<std::size_t>(H) + static_cast<std::size_t>(h)];
        if (c == -2) c = routes.rail_peer(src, h);
        peer = c;
      }
      if (peer < 0) {
        first[static_cast<std::size_t>(src) * G + static_cast<std::size_t>(g)] += 1;
        continue;
      }
      if (std::find(hosts_done.begin(), hosts_done.end(), h) == hosts_done.end()) {
        hosts_done.push_back(h);
        first[static_cast<std::size_t>(src) * G + static_cast<std::size_t>(peer)] += 1;
      }
      if (g != peer) fwd[static_cast<std::size_t>(g) * G + static_cast<std::size_t>(peer)] += 1;
    }
  }
  // Expand each pair's route once, destination-major so that the scratch's caches hit.
  RouteScratch scratch;
  std::vector<RouteHop> hops;
  double lat_first = 0, lat_fwd = 0;
  auto add = [&](int s, int d, double copies, double& lat) {
    hops.clear();
    double ns = routes.append_route(s, d, scratch, hops);
    for (const RouteHop& h : hops) r.link_bytes[static_cast<std::size_t>(h.link)] += copies * bytes_per_token * h.fraction;
    if (!hops.empty()) lat = std::max(lat, ns * 1e-9);
  };
  for (int d = 0; d < G; ++d)
    for (int s = 0; s < ep; ++s) {
      double c = first[static_cast<std::size_t>(s) * G + static_cast<std::size_t>(d)];
      if (c > 0) add(s, d, c, lat_first);
    }
  if (!fwd.empty())
    for (int g = 0; g < ep; ++g)
      for (int p = 0; p < G; ++p) {
        double c = fwd[static_cast<std::size_t>(g) * G + static_cast<std::size_t>(p)];
        if (c > 0) add(p, g, c, lat_fwd);
      }
  r.latency_s = lat_first + lat_fwd;
  for (int l = 0; l < topo.num_links(); ++l) {
    double b = r.link_bytes[static_cast<std::size_t>(l)];
    if (b <= 0) continue;
    const Link& link = topo.link(l);
    int hs = topo.device(link.src).host, hd = topo.device(link.dst).host;
    if (hs >= 0 && hs != hd) r.cross_node_bytes += b;
    else if (hs >= 0 && hs == hd) r.intra_node_bytes += b;
    double s = b / (link.bandwidth_GBps * 1e9);
    if (s > r.bottleneck_s) {
      r.bottleneck_s = s;
      r.busiest_link = l;
      r.busiest_link_bytes = b;
    }
  }
  return r;
}

void accumulate(TraceEvaluation& total, const TraceTraffic& layer, int layer_index, const Topology& topology) {
  double worst_before = total.worst_layer >= 0 ? total.worst_time_s : -1;
  total.layers += 1;
  for (double t : layer.gpu_tokens) total.max_gpu_tokens = std::max(total.max_gpu_tokens, t);
  total.cross_node_bytes += layer.cross_node_bytes;
  total.intra_node_bytes += layer.intra_node_bytes;
  total.sum_bottleneck_s += layer.bottleneck_s;
  total.sum_dispatch_s += layer.time_s();
  if (total.nodes_histogram.size() < layer.nodes_histogram.size()) total.nodes_histogram.resize(layer.nodes_histogram.size(), 0.0);
  for (std::size_t n = 0; n < layer.nodes_histogram.size(); ++n) total.nodes_histogram[n] += layer.nodes_histogram[n];
  if (layer.time_s() > worst_before) {
    total.worst_layer = layer_index;
    total.worst_time_s = layer.time_s();
    total.worst_link = layer.busiest_link >= 0 ? topology.link_name(layer.busiest_link) : std::string();
  }
}


Json trace_evaluation_json(const TraceEvaluation& e) {
  Json j = Json::object();
  j["delivery"] = e.delivery;
  j["layers"] = e.layers;
  j["tokens"] = round_significant(e.tokens, 12);
  j["cross_node_bytes"] = round_significant(e.cross_node_bytes, 12);
  j["intra_node_bytes"] = round_significant(e.intra_node_bytes, 12);
  j["sum_bottleneck_us"] = round_significant(e.sum_bottleneck_s * 1e6, 12);
  j["sum_dispatch_us"] = round_significant(e.sum_dispatch_s * 1e6, 12);
  j["max_gpu_tokens"] = round_significant(e.max_gpu_tokens, 12);
  j["worst_layer"] = e.worst_layer;
  j["worst_layer_link"] = e.worst_link;
  double tokens = 0, sum = 0, over = 0, excess = 0;
  int max_nodes = 0;
  for (std::size_t n = 0; n < e.nodes_histogram.size(); ++n) {
    const double c = e.nodes_histogram[n];
    tokens += c;
    sum += c * static_cast<double>(n);
    if (c > 0) max_nodes = static_cast<int>(n);
    if (e.max_nodes_limit > 0 && static_cast<int>(n) > e.max_nodes_limit) {
      over += c;
      excess += c * static_cast<double>(static_cast<int>(n) - e.max_nodes_limit);
    }
  }
  Json nodes = {{"mean", round_significant(tokens > 0 ? sum / tokens : 0.0, 12)}, {"max", max_nodes}, {"histogram", e.nodes_histogram}};
  if (e.max_nodes_limit > 0) {
    nodes["limit"] = e.max_nodes_limit;
    nodes["tokens_over_limit"] = over;
    nodes["excess"] = excess;
  }
  j["nodes_per_token"] = nodes;
  return j;
}

TokenDelivery parse_delivery(const std::string& name) {
  if (name == "per-gpu") return TokenDelivery::per_gpu;
  if (name == "node-forwarding") return TokenDelivery::node_forwarding;
  throw SettingError("delivery", std::string(name), "per-gpu or node-forwarding");
}

TraceRouting trace_layer_routing(const Topology& topology, const LayerPlacement& placement, const TraceLayer& layer,
                                 int top_k, int num_experts) {
  const int ep = placement.num_gpus;
  if (ep < 1 || ep > topology.num_gpus())
    throw InputError(fmt::format("trace evaluation: EP {} outside the topology's {} GPUs", ep, topology.num_gpus()));
  std::vector<std::vector<int>> expert_gpus(static_cast<std::size_t>(num_experts));
  for (int e = 0; e < num_experts; ++e) expert_gpus[static_cast<std::size_t>(e)] = placement.gpus_of_expert(e);
  TraceRouting r;
  r.gpu_selections.assign(static_cast<std::size_t>(ep), 0.0);
  r.tokens = layer.num_tokens();
  // Stamps (token index + 1) count a GPU or host once per token.
  std::vector<int> gpu_seen(static_cast<std::size_t>(ep), 0);
  std::vector<int> host_seen(static_cast<std::size_t>(std::max(1, topology.num_hosts())) + 1, 0);
  double selections = 0, gpu_copies = 0, node_copies = 0;
  for (int t = 0; t < layer.num_tokens(); ++t) {
    const int src = layer.source[static_cast<std::size_t>(t)];
    if (src >= ep)
      throw InputError(fmt::format("trace layer {}: token {} comes from rank {} but EP is {}", layer.layer, t, src, ep));
    for (int e : layer.token_experts(t, top_k)) {
      if (e < 0 || e >= num_experts || expert_gpus[static_cast<std::size_t>(e)].empty())
        throw InputError(fmt::format("trace layer {}: token {} uses expert {} that the placement does not hold",
                                     layer.layer, t, e));
      const int g = serving_rank(expert_gpus[static_cast<std::size_t>(e)], src, t, topology);
      r.gpu_selections[static_cast<std::size_t>(g)] += 1;
      selections += 1;
      if (gpu_seen[static_cast<std::size_t>(g)] != t + 1) {
        gpu_seen[static_cast<std::size_t>(g)] = t + 1;
        gpu_copies += 1;
      }
      const auto h = static_cast<std::size_t>(topology.gpu_host(g) + 1);  // host -1 (unknown) has its own stamp
      if (host_seen[h] != t + 1) {
        host_seen[h] = t + 1;
        node_copies += 1;
      }
    }
  }
  r.routing.experts = num_experts;
  if (selections > 0) {
    r.routing.gpu_factor = gpu_copies / selections;
    r.routing.node_factor = node_copies / selections;
  }
  return r;
}

}  // namespace epsim
