#pragma once
// One expert GEMM with cuBLASLt: D[M x N] = X[M x K] W[K x N] (tokens x hidden times weights),
// stored as cuBLASLt's column-major "TN" problem D^T = W^T X^T, the layout FP8 requires on Hopper.
// BF16: BF16 in, BF16 out, FP32 accumulate. FP8: E4M3 in (unit scales), BF16 out, FP32 accumulate.
#include <cstdint>
#include <string>

#include <cublasLt.h>
#include <cuda_runtime.h>

namespace epsim::cuda {

enum class GemmDtype { bf16, fp8 };
std::string to_string(GemmDtype dtype);

/// Buffers, descriptors and the heuristic's best algorithm of one GEMM shape on the current device.
/// Not copyable. All calls checked (EPSIM_CUDA_CHECK / EPSIM_CUBLAS_CHECK).
class ExpertGemm {
 public:
  /// m = tokens per expert, n = output features, k = input features (all >= 1).
  ExpertGemm(cublasLtHandle_t handle, GemmDtype dtype, int m, int n, int k, cudaStream_t init_stream);
  ~ExpertGemm();
  ExpertGemm(const ExpertGemm&) = delete;
  ExpertGemm& operator=(const ExpertGemm&) = delete;

  /// False when cuBLASLt has no algorithm for this dtype and shape on this GPU (e.g. FP8 before
  /// sm_89): run() must not be called then.
  bool supported() const { return supported_; }
  /// Enqueue one GEMM.
  void run(cudaStream_t stream);
  double flops() const { return 2.0 * m_ * static_cast<double>(n_) * k_; }
  int m() const { return m_; }
  int n() const { return n_; }
  int k() const { return k_; }

 private:
  cublasLtHandle_t handle_;
  int m_, n_, k_;
  bool supported_ = false;
  void* a_ = nullptr;  // weights, K x N column-major (op T)
  void* b_ = nullptr;  // tokens, K x M column-major
  void* d_ = nullptr;  // outputs, N x M column-major
  void* workspace_ = nullptr;
  std::size_t workspace_bytes_ = 32u << 20;
  cublasLtMatmulDesc_t op_ = nullptr;
  cublasLtMatrixLayout_t a_layout_ = nullptr, b_layout_ = nullptr, d_layout_ = nullptr;
  cublasLtMatmulAlgo_t algo_{};
};

}  // namespace epsim::cuda
