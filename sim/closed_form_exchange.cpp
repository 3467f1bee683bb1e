#include "sim/closed_form_exchange.hpp"

#include <algorithm>
#include <cmath>
#include <unordered_map>

namespace epsim {

ClosedFormExchange::ClosedFormExchange(const Topology& topology, const RouteTable& routes, ExchangeKernelParams kernel)
    : routes_(routes), load_(topology), topology_(topology), kernel_(std::move(kernel)) {
  link_bytes_.assign(load_.bandwidth_Bps().size(), 0.0);
}

void ClosedFormExchange::arrival_offsets(const std::vector<Transfer>& transfers, std::vector<Time>& out) {
  detail::validate_transfers(transfers, routes_);
  out.assign(transfers.size(), Time());
  load_.add_transfers(routes_, transfers);
  for (std::size_t i = 0; i < transfers.size(); ++i) {
    const Transfer& t = transfers[i];
    if (t.src_gpu == t.dst_gpu || t.bytes == 0) continue;
    out[i] = detail::route_latency(routes_, t.src_gpu, t.dst_gpu) +
             Time::from_ps_ceil(load_.worst_ps(routes_.route(t.src_gpu, t.dst_gpu)));
  }
  load_.drain([&](int l, double b) { link_bytes_[static_cast<std::size_t>(l)] += b; });
}

void ClosedFormExchange::arrival_offsets(const std::vector<Transfer>& transfers, std::vector<Time>& out,
                                         const void* shape, double scale) {
  if (shape == nullptr || !(scale > 0)) return arrival_offsets(transfers, out);
  auto it = std::find_if(shapes_.begin(), shapes_.end(),
                         [&](const Shape& s) { return s.key == shape && s.transfers == transfers.size(); });
  if (it == shapes_.end()) {
    detail::validate_transfers(transfers, routes_);
    Shape s;
    s.key = shape;
    s.scale = scale;
    s.transfers = transfers.size();
    load_.add_transfers(routes_, transfers);
    s.worst_ps.assign(transfers.size(), 0.0);
    s.latency.assign(transfers.size(), Time());
    for (std::size_t i = 0; i < transfers.size(); ++i) {
      const Transfer& t = transfers[i];
      if (t.src_gpu == t.dst_gpu || t.bytes == 0) continue;
      s.worst_ps[i] = load_.worst_ps(routes_.route(t.src_gpu, t.dst_gpu));
      s.latency[i] = detail::route_latency(routes_, t.src_gpu, t.dst_gpu);
    }
    load_.drain([&](int l, double b) { s.link_bytes.emplace_back(l, b); });
    if (shapes_.size() == 4) shapes_.erase(shapes_.begin());
    shapes_.push_back(std::move(s));
    it = shapes_.end() - 1;
  }
  const Shape& s = *it;
  const double ratio = scale / s.scale;
  out.assign(transfers.size(), Time());
  for (std::size_t i = 0; i < transfers.size(); ++i)
    if (s.worst_ps[i] > 0) out[i] = s.latency[i] + Time::from_ps_ceil(ratio == 1.0 ? s.worst_ps[i] : s.worst_ps[i] * ratio);
  for (const auto& [l, b] : s.link_bytes) link_bytes_[static_cast<std::size_t>(l)] += ratio == 1.0 ? b : b * ratio;
}

const EpLinkModel& ClosedFormExchange::link_model(int base, int n, const ExchangeRouting& r) {
  auto same = [&](const EpLinkModel& m) {
    return m.base() == base && m.ep() == n && m.routing() == r;
  };
  for (const auto& m : routed_)
    if (same(*m)) return *m;
  const EpLinkModel* group = nullptr;
  for (const auto& m : groups_)
    if (m->base() == base && m->ep() == n) group = m.get();
  if (group == nullptr) {
    groups_.push_back(std::make_unique<EpLinkModel>(topology_, routes_, n, kernel_, r, base));
    group = groups_.back().get();
  }
  if (routed_.size() == 8) routed_.erase(routed_.begin());
  routed_.push_back(std::make_unique<EpLinkModel>(group->with_routing(r)));
  return *routed_.back();
}

bool ClosedFormExchange::all_to_all(const std::vector<double>& tokens, double bytes_per_token, double fraction,
                                    bool dispatch, int base, const ExchangeRouting& routing, std::vector<Time>& done,
                                    std::vector<double>& received) {
  const int n = static_cast<int>(tokens.size());
  if (n < 1 || base < 0 || base + n > routes_.num_gpus() || !(bytes_per_token > 0) || !std::isfinite(bytes_per_token) ||
      !(fraction > 0) || !std::isfinite(fraction))
    return false;
  for (double t : tokens)
    if (!(t >= 0) || !std::isfinite(t)) return false;
  for (const A2aResult& a : recent_)
    if (a.tokens == &tokens && a.bytes_per_token == bytes_per_token && a.fraction == fraction &&
        a.dispatch == dispatch && a.base == base && a.routing == routing) {
      done = a.done;
      received = a.received;
      for (const auto& [l, b] : a.link_bytes) link_bytes_[static_cast<std::size_t>(l)] += b;
      return true;
    }
  const EpLinkModel& m = link_model(base, n, routing);
  const Exchange dir = dispatch ? Exchange::dispatch : Exchange::combine;
  scaled_.resize(tokens.size());
  for (std::size_t i = 0; i < tokens.size(); ++i) scaled_[i] = tokens[i] * fraction;
  std::vector<double> bytes = exchange_link_bytes(m, scaled_, bytes_per_token, dir);
  done.assign(static_cast<std::size_t>(n), Time());
  received.assign(static_cast<std::size_t>(n), 0.0);
  for (int g = 0; g < n; ++g) {
    const double us = exchange_cost(m, bytes, scaled_, bytes_per_token, dir, g).phase.time_us;
    done[static_cast<std::size_t>(g)] = us > 0 ? Time::from_ps_ceil(us * 1e6) : Time();
  }
  // Bytes each rank receives over links: dispatch = the copies into it (its row, one rank's share per
  // link use is not separable, so the selections it computes from the other ranks at the kernel's
  // bytes per copy); combine = what the others compute of its tokens.
  const double B = m.wire_bytes(bytes_per_token);
  double total = 0;
  for (double t : scaled_) total += t;
  for (int g = 0; g < n; ++g) {
    const double own = scaled_[static_cast<std::size_t>(g)];
    received[static_cast<std::size_t>(g)] = B * (dispatch ? own * (n - 1) / n : (total - own) / n);
  }
  A2aResult keep{&tokens, bytes_per_token, fraction, dispatch, base, routing, done, received, {}};
  for (int l = 0; l < m.num_links(); ++l)
    if (bytes[static_cast<std::size_t>(l)] > 0) {
      link_bytes_[static_cast<std::size_t>(l)] += bytes[static_cast<std::size_t>(l)];
      keep.link_bytes.emplace_back(l, bytes[static_cast<std::size_t>(l)]);
    }
  if (recent_.size() == 4) recent_.erase(recent_.begin());
  recent_.push_back(std::move(keep));
  return true;
}

}  // namespace epsim
