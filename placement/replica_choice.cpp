#include "placement/replica_choice.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>

#include "common/error.hpp"
#include "common/names.hpp"
#include "placement/bounds/glpk_model.hpp"

namespace epsim {

const std::vector<std::string>& replica_choice_names() {
  static const std::vector<std::string> names = {"rule", "lp"};
  return names;
}

ReplicaChoice parse_replica_choice(std::string_view name) {
  try {
    return enum_from_name<ReplicaChoice>(name, replica_choice_names(), "replica choice");
  } catch (const std::invalid_argument&) {
    throw SettingError("replica_choice", std::string(name), names_text(replica_choice_names()));
  }
}

std::string_view to_string(ReplicaChoice choice) { return name_of(choice, replica_choice_names()); }

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr int kInitialLinks = 8;    // busiest links per direction in the first working set
constexpr int kLinksPerRound = 16;  // most violated links added per direction and round
constexpr int kMaxRounds = 60;      // a safety cap; each round adds >= 1 link, so it ends anyway
constexpr double kViolation = 1e-9; // relative

// Per direction: for every link, the GPUs whose row reaches it with their time per token (us).
struct LinkColumns {
  std::vector<std::vector<std::pair<int, double>>> by_link;
};

LinkColumns link_columns(const EpLinkModel& m, double bytes_per_token, Exchange dir) {
  LinkColumns lc;
  lc.by_link.resize(static_cast<std::size_t>(m.num_links()));
  const double per_token = (bytes_per_token + m.kernel().header_bytes_per_token) / m.ep() * 1e6;
  for (int g = 0; g < m.ep(); ++g)
    for (const auto& [l, c] : m.row(g, dir))
      if (c != 0) lc.by_link[static_cast<std::size_t>(l)].emplace_back(g, c * per_token / m.bandwidth_Bps(l, dir));
  return lc;
}

std::vector<double> link_times(const LinkColumns& lc, const std::vector<double>& gpu_tokens) {
  std::vector<double> t(lc.by_link.size(), 0.0);
  for (std::size_t l = 0; l < lc.by_link.size(); ++l)
    for (const auto& [g, k] : lc.by_link[l]) t[l] += gpu_tokens[static_cast<std::size_t>(g)] * k;
  return t;
}

// The links whose time exceeds `bound` by more than kViolation (relative), most violated first, at
// most `count`, skipping those already in `have`.
std::vector<int> violated(const std::vector<double>& t, double bound, const std::vector<char>& have, int count) {
  std::vector<int> out;
  for (std::size_t l = 0; l < t.size(); ++l)
    if (!have[l] && t[l] > bound * (1 + kViolation) + 1e-15) out.push_back(static_cast<int>(l));
  std::sort(out.begin(), out.end(), [&](int a, int b) { return t[static_cast<std::size_t>(a)] > t[static_cast<std::size_t>(b)]; });
  if (static_cast<int>(out.size()) > count) out.resize(static_cast<std::size_t>(count));
  return out;
}

class LpSplit {
 public:
  LpSplit(const LayerPlacement& pl, const std::vector<double>& load) : pl_(pl), load_(load) {
    const auto E = load.size();
    replicas_ = pl.replica_counts(static_cast<int>(E));
    base_.assign(static_cast<std::size_t>(pl.num_gpus), 0.0);
    for (std::size_t p = 0; p < pl.slot_expert.size(); ++p) {
      const int e = pl.slot_expert[p];
      if (e < 0) continue;
      if (replicas_[static_cast<std::size_t>(e)] == 1) {
        base_[static_cast<std::size_t>(pl.gpu_of_slot(static_cast<int>(p)))] += load[static_cast<std::size_t>(e)];
      } else if (load[static_cast<std::size_t>(e)] > 0) {
        flex_.push_back(static_cast<int>(p));
      }
    }
    // Tokens are scaled to the average GPU load (values near 1 for the simplex).
    const double total = std::accumulate(load.begin(), load.end(), 0.0);
    unit_ = total > 0 ? total / pl.num_gpus : 1.0;
  }

  bool trivial() const { return flex_.empty(); }

  // Adds x_p (scaled) and the expert and GPU rows; returns the T column.
  int add_core(detail::GlpkModel& m, double t_obj, double t_hi) {
    cols_.clear();
    for (std::size_t i = 0; i < flex_.size(); ++i) cols_.push_back(m.add_col(0.0, kInf, 0.0));
    const double base_max = *std::max_element(base_.begin(), base_.end()) / unit_;
    const int t = m.add_col(base_max, t_hi, t_obj);
    std::vector<std::vector<std::pair<int, double>>> expert_rows(load_.size()), gpu_rows(static_cast<std::size_t>(pl_.num_gpus));
    for (std::size_t i = 0; i < flex_.size(); ++i) {
      const int p = flex_[i];
      expert_rows[static_cast<std::size_t>(pl_.slot_expert[static_cast<std::size_t>(p)])].emplace_back(cols_[i], 1.0);
      gpu_rows[static_cast<std::size_t>(pl_.gpu_of_slot(p))].emplace_back(cols_[i], 1.0);
    }
    for (std::size_t e = 0; e < load_.size(); ++e)
      if (!expert_rows[e].empty()) m.add_row(load_[e] / unit_, load_[e] / unit_, expert_rows[e]);
    for (std::size_t g = 0; g < gpu_rows.size(); ++g) {
      if (gpu_rows[g].empty()) continue;
      gpu_rows[g].emplace_back(t, -1.0);
      m.add_row(-kInf, -base_[g] / unit_, gpu_rows[g]);
    }
    return t;
  }

