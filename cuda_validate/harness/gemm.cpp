#include "cuda_validate/harness/gemm.hpp"

#include "cuda_validate/harness/check.hpp"
#include "cuda_validate/harness/kernels.hpp"

namespace epsim::cuda {

std::string to_string(GemmDtype dtype) { return dtype == GemmDtype::bf16 ? "bf16" : "fp8"; }

ExpertGemm::ExpertGemm(cublasLtHandle_t handle, GemmDtype dtype, int m, int n, int k, cudaStream_t init_stream)
    : handle_(handle), m_(m), n_(n), k_(k) {
  const cudaDataType_t in_type = dtype == GemmDtype::bf16 ? CUDA_R_16BF : CUDA_R_8F_E4M3;
  const int in_bytes = dtype == GemmDtype::bf16 ? 2 : 1;
  const auto K = static_cast<std::int64_t>(k), N = static_cast<std::int64_t>(n), M = static_cast<std::int64_t>(m);
  EPSIM_CUDA_CHECK(cudaMalloc(&a_, static_cast<std::size_t>(K * N * in_bytes)));
  EPSIM_CUDA_CHECK(cudaMalloc(&b_, static_cast<std::size_t>(K * M * in_bytes)));
  EPSIM_CUDA_CHECK(cudaMalloc(&d_, static_cast<std::size_t>(N * M * 2)));
  EPSIM_CUDA_CHECK(cudaMalloc(&workspace_, workspace_bytes_));
  fill_random(a_, K * N, in_bytes, 1, init_stream);
  fill_random(b_, K * M, in_bytes, 2, init_stream);
  EPSIM_CUDA_CHECK(cudaGetLastError());

  EPSIM_CUBLAS_CHECK(cublasLtMatmulDescCreate(&op_, CUBLAS_COMPUTE_32F, CUDA_R_32F));
  const cublasOperation_t transa = CUBLAS_OP_T, transb = CUBLAS_OP_N;
  EPSIM_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(op_, CUBLASLT_MATMUL_DESC_TRANSA, &transa, sizeof(transa)));
  EPSIM_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(op_, CUBLASLT_MATMUL_DESC_TRANSB, &transb, sizeof(transb)));
  EPSIM_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&a_layout_, in_type, static_cast<std::uint64_t>(K),
                                                static_cast<std::uint64_t>(N), K));
  EPSIM_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&b_layout_, in_type, static_cast<std::uint64_t>(K),
                                                static_cast<std::uint64_t>(M), K));
  EPSIM_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&d_layout_, CUDA_R_16BF, static_cast<std::uint64_t>(N),
                                                static_cast<std::uint64_t>(M), N));

  cublasLtMatmulPreference_t pref = nullptr;
  EPSIM_CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&pref));
  EPSIM_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                                                          &workspace_bytes_, sizeof(workspace_bytes_)));
  cublasLtMatmulHeuristicResult_t result{};
  int found = 0;
  cublasStatus_t st = cublasLtMatmulAlgoGetHeuristic(handle_, op_, a_layout_, b_layout_, d_layout_, d_layout_, pref, 1,
                                                     &result, &found);
  EPSIM_CUBLAS_CHECK(cublasLtMatmulPreferenceDestroy(pref));
  // NOT_SUPPORTED means no algorithm for this type/shape here (e.g. FP8 on sm_80): not an error.
  if (st != CUBLAS_STATUS_NOT_SUPPORTED) EPSIM_CUBLAS_CHECK(st);
  supported_ = st == CUBLAS_STATUS_SUCCESS && found > 0;
  if (supported_) algo_ = result.algo;
}

ExpertGemm::~ExpertGemm() {
  // Destructors must not throw: release what exists and ignore errors (a failed context reports
  // itself through the checked calls that come first).
  if (d_layout_) cublasLtMatrixLayoutDestroy(d_layout_);
  if (b_layout_) cublasLtMatrixLayoutDestroy(b_layout_);
  if (a_layout_) cublasLtMatrixLayoutDestroy(a_layout_);
  if (op_) cublasLtMatmulDescDestroy(op_);
  cudaFree(workspace_);
  cudaFree(d_);
  cudaFree(b_);
  cudaFree(a_);
}

void ExpertGemm::run(cudaStream_t stream) {
  const float alpha = 1.0f, beta = 0.0f;
  EPSIM_CUBLAS_CHECK(cublasLtMatmul(handle_, op_, &alpha, a_, a_layout_, b_, b_layout_, &beta, d_, d_layout_, d_,
                                    d_layout_, &algo_, workspace_, workspace_bytes_, stream));
}

}  // namespace epsim::cuda
