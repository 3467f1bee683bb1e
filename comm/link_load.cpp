#include "comm/link_load.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "common/error.hpp"
#include "common/limits.hpp"

namespace epsim {

EpLinkModel::EpLinkModel(const Topology& topology, const RouteTable& routes, int ep) : topology_(&topology), ep_(ep) {
  if (ep < 1 || ep > topology.num_gpus())
    throw InputError(fmt::format("EP size {} must be between 1 and the topology's {} GPUs", ep, topology.num_gpus()));
  if (ep > limits::kMaxEpRanks)
    throw InputError(fmt::format("EP {} GPUs: epsim evaluates all-to-alls over at most {} GPUs (docs/limits.md); the "
                                 "EP^2 routes of a larger one do not fit this machine's time and memory budget",
                                 ep, limits::kMaxEpRanks));
  const auto L = static_cast<std::size_t>(topology.num_links());
  bandwidth_Bps_.resize(L);
  for (std::size_t l = 0; l < L; ++l) bandwidth_Bps_[l] = topology.link(static_cast<int>(l)).bandwidth_GBps * 1e9;
  into_.resize(static_cast<std::size_t>(ep));
  out_of_.resize(static_cast<std::size_t>(ep));
  latency_into_s_.assign(static_cast<std::size_t>(ep), 0.0);
  latency_out_s_.assign(static_cast<std::size_t>(ep), 0.0);
  std::vector<double> dense_in(L, 0.0), dense_out(L, 0.0);
  std::vector<int> touched_in, touched_out;
  auto compress = [](std::vector<double>& dense, std::vector<int>& touched, LinkRow& row) {
    std::sort(touched.begin(), touched.end());
    row.reserve(touched.size());
    for (int l : touched) {
      row.emplace_back(l, dense[static_cast<std::size_t>(l)]);
      dense[static_cast<std::size_t>(l)] = 0.0;
    }
    touched.clear();
  };
  RouteScratch scratch;
  std::vector<RouteHop> hops;
  for (int d = 0; d < ep; ++d) {
    for (int s = 0; s < ep; ++s) {
      if (s == d) continue;
      hops.clear();
      double lat_in = routes.append_route(s, d, scratch, hops);
      for (const RouteHop& h : hops) {
        auto l = static_cast<std::size_t>(h.link);
        if (dense_in[l] == 0.0) touched_in.push_back(h.link);
        dense_in[l] += h.fraction;
      }
      hops.clear();
      double lat_out = routes.append_route(d, s, scratch, hops);
      for (const RouteHop& h : hops) {
        auto l = static_cast<std::size_t>(h.link);
        if (dense_out[l] == 0.0) touched_out.push_back(h.link);
        dense_out[l] += h.fraction;
      }
      latency_into_s_[static_cast<std::size_t>(d)] = std::max(latency_into_s_[static_cast<std::size_t>(d)], lat_in * 1e-9);
      latency_out_s_[static_cast<std::size_t>(d)] = std::max(latency_out_s_[static_cast<std::size_t>(d)], lat_out * 1e-9);
    }
    compress(dense_in, touched_in, into_[static_cast<std::size_t>(d)]);
    compress(dense_out, touched_out, out_of_[static_cast<std::size_t>(d)]);
  }
}

std::vector<double> exchange_link_bytes(const EpLinkModel& model, const std::vector<double>& gpu_tokens,
                                        double bytes_per_token, Exchange direction) {
  std::vector<double> bytes(static_cast<std::size_t>(model.num_links()), 0.0);
  const double per_token = bytes_per_token / model.ep();
  for (int d = 0; d < model.ep(); ++d) {
    double t = gpu_tokens[static_cast<std::size_t>(d)];
    if (t == 0.0) continue;
    const LinkRow& row = direction == Exchange::dispatch ? model.into(d) : model.out_of(d);
    for (const auto& [l, c] : row) bytes[static_cast<std::size_t>(l)] += t * per_token * c;
  }
  return bytes;
}

ExchangeCost exchange_cost(const EpLinkModel& model, const std::vector<double>& link_bytes,
                           const std::vector<double>& gpu_tokens, Exchange direction) {
  ExchangeCost cost;
  for (int l = 0; l < model.num_links(); ++l) {
    double b = link_bytes[static_cast<std::size_t>(l)];
    if (b <= 0) continue;
    double t = b / model.bandwidth_Bps(l);
    if (t > cost.bottleneck_s) {
      cost.bottleneck_s = t;
      cost.busiest_link = l;
      cost.busiest_link_bytes = b;
    }
  }
  if (cost.busiest_link < 0) return cost;  // nothing crosses the network
  for (int d = 0; d < model.ep(); ++d)
    if (gpu_tokens[static_cast<std::size_t>(d)] > 0)
      cost.latency_s = std::max(cost.latency_s, direction == Exchange::dispatch ? model.latency_into_s(d)
                                                                                 : model.latency_out_of_s(d));
  return cost;
}

}  // namespace epsim