  // Slot tokens from the LP's x (clamped to >= 0 and rescaled so that each expert's replicas sum to
  // its load exactly; equal shares when an expert's x sum to 0).
  ReplicaSplit result(const detail::GlpkModel& m) const {
    std::vector<double> x(pl_.slot_expert.size(), 0.0), sum(load_.size(), 0.0);
    for (std::size_t i = 0; i < flex_.size(); ++i) {
      const double v = std::max(0.0, m.col_value(cols_[i]));
      x[static_cast<std::size_t>(flex_[i])] = v;
      sum[static_cast<std::size_t>(pl_.slot_expert[static_cast<std::size_t>(flex_[i])])] += v;
    }
    ReplicaSplit s;
    s.slot_tokens.assign(pl_.slot_expert.size(), 0.0);
    s.gpu_tokens.assign(static_cast<std::size_t>(pl_.num_gpus), 0.0);
    for (std::size_t p = 0; p < pl_.slot_expert.size(); ++p) {
      const int e = pl_.slot_expert[p];
      if (e < 0) continue;
      const auto ue = static_cast<std::size_t>(e);
      double v;
      if (replicas_[ue] == 1 || load_[ue] <= 0) v = load_[ue] / replicas_[ue];
      else if (sum[ue] > 0) v = x[p] / sum[ue] * load_[ue];
      else v = load_[ue] / replicas_[ue];
      s.slot_tokens[p] = v;
      s.gpu_tokens[static_cast<std::size_t>(pl_.gpu_of_slot(static_cast<int>(p)))] += v;
    }
    return s;
  }

  const std::vector<int>& flex() const { return flex_; }
  const std::vector<int>& cols() const { return cols_; }
  const std::vector<double>& base() const { return base_; }
  double unit() const { return unit_; }

 private:
  const LayerPlacement& pl_;
  const std::vector<double>& load_;
  std::vector<int> replicas_;
  std::vector<double> base_;  // tokens of single-replica experts per GPU
  std::vector<int> flex_;     // slots of experts with >= 2 replicas and load > 0
  std::vector<int> cols_;     // their columns
  double unit_ = 1;
};

ReplicaSplit rule_split(const LayerPlacement& pl, const std::vector<double>& load) {
  auto replicas = pl.replica_counts(static_cast<int>(load.size()));
  ReplicaSplit s;
  s.slot_tokens.assign(pl.slot_expert.size(), 0.0);
  s.gpu_tokens.assign(static_cast<std::size_t>(pl.num_gpus), 0.0);
  for (std::size_t p = 0; p < pl.slot_expert.size(); ++p) {
    const int e = pl.slot_expert[p];
    if (e < 0) continue;
    s.slot_tokens[p] = load[static_cast<std::size_t>(e)] / replicas[static_cast<std::size_t>(e)];
    s.gpu_tokens[static_cast<std::size_t>(pl.gpu_of_slot(static_cast<int>(p)))] += s.slot_tokens[p];
  }
  return s;
}

// Adds the link row sum_g k(g, l) tokens_g <= column `bound` (scaled by `scale`) to the model.
void add_link_row(detail::GlpkModel& m, const LpSplit& lp, const LayerPlacement& pl, const LinkColumns& lc, int link,
                  int bound_col, double scale) {
  std::vector<double> k_of_gpu(static_cast<std::size_t>(pl.num_gpus), 0.0);
  double fixed = 0;
  for (const auto& [g, k] : lc.by_link[static_cast<std::size_t>(link)]) {
    k_of_gpu[static_cast<std::size_t>(g)] += k;
    fixed += k * lp.base()[static_cast<std::size_t>(g)];
  }
  std::vector<std::pair<int, double>> terms;
  for (std::size_t i = 0; i < lp.flex().size(); ++i) {
    const double k = k_of_gpu[static_cast<std::size_t>(pl.gpu_of_slot(lp.flex()[i]))];
    if (k != 0) terms.emplace_back(lp.cols()[i], k * lp.unit() * scale);
  }
  terms.emplace_back(bound_col, -1.0);
  m.add_row(-kInf, -fixed * scale, terms);
}

}  // namespace

