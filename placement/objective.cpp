#include "common/names.hpp"
#include "placement/objective.hpp"

#include <algorithm>
#include <limits>

#include <fmt/format.h>

#include "common/error.hpp"

namespace epsim {

const std::vector<std::string>& objective_names() {
  static const std::vector<std::string> names = {"link", "gpu", "balanced"};
  return names;
}

ObjectiveKind parse_objective(std::string_view name) {
  try {
    return enum_from_name<ObjectiveKind>(name, objective_names(), "objective");
  } catch (const std::invalid_argument& e) {
    throw UsageError(e.what());
  }
}

std::string_view to_string(ObjectiveKind kind) { return name_of(kind, objective_names()); }

const std::vector<std::string>& robust_names() {
  static const std::vector<std::string> names = {"mean", "max"};
  return names;
}

RobustKind parse_robust(std::string_view name) {
  try {
    return enum_from_name<RobustKind>(name, robust_names(), "robust objective");
  } catch (const std::invalid_argument& e) {
    throw UsageError(e.what());
  }
}

std::string_view to_string(RobustKind kind) { return name_of(kind, robust_names()); }

RowSplit::RowSplit(const EpLinkModel& model) {
  const auto L = static_cast<std::size_t>(model.num_links());
  const int ep = model.ep();
  for (int x = 0; x < 2; ++x) {
    const Exchange dir = x == 0 ? Exchange::dispatch : Exchange::combine;
    std::vector<std::vector<double>> values(L);
    for (int d = 0; d < ep; ++d)
      for (const auto& [l, c] : model.row(d, dir)) values[static_cast<std::size_t>(l)].push_back(c);
    std::vector<double> ref(L, 0.0);
    for (std::size_t l = 0; l < L; ++l) {
      std::vector<double>& v = values[l];
      std::sort(v.begin(), v.end());
      std::size_t best = static_cast<std::size_t>(ep) - v.size();  // ranks without the link: reference 0
      for (std::size_t i = 0, j = 0; i < v.size(); i = j) {
        while (j < v.size() && v[j] == v[i]) ++j;
        if (j - i > best) {
          best = j - i;
          ref[l] = v[i];
        }
      }
      if (ref[l] != 0.0) reference_[x].emplace_back(static_cast<int>(l), ref[l]);
    }
    residual_[x].resize(static_cast<std::size_t>(ep));
    for (int d = 0; d < ep; ++d) {
      const LinkRow& row = model.row(d, dir);
      LinkRow& out = residual_[x][static_cast<std::size_t>(d)];
      std::size_t i = 0, j = 0;  // merge the sorted row and reference
      while (i < row.size() || j < reference_[x].size()) {
        const int li = i < row.size() ? row[i].first : std::numeric_limits<int>::max();
        const int lj = j < reference_[x].size() ? reference_[x][j].first : std::numeric_limits<int>::max();
        const int l = std::min(li, lj);
        const double c = li == l ? row[i++].second : 0.0;
        const double r = lj == l ? reference_[x][j++].second : 0.0;
        if (c != r) out.emplace_back(l, c - r);
      }
    }
  }
}

LayerEvaluator::LayerEvaluator(const EpLinkModel& model, double dispatch_bytes_per_token, double combine_bytes_per_token,
                               ObjectiveKind kind, double token_lb, double link_lb_s, const RowSplit* split)
    : model_(&model),
      split_(split),
      dispatch_bytes_per_token_(dispatch_bytes_per_token),
      combine_bytes_per_token_(combine_bytes_per_token),
      dispatch_per_token_(model.wire_bytes(dispatch_bytes_per_token) / model.ep()),
      combine_per_token_(model.wire_bytes(combine_bytes_per_token) / model.ep()),
      kind_(kind),
      token_lb_(token_lb > 0 ? token_lb : 1.0),
      link_lb_s_(link_lb_s > 0 ? link_lb_s : 1.0),
      tokens_(static_cast<std::size_t>(model.ep()), 0.0),
      dispatch_bytes_(static_cast<std::size_t>(model.num_links()), 0.0),
      combine_bytes_(static_cast<std::size_t>(model.num_links()), 0.0),
      inv_dispatch_bw_(static_cast<std::size_t>(model.num_links())),
      inv_combine_bw_(static_cast<std::size_t>(model.num_links())),
      fallback_(model.kernel().kind == ExchangeKernelKind::hierarchical) {
  const auto L = static_cast<std::size_t>(model.num_links());
  for (std::size_t l = 0; l < L; ++l) {
    inv_dispatch_bw_[l] = 1.0 / model.bandwidth_Bps(static_cast<int>(l), Exchange::dispatch);
    inv_combine_bw_[l] = 1.0 / model.bandwidth_Bps(static_cast<int>(l), Exchange::combine);
  }
  for (Pending* p : {&pending_dispatch_, &pending_combine_}) {
    p->add.assign(L, 0.0);
    p->stamp.assign(L, 0);
  }
  rebuild_busiest();
}

void LayerEvaluator::reset(const std::vector<double>& gpu_tokens) {
  std::fill(dispatch_bytes_.begin(), dispatch_bytes_.end(), 0.0);
  std::fill(combine_bytes_.begin(), combine_bytes_.end(), 0.0);
  std::fill(tokens_.begin(), tokens_.end(), 0.0);
  for (int d = 0; d < model_->ep(); ++d) apply_delta(d, gpu_tokens[static_cast<std::size_t>(d)]);
  rebuild_busiest();
}

namespace {
// Links listed per direction: a cache of the busiest links, not a model parameter. The answer is exact
// for any size (an unlisted link is at or below the threshold, and a list that shrinks below half is
// rebuilt); the size only trades list upkeep per commit against rebuilds. 32 covers a DGX node's 8 NIC
// uplinks and 8 downlinks twice over; bench/bench_placement measures the planner with it.
constexpr std::size_t kBusiest = 32;
}  // namespace

// The busiest links of one direction (kBusiest, by time, descending) from scratch.
void LayerEvaluator::build_busiest(Pending& p, const std::vector<double>& bytes, const std::vector<double>& inv_bw) {
  std::vector<std::pair<double, int>>& times = busiest_scratch_;
  times.resize(bytes.size());
  for (std::size_t l = 0; l < times.size(); ++l) times[l] = {bytes[l] * inv_bw[l], static_cast<int>(l)};
  const std::size_t k = std::min(kBusiest, times.size());
  std::partial_sort(times.begin(), times.begin() + static_cast<std::ptrdiff_t>(k), times.end(), std::greater<>());
  p.busiest.clear();
  for (std::size_t i = 0; i < k; ++i) p.busiest.push_back(times[i].second);
  p.threshold = k > 0 ? times[k - 1].first : 0.0;
}

// After a commit: the listed links the move did not touch keep their times; a touched link is listed
// when its new time reaches the threshold (every unlisted link is at or below it). A list that shrank
// below half is rebuilt from scratch.
void LayerEvaluator::update_busiest(Pending& p, const std::vector<double>& bytes, const std::vector<double>& inv_bw) {
  std::vector<std::pair<double, int>>& keep = busiest_scratch_;
  keep.clear();
  for (int l : p.busiest)
    if (p.stamp[static_cast<std::size_t>(l)] != epoch_)
      keep.emplace_back(bytes[static_cast<std::size_t>(l)] * inv_bw[static_cast<std::size_t>(l)], l);
  for (int l : p.touched) {
    const double t = bytes[static_cast<std::size_t>(l)] * inv_bw[static_cast<std::size_t>(l)];
    if (t >= p.threshold) keep.emplace_back(t, l);
  }
  if (keep.size() * 2 < std::min(kBusiest, bytes.size())) return build_busiest(p, bytes, inv_bw);
  std::sort(keep.begin(), keep.end(), std::greater<>());
  if (keep.size() > kBusiest) {
    keep.resize(kBusiest);
    p.threshold = keep.back().first;  // the dropped ones are at or below it
  }
  p.busiest.clear();
  for (const auto& [t, l] : keep) p.busiest.push_back(l);
}

// The busiest links of each direction and the sum of squares of the current loads, from scratch.
void LayerEvaluator::rebuild_busiest() {
  build_busiest(pending_dispatch_, dispatch_bytes_, inv_dispatch_bw_);
  build_busiest(pending_combine_, combine_bytes_, inv_combine_bw_);
  recompute_squares();
}

void LayerEvaluator::recompute_squares() {
  squares_ = 0;  // as value() sums them
  for (std::size_t l = 0; l < inv_dispatch_bw_.size(); ++l) {
    const double td = dispatch_bytes_[l] * inv_dispatch_bw_[l], tc = combine_bytes_[l] * inv_combine_bw_[l];
    squares_ += td * td + tc * tc;
  }
  stale_ = false;
}

double LayerEvaluator::untouched_max(const Pending& p, const std::vector<double>& bytes,
                                     const std::vector<double>& inv_bw) const {
  for (int l : p.busiest)
    if (p.stamp[static_cast<std::size_t>(l)] != epoch_) return bytes[static_cast<std::size_t>(l)] * inv_bw[static_cast<std::size_t>(l)];
  double most = 0;  // every listed link is touched: the others are at most the last listed, scan them
  for (std::size_t l = 0; l < bytes.size(); ++l)
    if (p.stamp[l] != epoch_) most = std::max(most, bytes[l] * inv_bw[l]);
  return most;
}

ObjectiveValue LayerEvaluator::try_deltas(const std::vector<std::pair<int, double>>& deltas) {
  pending_tokens_ = deltas;
  if (fallback_) {
    for (const auto& [r, d] : deltas) apply_delta(r, d);
    ObjectiveValue v = value();
    for (const auto& [r, d] : deltas) apply_delta(r, -d);
    return v;
  }
  if (stale_) rebuild_busiest();  // apply_delta was called since
  if (++epoch_ == 0) {  // stamps wrapped: clear them
    for (Pending* p : {&pending_dispatch_, &pending_combine_}) std::fill(p->stamp.begin(), p->stamp.end(), 0u);
    epoch_ = 1;
  }
  pending_dispatch_.touched.clear();
  pending_combine_.touched.clear();
  auto spread = [&](Pending& p, const LinkRow& row, double per) {
    for (const auto& [l, c] : row) {
      const auto i = static_cast<std::size_t>(l);
      if (p.stamp[i] != epoch_) {
        p.stamp[i] = epoch_;
        p.add[i] = 0.0;
        p.touched.push_back(l);
      }
      p.add[i] += per * c;
    }
  };
  if (split_ == nullptr) {
    for (const auto& [r, delta] : deltas) {
      if (delta == 0.0) continue;
      spread(pending_dispatch_, model_->into(r), delta * dispatch_per_token_);
      spread(pending_combine_, model_->out_of(r), delta * combine_per_token_);
    }
  } else {  // sum_i delta_i row(r_i) = sum_i delta_i residual(r_i) + (sum_i delta_i) reference
    double sum = 0;
    for (const auto& [r, delta] : deltas) {
      if (delta == 0.0) continue;
      sum += delta;
      spread(pending_dispatch_, split_->residual(r, Exchange::dispatch), delta * dispatch_per_token_);
      spread(pending_combine_, split_->residual(r, Exchange::combine), delta * combine_per_token_);
    }
    if (sum != 0.0) {
      spread(pending_dispatch_, split_->reference(Exchange::dispatch), sum * dispatch_per_token_);
      spread(pending_combine_, split_->reference(Exchange::combine), sum * combine_per_token_);
    }
  }
  double squares = 0;
  auto busiest = [&](const Pending& p, const std::vector<double>& bytes, const std::vector<double>& inv_bw) {
    double most = untouched_max(p, bytes, inv_bw);
    for (int l : p.touched) {
      const auto i = static_cast<std::size_t>(l);
      const double before = bytes[i] * inv_bw[i], after = (bytes[i] + p.add[i]) * inv_bw[i];
      most = std::max(most, after);
      squares += after * after - before * before;
    }
    return most;
  };
  const double d = busiest(pending_dispatch_, dispatch_bytes_, inv_dispatch_bw_);
  const double c = busiest(pending_combine_, combine_bytes_, inv_combine_bw_);
  double total = 0, most = 0, spread_sq = 0;
  for (std::size_t r = 0; r < tokens_.size(); ++r) {
    double t = tokens_[r];
    for (const auto& [g, delta] : deltas)
      if (static_cast<std::size_t>(g) == r) t += delta;
    total += t;
    most = std::max(most, t);
    spread_sq += t * t;
  }
  return make_value(phase_times_s(d, c, total, most), squares_ + squares, most, spread_sq);
}

void LayerEvaluator::commit() {
  if (fallback_) {
    for (const auto& [r, d] : pending_tokens_) apply_delta(r, d);
    return;
  }
  for (int l : pending_dispatch_.touched)
    dispatch_bytes_[static_cast<std::size_t>(l)] += pending_dispatch_.add[static_cast<std::size_t>(l)];
  for (int l : pending_combine_.touched)
    combine_bytes_[static_cast<std::size_t>(l)] += pending_combine_.add[static_cast<std::size_t>(l)];
  for (const auto& [r, d] : pending_tokens_) tokens_[static_cast<std::size_t>(r)] += d;
  update_busiest(pending_dispatch_, dispatch_bytes_, inv_dispatch_bw_);
  update_busiest(pending_combine_, combine_bytes_, inv_combine_bw_);
  recompute_squares();
}

void LayerEvaluator::apply_delta(int rank, double delta) {
  if (delta == 0.0) return;
  stale_ = true;
  tokens_[static_cast<std::size_t>(rank)] += delta;
  const double dd = delta * dispatch_per_token_;
  for (const auto& [l, c] : model_->into(rank)) dispatch_bytes_[static_cast<std::size_t>(l)] += dd * c;
  const double dc = delta * combine_per_token_;
  for (const auto& [l, c] : model_->out_of(rank)) combine_bytes_[static_cast<std::size_t>(l)] += dc * c;
}

double LayerEvaluator::phase_times_s(double dispatch_link_s, double combine_link_s) const {
  // The kernel's closed form (comm/exchange_cost.hpp) of both directions, one after the other.
  if (model_->kernel().kind == ExchangeKernelKind::hierarchical)  // two phases: split by link kind
    return exchange_cost(*model_, dispatch_bytes_, tokens_, dispatch_bytes_per_token_, Exchange::dispatch).time_s() +
           exchange_cost(*model_, combine_bytes_, tokens_, combine_bytes_per_token_, Exchange::combine).time_s();
  double total = 0, most = 0;
  for (double t : tokens_) {
    total += t;
    most = std::max(most, t);
  }
  return phase_times_s(dispatch_link_s, combine_link_s, total, most);
}

double LayerEvaluator::phase_times_s(double dispatch_link_s, double combine_link_s, double total, double most) const {
  return exchange_time_s(*model_, dispatch_link_s, total, most, dispatch_bytes_per_token_, Exchange::dispatch) +
         exchange_time_s(*model_, combine_link_s, total, most, combine_bytes_per_token_, Exchange::combine);
}

double LayerEvaluator::link_time_s() const {
  double d = 0, c = 0;
  for (std::size_t l = 0; l < inv_dispatch_bw_.size(); ++l) {
    d = std::max(d, dispatch_bytes_[l] * inv_dispatch_bw_[l]);
    c = std::max(c, combine_bytes_[l] * inv_combine_bw_[l]);
  }
  return phase_times_s(d, c);
}

ObjectiveValue LayerEvaluator::value() const {
  double d = 0, c = 0, squares = 0;
  for (std::size_t l = 0; l < inv_dispatch_bw_.size(); ++l) {
    double td = dispatch_bytes_[l] * inv_dispatch_bw_[l];
    double tc = combine_bytes_[l] * inv_combine_bw_[l];
    d = std::max(d, td);
    c = std::max(c, tc);
    squares += td * td + tc * tc;
  }
  double link = phase_times_s(d, c);
  double tokens_max = *std::max_element(tokens_.begin(), tokens_.end());
  double spread = 0;
  if (kind_ == ObjectiveKind::gpu)
    for (double t : tokens_) spread += t * t;
  return make_value(link, squares, tokens_max, spread);
}

ObjectiveValue LayerEvaluator::make_value(double link, double squares, double tokens_max, double spread) const {
  switch (kind_) {
    case ObjectiveKind::link: return {link, squares};
    // Ties on the busiest rank are broken by the spread of all ranks' loads (sum of squares), which
    // gives the search a slope across the plateaus of equal maxima.
    case ObjectiveKind::gpu: return {tokens_max, spread};
    case ObjectiveKind::balanced: return {std::max(link / link_lb_s_, tokens_max / token_lb_), squares};
  }
  return {link, squares};
}

}  // namespace epsim
