#pragma once
// The planner's objective for one layer and its incremental evaluator (the planner's inner loop).
//
// Objective `link` (default): T = the exchange kernel's time of dispatch + that of combine (they run
// one after the other), each the closed form of comm/exchange_cost.hpp over the link bytes (bytes /
// the kernel's effective bandwidth of the busiest link, SM and latency terms); ties are broken by the
// sum over links of time(l)^2 (a plan with lighter second-worst links is preferred).
// Objective `gpu`: the max tokens computed by any rank first, then the sum of squared rank loads.
// Objective `balanced`: max(T / T_lb, tokens_max / tokens_lb), each term relative to its lower bound,
// so neither the network nor the expert compute is traded away for the other.
#include <string>
#include <string_view>
#include <vector>

#include "comm/link_load.hpp"

namespace epsim {

enum class ObjectiveKind { link, gpu, balanced };

/// Names of the objectives ("link", "gpu", "balanced"), in enum order.
const std::vector<std::string>& objective_names();
/// Parse "link" | "gpu" | "balanced"; throws UsageError otherwise.
ObjectiveKind parse_objective(std::string_view name);
std::string_view to_string(ObjectiveKind kind);

/// How a plan over several load windows (plan --loads A --loads B ...) combines the windows:
/// mean = the mean over windows of the objective's primary value (expected cost of a window drawn
/// uniformly); max = the largest over windows of primary_w / scale_w, scale_w > 0 the window's own
/// certified lower bound, i.e. the worst window's distance from what that window alone allows.
enum class RobustKind { mean, max };
/// "mean", "max" in enum order.
const std::vector<std::string>& robust_names();
/// Parse "mean" | "max"; throws UsageError otherwise.
RobustKind parse_robust(std::string_view name);
std::string_view to_string(RobustKind kind);

/// Score of a layer plan; smaller is better; compared lexicographically (penalty, primary,
/// secondary). penalty counts violated soft constraints (with a trace and --max-nodes-per-token M:
/// sum over tokens of max(0, nodes reached - M)); it is 0 without a trace.
struct ObjectiveValue {
  double primary = 0;
  double secondary = 0;
  double penalty = 0;
  bool operator<(const ObjectiveValue& o) const {
    if (penalty != o.penalty) return penalty < o.penalty;
    // A relative tolerance keeps floating-point noise in incremental sums from deciding ties.
    const double tol = 1e-9 * std::max(1.0, std::max(primary, o.primary));
    if (primary < o.primary - tol) return true;
    if (primary > o.primary + tol) return false;
    return secondary < o.secondary * (1 - 1e-12);
  }
};

/// Each rank's rows of an EpLinkModel split into a reference row common to the ranks and the rank's
/// residual: row(d, l) = reference(l) + residual(d, l) for every link l (the reference coefficient of
/// a link is the one most ranks have, absence counting as 0). On a symmetric fabric most of a rank's
/// ~EP^0.5 x hops links carry the same share for every rank (DGX EP 256: 440 of 520), so a move whose
/// token deltas sum to zero (a swap) changes only the residual rows' links (80 at EP 256). Built once
/// per link model (O(EP x row length x log)); immutable, shareable between threads.
class RowSplit {
 public:
  explicit RowSplit(const EpLinkModel& model);
  const LinkRow& reference(Exchange direction) const { return reference_[direction == Exchange::dispatch ? 0 : 1]; }
  const LinkRow& residual(int rank, Exchange direction) const {
    return residual_[direction == Exchange::dispatch ? 0 : 1][static_cast<std::size_t>(rank)];
  }

