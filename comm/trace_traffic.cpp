#include "comm/trace_traffic.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

#include "common/error.hpp"

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

namespace {
double tidy(double v) {
  if (v == 0 || !std::isfinite(v)) return v;
  double scale = std::pow(10.0, 11 - static_cast<int>(std::floor(std::log10(std::fabs(v)))));
  return std::round(v * scale) / scale;
}
}  // namespace

Json trace_evaluation_json(const TraceEvaluation& e) {
  Json j = Json::object();
  j["delivery"] = e.delivery;
  j["layers"] = e.layers;
  j["tokens"] = tidy(e.tokens);
  j["cross_node_bytes"] = tidy(e.cross_node_bytes);
  j["intra_node_bytes"] = tidy(e.intra_node_bytes);
  j["sum_bottleneck_us"] = tidy(e.sum_bottleneck_s * 1e6);
  j["sum_dispatch_us"] = tidy(e.sum_dispatch_s * 1e6);
  j["max_gpu_tokens"] = tidy(e.max_gpu_tokens);
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
  Json nodes = {{"mean", tidy(tokens > 0 ? sum / tokens : 0.0)}, {"max", max_nodes}, {"histogram", e.nodes_histogram}};
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

}  // namespace epsim
