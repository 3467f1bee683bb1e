#pragma once
// The GPUs this process drives, each with a communication stream, a compute stream and (when
// communicating) an NCCL communicator; and a wait that polls NCCL's asynchronous errors with a
// timeout instead of hanging.
#include <memory>
#include <vector>

#include <cuda_runtime.h>
#include <nccl.h>

#include "cuda_validate/harness/launcher.hpp"

namespace epsim::cuda {

/// One GPU rank driven by this process.
struct RankContext {
  int rank = 0;                     ///< global rank (0..world size - 1)
  int device = 0;                   ///< CUDA device index
  ncclComm_t comm = nullptr;        ///< null in one-GPU mode
  cudaStream_t comm_stream = nullptr;
  cudaStream_t compute_stream = nullptr;
};

class NcclWorld {
 public:
  /// One GPU, no communicator (one-GPU and --gemm-only modes).
  static std::unique_ptr<NcclWorld> one_gpu(int device);
  /// Devices 0..n-1 of this process as ranks 0..n-1 (ncclCommInitAll).
  static std::unique_ptr<NcclWorld> single_process(int num_devices);
  /// This MPI rank on `device` (ncclCommInitRank with a unique id broadcast from rank 0).
  static std::unique_ptr<NcclWorld> mpi(const Launcher& launcher, int device);
  ~NcclWorld();
  NcclWorld(const NcclWorld&) = delete;
  NcclWorld& operator=(const NcclWorld&) = delete;

  int size() const { return size_; }
  std::vector<RankContext>& ranks() { return ranks_; }

  /// Wait until the streams of every local rank are idle, polling cudaStreamQuery and
  /// ncclCommGetAsyncError every 100 us. On an asynchronous NCCL error, or when timeout_s passes,
  /// abort the communicators and throw CallError naming the rank and the error.
  void wait(double timeout_s);

 private:
  NcclWorld() = default;
  void create_streams();
  int size_ = 1;
  bool aborted_ = false;
  std::vector<RankContext> ranks_;
};

}  // namespace epsim::cuda
