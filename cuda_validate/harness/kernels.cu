#include "cuda_validate/harness/kernels.hpp"

#include <cuda_bf16.h>
#include <cuda_fp8.h>

namespace epsim::cuda {

namespace {

__host__ __device__ inline std::uint8_t pattern_byte(int src, int dst, std::int64_t i) {
  std::uint32_t x = static_cast<std::uint32_t>(i) * 2654435761u ^ static_cast<std::uint32_t>(i >> 32) * 97u;
  x ^= static_cast<std::uint32_t>(src) * 40503u + static_cast<std::uint32_t>(dst) * 69069u + 1u;
  x ^= x >> 15;
  x *= 2246822519u;
  x ^= x >> 13;
  return static_cast<std::uint8_t>(x);
}

__global__ void fill_pattern_k(std::uint8_t* buf, std::int64_t bytes, int src, int dst) {
  for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < bytes;
       i += static_cast<std::int64_t>(gridDim.x) * blockDim.x)
    buf[i] = pattern_byte(src, dst, i);
}

__global__ void check_pattern_k(const std::uint8_t* buf, std::int64_t bytes, int src, int dst,
                                unsigned long long* mismatches) {
  unsigned long long bad = 0;
  for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < bytes;
       i += static_cast<std::int64_t>(gridDim.x) * blockDim.x)
    bad += buf[i] != pattern_byte(src, dst, i);
  if (bad) atomicAdd(mismatches, bad);
}

__global__ void check_value_k(const std::uint8_t* buf, std::int64_t bytes, std::uint8_t value,
                              unsigned long long* mismatches) {
  unsigned long long bad = 0;
  for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < bytes;
       i += static_cast<std::int64_t>(gridDim.x) * blockDim.x)
    bad += buf[i] != value;
  if (bad) atomicAdd(mismatches, bad);
}

__global__ void fill_random_k(void* buf, std::int64_t n, int elem_bytes, std::uint32_t seed) {
  for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    float v = (pattern_byte(static_cast<int>(seed), 7, i) / 255.0f - 0.5f) * 0.25f;
    if (elem_bytes == 2) static_cast<__nv_bfloat16*>(buf)[i] = __float2bfloat16(v);
    else static_cast<__nv_fp8_e4m3*>(buf)[i] = __nv_fp8_e4m3(v);
  }
}

__global__ void copy_k(const uint4* src, uint4* dst, std::int64_t n) {
  for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<std::int64_t>(gridDim.x) * blockDim.x)
    dst[i] = src[i];
}

unsigned grid_for(std::int64_t n) {
  std::int64_t g = (n + 255) / 256;
  return static_cast<unsigned>(g < 1 ? 1 : (g > 4096 ? 4096 : g));
}

}  // namespace

void fill_pattern(std::uint8_t* buf, std::int64_t bytes, int src, int dst, cudaStream_t stream) {
  if (bytes > 0) fill_pattern_k<<<grid_for(bytes), 256, 0, stream>>>(buf, bytes, src, dst);
}

void check_pattern(const std::uint8_t* buf, std::int64_t bytes, int src, int dst, unsigned long long* mismatches,
                   cudaStream_t stream) {
  if (bytes > 0) check_pattern_k<<<grid_for(bytes), 256, 0, stream>>>(buf, bytes, src, dst, mismatches);
}

void check_value(const std::uint8_t* buf, std::int64_t bytes, std::uint8_t value, unsigned long long* mismatches,
                 cudaStream_t stream) {
  if (bytes > 0) check_value_k<<<grid_for(bytes), 256, 0, stream>>>(buf, bytes, value, mismatches);
}

void fill_random(void* buf, std::int64_t elements, int elem_bytes, std::uint32_t seed, cudaStream_t stream) {
  if (elements > 0) fill_random_k<<<grid_for(elements), 256, 0, stream>>>(buf, elements, elem_bytes, seed);
}

void copy_kernel(const void* src, void* dst, std::int64_t bytes, int blocks, cudaStream_t stream) {
  if (bytes > 0)
    copy_k<<<static_cast<unsigned>(blocks), 512, 0, stream>>>(static_cast<const uint4*>(src), static_cast<uint4*>(dst),
                                                               bytes / 16);
}

}  // namespace epsim::cuda
