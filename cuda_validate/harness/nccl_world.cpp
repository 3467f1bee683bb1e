#include "cuda_validate/harness/nccl_world.hpp"

#include <chrono>
#include <thread>

#include <fmt/format.h>

#include "cuda_validate/harness/check.hpp"

namespace epsim::cuda {

void NcclWorld::create_streams() {
  for (RankContext& r : ranks_) {
    EPSIM_CUDA_CHECK(cudaSetDevice(r.device));
    EPSIM_CUDA_CHECK(cudaStreamCreateWithFlags(&r.comm_stream, cudaStreamNonBlocking));
    EPSIM_CUDA_CHECK(cudaStreamCreateWithFlags(&r.compute_stream, cudaStreamNonBlocking));
  }
}

std::unique_ptr<NcclWorld> NcclWorld::one_gpu(int device) {
  std::unique_ptr<NcclWorld> w(new NcclWorld());
  w->ranks_.push_back(RankContext{0, device});
  w->create_streams();
  return w;
}

std::unique_ptr<NcclWorld> NcclWorld::single_process(int num_devices) {
  std::unique_ptr<NcclWorld> w(new NcclWorld());
  w->size_ = num_devices;
  std::vector<ncclComm_t> comms(static_cast<std::size_t>(num_devices));
  std::vector<int> devices;
  for (int d = 0; d < num_devices; ++d) devices.push_back(d);
  EPSIM_NCCL_CHECK(ncclCommInitAll(comms.data(), num_devices, devices.data()));
  for (int d = 0; d < num_devices; ++d) w->ranks_.push_back(RankContext{d, d, comms[static_cast<std::size_t>(d)]});
  w->create_streams();
  return w;
}

std::unique_ptr<NcclWorld> NcclWorld::mpi(const Launcher& launcher, int device) {
  std::unique_ptr<NcclWorld> w(new NcclWorld());
  w->size_ = launcher.size();
  ncclUniqueId id{};
  if (launcher.rank() == 0) EPSIM_NCCL_CHECK(ncclGetUniqueId(&id));
  launcher.broadcast(&id, sizeof(id), 0);
  EPSIM_CUDA_CHECK(cudaSetDevice(device));
  ncclComm_t comm = nullptr;
  EPSIM_NCCL_CHECK(ncclCommInitRank(&comm, launcher.size(), id, launcher.rank()));
  w->ranks_.push_back(RankContext{launcher.rank(), device, comm});
  w->create_streams();
  return w;
}

NcclWorld::~NcclWorld() {
  for (RankContext& r : ranks_) {
    cudaSetDevice(r.device);
    if (r.comm && !aborted_) ncclCommDestroy(r.comm);
    if (r.comm_stream) cudaStreamDestroy(r.comm_stream);
    if (r.compute_stream) cudaStreamDestroy(r.compute_stream);
  }
}

void NcclWorld::wait(double timeout_s) {
  const auto start = std::chrono::steady_clock::now();
  for (;;) {
    bool idle = true;
    for (RankContext& r : ranks_) {
      for (cudaStream_t s : {r.comm_stream, r.compute_stream}) {
        cudaError_t e = cudaStreamQuery(s);
        if (e == cudaErrorNotReady) idle = false;
        else EPSIM_CUDA_CHECK(e);
      }
      if (r.comm) {
        ncclResult_t async = ncclSuccess;
        EPSIM_NCCL_CHECK(ncclCommGetAsyncError(r.comm, &async));
        if (async != ncclSuccess) {
          std::string what = fmt::format("rank {}: asynchronous NCCL error: {} ({})", r.rank, ncclGetErrorString(async),
                                         ncclGetLastError(r.comm));
          for (RankContext& a : ranks_)
            if (a.comm) ncclCommAbort(a.comm);
          aborted_ = true;
          throw CallError(what);
        }
      }
    }
    if (idle) return;
    double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (waited > timeout_s) {
      for (RankContext& a : ranks_)
        if (a.comm) ncclCommAbort(a.comm);
      aborted_ = true;
      throw CallError(fmt::format("timed out after {:.0f} s waiting for GPU work (a peer may have failed or hung); "
                                  "communicators aborted",
                                  timeout_s));
    }
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
}

}  // namespace epsim::cuda
