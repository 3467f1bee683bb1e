#pragma once
// Datasheet specifications of the GPUs epsim models, in one place.
#include <string>
#include <string_view>
#include <vector>

namespace epsim {

/// Peak figures of one GPU model (dense, i.e. without 2:4 sparsity). Units in the field names:
/// TFLOPs = 1e12 FLOP/s, TBps = 1e12 bytes/s, GBps = 1e9 bytes/s per direction, GB = 1e9 bytes.
/// Every value is a vendor datasheet figure; the source is given per model in gpu_spec.cpp.
struct GpuSpec {
  std::string name;               ///< canonical name: "H100", "H200", "H800", "B200"
  double bf16_dense_TFLOPs = 0;   ///< dense BF16 tensor-core peak
  double fp8_dense_TFLOPs = 0;    ///< dense FP8 tensor-core peak
  double hbm_TBps = 0;            ///< HBM bandwidth
  double hbm_GB = 0;              ///< HBM capacity
  int num_sms = 0;                ///< streaming multiprocessors
  double nvlink_GBps = 0;         ///< NVLink bandwidth per GPU per direction (all links)
};

/// Look up a GPU by name, case-insensitive ("h100", "H100-SXM", "h200", "b200", "h800").
/// Throws InputError naming the known GPUs when the name is unknown.
GpuSpec gpu_spec(std::string_view name);

/// Canonical names of every known GPU, in a fixed order.
std::vector<std::string> known_gpu_names();

}  // namespace epsim
