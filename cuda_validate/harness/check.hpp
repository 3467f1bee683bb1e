#pragma once
// Checks for every CUDA, NCCL and cuBLAS call (as nccl-tests' CUDACHECK/NCCLCHECK): a failure
// throws CallError whose what() names the expression, file, line and the library's error text.
#include <stdexcept>
#include <string>

#include <cublasLt.h>
#include <cuda_runtime.h>
#include <nccl.h>

namespace epsim::cuda {

/// A CUDA, NCCL or cuBLAS call failed. Exit code 3 in main().
class CallError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Throws CallError("<file>:<line>: <expr> failed: <error>").
[[noreturn]] void throw_call_error(const char* expr, const char* file, int line, const std::string& error);
std::string cuda_error_text(cudaError_t e);

}  // namespace epsim::cuda

#define EPSIM_CUDA_CHECK(expr)                                                               \
  do {                                                                                       \
    cudaError_t epsim_e_ = (expr);                                                           \
    if (epsim_e_ != cudaSuccess)                                                             \
      ::epsim::cuda::throw_call_error(#expr, __FILE__, __LINE__,                             \
                                      ::epsim::cuda::cuda_error_text(epsim_e_));             \
  } while (0)

#define EPSIM_NCCL_CHECK(expr)                                                               \
  do {                                                                                       \
    ncclResult_t epsim_r_ = (expr);                                                          \
    if (epsim_r_ != ncclSuccess)                                                             \
      ::epsim::cuda::throw_call_error(#expr, __FILE__, __LINE__,                             \
                                      std::string("NCCL error: ") + ncclGetErrorString(epsim_r_)); \
  } while (0)

#define EPSIM_CUBLAS_CHECK(expr)                                                             \
  do {                                                                                       \
    cublasStatus_t epsim_s_ = (expr);                                                        \
    if (epsim_s_ != CUBLAS_STATUS_SUCCESS)                                                   \
      ::epsim::cuda::throw_call_error(#expr, __FILE__, __LINE__,                             \
                                      std::string("cuBLAS error: ") + cublasLtGetStatusName(epsim_s_) + \
                                          " (" + cublasLtGetStatusString(epsim_s_) + ")");   \
  } while (0)
