#pragma once
// Device kernels of the harness (kernels.cu, the only file nvcc compiles): test patterns for the
// correctness check, GEMM input initialisation and a copy kernel that stands in for communication
// kernels in one-GPU mode. All launches are asynchronous on `stream`; errors are checked by the
// caller's EPSIM_CUDA_CHECK(cudaGetLastError()) or the next synchronisation.
#include <cstdint>

#include <cuda_runtime.h>

namespace epsim::cuda {

/// Byte i of the chunk that rank src sends to rank dst: a hash of (src, dst, i), so a chunk landing
/// at the wrong rank, offset or source is detected.
/// Fill buf[0, bytes) with the pattern of (src, dst).
void fill_pattern(std::uint8_t* buf, std::int64_t bytes, int src, int dst, cudaStream_t stream);
/// Count bytes of buf[0, bytes) that differ from the pattern of (src, dst); adds to *mismatches.
void check_pattern(const std::uint8_t* buf, std::int64_t bytes, int src, int dst, unsigned long long* mismatches,
                   cudaStream_t stream);
/// Count bytes of buf[0, bytes) that differ from `value` (poison left intact); adds to *mismatches.
void check_value(const std::uint8_t* buf, std::int64_t bytes, std::uint8_t value, unsigned long long* mismatches,
                 cudaStream_t stream);
/// Small pseudo-random values (|x| < 1) as BF16 (elem_bytes 2) or FP8 E4M3 (elem_bytes 1).
void fill_random(void* buf, std::int64_t elements, int elem_bytes, std::uint32_t seed, cudaStream_t stream);
/// Copy bytes (a multiple of 16) with `blocks` thread blocks of 512 threads: the SM footprint of a
/// communication kernel (DeepEP uses 20-24 SMs).
void copy_kernel(const void* src, void* dst, std::int64_t bytes, int blocks, cudaStream_t stream);

}  // namespace epsim::cuda
