#pragma once
// All-to-all-v of the harness: device buffers with the plan's per-pair byte counts, the grouped
// ncclSend/ncclRecv that moves them, and the check that every byte landed where the plan says.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include <cuda_runtime.h>

#include "cuda_validate/harness/check.hpp"
#include "cuda_validate/harness/nccl_world.hpp"
#include "cuda_validate/plan_traffic.hpp"

namespace epsim::cuda {

/// Byte written into receive buffers before an exchange; what is left of it is not data.
constexpr std::uint8_t kPoison = 0xA5;
/// Poisoned tail after each receive buffer, bytes (catches overruns).
constexpr std::int64_t kGuardBytes = 256;

/// Device memory freed on scope exit.
struct DeviceBuffer {
  void* ptr = nullptr;
  DeviceBuffer() = default;
  explicit DeviceBuffer(std::size_t bytes) { EPSIM_CUDA_CHECK(cudaMalloc(&ptr, std::max<std::size_t>(bytes, 16))); }
  ~DeviceBuffer() { cudaFree(ptr); }
  DeviceBuffer(DeviceBuffer&& o) noexcept : ptr(o.ptr) { o.ptr = nullptr; }
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
    std::swap(ptr, o.ptr);
    return *this;
  }
  std::uint8_t* bytes() const { return static_cast<std::uint8_t*>(ptr); }
};

/// Buffers of one all-to-all-v on every local rank: send chunks in destination order, receive
/// chunks in source order, each receive buffer followed by kGuardBytes of poison.
struct AllToAll {
  validate::PairMatrix bytes;
  std::vector<DeviceBuffer> send, recv;
  std::vector<std::int64_t> recv_size;
};

/// Allocate and fill the buffers of `bytes` (PairMatrix [src][dst], bytes) on every local rank of
/// `world`: send chunks carry the (src, dst) pattern, receive buffers and guards are poisoned.
/// Enqueued on the comm streams; throws CudaError on any CUDA failure.
AllToAll make_alltoall(NcclWorld& world, const validate::PairMatrix& bytes);

/// Enqueue one all-to-all-v on every local rank's comm stream: grouped ncclSend/ncclRecv.
void enqueue_alltoall(NcclWorld& world, AllToAll& a);

/// Bytes of every local receive buffer that differ from what the plan says should be there
/// (source patterns in order, then intact poison in the guard); waits up to timeout_s seconds.
unsigned long long count_mismatches(NcclWorld& world, AllToAll& a, double timeout_s);

}  // namespace epsim::cuda