ReplicaSplit split_replicas(const LayerPlacement& pl, const std::vector<double>& load, ReplicaChoice choice,
                            const ReplicaSplitLinks* links) {
  if (pl.num_gpus < 1 || pl.slots_per_gpu < 1 ||
      pl.slot_expert.size() != static_cast<std::size_t>(pl.num_gpus) * static_cast<std::size_t>(pl.slots_per_gpu))
    throw std::invalid_argument("split_replicas: placement size is not num_gpus x slots_per_gpu");
  for (int e : pl.slot_expert)
    if (e >= static_cast<int>(load.size())) throw std::invalid_argument("split_replicas: a slot holds an expert without load");
  for (double v : load)
    if (!(v >= 0) || !std::isfinite(v)) throw std::invalid_argument("split_replicas: loads must be finite and >= 0");
  if (links != nullptr && links->links != nullptr && links->links->ep() != pl.num_gpus)
    throw std::invalid_argument("split_replicas: the link model's EP differs from the placement's GPUs");
  ReplicaSplit rule = rule_split(pl, load);
  if (choice == ReplicaChoice::rule) return rule;
  LpSplit lp(pl, load);
  if (lp.trivial()) return rule;

  // Stage 1: the busiest GPU.
  double t1;
  ReplicaSplit best;
  {
    detail::GlpkModel m("replica split, busiest GPU");
    lp.add_core(m, 1.0, kInf);
    m.solve_lp("replica split (busiest GPU)");
    t1 = m.objective();
    best = lp.result(m);
    best.lp_solves = 1;
  }
  const double rule_max = *std::max_element(rule.gpu_tokens.begin(), rule.gpu_tokens.end());
  if (*std::max_element(best.gpu_tokens.begin(), best.gpu_tokens.end()) > rule_max * (1 + 1e-12)) {
    rule.lp_solves = best.lp_solves;  // solver noise above the rule: the rule's split is optimal
    best = rule;
  }
  if (links == nullptr || links->links == nullptr) return best;

  // Stage 2: busiest dispatch link + busiest combine link with the busiest GPU held at its optimum.
  const EpLinkModel& lm = *links->links;
  const LinkColumns dc = link_columns(lm, links->dispatch_bytes_per_token, Exchange::dispatch);
  const LinkColumns cc = link_columns(lm, links->combine_bytes_per_token, Exchange::combine);
  std::vector<double> td = link_times(dc, best.gpu_tokens), tcm = link_times(cc, best.gpu_tokens);
  const double d0 = *std::max_element(td.begin(), td.end()), c0 = *std::max_element(tcm.begin(), tcm.end());
  if (!(d0 + c0 > 0)) return best;
  const double scale = 1.0 / (d0 + c0);  // link times near 1 for the simplex
  std::vector<char> have_d(td.size(), 0), have_c(tcm.size(), 0);
  std::vector<int> set_d = violated(td, 0, have_d, kInitialLinks), set_c = violated(tcm, 0, have_c, kInitialLinks);
  std::vector<int> work_d, work_c;
  double best_links = d0 + c0;  // true busiest dispatch + combine link time of `best`, us
  int solves = best.lp_solves;
  const double t_cap = std::max(t1 * (1 + 1e-9), t1 + 1e-12);
  for (int round = 0; round < kMaxRounds && !(set_d.empty() && set_c.empty()); ++round) {
    for (int l : set_d) {
      have_d[static_cast<std::size_t>(l)] = 1;
      work_d.push_back(l);
    }
    for (int l : set_c) {
      have_c[static_cast<std::size_t>(l)] = 1;
      work_c.push_back(l);
    }
    detail::GlpkModel m("replica split, busiest links");
    lp.add_core(m, 0.0, t_cap);
    const int dcol = m.add_col(0.0, kInf, 1.0), ccol = m.add_col(0.0, kInf, 1.0);
    for (int l : work_d) add_link_row(m, lp, pl, dc, l, dcol, scale);
    for (int l : work_c) add_link_row(m, lp, pl, cc, l, ccol, scale);
    m.solve_lp("replica split (busiest links)");
    ++solves;
    ReplicaSplit cand = lp.result(m);
    td = link_times(dc, cand.gpu_tokens);
    tcm = link_times(cc, cand.gpu_tokens);
    const double dmax = m.col_value(dcol) / scale, cmax = m.col_value(ccol) / scale;
    set_d = violated(td, dmax, have_d, kLinksPerRound);
    set_c = violated(tcm, cmax, have_c, kLinksPerRound);
    // Keep the iterate with the lowest true link time (the last one unless the round cap stops the
    // loop early), never above stage 1's.
    const double links_now = *std::max_element(td.begin(), td.end()) + *std::max_element(tcm.begin(), tcm.end());
    if (links_now < best_links) {
      best_links = links_now;
      best = std::move(cand);
    }
  }
  best.lp_solves = solves;
  return best;
}

}  // namespace epsim
