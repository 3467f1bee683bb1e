// epsim_cuda_validate: replay a plan on real GPUs and write measurements.json
// (docs/formats-measurements.md); see cuda_validate/README.md for modes, formulas and exit codes.
// This file is the driver (command line, ranks, report); the measurements are in measure.hpp.
//   exit 0 ok, 1 invalid input, 2 usage error, 3 CUDA/NCCL/cuBLAS or internal error,
//   4 no CUDA GPU, 5 wrong result (tokens did not land where the plan says).
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "cuda_validate/harness/check.hpp"
#include "cuda_validate/harness/launcher.hpp"
#include "cuda_validate/harness/measure.hpp"
#include "cuda_validate/harness/nccl_world.hpp"
#include "cuda_validate/harness/options.hpp"
#include "cuda_validate/measurements.hpp"
#include "cuda_validate/plan_traffic.hpp"

namespace epsim::cuda {
namespace {

using validate::Measurements;

/// Dense peak of the GPU for BF16, TFLOP/s: --peak-bf16-tflops, else datasheet values of known
/// Hopper parts, else SMs x max clock x 4096 FLOP/clk/SM (Hopper) or 2048 (Ampere).
double peak_bf16_tflops(const Options& o, const cudaDeviceProp& prop, int device) {
  if (o.peak_bf16_tflops > 0) return o.peak_bf16_tflops;
  std::string name = prop.name;
  if (name.find("H100 PCIe") != std::string::npos) return 756.0;
  if (name.find("H100 NVL") != std::string::npos) return 835.0;
  if (name.find("H100") != std::string::npos || name.find("H200") != std::string::npos ||
      name.find("H800") != std::string::npos)
    return 989.0;  // SXM datasheet: 989 TFLOP/s dense BF16 = 132 SMs x 1830 MHz x 4096
  int clock_khz = 0;
  EPSIM_CUDA_CHECK(cudaDeviceGetAttribute(&clock_khz, cudaDevAttrClockRate, device));
  int per_sm = prop.major >= 9 ? 4096 : (prop.major == 8 && prop.minor == 0 ? 2048 : 0);
  if (per_sm == 0)
    throw UsageError(fmt::format("unknown dense BF16 peak of {} (sm_{}{}): pass --peak-bf16-tflops", name, prop.major,
                                 prop.minor));
  return prop.multiProcessorCount * (clock_khz * 1e3) * per_sm / 1e12;
}

// ---------------------------------------------------------------------------------------------

void print_table(const Measurements& m) {
  fmt::print("\n{} x {} ({} mode), driver {}, CUDA {}, NCCL {}\n", m.num_gpus, m.gpu, m.mode, m.driver, m.cuda, m.nccl);
  for (const auto& s : m.alltoall)
    fmt::print("alltoallv {:8s} layer {:3d}  S {:12.0f} B  time {:10.1f} us  algbw {:7.1f} GB/s  busbw {:7.1f} GB/s\n",
               s.direction == Exchange::dispatch ? "dispatch" : "combine", s.layer, s.bytes_per_rank, s.time_us,
               s.algbw_GBps, s.busbw_GBps);
  for (const auto& s : m.p2p)
    fmt::print("p2p {:10s} {:2d}->{:<2d} {:12.0f} B  time {:10.1f} us  {:7.1f} GB/s\n", s.link_class, s.src, s.dst,
               s.bytes, s.time_us, s.bytes / s.time_us / 1e3);
  for (const auto& s : m.gemm)
    fmt::print("gemm {:4s} {:7s} M {:5d} N {:5d} K {:5d}  time {:9.1f} us  {:7.1f} TFLOP/s  ({:4.1f}% of {:.0f})\n",
               s.dtype, s.name, s.tokens_per_expert, s.n, s.k, s.time_us, s.tflops, 100 * s.tflops / s.peak_tflops,
               s.peak_tflops);
  for (const auto& s : m.overlap)
    fmt::print("overlap {} M {}: compute x{:.3f} slower ({:.1f} -> {:.1f} us), comm x{:.3f} slower ({:.1f} -> {:.1f} us)\n",
               s.comm, s.tokens_per_expert, s.compute_slowdown(), s.compute_alone_us, s.compute_overlapped_us,
               s.comm_slowdown(), s.comm_alone_us, s.comm_overlapped_us);
}

/// Print the error of an exception to stderr (prefixed) and return its exit code.
int report_error(std::exception_ptr error, const std::string& prefix) {
  try {
    std::rethrow_exception(error);
  } catch (const UsageError& x) {
    fmt::print(stderr, "epsim_cuda_validate: {}usage error: {}\n", prefix, x.what());
    return 2;
  } catch (const InputError& x) {
    fmt::print(stderr, "epsim_cuda_validate: {}error: {}\n", prefix, x.what());
    return 1;
  } catch (const WrongResult& x) {
    fmt::print(stderr, "epsim_cuda_validate: {}WRONG RESULT: {}\n", prefix, x.what());
    return 5;
  } catch (const std::exception& x) {
    fmt::print(stderr, "epsim_cuda_validate: {}error: {}\n", prefix, x.what());
    return 3;
  } catch (...) {
    fmt::print(stderr, "epsim_cuda_validate: {}unknown error\n", prefix);
    return 3;
  }
}

void run_ranks(const Options& o, const std::string& mode, int device_count, const Launcher& launcher);

std::string version_text(int v) { return fmt::format("{}.{}", v / 1000, (v % 1000) / 10); }

/// The NVIDIA kernel driver version from /proc/driver/nvidia/version ("... Kernel Module  580.65.06 ..."),
/// else the CUDA driver API version (cudaDriverGetVersion).
std::string driver_text(int cuda_driver_version) {
  std::ifstream in("/proc/driver/nvidia/version");
  std::string word, previous;
  while (in >> word) {
    if (previous == "Module") return word;
    previous = word;
  }
  return "CUDA " + version_text(cuda_driver_version);
}

void run(const Options& o, int device_count, int* argc, char*** argv) {
  std::string mode = o.mode;
  if (mode == "auto") mode = o.gemm_only || device_count == 1 ? "one-gpu" : "node";
  if (o.gemm_only && mode != "one-gpu") throw UsageError("--gemm-only runs in --mode one-gpu");
  if (o.warmup < 0 || o.repeats < 1 || o.gemm_iters < 1) throw UsageError("--warmup >= 0, --repeats >= 1, --gemm-iters >= 1");
  if (o.hidden < 16 || o.intermediate < 16) throw UsageError("--hidden and --intermediate must be >= 16");
  for (const std::string& d : o.dtypes)
    if (d != "bf16" && d != "fp8") throw UsageError(fmt::format("--dtype {}: expected bf16 or fp8", d));
  for (int t : o.tokens_per_expert)
    if (t < 1) throw UsageError("--tokens-per-expert values must be >= 1");

  Launcher launcher(mode == "mpi", argc, argv);
  try {
    run_ranks(o, mode, device_count, launcher);
  } catch (...) {
    // One failing MPI rank must not leave the others waiting: report it and end them all.
    if (!launcher.mpi()) throw;
    launcher.abort_all(report_error(std::current_exception(), fmt::format("rank {}: ", launcher.rank())));
  }
}

void run_ranks(const Options& o, const std::string& mode, int device_count, const Launcher& launcher) {
  if (launcher.rank() == 0) check_writable(o.out);
  std::optional<validate::PlanTraffic> plan;
  const validate::PlanLayer* layer = nullptr;
  if (!o.plan.empty()) {
    plan = validate::load_plan_traffic(o.plan);
    layer = o.layer >= 0 ? &plan->find_layer(o.layer) : &plan->default_layer();
  }

  std::unique_ptr<NcclWorld> world;
  if (mode == "one-gpu") {
    world = NcclWorld::one_gpu(0);
  } else if (mode == "node") {
    int n = plan ? plan->ep : device_count;
    if (n > device_count)
      throw InputError(o.plan, "/settings/ep", fmt::format("at most the {} GPUs of this node in --mode node "
                                                           "(use --mode mpi across nodes)", device_count));
    if (n < 2) throw UsageError("--mode node needs at least two GPUs");
    world = NcclWorld::single_process(n);
  } else if (mode == "mpi") {
    if (plan && plan->ep != launcher.size())
      throw InputError(o.plan, "/settings/ep", fmt::format("as many EP ranks as MPI ranks ({})", launcher.size()));
    world = NcclWorld::mpi(launcher, launcher.local_rank() % device_count);
  } else {
    throw UsageError(fmt::format("--mode {}: expected auto, one-gpu, node or mpi", mode));
  }

  RankContext& first = world->ranks().front();
  cudaDeviceProp prop{};
  EPSIM_CUDA_CHECK(cudaGetDeviceProperties(&prop, first.device));
  int driver = 0, runtime = 0, nccl_version = 0;
  EPSIM_CUDA_CHECK(cudaDriverGetVersion(&driver));
  EPSIM_CUDA_CHECK(cudaRuntimeGetVersion(&runtime));
  EPSIM_NCCL_CHECK(ncclGetVersion(&nccl_version));

  Measurements m;
  m.gpu = prop.name;
  m.driver = driver_text(driver);
  m.cuda = version_text(runtime);
  m.nccl = fmt::format("{}.{}.{}", nccl_version / 10000, (nccl_version / 100) % 100, nccl_version % 100);
  m.topology_id = o.topology_id;
  m.plan_id = !o.plan_id.empty() ? o.plan_id : o.plan;
  m.num_gpus = world->size();
  m.mode = mode;
  m.warmup = o.warmup;

  // Host of every rank, for link classes (same host = NVLink, else the network).
  std::vector<std::string> hosts;
  if (launcher.mpi()) hosts = launcher.allgather(launcher.host());
  else hosts.assign(static_cast<std::size_t>(world->size()), launcher.host());

  if (launcher.rank() == 0) {
    const bool fp8 = prop.major > 8 || (prop.major == 8 && prop.minor >= 9);
    measure_gemms(*world, first, o, gemm_token_counts(o, plan, layer), peak_bf16_tflops(o, prop, first.device), fp8, m);
  }
  launcher.barrier();  // the other ranks wait here while rank 0 measures GEMMs
  if (!o.gemm_only) {
    if (world->size() > 1) {
      measure_p2p(*world, launcher, o, hosts, m);
      if (plan) measure_alltoall(*world, launcher, o, *plan, *layer, m);
    }
    if (mode == "one-gpu" || plan) measure_overlap(*world, launcher, o, plan, layer, m);
  }
  if (launcher.rank() == 0) {
    write_file_atomic(o.out, measurements_to_json(m).dump(1) + "\n");
    print_table(m);
    fmt::print("wrote {}\n", o.out);
  }
}

}  // namespace
}  // namespace epsim::cuda

