#include "sim/compute/gemm_efficiency.hpp"

#include <cmath>
#include <map>
#include <stdexcept>

#include <fmt/format.h>

#include "common/error.hpp"
#include "measurements/csv_table.hpp"

namespace epsim {

GemmEfficiencyTable::GemmEfficiencyTable(std::vector<GemmEfficiencyPoint> points) : points_(std::move(points)) {
  if (points_.empty()) throw std::invalid_argument("GEMM efficiency table needs at least one point");
  for (std::size_t i = 0; i < points_.size(); ++i) {
    if (!(points_[i].tokens_per_expert > 0) || !(points_[i].efficiency > 0 && points_[i].efficiency <= 1))
      throw std::invalid_argument("GEMM efficiency point out of range");
    if (i > 0 && !(points_[i].tokens_per_expert > points_[i - 1].tokens_per_expert))
      throw std::invalid_argument("GEMM efficiency points must have strictly increasing tokens_per_expert");
  }
}

double GemmEfficiencyTable::at(double m) const {
  if (!(m > points_.front().tokens_per_expert)) return points_.front().efficiency;
  if (m >= points_.back().tokens_per_expert) return points_.back().efficiency;
  std::size_t hi = 1;
  while (points_[hi].tokens_per_expert < m) ++hi;
  const auto& a = points_[hi - 1];
  const auto& b = points_[hi];
  double t = (std::log(m) - std::log(a.tokens_per_expert)) / (std::log(b.tokens_per_expert) - std::log(a.tokens_per_expert));
  return a.efficiency + t * (b.efficiency - a.efficiency);
}

GemmEfficiencyTable load_deepgemm_efficiency(const std::filesystem::path& csv, double peak_TFLOPs) {
  CsvTable t = read_csv_file(csv);
  std::size_t cm = t.column("m_per_group");
  std::size_t ct = t.column("tflops");
  std::map<double, std::pair<double, int>> sums;  // M -> (sum of TFLOPS, rows)
  for (std::size_t r = 0; r < t.rows.size(); ++r) {
    double m = t.number(r, cm);
    double tf = t.number(r, ct);
    if (!(m > 0) || !(tf > 0))
      throw InputError(t.file, fmt::format("line {}", t.line_numbers[r]), "m_per_group > 0 and tflops > 0");
    if (tf > peak_TFLOPs)
      throw InputError(t.file, fmt::format("line {}", t.line_numbers[r]),
                       fmt::format("tflops <= the peak {} TFLOP/s", peak_TFLOPs));
    auto& s = sums[m];
    s.first += tf;
    s.second += 1;
  }
  if (sums.empty()) throw InputError(t.file, "", "at least one measurement row");
  std::vector<GemmEfficiencyPoint> pts;
  for (const auto& [m, s] : sums) pts.push_back({m, s.first / s.second / peak_TFLOPs});
  return GemmEfficiencyTable(std::move(pts));
}

}  // namespace epsim
