#pragma once
// measurements.json, schema "epsim.measurements/1" (docs/formats-measurements.md): what
// epsim_cuda_validate measured on real GPUs, read by `epsim calibrate` and `epsim validate`.
// Host-only: no CUDA.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/json_input.hpp"
#include "comm/link_load.hpp"

namespace epsim::validate {

inline constexpr const char* kMeasurementsSchema = "epsim.measurements/1";

/// nccl-tests' algorithm bandwidth: algbw = S / t, GB/s (1e9 bytes/s). S = bytes per rank, t > 0 s.
double algbw_GBps(double bytes_per_rank, double seconds);
/// nccl-tests' bus bandwidth of an all-to-all: busbw = algbw x (n - 1) / n (n ranks).
double alltoall_busbw_GBps(double algbw, int num_ranks);

/// A rank paired with rank 0 for the p2p sweep and the class of the link between them.
struct P2pPair {
  int peer = 0;
  std::string link_class;
};

/// Pairs for the p2p sweep from the host name of every rank: rank 1 when it shares rank 0's host
/// ("nvlink"), and the first rank on another host ("infiniband").
std::vector<P2pPair> p2p_pairs(const std::vector<std::string>& hosts);

/// One all-to-all-v of a plan layer (grouped ncclSend/ncclRecv). bytes_per_rank = S, the largest
/// send buffer of any rank (self chunk included, as in nccl-tests); times are medians over repeats
/// of the mean over ranks of each rank's CUDA-event time.
struct AllToAllSample {
  Exchange direction = Exchange::dispatch;
  int layer = 0;
  std::int64_t bytes_per_token = 0;
  std::vector<double> gpu_tokens;   ///< per rank, as in the plan (size num_gpus)
  double bytes_per_rank = 0;
  double time_us = 0;
  double max_rank_time_us = 0;      ///< median over repeats of the slowest rank's time
  double algbw_GBps = 0;
  double busbw_GBps = 0;
  int repeats = 0;
};

/// One point-to-point message (ncclSend/ncclRecv) between two ranks over one link class.
struct P2pSample {
  std::string link_class;           ///< "nvlink" (same node) or "infiniband" (different nodes)
  int src = 0;
  int dst = 0;
  double bytes = 0;
  double time_us = 0;
  int repeats = 0;
};

/// One expert GEMM (cuBLASLt): [tokens_per_expert x k] x [k x n].
struct GemmSample {
  std::string dtype;                ///< "bf16" or "fp8" (e4m3 inputs, bf16 output)
  std::string name;                 ///< "gate_up" or "down"
  int tokens_per_expert = 0;        ///< M
  int n = 0;
  int k = 0;
  double time_us = 0;
  double tflops = 0;                ///< 2 M N K / time
  double peak_tflops = 0;           ///< dense peak of the GPU for dtype
  int repeats = 0;
};

/// Compute (expert GEMMs on a compute stream) and communication (dispatch-like traffic, or a copy
/// kernel on one GPU, on a communication stream), alone and overlapped.
struct OverlapSample {
  std::string comm;                 ///< "nccl_alltoallv" or "copy_kernel"
  int tokens_per_expert = 0;
  double compute_alone_us = 0;
  double compute_overlapped_us = 0;
  double comm_alone_us = 0;
  double comm_overlapped_us = 0;
  double compute_slowdown() const { return compute_overlapped_us / compute_alone_us; }
  double comm_slowdown() const { return comm_overlapped_us / comm_alone_us; }
};

struct Measurements {
  std::string file;                 ///< where it was read from (error messages); not serialized
  std::string gpu;
  std::string driver;
  std::string cuda;
  std::string nccl;
  std::string topology_id;
  std::string plan_id;
  int num_gpus = 0;
  std::string mode;                 ///< "one-gpu", "node" or "mpi"
  int warmup = 0;
  std::vector<AllToAllSample> alltoall;
  std::vector<P2pSample> p2p;
  std::vector<GemmSample> gemm;
  std::vector<OverlapSample> overlap;
};

/// Parse a document. Throws InputError naming file + JSON pointer for: wrong schema, a missing or
/// ill-typed field, an unknown sample kind, a time that is not > 0 (negative or zero), a negative
/// size, an all-to-all whose gpu_tokens does not have num_gpus entries, a p2p rank outside
/// [0, num_gpus).
Measurements measurements_from_json(const Json& doc, const std::string& file);

/// Load a file; with expected_gpus, also reject (at /num_gpus) a GPU count that differs from the
/// plan or topology named by `expected_from`.
Measurements load_measurements(const std::filesystem::path& path, std::optional<int> expected_gpus = {},
                               const std::string& expected_from = "");

/// Serialize (deterministic key order). measurements_from_json(measurements_to_json(m)) == m.
Json measurements_to_json(const Measurements& m);

}  // namespace epsim::validate
