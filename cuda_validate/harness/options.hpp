#pragma once
// Settings of one epsim_cuda_validate run, shared by the driver (main.cpp) and the measurements
// (measure.hpp).
#include <cstdint>
#include <string>
#include <vector>

namespace epsim::cuda {

/// Command-line settings of one harness run (defaults in brackets; CLI help in main.cpp).
struct Options {
  std::string plan;                  ///< plan.json of `epsim plan`; empty = no plan
  int layer = -1;                    ///< model layer of the plan to replay; -1 = the plan's worst layer
  std::string mode = "auto";         ///< auto, one-gpu, node or mpi
  bool gemm_only = false;            ///< measure expert GEMMs only (one GPU)
  int hidden = 7168;                 ///< model hidden size (DeepSeek-V3): GEMM K of gate/up, N of down
  int intermediate = 2048;           ///< expert FFN width (DeepSeek-V3 moe_intermediate_size)
  std::vector<int> tokens_per_expert;                ///< GEMM M values; empty = from the plan or 16..8192
  std::vector<std::string> dtypes = {"bf16", "fp8"}; ///< GEMM types
  int warmup = 5;                    ///< untimed runs before each measurement
  int repeats = 20;                  ///< timed repeats (medians are reported)
  int gemm_iters = 10;               ///< GEMMs per timed repeat
  double timeout_s = 120;            ///< seconds to wait for GPU work before aborting NCCL
  std::string out = "measurements.json";
  std::string topology_id;           ///< recorded in the output
  std::string plan_id;               ///< recorded in the output; empty = the --plan path
  std::int64_t p2p_max_bytes = std::int64_t{256} << 20;  ///< largest point-to-point message, bytes
  double peak_bf16_tflops = 0;       ///< dense BF16 peak, TFLOP/s; 0 = datasheet or SMs x clock
  int copy_blocks = 24;              ///< thread blocks of the one-GPU copy kernel (DeepEP: 20-24 SMs)
  std::int64_t copy_bytes = std::int64_t{256} << 20;     ///< bytes the one-GPU copy kernel moves
};

}  // namespace epsim::cuda
