#pragma once
// Helpers of the published-table validation tests (test_published_tables.cpp, test_hybrid_ep_tables.cpp):
// picking rows, (a) printouts, leave-one-group-out (b) and both per phase.
#include <cmath>
#include <cstdio>
#include <set>
#include <vector>

#include "comm/exchange_kernel.hpp"
#include "comm/kernel_fit.hpp"
#include "comm/kernel_samples.hpp"

namespace epsim::test {

template <class Pred>
inline std::vector<KernelSample> pick(const std::vector<KernelSample>& v, Pred p) {
  std::vector<KernelSample> out;
  for (const KernelSample& s : v)
    if (p(s)) out.push_back(s);
  return out;
}

// Leave one group (EP size) out: fit `fields` on the other groups, predict the held-out rows; returns
// the MAE over all held-out rows (each row predicted by the fit that did not see it).
inline double leave_one_group_out(const ExchangeKernelParams& start, const std::vector<KernelSample>& rows,
                                  const std::vector<FitField>& fields, bool print) {
  std::set<int> groups;
  for (const KernelSample& s : rows) groups.insert(s.group);
  double sum = 0;
  int n = 0;
  for (int g : groups) {
    const auto train = pick(rows, [&](const KernelSample& s) { return s.group != g; });
    const auto test = pick(rows, [&](const KernelSample& s) { return s.group == g; });
    const auto pred = predict_samples(fit_kernel(start, train, fields), test);
    for (std::size_t i = 0; i < test.size(); ++i) {
      if (print)
        std::printf("    (b) %-40s measured %8.1f us, predicted %8.1f us (%+.1f%%)\n", test[i].label.c_str(),
                    test[i].measured_us, pred[i], 100 * (pred[i] / test[i].measured_us - 1));
      sum += std::abs(pred[i] / test[i].measured_us - 1);
      ++n;
    }
  }
  return n ? sum / n : 0;
}

inline void print_a(const std::vector<KernelSample>& rows, const std::vector<double>& pred) {
  for (std::size_t i = 0; i < rows.size(); ++i)
    std::printf("    (a) %-40s measured %8.1f us, predicted %8.1f us (%+.1f%%)\n", rows[i].label.c_str(),
                rows[i].measured_us, pred[i], 100 * (pred[i] / rows[i].measured_us - 1));
}

// (a) and (b) of one table per phase; (b) leaves out one group at a time (its rows predicted by the fit
// on the other groups) and fits the fields `epsim calibrate` fits for the kernel.
struct TableErrors {
  double a = 0, b = 0;
};
inline TableErrors errors_by_phase(const char* name, ExchangeKernelKind kind, const std::vector<KernelSample>& rows, bool dispatch,
                                   const std::vector<FitField>& fields) {
  const ExchangeKernelParams def = default_kernel_params(kind);
  const auto phase = pick(rows, [&](const KernelSample& s) { return s.dispatch == dispatch; });
  const auto pred = predict_samples(def, phase);
  print_a(phase, pred);
  TableErrors e;
  e.a = mean_abs_error(pred, phase);
  e.b = leave_one_group_out(def, phase, fields, true);
  std::printf("%s %s: (a) defaults MAE %.1f%%; (b) leave one group out: MAE %.1f%%\n", name,
              dispatch ? "dispatch" : "combine", 100 * e.a, 100 * e.b);
  return e;
}

}  // namespace epsim::test