int main(int argc, char** argv) {
  using namespace epsim;
  cuda::Options o;
  CLI::App app{"epsim_cuda_validate: replay a plan on real GPUs (NCCL all-to-all-v, cuBLASLt expert GEMMs, "
               "compute/communication overlap) and write measurements.json"};
  app.add_option("--plan", o.plan, "plan.json of `epsim plan` (all-to-all-v per-pair bytes, tokens per expert)");
  app.add_option("--layer", o.layer, "model layer of the plan to replay (default: the plan's worst layer)");
  app.add_option("--mode", o.mode, "auto, one-gpu, node (all GPUs of this node, one process) or mpi (one rank per GPU)")
      ->capture_default_str();
  app.add_flag("--gemm-only", o.gemm_only, "measure expert GEMMs only, on one GPU");
  app.add_option("--hidden", o.hidden, "model hidden size (GEMM K of gate/up, N of down)")->capture_default_str();
  app.add_option("--intermediate", o.intermediate, "expert FFN width (moe_intermediate_size)")->capture_default_str();
  app.add_option("--tokens-per-expert", o.tokens_per_expert, "GEMM M values (default: from the plan, else 16..8192)");
  app.add_option("--dtype", o.dtypes, "GEMM types: bf16, fp8 (fp8 only where the GPU supports it)")->capture_default_str();
  app.add_option("--warmup", o.warmup, "untimed runs before each measurement")->capture_default_str();
  app.add_option("--repeats", o.repeats, "timed repeats (the median is reported)")->capture_default_str();
  app.add_option("--gemm-iters", o.gemm_iters, "GEMMs per timed repeat")->capture_default_str();
  app.add_option("--timeout", o.timeout_s, "seconds to wait for GPU work before aborting NCCL")->capture_default_str();
  app.add_option("--out", o.out, "measurements JSON to write")->capture_default_str();
  app.add_option("--topology-id", o.topology_id, "topology this run corresponds to (recorded in the output)");
  app.add_option("--plan-id", o.plan_id, "plan id recorded in the output (default: the --plan path)");
  app.add_option("--p2p-max-bytes", o.p2p_max_bytes, "largest point-to-point message (1 KiB x 4^k up to it)")
      ->capture_default_str();
  app.add_option("--peak-bf16-tflops", o.peak_bf16_tflops, "dense BF16 peak (default: datasheet or SMs x clock)");
  app.add_option("--copy-blocks", o.copy_blocks, "thread blocks of the one-GPU copy kernel (SMs a comm kernel takes)")
      ->capture_default_str();
  app.add_option("--copy-bytes", o.copy_bytes, "bytes the one-GPU copy kernel moves")->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  // Without a GPU: exactly one line and a non-zero exit, before anything else is attempted.
  int device_count = 0;
  cudaError_t e = cudaGetDeviceCount(&device_count);
  if (e != cudaSuccess || device_count < 1) {
    std::fprintf(stderr, "epsim_cuda_validate: no CUDA GPU available (cudaGetDeviceCount: %s)\n",
                 e != cudaSuccess ? cuda::cuda_error_text(e).c_str() : "cudaGetDeviceCount found 0 devices");
    return 4;
  }
  try {
    cuda::run(o, device_count, &argc, &argv);
    return 0;
  } catch (...) {
    return cuda::report_error(std::current_exception(), "");
  }
}
