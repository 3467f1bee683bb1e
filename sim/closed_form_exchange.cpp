#include "sim/closed_form_exchange.hpp"

#include <algorithm>
#include <cmath>
#include <unordered_map>

namespace epsim {

ClosedFormExchange::ClosedFormExchange(const Topology& topology, const RouteTable& routes)
    : routes_(routes), load_(topology) {
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

const ClosedFormExchange::Rows& ClosedFormExchange::rows(int base, int n) {
  for (const Rows& r : rows_)
    if (r.base == base && r.n == n) return r;
  Rows r;
  r.base = base;
  r.n = n;
  r.into.resize(static_cast<std::size_t>(n));
  r.out_of.resize(static_cast<std::size_t>(n));
  // One destination-major pass over the pairs with one RouteScratch (its per-destination caches hit,
  // and each route is expanded once for its hops and latency): route(s, d) feeds into[d] and
  // out_of[s]. Each row still receives its pairs in increasing peer order, so the rows (entry order
  // and summation order of the shares) are those of a per-row scan.
  RouteScratch scratch;
  std::vector<RouteHop> hops;
  std::vector<int> pos(load_.bandwidth_Bps().size(), -1);
  std::vector<std::unordered_map<int, int>> out_pos(static_cast<std::size_t>(n));
  auto add = [](std::vector<RowEntry>& row, int& p, const RouteHop& h, Time lat) {
    if (p < 0) {
      p = static_cast<int>(row.size());
      row.push_back(RowEntry{h.link, 0.0, lat});
    }
    RowEntry& e = row[static_cast<std::size_t>(p)];
    e.share += static_cast<double>(h.fraction);
    e.latency = std::max(e.latency, lat);
  };
  for (int d = 0; d < n; ++d) {
    std::vector<RowEntry>& into = r.into[static_cast<std::size_t>(d)];
    for (int k = 0; k < n; ++k) {
      if (k == d) continue;
      hops.clear();
      const Time lat = Time::from_ps_rounded(routes_.append_route(base + k, base + d, scratch, hops) * 1e3);
      auto& op = out_pos[static_cast<std::size_t>(k)];
      for (const RouteHop& h : hops) {
        add(into, pos[static_cast<std::size_t>(h.link)], h, lat);
        auto [it, fresh] = op.try_emplace(h.link, -1);
        (void)fresh;
        add(r.out_of[static_cast<std::size_t>(k)], it->second, h, lat);
      }
    }
    for (const RowEntry& e : into) pos[static_cast<std::size_t>(e.link)] = -1;
  }
  rows_.push_back(std::move(r));
  return rows_.back();
}

bool ClosedFormExchange::all_to_all(const std::vector<double>& tokens, double scale, bool dispatch, int base,
                                    std::vector<Time>& done, std::vector<double>& received) {
  const int n = static_cast<int>(tokens.size());
  if (base < 0 || base + n > routes_.num_gpus() || !(scale > 0) || !std::isfinite(scale)) return false;
  for (double t : tokens)
    if (!(t > 0) || !std::isfinite(t)) return false;
  for (const A2aResult& a : recent_)
    if (a.tokens == &tokens && a.scale == scale && a.dispatch == dispatch && a.base == base) {
      done = a.done;
      received = a.received;
      for (const auto& [l, b] : a.link_bytes) link_bytes_[static_cast<std::size_t>(l)] += b;
      return true;
    }
  const Rows& r = rows(base, n);
  // B_l: dispatch sends tokens[d] x scale into every d; combine sends it out of every d.
  for (int d = 0; d < n; ++d) {
    const double b = tokens[static_cast<std::size_t>(d)] * scale;
    for (const RowEntry& e : (dispatch ? r.into : r.out_of)[static_cast<std::size_t>(d)]) load_.add(e.link, b * e.share);
  }
  w_time_.assign(load_.bandwidth_Bps().size(), Time());
  for (int l : load_.touched())
    w_time_[static_cast<std::size_t>(l)] = Time::from_ps_ceil(load_.link_ps(l));  // ceil is monotone
  done.assign(static_cast<std::size_t>(n), Time());
  received.assign(static_cast<std::size_t>(n), 0.0);
  double total = 0;
  for (double t : tokens) total += t * scale;
  for (int g = 0; g < n; ++g) {
    Time worst;
    for (const auto* row : {&r.into[static_cast<std::size_t>(g)], &r.out_of[static_cast<std::size_t>(g)]})
      for (const RowEntry& e : *row)
        worst = std::max(worst, Time::ps(e.latency.count_ps() + w_time_[static_cast<std::size_t>(e.link)].count_ps()));
    done[static_cast<std::size_t>(g)] = worst;
    const double own = tokens[static_cast<std::size_t>(g)] * scale;
    received[static_cast<std::size_t>(g)] = dispatch ? own * (n - 1) : total - own;
  }
  A2aResult keep{&tokens, scale, dispatch, base, done, received, {}};
  load_.drain([&](int l, double b) {
    link_bytes_[static_cast<std::size_t>(l)] += b;
    keep.link_bytes.emplace_back(l, b);
  });
  if (recent_.size() == 4) recent_.erase(recent_.begin());
  recent_.push_back(std::move(keep));
  return true;
}

}  // namespace epsim
