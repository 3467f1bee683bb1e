#pragma once
// The processes of a run: an MPI world (one rank per GPU, launched by mpirun or srun, as
// nccl-tests) or this process alone (one GPU, or all GPUs of the node driven by one process).
// Cross-process operations are no-ops or identities in the single-process case.
#include <cstddef>
#include <string>
#include <vector>

namespace epsim::cuda {

class Launcher {
 public:
  /// use_mpi: MPI_Init and join MPI_COMM_WORLD; throws UsageError when built without MPI.
  Launcher(bool use_mpi, int* argc, char*** argv);
  ~Launcher();
  Launcher(const Launcher&) = delete;
  Launcher& operator=(const Launcher&) = delete;

  static bool built_with_mpi();
  bool mpi() const { return mpi_; }
  int rank() const { return rank_; }
  int size() const { return size_; }
  /// Rank among the processes on this host (selects the GPU).
  int local_rank() const { return local_rank_; }
  std::string host() const { return host_; }

  void barrier() const;
  /// One value per process, in rank order.
  std::vector<double> allgather(double value) const;
  std::vector<std::string> allgather(const std::string& value) const;
  /// Copy `bytes` at `data` from process `root` to all.
  void broadcast(void* data, std::size_t bytes, int root) const;
  /// End every process of the run with `code` (MPI_Abort); returns normally in single-process runs.
  void abort_all(int code) const;

 private:
  bool mpi_ = false;
  int rank_ = 0;
  int size_ = 1;
  int local_rank_ = 0;
  std::string host_;
};

}  // namespace epsim::cuda
