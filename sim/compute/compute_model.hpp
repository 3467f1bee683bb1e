#pragma once
// Roofline compute model of one GPU: time of GEMMs, grouped expert FFNs and attention, and the slowdown
// of compute that overlaps communication kernels. Times in microseconds.
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "model/moe_model.hpp"
#include "sim/compute/attention_cost.hpp"
#include "comm/calibration.hpp"
#include "sim/compute/gemm_efficiency.hpp"
#include "model/gpu_spec.hpp"

namespace epsim {

/// Tensor-core input precision of a GEMM. Bytes per element: bf16 = 2, fp8 = 1 (per-128 scales are
/// under 1% of the bytes and are ignored).
enum class Precision { bf16, fp8 };

/// Names of the precisions ("bf16", "fp8"), in enum order.
const std::vector<std::string>& precision_names();
/// The precision named `name`; throws std::invalid_argument naming the valid ones.
Precision parse_precision(std::string_view name);
std::string_view to_string(Precision p);

/// Bytes per element of a precision (bf16 2, fp8 1).
double bytes_per_element(Precision p);

/// Tunable parameters of the compute model (defaults and their sources).
struct ComputeParams {
  /// Fixed cost per kernel launch, us. 4 us: typical CUDA kernel launch + tail on H100 without CUDA
  /// graphs (CUDA C++ Best Practices Guide: launch overhead of "a few microseconds"); an assumption
  /// to be replaced by `epsim calibrate`.
  double launch_overhead_us = 4.0;
  /// SMs occupied by communication kernels during overlap. 24: DeepEP normal kernels use 20-24 SMs
  /// (DeepEP README; 20 SMs on stream 27 of DeepSeek's published training profile,
  /// scenarios/measurements/deepseek_profile_train); we take the upper end.
  int comm_sms = 24;
  /// When set, overrides the SM-based slowdown num_sms / (num_sms - comm_sms).
  std::optional<double> overlap_slowdown;
  /// Achieved fraction of tensor peak for attention kernels. 0.75: FlashAttention-3 (Shah et al., 2024)
  /// reaches 740 of 989 TFLOP/s BF16 forward on H100 SXM5.
  double attention_efficiency = 0.75;
};

/// Roofline time of one operation: max(flops / (peak x efficiency), bytes / HBM bandwidth) in us,
/// plus kernels x launch overhead. peak in TFLOP/s (1e12), HBM in TB/s (1e12 bytes/s), efficiency in
/// (0, 1]. Throws std::invalid_argument on a non-positive peak, HBM or efficiency.
double roofline_time_us(const OpCost& cost, double peak_TFLOPs, double efficiency, double hbm_TBps,
                        int kernels, double launch_overhead_us);

/// Compute-time model of one GPU. Immutable; safe to share between threads.
class ComputeModel {
 public:
  /// gpu: datasheet figures; gemm_efficiency: efficiency(M) relative to the tensor peak of the
  /// precision used (measured for FP8, applied unchanged to BF16 against the BF16 peak, an assumption).
  /// Throws std::invalid_argument when comm_sms >= gpu.num_sms or a parameter is out of range.
  ComputeModel(GpuSpec gpu, GemmEfficiencyTable gemm_efficiency, ComputeParams params = {});

  /// A copy with the calibrated GEMM efficiency curve and overlap slowdown (where the file sets them).
  ComputeModel calibrated(const Calibration& calibration) const;

  const GpuSpec& gpu() const { return gpu_; }
  const ComputeParams& params() const { return params_; }
  const GemmEfficiencyTable& gemm_efficiency() const { return gemm_efficiency_; }

  /// Dense tensor peak of a precision, TFLOP/s.
  double peak_TFLOPs(Precision p) const;

  /// One GEMM [m x k] x [k x n] with inputs in `p` and a BF16 output: FLOPs 2 m n k; bytes
  /// (m k + k n) x bytes(p) + 2 m n; efficiency = gemm_efficiency(m); one launch. m may be 0 (launch
  /// only). Result in us.
  double gemm_time_us(double m, double n, double k, Precision p) const;

  /// Grouped SwiGLU expert FFN of the routed experts on one GPU, one grouped kernel per GEMM (gate,
  /// up, down: 3 launches). tokens_per_expert[e] = M of local expert e (0 = idle; its weights are not
  /// read). Per GEMM: sum over experts of the roofline time of [M x hidden] x [hidden x inter] (gate,
  /// up) or [M x inter] x [inter x hidden] (down) at efficiency(M). FLOPs per expert: 3 x 2 x M x hidden
  /// x moe_intermediate. Result in us.
  double expert_ffn_time_us(std::span<const double> tokens_per_expert, const MoeModel& model, Precision p) const;

  /// Attention time of a cost from attention_prefill/attention_decode, at the attention efficiency,
  /// with `kernels` launches. Result in us.
  double attention_time_us(const OpCost& cost, Precision p, int kernels = 1) const;

  /// Factor (>= 1) by which compute that overlaps communication kernels slows down:
  /// params.overlap_slowdown when set, else num_sms / (num_sms - comm_sms) (132 / 108 = 1.222 on H100).
  double overlap_slowdown() const;

 private:
  GpuSpec gpu_;
  GemmEfficiencyTable gemm_efficiency_;
  ComputeParams params_;
};

}  // namespace epsim
