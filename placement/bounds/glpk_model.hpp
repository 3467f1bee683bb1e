#pragma once
// A small owner of one GLPK problem object, shared by the LP bounds and the exact MILP. Internal to
// placement/ (not part of epsim's public interface).
//
// Threads: GLPK 5.0 keeps its environment (memory pools, terminal hooks, glp_term_out flag) in
// thread-local storage when built with TLS support (configure's default; Debian/Ubuntu libglpk40
// 5.0-1 has a TLS segment, checked with readelf -l), so two threads may each build and solve their
// own problem at the same time; one problem object must never be shared between threads. Each
// solving thread gets its own environment on first use (a few hundred KiB, kept until the thread
// calls glp_free_env(); a thread pool reuses it); this wrapper silences terminal output in that
// environment before every solve. A GLPK built without TLS would share one environment: do not
// solve from several threads with such a build.
// Errors: GLPK aborts the process on internal errors (invalid indices), so callers validate inputs
// before building a model; every solver status is checked and a failure throws std::runtime_error.
#include <glpk.h>

#include <memory>
#include <string>
#include <vector>

namespace epsim::detail {

/// One GLPK problem with its sparse constraint matrix collected in triplets (1-based, as GLPK wants).
class GlpkModel {
 public:
  /// Creates an empty minimization problem named `name`.
  explicit GlpkModel(const std::string& name);

  /// Adds a column with bounds [lo, hi] (hi = +inf allowed) and objective coefficient; returns its index.
  int add_col(double lo, double hi, double obj, bool integer = false, bool binary = false);
  /// Adds a row lo <= sum coef * x <= hi (either side may be infinite); returns its index.
  int add_row(double lo, double hi, const std::vector<std::pair<int, double>>& terms);

  /// Solves the LP (primal simplex with presolve). Throws std::runtime_error naming `what` and the
  /// GLPK return code / status unless an optimal solution was found.
  void solve_lp(const std::string& what);
  /// Outcome of solve_mip.
  enum class Mip { optimal, infeasible, time_limit_feasible, time_limit_no_solution };
  /// Solves the MILP with a time limit (seconds, > 0). Throws std::runtime_error naming `what` and the
  /// GLPK return code / status on any other failure.
  Mip solve_mip(const std::string& what, double time_limit_s);

  double objective() const;      ///< LP objective after solve_lp
  double col_value(int j) const;  ///< LP primal value of column j after solve_lp
  double mip_objective() const;   ///< MILP objective after solve_mip
  double mip_col_value(int j) const;  ///< MILP value of column j after solve_mip

 private:
  void load_matrix();
  struct Deleter {
    void operator()(glp_prob* p) const { glp_delete_prob(p); }
  };
  std::unique_ptr<glp_prob, Deleter> prob_;
  std::vector<int> ia_{0}, ja_{0};  // index 0 unused (GLPK is 1-based)
  std::vector<double> ar_{0.0};
};

}  // namespace epsim::detail
