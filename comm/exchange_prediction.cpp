#include "comm/exchange_prediction.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace epsim {

namespace {

ExchangeDirectionPrediction predict_direction(const EpLinkModel& links, const std::vector<double>& gpu_tokens,
                                              double bytes_per_token, Exchange direction) {
  ExchangeDirectionPrediction d;
  const std::vector<double> bytes = exchange_link_bytes(links, gpu_tokens, bytes_per_token, direction);
  // The exchange ends when its last rank ends (sim/closed_form_exchange.cpp does the same per rank).
  for (int g = 0; g < links.ep(); ++g) {
    const ExchangeCost c = exchange_cost(links, bytes, gpu_tokens, bytes_per_token, direction, g);
    if (c.phase.time_us > d.time_us) {
      d.time_us = c.phase.time_us;
      d.last_rank = g;
      d.phase = c.phase;
    }
  }
  if (d.last_rank >= 0) {
    if (direction == Exchange::dispatch) d.notify_us = notify_time_us(links.kernel(), links.nodes());
    d.bottleneck = std::string(d.phase.bottleneck);
    if (d.bottleneck == "latency" && 2 * d.phase.per_message_us >= d.phase.latency_us) d.bottleneck = "per-message";
  }
  const Topology& topo = links.topology();
  for (int l = 0; l < links.num_links(); ++l) {
    const double b = bytes[static_cast<std::size_t>(l)];
    if (b <= 0) continue;
    const double us = b / links.bandwidth_Bps(l, direction) * 1e6;
    if (us > d.busiest_link_us) {
      d.busiest_link_us = us;
      d.busiest_link = l;
      d.busiest_link_bytes = b;
    }
  }
  // Bytes through each EP rank's own ports: links whose source (sent) or destination (received) is its GPU.
  std::vector<double> sent(static_cast<std::size_t>(links.ep()), 0.0), received = sent;
  std::vector<int> rank_of_device(static_cast<std::size_t>(topo.num_devices()), -1);
  for (int g = 0; g < links.ep(); ++g) rank_of_device[static_cast<std::size_t>(topo.gpu_device(links.base() + g))] = g;
  for (int l = 0; l < links.num_links(); ++l) {
    const Link& k = topo.link(l);
    const double b = bytes[static_cast<std::size_t>(l)];
    if (const int s = rank_of_device[static_cast<std::size_t>(k.src)]; s >= 0) sent[static_cast<std::size_t>(s)] += b;
    if (const int r = rank_of_device[static_cast<std::size_t>(k.dst)]; r >= 0) received[static_cast<std::size_t>(r)] += b;
  }
  for (int g = 0; g < links.ep(); ++g) {
    d.gpu_sent_bytes_max = std::max(d.gpu_sent_bytes_max, sent[static_cast<std::size_t>(g)]);
    d.gpu_received_bytes_max = std::max(d.gpu_received_bytes_max, received[static_cast<std::size_t>(g)]);
    d.gpu_sent_bytes_mean += sent[static_cast<std::size_t>(g)] / links.ep();
    d.gpu_received_bytes_mean += received[static_cast<std::size_t>(g)] / links.ep();
  }
  return d;
}

}  // namespace

ExchangePrediction predict_exchange(const EpLinkModel& links, const std::vector<double>& gpu_tokens,
                                    double dispatch_bytes_per_token, double combine_bytes_per_token) {
  if (static_cast<int>(gpu_tokens.size()) != links.ep())
    throw std::invalid_argument("predict_exchange: one selection count per EP rank");
  for (double t : gpu_tokens)
    if (!(t >= 0) || !std::isfinite(t)) throw std::invalid_argument("predict_exchange: negative or non-finite selections");
  for (double b : {dispatch_bytes_per_token, combine_bytes_per_token})
    if (!(b > 0) || !std::isfinite(b)) throw std::invalid_argument("predict_exchange: bytes per token must be positive");
  ExchangePrediction p;
  p.dispatch = predict_direction(links, gpu_tokens, dispatch_bytes_per_token, Exchange::dispatch);
  p.combine = predict_direction(links, gpu_tokens, combine_bytes_per_token, Exchange::combine);
  for (double t : gpu_tokens) {
    p.rank_selections_max = std::max(p.rank_selections_max, t);
    p.rank_selections_mean += t / links.ep();
  }
  return p;
}

AlltoallPrediction predict_alltoall(const EpLinkModel& links, double bytes_per_rank) {
  const int n = links.ep();
  if (n < 2) throw std::invalid_argument("predict_alltoall: at least 2 ranks");
  if (!(bytes_per_rank > 0) || !std::isfinite(bytes_per_rank))
    throw std::invalid_argument("predict_alltoall: the size must be positive and finite");
  // Every rank holds n tokens of size / n bytes, one for each rank (itself included).
  const std::vector<double> tokens(static_cast<std::size_t>(n), static_cast<double>(n));
  const double per_copy = bytes_per_rank / n;
  AlltoallPrediction out;
  out.cost = exchange_cost(links, exchange_link_bytes(links, tokens, per_copy, Exchange::dispatch), tokens, per_copy,
                           Exchange::dispatch);
  out.algbw_GBps = bytes_per_rank / (out.cost.phase.time_us * 1e3);
  out.busbw_GBps = out.algbw_GBps * (n - 1) / n;
  return out;
}

}  // namespace epsim
