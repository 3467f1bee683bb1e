#include "cuda_validate/harness/alltoall.hpp"

#include "cuda_validate/harness/kernels.hpp"

namespace epsim::cuda {

AllToAll make_alltoall(NcclWorld& world, const validate::PairMatrix& bytes) {
  AllToAll a;
  a.bytes = bytes;
  for (RankContext& r : world.ranks()) {
    EPSIM_CUDA_CHECK(cudaSetDevice(r.device));
    std::int64_t s_total = bytes.send_total(r.rank), r_total = bytes.recv_total(r.rank);
    a.send.emplace_back(static_cast<std::size_t>(s_total));
    a.recv.emplace_back(static_cast<std::size_t>(r_total + kGuardBytes));
    a.recv_size.push_back(r_total);
    std::int64_t off = 0;
    for (int d = 0; d < world.size(); ++d) {
      fill_pattern(a.send.back().bytes() + off, bytes.at(r.rank, d), r.rank, d, r.comm_stream);
      off += bytes.at(r.rank, d);
    }
    EPSIM_CUDA_CHECK(cudaMemsetAsync(a.recv.back().ptr, kPoison, static_cast<std::size_t>(r_total + kGuardBytes),
                                     r.comm_stream));
    EPSIM_CUDA_CHECK(cudaGetLastError());
  }
  return a;
}

void enqueue_alltoall(NcclWorld& world, AllToAll& a) {
  EPSIM_NCCL_CHECK(ncclGroupStart());
  for (std::size_t i = 0; i < world.ranks().size(); ++i) {
    RankContext& r = world.ranks()[i];
    std::int64_t soff = 0, roff = 0;
    for (int p = 0; p < world.size(); ++p) {
      std::int64_t sb = a.bytes.at(r.rank, p), rb = a.bytes.at(p, r.rank);
      if (sb > 0)
        EPSIM_NCCL_CHECK(ncclSend(a.send[i].bytes() + soff, static_cast<std::size_t>(sb), ncclUint8, p, r.comm, r.comm_stream));
      if (rb > 0)
        EPSIM_NCCL_CHECK(ncclRecv(a.recv[i].bytes() + roff, static_cast<std::size_t>(rb), ncclUint8, p, r.comm, r.comm_stream));
      soff += sb;
      roff += rb;
    }
  }
  EPSIM_NCCL_CHECK(ncclGroupEnd());
}

unsigned long long count_mismatches(NcclWorld& world, AllToAll& a, double timeout_s) {
  std::vector<DeviceBuffer> counters;
  for (std::size_t i = 0; i < world.ranks().size(); ++i) {
    RankContext& r = world.ranks()[i];
    EPSIM_CUDA_CHECK(cudaSetDevice(r.device));
    counters.emplace_back(sizeof(unsigned long long));
    auto* c = static_cast<unsigned long long*>(counters.back().ptr);
    EPSIM_CUDA_CHECK(cudaMemsetAsync(c, 0, sizeof(*c), r.comm_stream));
    std::int64_t off = 0;
    for (int s = 0; s < world.size(); ++s) {
      check_pattern(a.recv[i].bytes() + off, a.bytes.at(s, r.rank), s, r.rank, c, r.comm_stream);
      off += a.bytes.at(s, r.rank);
    }
    check_value(a.recv[i].bytes() + off, kGuardBytes, kPoison, c, r.comm_stream);
    EPSIM_CUDA_CHECK(cudaGetLastError());
  }
  world.wait(timeout_s);
  unsigned long long total = 0;
  for (std::size_t i = 0; i < counters.size(); ++i) {
    unsigned long long host = 0;
    EPSIM_CUDA_CHECK(cudaSetDevice(world.ranks()[i].device));
    EPSIM_CUDA_CHECK(cudaMemcpy(&host, counters[i].ptr, sizeof(host), cudaMemcpyDeviceToHost));
    total += host;
  }
  return total;
}

}  // namespace epsim::cuda
