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

/// Keeps the bytes of every link for dispatch and combine as per-rank token loads change.
/// Cost: apply_delta(rank) is O(|into(rank)| + |out_of(rank)|); value() is O(links + EP).
class LayerEvaluator {
 public:
  /// token_lb / link_lb_s: lower bounds used by ObjectiveKind::balanced (> 0, else 1 is used).
  LayerEvaluator(const EpLinkModel& model, double dispatch_bytes_per_token, double combine_bytes_per_token,
                 ObjectiveKind kind, double token_lb = 0, double link_lb_s = 0);

  /// Set all ranks' token loads (size ep) and recompute every link.
  void reset(const std::vector<double>& gpu_tokens);
  /// Add delta tokens to one rank's load.
  void apply_delta(int rank, double delta_tokens);
  ObjectiveValue value() const;
  /// The kernel's dispatch time + combine time, seconds (comm/exchange_cost.hpp).
  double link_time_s() const;
  const std::vector<double>& gpu_tokens() const { return tokens_; }

 private:
  double phase_times_s(double dispatch_link_s, double combine_link_s) const;
  const EpLinkModel* model_;
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
};

}  // namespace epsim
