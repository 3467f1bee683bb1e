#pragma once
// Operation times from measured kernel tables (measurements/kernel_table.hpp): GEMM by dtype and
// (m, n, k), DeepSeek-V3 MLA prefill and decode, the DeepEP-MoE grouped GEMM of one GPU, the shared-expert
// MLP. Outside a table's range: the nearest measured point scaled by the roofline ratio, noted once per
// run. Equations and validation: docs/compute_model.md "Kernel tables", docs/validation.md "Compute".
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "measurements/kernel_table.hpp"
#include "model/gpu_spec.hpp"
#include "model/moe_model.hpp"

namespace epsim {

/// What one run noted about look-ups that left the measured tables: per table the first case and how
/// many there were. One object per simulate() / predict call (never shared between threads).
class ComputeNotices {
 public:
  /// Record a look-up of `table` outside its measured range; `what` describes the first one.
  void note(const std::string& table, const std::string& what);
  /// One line per table, in table order: "<table>: <n> look-up(s) outside the measured range, scaled
  /// from the nearest measured point by the roofline ratio; first: <what>".
  std::vector<std::string> messages() const;
  bool empty() const { return first_.empty(); }

 private:
  std::map<std::string, std::pair<std::string, long>> first_;
};

/// GEMM input types of the GEMM table: bfloat16; fp8 with one scale per tensor; fp8 with 128 x 128 block
/// scales (DeepSeek-V3's recipe, DeepGEMM).
enum class GemmDtype { bf16, fp8, fp8_block };
std::string_view to_string(GemmDtype d);  ///< "bfloat16", "fp8", "fp8_block" (the table's names)
/// Parse "bf16" / "bfloat16", "fp8", "fp8_block"; throws UsageError listing them.
GemmDtype parse_gemm_dtype(std::string_view name);

/// Coefficients of the prefill grouped-GEMM model fitted on the uniform rows of moe_context (the table's
/// collector feeds every rank all of the EP group's rows, so its rows carry a per-row cost the engine
/// does not pay; docs/compute_model.md): t_us = c0 + per_weight_GB x local weights (GB) + per_kpair x
/// pairs / 1000 + per_krow x rows / 1000.
struct MoePrefillFit {
  double c0_us = 0;
  double per_weight_GB_us = 0;
  double per_kpair_us = 0;
  double per_krow_us = 0;
  double min_pairs = 0, max_pairs = 0;  ///< range of the rows it was fitted on
  double predict_us(double weight_GB, double pairs, double rows) const {
    return c0_us + per_weight_GB_us * weight_GB + per_kpair_us * pairs / 1e3 + per_krow_us * rows / 1e3;
  }
};

/// Least-squares fit of MoePrefillFit on rows (local experts, pairs, rows, us), minimising the squared
/// relative error. expert_GB: bytes of one expert's weights / 1e9. Throws std::invalid_argument with
/// fewer than 4 rows or a singular system.
struct MoeFitRow {
  double local_experts = 0, pairs = 0, rows = 0, us = 0;
};
MoePrefillFit fit_moe_prefill(const std::vector<MoeFitRow>& rows, double expert_GB);

/// The kernel tables of one GPU with the datasheet figures for roofline scaling. Immutable; safe to
/// share between threads (notices go to the caller's ComputeNotices).
class KernelTableModel {
 public:
  /// gpu: the GPU the times are for (H800 may use H100 tables: same SMs, clocks and tensor peak).
  /// Throws InputError when the moe_context table has too few uniform rows of a model to fit.
  KernelTableModel(KernelTableSet tables, GpuSpec gpu);

  const KernelTableSet& tables() const { return tables_; }
  const GpuSpec& gpu() const { return gpu_; }

  /// One GEMM C[m x n] = A[m x k] B[k x n], us; std::nullopt when the table has no such dtype. m, n, k
  /// > 0. m or n beyond the largest measured value: equal row / column blocks inside the range (exact
  /// split of the work), noted.
  std::optional<double> gemm_us(double m, double n, double k, GemmDtype dtype, ComputeNotices* notices) const;

  /// True when the MLA tables describe this model's attention (DeepSeek-V3 dimensions: hidden 7168,
  /// q_lora 1536, kv_lora 512, nope 128, rope 64, v 128).
  bool covers_mla(const MoeModel& model) const;
  /// MLA prefill (the self_attn module without the fused q_a/kv_a projection): `seqs` sequences each
  /// adding `tokens` new tokens after `prefix` cached ones, heads per GPU. With prefix p > 0:
  /// max(T(seqs, p + tokens) - T(seqs, p), T(seqs, tokens)) (the work the longer context adds, at least
  /// the same tokens without a prefix). std::nullopt when the model or backend is not covered.
  std::optional<double> mla_prefill_us(const MoeModel& model, double seqs, double tokens, double prefix, double heads,
                                       const std::string& backend, ComputeNotices* notices) const;
  /// MLA decode step of `batch` query rows over `kv_len` cached tokens each, heads per GPU.
  std::optional<double> mla_decode_us(const MoeModel& model, double batch, double kv_len, double heads,
                                      const std::string& backend, ComputeNotices* notices) const;

  /// True when the MoE tables were measured with this model's experts (hidden, moe_intermediate, top_k,
  /// routed experts).
  bool covers_moe(const MoeModel& model) const;
  /// Grouped GEMM (SwiGLU) of one GPU in prefill (DeepEP normal, contiguous layout): `active_experts`
  /// local experts with tokens, `pairs` token-expert pairs, `rows` rows received. The fitted model.
  std::optional<double> moe_prefill_us(const MoeModel& model, double active_experts, double pairs, double rows,
                                       ComputeNotices* notices) const;
  /// Grouped GEMM of one GPU in decode (DeepEP low-latency, masked layout, CUDA graph): the uniform rows
  /// of moe_generation interpolated at (active experts, pairs).
  std::optional<double> moe_decode_us(const MoeModel& model, double active_experts, double pairs,
                                      ComputeNotices* notices) const;
  /// The prefill fit of this model (nullptr when not covered).
  const MoePrefillFit* moe_prefill_fit(const MoeModel& model) const;

  /// Shared-expert / dense SwiGLU MLP of width `intermediate` over `tokens` tokens, FP8 block-scaled,
  /// from the mlp table (std::nullopt when no row has this hidden and width).
  std::optional<double> mlp_us(const MoeModel& model, double tokens, double intermediate, ComputeNotices* notices) const;

 private:
  double roofline_us(double flops, double bytes, double peak_TFLOPs) const;
  std::string moe_key(const MoeModel& model, const char* distribution) const;

  KernelTableSet tables_;
  GpuSpec gpu_;
  std::map<std::string, MoePrefillFit> moe_fits_;  ///< per model key (without distribution)
};

/// The folder of the shipped tables for a GPU ("H100" and "H800" -> kernels/h100_sxm, "H200" ->
/// kernels/h200_sxm) under scenarios/measurements/, or an empty path when none is shipped (B200).
std::string default_kernel_tables_folder(const std::string& gpu_name);
/// The GPU whose tables a GPU uses: H800 -> H100 (same SMs, clocks and tensor peak), else itself.
std::string kernel_tables_gpu(const std::string& gpu_name);

}  // namespace epsim
