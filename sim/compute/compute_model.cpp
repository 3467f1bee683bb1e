#include "common/names.hpp"
#include "sim/compute/compute_model.hpp"

#include <algorithm>
#include <stdexcept>

namespace epsim {

const std::vector<std::string>& precision_names() {
  static const std::vector<std::string> names = {"bf16", "fp8"};
  return names;
}
Precision parse_precision(std::string_view name) { return enum_from_name<Precision>(name, precision_names(), "precision"); }
std::string_view to_string(Precision p) { return name_of(p, precision_names()); }

double bytes_per_element(Precision p) { return p == Precision::fp8 ? 1.0 : 2.0; }

double roofline_time_us(const OpCost& cost, double peak_TFLOPs, double efficiency, double hbm_TBps, int kernels,
                        double launch_overhead_us) {
  if (!(peak_TFLOPs > 0) || !(hbm_TBps > 0) || !(efficiency > 0))
    throw std::invalid_argument("roofline_time_us: peak, HBM bandwidth and efficiency must be > 0");
  const double compute_us = cost.flops / (peak_TFLOPs * efficiency * 1e12) * 1e6;
  const double memory_us = cost.bytes / (hbm_TBps * 1e12) * 1e6;
  return std::max(compute_us, memory_us) + kernels * launch_overhead_us;
}

ComputeModel::ComputeModel(GpuSpec gpu, GemmEfficiencyTable gemm_efficiency, ComputeParams params)
    : gpu_(std::move(gpu)), gemm_efficiency_(std::move(gemm_efficiency)), params_(params) {
  if (params_.comm_sms < 0 || params_.comm_sms >= gpu_.num_sms)
    throw std::invalid_argument("ComputeModel: comm_sms must be in [0, num_sms)");
  if (!(params_.launch_overhead_us >= 0)) throw std::invalid_argument("ComputeModel: launch_overhead_us must be >= 0");
  if (!(params_.attention_efficiency > 0 && params_.attention_efficiency <= 1))
    throw std::invalid_argument("ComputeModel: attention_efficiency must be in (0, 1]");
  if (params_.overlap_slowdown && !(*params_.overlap_slowdown >= 1))
    throw std::invalid_argument("ComputeModel: overlap_slowdown must be >= 1");
}

ComputeModel ComputeModel::calibrated(const Calibration& cal) const {
  ComputeParams p = params_;
  if (cal.overlap_slowdown) p.overlap_slowdown = cal.overlap_slowdown;
  GemmEfficiencyTable table = cal.gemm_efficiency.empty() ? gemm_efficiency_ : GemmEfficiencyTable(cal.gemm_efficiency);
  return ComputeModel(gpu_, std::move(table), p);
}

double ComputeModel::peak_TFLOPs(Precision p) const {
  return p == Precision::fp8 ? gpu_.fp8_dense_TFLOPs : gpu_.bf16_dense_TFLOPs;
}

double ComputeModel::gemm_time_us(double m, double n, double k, Precision p) const {
  OpCost c{2.0 * m * n * k, (m * k + k * n) * bytes_per_element(p) + 2.0 * m * n};
  if (m <= 0) return params_.launch_overhead_us;
  return roofline_time_us(c, peak_TFLOPs(p), gemm_efficiency_.at(m), gpu_.hbm_TBps, 1, params_.launch_overhead_us);
}

double ComputeModel::expert_ffn_time_us(std::span<const double> tokens_per_expert, const MoeModel& model,
                                        Precision p) const {
  const double hidden = model.hidden_size;
  const double inter = model.moe_intermediate_size;
  const double b = bytes_per_element(p);
  double total = 0;
  // Two GEMMs of shape (n = inter, k = hidden) (gate, up) and one of (n = hidden, k = inter) (down).
  const double shapes[3][2] = {{inter, hidden}, {inter, hidden}, {hidden, inter}};
  for (const auto& s : shapes) {
    for (double m : tokens_per_expert) {
      if (m <= 0) continue;
      OpCost c{2.0 * m * s[0] * s[1], (m * s[1] + s[1] * s[0]) * b + 2.0 * m * s[0]};
      total += roofline_time_us(c, peak_TFLOPs(p), gemm_efficiency_.at(m), gpu_.hbm_TBps, 0, 0.0);
    }
    total += params_.launch_overhead_us;
  }
  return total;
}

double ComputeModel::attention_time_us(const OpCost& cost, Precision p, int kernels) const {
  return roofline_time_us(cost, peak_TFLOPs(p), params_.attention_efficiency, gpu_.hbm_TBps, kernels,
                          params_.launch_overhead_us);
}

double ComputeModel::overlap_slowdown() const {
  if (params_.overlap_slowdown) return *params_.overlap_slowdown;
  return static_cast<double>(gpu_.num_sms) / static_cast<double>(gpu_.num_sms - params_.comm_sms);
}

}  // namespace epsim
