#include "cuda_validate/harness/launcher.hpp"

#include <unistd.h>

#include <cstring>

#include <fmt/format.h>

#include "common/error.hpp"

#ifdef EPSIM_HAVE_MPI
#include <mpi.h>
#define EPSIM_MPI_CHECK(expr)                                                                          \
  do {                                                                                                 \
    int epsim_m_ = (expr);                                                                             \
    if (epsim_m_ != MPI_SUCCESS)                                                                       \
      throw std::runtime_error(fmt::format("{}:{}: {} failed with MPI error {}", __FILE__, __LINE__, #expr, \
                                           epsim_m_));                                                 \
  } while (0)
#endif

namespace epsim::cuda {

bool Launcher::built_with_mpi() {
#ifdef EPSIM_HAVE_MPI
  return true;
#else
  return false;
#endif
}

Launcher::Launcher(bool use_mpi, [[maybe_unused]] int* argc, [[maybe_unused]] char*** argv) : mpi_(use_mpi) {
  char name[256] = {};
  gethostname(name, sizeof(name) - 1);
  host_ = name;
  if (!use_mpi) return;
#ifdef EPSIM_HAVE_MPI
  EPSIM_MPI_CHECK(MPI_Init(argc, argv));
  EPSIM_MPI_CHECK(MPI_Comm_rank(MPI_COMM_WORLD, &rank_));
  EPSIM_MPI_CHECK(MPI_Comm_size(MPI_COMM_WORLD, &size_));
  MPI_Comm local;
  EPSIM_MPI_CHECK(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &local));
  EPSIM_MPI_CHECK(MPI_Comm_rank(local, &local_rank_));
  EPSIM_MPI_CHECK(MPI_Comm_free(&local));
#else
  throw UsageError("--mode mpi: epsim_cuda_validate was built without MPI (install MPI and reconfigure)");
#endif
}

Launcher::~Launcher() {
#ifdef EPSIM_HAVE_MPI
  if (mpi_) MPI_Finalize();
#endif
}

void Launcher::barrier() const {
#ifdef EPSIM_HAVE_MPI
  if (mpi_) EPSIM_MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
#endif
}

std::vector<double> Launcher::allgather(double value) const {
  std::vector<double> out(static_cast<std::size_t>(size_), value);
#ifdef EPSIM_HAVE_MPI
  if (mpi_) EPSIM_MPI_CHECK(MPI_Allgather(&value, 1, MPI_DOUBLE, out.data(), 1, MPI_DOUBLE, MPI_COMM_WORLD));
#endif
  return out;
}

std::vector<std::string> Launcher::allgather(const std::string& value) const {
  std::vector<std::string> out(static_cast<std::size_t>(size_), value);
#ifdef EPSIM_HAVE_MPI
  if (mpi_) {
    constexpr int kLen = 256;
    char mine[kLen] = {};
    std::strncpy(mine, value.c_str(), kLen - 1);
    std::vector<char> all(static_cast<std::size_t>(kLen) * static_cast<std::size_t>(size_));
    EPSIM_MPI_CHECK(MPI_Allgather(mine, kLen, MPI_CHAR, all.data(), kLen, MPI_CHAR, MPI_COMM_WORLD));
    for (int r = 0; r < size_; ++r) out[static_cast<std::size_t>(r)] = std::string(all.data() + r * kLen);
  }
#endif
  return out;
}

void Launcher::broadcast([[maybe_unused]] void* data, [[maybe_unused]] std::size_t bytes,
                         [[maybe_unused]] int root) const {
#ifdef EPSIM_HAVE_MPI
  if (mpi_) EPSIM_MPI_CHECK(MPI_Bcast(data, static_cast<int>(bytes), MPI_BYTE, root, MPI_COMM_WORLD));
#endif
}

void Launcher::abort_all([[maybe_unused]] int code) const {
#ifdef EPSIM_HAVE_MPI
  if (mpi_) MPI_Abort(MPI_COMM_WORLD, code);
#endif
}

}  // namespace epsim::cuda
