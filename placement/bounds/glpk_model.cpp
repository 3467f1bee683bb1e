#include "placement/bounds/glpk_model.hpp"

#include "placement/bounds/bounds.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace epsim::detail {
namespace {

int bound_type(double lo, double hi) {
  const bool has_lo = std::isfinite(lo), has_hi = std::isfinite(hi);
  if (has_lo && has_hi) return lo == hi ? GLP_FX : GLP_DB;
  if (has_lo) return GLP_LO;
  if (has_hi) return GLP_UP;
  return GLP_FR;
}

double finite_or_zero(double v) { return std::isfinite(v) ? v : 0.0; }

}  // namespace

GlpkModel::GlpkModel(const std::string& name) : prob_(glp_create_prob()) {
  glp_term_out(GLP_OFF);  // this thread's environment
  glp_set_prob_name(prob_.get(), name.c_str());
  glp_set_obj_dir(prob_.get(), GLP_MIN);
}

int GlpkModel::add_col(double lo, double hi, double obj, bool integer, bool binary) {
  const int j = glp_add_cols(prob_.get(), 1);
  if (binary) {
    glp_set_col_kind(prob_.get(), j, GLP_BV);
  } else {
    glp_set_col_bnds(prob_.get(), j, bound_type(lo, hi), finite_or_zero(lo), finite_or_zero(hi));
    if (integer) glp_set_col_kind(prob_.get(), j, GLP_IV);
  }
  glp_set_obj_coef(prob_.get(), j, obj);
  return j;
}

int GlpkModel::add_row(double lo, double hi, const std::vector<std::pair<int, double>>& terms) {
  const int i = glp_add_rows(prob_.get(), 1);
  glp_set_row_bnds(prob_.get(), i, bound_type(lo, hi), finite_or_zero(lo), finite_or_zero(hi));
  for (const auto& [j, a] : terms) {
    if (a == 0.0) continue;
    ia_.push_back(i);
    ja_.push_back(j);
    ar_.push_back(a);
  }
  return i;
}

void GlpkModel::load_matrix() {
  glp_load_matrix(prob_.get(), static_cast<int>(ia_.size()) - 1, ia_.data(), ja_.data(), ar_.data());
}

void GlpkModel::solve_lp(const std::string& what) {
  glp_term_out(GLP_OFF);
  load_matrix();
  glp_scale_prob(prob_.get(), GLP_SF_AUTO);
  glp_smcp parm;
  glp_init_smcp(&parm);
  parm.msg_lev = GLP_MSG_OFF;
  parm.presolve = GLP_ON;
  const int rc = glp_simplex(prob_.get(), &parm);
  const int status = glp_get_status(prob_.get());
  if (rc != 0 || status != GLP_OPT)
    throw std::runtime_error(
        fmt::format("{}: GLPK simplex found no optimal solution (glp_simplex returned {}, status {})", what, rc, status));
}

GlpkModel::Mip GlpkModel::solve_mip(const std::string& what, double time_limit_s) {
  glp_term_out(GLP_OFF);
  load_matrix();
  glp_iocp parm;
  glp_init_iocp(&parm);
  parm.msg_lev = GLP_MSG_OFF;
  parm.presolve = GLP_ON;
  parm.gmi_cuts = GLP_ON;
  parm.mir_cuts = GLP_ON;
  parm.cov_cuts = GLP_ON;
  parm.clq_cuts = GLP_ON;
  parm.br_tech = GLP_BR_PCH;
  parm.bt_tech = GLP_BT_BLB;
  parm.tm_lim = std::max(1, static_cast<int>(std::min(time_limit_s * 1000.0, 2.0e9)));
  const int rc = glp_intopt(prob_.get(), &parm);
  const int status = glp_mip_status(prob_.get());
  if (rc == 0 && status == GLP_OPT) return Mip::optimal;
  if ((rc == 0 && status == GLP_NOFEAS) || rc == GLP_ENOPFS) return Mip::infeasible;
  if (rc == GLP_ETMLIM) return status == GLP_FEAS ? Mip::time_limit_feasible : Mip::time_limit_no_solution;
  throw std::runtime_error(
      fmt::format("{}: GLPK branch-and-bound found no solution (glp_intopt returned {}, status {})", what, rc, status));
}

double GlpkModel::objective() const { return glp_get_obj_val(prob_.get()); }
double GlpkModel::col_value(int j) const { return glp_get_col_prim(prob_.get(), j); }
double GlpkModel::mip_objective() const { return glp_mip_obj_val(prob_.get()); }
double GlpkModel::mip_col_value(int j) const { return glp_mip_col_val(prob_.get(), j); }

}  // namespace epsim::detail

namespace epsim {

void release_lp_solver_thread_state() { glp_free_env(); }

}  // namespace epsim