 private:
  LinkRow reference_[2];
  std::vector<LinkRow> residual_[2];
};

/// Keeps the bytes of every link for dispatch and combine as per-rank token loads change.
/// Cost: apply_delta(rank) is O(|into(rank)| + |out_of(rank)|); value() is O(links + EP).
class LayerEvaluator {
 public:
  /// token_lb / link_lb_s: lower bounds used by ObjectiveKind::balanced (> 0, else 1 is used).
  /// split: the model's RowSplit (try_deltas then touches only the residual rows of a zero-sum move);
  /// null: the full rows.
  LayerEvaluator(const EpLinkModel& model, double dispatch_bytes_per_token, double combine_bytes_per_token,
                 ObjectiveKind kind, double token_lb = 0, double link_lb_s = 0, const RowSplit* split = nullptr);

  /// Set all ranks' token loads (size ep) and recompute every link.
  void reset(const std::vector<double>& gpu_tokens);
  /// Add delta tokens to one rank's load.
  void apply_delta(int rank, double delta_tokens);
  ObjectiveValue value() const;
  /// The objective with `deltas` (rank, tokens; a rank may appear twice) added to the loads, without
  /// changing them; commit() then applies exactly what was evaluated. Cost O(touched links + EP): the
  /// links off the deltas' rows keep their times, and their maximum comes from a list of the busiest
  /// links (a full scan only when every listed link is touched). The secondary term is the current
  /// sum of squares (recomputed at every commit) plus its change on the touched links.
  /// Hierarchical kernels (two phases split by link kind) evaluate by apply, value() and revert.
  ObjectiveValue try_deltas(const std::vector<std::pair<int, double>>& deltas);
  /// Apply the deltas of the last try_deltas (no other call in between).
  void commit();
  /// The kernel's dispatch time + combine time, seconds (comm/exchange_cost.hpp).
  double link_time_s() const;
  const std::vector<double>& gpu_tokens() const { return tokens_; }

 private:
  double phase_times_s(double dispatch_link_s, double combine_link_s) const;
  double phase_times_s(double dispatch_link_s, double combine_link_s, double total, double most) const;
  ObjectiveValue make_value(double link_s, double squares, double tokens_max, double spread) const;
  void rebuild_busiest();
  // One direction's scratch for try_deltas: byte changes on the touched links (stamped by epoch).
  struct Pending {
    std::vector<double> add;
    std::vector<unsigned> stamp;
    std::vector<int> touched;
    std::vector<int> busiest;  ///< links by time, descending, all >= threshold
    double threshold = 0;      ///< every unlisted link's time is <= this
  };
  void build_busiest(Pending& p, const std::vector<double>& bytes, const std::vector<double>& inv_bw);
  void update_busiest(Pending& p, const std::vector<double>& bytes, const std::vector<double>& inv_bw);
  void recompute_squares();
  std::vector<std::pair<double, int>> busiest_scratch_;
  // Max time over the untouched links of one direction (bytes x inv_bw; links touched in `p` skipped).
  double untouched_max(const Pending& p, const std::vector<double>& bytes, const std::vector<double>& inv_bw) const;
  const EpLinkModel* model_;
  const RowSplit* split_;
  double dispatch_bytes_per_token_;
  double combine_bytes_per_token_;
  double dispatch_per_token_;  // wire bytes per copy (header included) / ep
  double combine_per_token_;
  ObjectiveKind kind_;
  double token_lb_;
  double link_lb_s_;
  std::vector<double> tokens_;
  std::vector<double> dispatch_bytes_;
  std::vector<double> combine_bytes_;
  std::vector<double> inv_dispatch_bw_;  // 1 / the kernel's effective bandwidth per link
  std::vector<double> inv_combine_bw_;
  // try_deltas / commit state.
  Pending pending_dispatch_, pending_combine_;
  unsigned epoch_ = 0;
  std::vector<std::pair<int, double>> pending_tokens_;
  double squares_ = 0;  ///< sum over links of time^2 (both directions) of the current loads
  bool stale_ = true;   ///< apply_delta since the last rebuild_busiest (busiest lists, squares_)
  bool fallback_ = false;       ///< hierarchical: try_deltas by apply / value / revert
};

}  // namespace epsim
