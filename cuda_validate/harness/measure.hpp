#pragma once
// The harness's measurements (cuda_validate/README.md gives the formulas): expert GEMMs on one GPU,
// all-to-all-v of a plan layer and point-to-point messages through NCCL, and compute/communication
// overlap. Each appends its samples to a validate::Measurements. Timing: CUDA events around each
// stream, warm-up runs excluded, medians over Options::repeats; collectives take the mean over ranks
// (as nccl-tests) and record the slowest rank. Errors: CallError (CUDA/NCCL/cuBLAS), WrongResult.
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "cuda_validate/harness/launcher.hpp"
#include "cuda_validate/harness/nccl_world.hpp"
#include "cuda_validate/harness/options.hpp"
#include "cuda_validate/measurements.hpp"
#include "cuda_validate/plan_traffic.hpp"

namespace epsim::cuda {

/// Tokens did not land where the plan says. Exit code 5.
class WrongResult : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// GEMM M values to sweep: --tokens-per-expert, else the plan layer's tokens per expert
/// (validate::tokens_per_expert_sweep), else 16, 32, ..., 8192.
std::vector<int> gemm_token_counts(const Options& o, const std::optional<validate::PlanTraffic>& plan,
                                   const validate::PlanLayer* layer);

/// cuBLASLt expert GEMMs (gate_up: M x 2I x H, down: M x H x I) on rank r's compute stream for every
/// M in `tokens` and every dtype of o.dtypes (fp8 skipped unless fp8_capable); peak_bf16 in TFLOP/s
/// (FP8 peak = 2x). Shapes without a cuBLASLt algorithm are skipped with a line on stdout.
void measure_gemms(NcclWorld& world, RankContext& r, const Options& o, const std::vector<int>& tokens, double peak_bf16,
                   bool fp8_capable, validate::Measurements& m);

/// Dispatch and combine all-to-all-v of `layer` with the plan's per-pair bytes: checked once (throws
/// WrongResult when received bytes differ from what the plan sends), then timed.
void measure_alltoall(NcclWorld& world, const Launcher& launcher, const Options& o, const validate::PlanTraffic& plan,
                      const validate::PlanLayer& layer, validate::Measurements& m);

/// Rank 0 to one peer per link class (same host, other host; validate::p2p_pairs of `hosts`, the host
/// of every rank), messages of 1 KiB x 4^k up to o.p2p_max_bytes; time = the receiver's.
void measure_p2p(NcclWorld& world, const Launcher& launcher, const Options& o, const std::vector<std::string>& hosts,
                 validate::Measurements& m);

/// Expert GEMMs (BF16, the plan layer's tokens per expert, else the middle of --tokens-per-expert,
/// else 1024) on the compute stream against the plan's dispatch all-to-all-v (NCCL), or, without a
/// plan, a copy kernel of o.copy_blocks blocks, on the communication stream: alone and together.
/// The compute phase repeats the FFN to last about as long as the communication phase.
void measure_overlap(NcclWorld& world, const Launcher& launcher, const Options& o,
                     const std::optional<validate::PlanTraffic>& plan, const validate::PlanLayer* layer,
                     validate::Measurements& m);

}  // namespace epsim::cuda
