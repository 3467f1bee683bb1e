// epsim_cuda_validate: replay a plan on real GPUs and write measurements.json
// (docs/formats-measurements.md); see cuda_validate/README.md for modes, formulas and exit codes.
//   exit 0 ok, 1 invalid input, 2 usage error, 3 CUDA/NCCL/cuBLAS or internal error,
//   4 no CUDA GPU, 5 wrong result (tokens did not land where the plan says).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "cuda_validate/harness/alltoall.hpp"
#include "cuda_validate/harness/check.hpp"
#include "cuda_validate/harness/gemm.hpp"
#include "cuda_validate/harness/kernels.hpp"
#include "cuda_validate/harness/launcher.hpp"
#include "cuda_validate/harness/nccl_world.hpp"
#include "cuda_validate/measurements.hpp"
#include "cuda_validate/plan_traffic.hpp"

namespace epsim::cuda {
namespace {

using validate::Measurements;
using validate::PairMatrix;

/// Tokens did not land where the plan says. Exit code 5.
class WrongResult : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};


struct Options {
  std::string plan;
  int layer = -1;
  std::string mode = "auto";
  bool gemm_only = false;
  int hidden = 7168;             // DeepSeek-V3
  int intermediate = 2048;
  std::vector<int> tokens_per_expert;
  std::vector<std::string> dtypes = {"bf16", "fp8"};
  int warmup = 5;
  int repeats = 20;
  int gemm_iters = 10;
  double timeout_s = 120;
  std::string out = "measurements.json";
  std::string topology_id;
  std::string plan_id;
  std::int64_t p2p_max_bytes = std::int64_t{256} << 20;
  double peak_bf16_tflops = 0;
  int copy_blocks = 24;
  std::int64_t copy_bytes = std::int64_t{256} << 20;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

double mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s / static_cast<double>(v.size());
}

/// A pair of CUDA events per local rank, for timing one stream of each.
class RankTimers {
 public:
  explicit RankTimers(std::vector<RankContext>& ranks) : ranks_(&ranks) {
    for (RankContext& r : ranks) {
      EPSIM_CUDA_CHECK(cudaSetDevice(r.device));
      cudaEvent_t a, b;
      EPSIM_CUDA_CHECK(cudaEventCreate(&a));
      EPSIM_CUDA_CHECK(cudaEventCreate(&b));
      start_.push_back(a);
      stop_.push_back(b);
    }
  }
  ~RankTimers() {
    for (std::size_t i = 0; i < start_.size(); ++i) {
      cudaEventDestroy(start_[i]);
      cudaEventDestroy(stop_[i]);
    }
  }
  void start(std::size_t i, cudaStream_t s) { EPSIM_CUDA_CHECK(cudaEventRecord(start_[i], s)); }
  void stop(std::size_t i, cudaStream_t s) { EPSIM_CUDA_CHECK(cudaEventRecord(stop_[i], s)); }
  /// Elapsed time of local rank i, seconds (after the streams were waited for).
  double seconds(std::size_t i) const {
    float ms = 0;
    EPSIM_CUDA_CHECK(cudaEventElapsedTime(&ms, start_[i], stop_[i]));
    return ms * 1e-3;
  }

 private:
  std::vector<RankContext>* ranks_;
  std::vector<cudaEvent_t> start_, stop_;
};

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

/// Median seconds of one call of `enqueue` on `stream` (warm-up excluded, `iters` calls per timed
/// repeat).
template <class Enqueue>
double time_stream(NcclWorld& world, RankContext& r, cudaStream_t stream, const Options& o, int iters,
                   Enqueue&& enqueue) {
  std::vector<RankContext> one{r};
  RankTimers timers(one);
  for (int i = 0; i < o.warmup; ++i) enqueue();
  world.wait(o.timeout_s);
  std::vector<double> t;
  for (int rep = 0; rep < o.repeats; ++rep) {
    timers.start(0, stream);
    for (int i = 0; i < iters; ++i) enqueue();
    timers.stop(0, stream);
    EPSIM_CUDA_CHECK(cudaGetLastError());
    world.wait(o.timeout_s);
    t.push_back(timers.seconds(0) / iters);
  }
  return median(t);
}

// ---------------------------------------------------------------------------------------------
// Expert GEMMs

std::vector<int> gemm_token_counts(const Options& o, const std::optional<validate::PlanTraffic>& plan,
                                   const validate::PlanLayer* layer) {
  if (!o.tokens_per_expert.empty()) return o.tokens_per_expert;
  if (plan && layer) return validate::tokens_per_expert_sweep(*plan, *layer);
  return {16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192};
}

void measure_gemms(NcclWorld& world, RankContext& r, const Options& o, const std::vector<int>& tokens, double peak_bf16,
                   bool fp8_capable, Measurements& m) {
  EPSIM_CUDA_CHECK(cudaSetDevice(r.device));
  cublasLtHandle_t handle;
  EPSIM_CUBLAS_CHECK(cublasLtCreate(&handle));
  std::unique_ptr<std::remove_pointer_t<cublasLtHandle_t>, void (*)(cublasLtHandle_t)> guard(
      handle, [](cublasLtHandle_t h) { cublasLtDestroy(h); });
  for (const std::string& dt : o.dtypes) {
    GemmDtype dtype = dt == "fp8" ? GemmDtype::fp8 : GemmDtype::bf16;
    if (dtype == GemmDtype::fp8 && !fp8_capable) {
      fmt::print("gemm: fp8 skipped (needs sm_89 or newer)\n");
      continue;
    }
    const double peak = dtype == GemmDtype::fp8 ? 2 * peak_bf16 : peak_bf16;
    for (int mtok : tokens) {
      struct Shape {
        const char* name;
        int n, k;
      };
      for (Shape s : {Shape{"gate_up", 2 * o.intermediate, o.hidden}, Shape{"down", o.hidden, o.intermediate}}) {
        ExpertGemm g(handle, dtype, mtok, s.n, s.k, r.compute_stream);
        if (!g.supported()) {
          fmt::print("gemm: {} {} M={} has no cuBLASLt algorithm here; skipped\n", dt, s.name, mtok);
          continue;
        }
        double t = time_stream(world, r, r.compute_stream, o, o.gemm_iters, [&] { g.run(r.compute_stream); });
        m.gemm.push_back({dt, s.name, mtok, s.n, s.k, t * 1e6, g.flops() / t / 1e12, peak, o.repeats});
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// All-to-all-v and point-to-point with NCCL

/// Per repeat: barrier, enqueue on every local rank between events, wait; time = mean over all
/// ranks (nccl-tests), also the slowest rank. Returns medians over repeats (seconds).
template <class Enqueue>
std::pair<double, double> time_collective(NcclWorld& world, const Launcher& launcher, const Options& o,
                                          Enqueue&& enqueue) {
  RankTimers timers(world.ranks());
  for (int i = 0; i < o.warmup; ++i) enqueue();
  world.wait(o.timeout_s);
  std::vector<double> mean_t, max_t;
  for (int rep = 0; rep < o.repeats; ++rep) {
    launcher.barrier();
    for (std::size_t i = 0; i < world.ranks().size(); ++i) timers.start(i, world.ranks()[i].comm_stream);
    enqueue();
    for (std::size_t i = 0; i < world.ranks().size(); ++i) timers.stop(i, world.ranks()[i].comm_stream);
    world.wait(o.timeout_s);
    std::vector<double> local;
    for (std::size_t i = 0; i < world.ranks().size(); ++i) local.push_back(timers.seconds(i));
    std::vector<double> all;
    if (launcher.mpi()) all = launcher.allgather(local.front());
    else all = local;
    mean_t.push_back(mean(all));
    max_t.push_back(*std::max_element(all.begin(), all.end()));
  }
  return {median(mean_t), median(max_t)};
}

void measure_alltoall(NcclWorld& world, const Launcher& launcher, const Options& o, const validate::PlanTraffic& plan,
                      const validate::PlanLayer& layer, Measurements& m) {
  for (Exchange dir : {Exchange::dispatch, Exchange::combine}) {
    const std::int64_t bpt = plan.bytes_per_token(dir);
    PairMatrix bytes = validate::exchange_pair_bytes(layer.gpu_tokens, bpt, dir);
    AllToAll a = make_alltoall(world, bytes);
    world.wait(o.timeout_s);
    // Correctness on the first exchange, before any warm-up.
    enqueue_alltoall(world, a);
    world.wait(o.timeout_s);
    unsigned long long local_bad = count_mismatches(world, a, o.timeout_s);
    std::vector<double> bad = launcher.allgather(static_cast<double>(local_bad));
    double total_bad = 0;
    for (double b : bad) total_bad += b;
    const char* name = dir == Exchange::dispatch ? "dispatch" : "combine";
    if (total_bad > 0)
      throw WrongResult(fmt::format("alltoallv {} of layer {}: {:.0f} received bytes differ from what the plan sends "
                                    "(wrong source, offset or size)",
                                    name, layer.layer, total_bad));
    auto [t, t_max] = time_collective(world, launcher, o, [&] { enqueue_alltoall(world, a); });
    validate::AllToAllSample s;
    s.direction = dir;
    s.layer = layer.layer;
    s.bytes_per_token = bpt;
    s.gpu_tokens = layer.gpu_tokens;
    s.bytes_per_rank = static_cast<double>(bytes.max_send_total());
    s.time_us = t * 1e6;
    s.max_rank_time_us = t_max * 1e6;
    s.algbw_GBps = validate::algbw_GBps(s.bytes_per_rank, t);
    s.busbw_GBps = validate::alltoall_busbw_GBps(s.algbw_GBps, world.size());
    s.repeats = o.repeats;
    m.alltoall.push_back(s);
  }
}

void measure_p2p(NcclWorld& world, const Launcher& launcher, const Options& o, const std::vector<std::string>& hosts,
                 Measurements& m) {
  for (const auto& [peer, cls] : validate::p2p_pairs(hosts)) {
    for (std::int64_t bytes = 1024; bytes <= o.p2p_max_bytes; bytes *= 4) {
      PairMatrix pm(world.size());
      pm.at(0, peer) = bytes;
      AllToAll a = make_alltoall(world, pm);
      world.wait(o.timeout_s);
      auto [t, t_max] = time_collective(world, launcher, o, [&] { enqueue_alltoall(world, a); });
      (void)t;
      // The receiver finishes last: the slowest rank's time is the message time.
      m.p2p.push_back({cls, 0, peer, static_cast<double>(bytes), t_max * 1e6, o.repeats});
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Overlap: compute stream (expert GEMMs) against communication stream

struct OverlapTimes {
  double compute_alone = 0, compute_overlapped = 0, comm_alone = 0, comm_overlapped = 0;
};

/// Per repeat and local rank: compute alone, comm alone, then both started together (the comm
/// stream waits on an event of the compute stream). Means over ranks, medians over repeats.
template <class Compute, class Comm>
OverlapTimes time_overlap(NcclWorld& world, const Launcher& launcher, const Options& o, Compute&& compute, Comm&& comm) {
  RankTimers tc(world.ranks()), tm(world.ranks());
  std::vector<cudaEvent_t> go;
  for (RankContext& r : world.ranks()) {
    EPSIM_CUDA_CHECK(cudaSetDevice(r.device));
    cudaEvent_t e;
    EPSIM_CUDA_CHECK(cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
    go.push_back(e);
  }
  auto gather = [&](RankTimers& t) {
    std::vector<double> local;
    for (std::size_t i = 0; i < world.ranks().size(); ++i) local.push_back(t.seconds(i));
    return launcher.mpi() ? mean(launcher.allgather(local.front())) : mean(local);
  };
  std::vector<double> ca, co, ma, mo;
  for (int rep = 0; rep < o.warmup + o.repeats; ++rep) {
    launcher.barrier();
    for (std::size_t i = 0; i < world.ranks().size(); ++i) tc.start(i, world.ranks()[i].compute_stream);
    compute();
    for (std::size_t i = 0; i < world.ranks().size(); ++i) tc.stop(i, world.ranks()[i].compute_stream);
    world.wait(o.timeout_s);
    double c_alone = gather(tc);
    launcher.barrier();
    for (std::size_t i = 0; i < world.ranks().size(); ++i) tm.start(i, world.ranks()[i].comm_stream);
    comm();
    for (std::size_t i = 0; i < world.ranks().size(); ++i) tm.stop(i, world.ranks()[i].comm_stream);
    world.wait(o.timeout_s);
    double m_alone = gather(tm);
    launcher.barrier();
    for (std::size_t i = 0; i < world.ranks().size(); ++i) {
      RankContext& r = world.ranks()[i];
      EPSIM_CUDA_CHECK(cudaSetDevice(r.device));
      EPSIM_CUDA_CHECK(cudaEventRecord(go[i], r.compute_stream));
      EPSIM_CUDA_CHECK(cudaStreamWaitEvent(r.comm_stream, go[i], 0));
      tc.start(i, r.compute_stream);
      tm.start(i, r.comm_stream);
    }
    comm();
    compute();
    for (std::size_t i = 0; i < world.ranks().size(); ++i) {
      tc.stop(i, world.ranks()[i].compute_stream);
      tm.stop(i, world.ranks()[i].comm_stream);
    }
    world.wait(o.timeout_s);
    if (rep < o.warmup) continue;
    ca.push_back(c_alone);
    ma.push_back(m_alone);
    co.push_back(gather(tc));
    mo.push_back(gather(tm));
  }
  for (cudaEvent_t e : go) EPSIM_CUDA_CHECK(cudaEventDestroy(e));
  return {median(ca), median(co), median(ma), median(mo)};
}

void measure_overlap(NcclWorld& world, const Launcher& launcher, const Options& o,
                     const std::optional<validate::PlanTraffic>& plan, const validate::PlanLayer* layer,
                     Measurements& m) {
  const bool nccl = world.ranks().front().comm != nullptr && plan && layer;
  // Tokens per expert of each local rank: the plan's, else the middle of the GEMM sweep.
  std::vector<int> mtok;
  for (RankContext& r : world.ranks()) {
    int v = 1024;
    if (plan && layer)
      v = std::max(1, static_cast<int>(std::llround(layer->gpu_tokens[static_cast<std::size_t>(r.rank)] / plan->slots_per_gpu)));
    else if (!o.tokens_per_expert.empty())
      v = o.tokens_per_expert[o.tokens_per_expert.size() / 2];
    mtok.push_back(v);
  }
  std::vector<cublasLtHandle_t> handles;
  std::vector<std::unique_ptr<ExpertGemm>> gemms;  // gate_up, down per local rank
  for (std::size_t i = 0; i < world.ranks().size(); ++i) {
    RankContext& r = world.ranks()[i];
    EPSIM_CUDA_CHECK(cudaSetDevice(r.device));
    cublasLtHandle_t h;
    EPSIM_CUBLAS_CHECK(cublasLtCreate(&h));
    handles.push_back(h);
    gemms.push_back(std::make_unique<ExpertGemm>(h, GemmDtype::bf16, mtok[i], 2 * o.intermediate, o.hidden, r.compute_stream));
    gemms.push_back(std::make_unique<ExpertGemm>(h, GemmDtype::bf16, mtok[i], o.hidden, o.intermediate, r.compute_stream));
  }
  std::unique_ptr<AllToAll> a2a;
  std::vector<DeviceBuffer> copy_src, copy_dst;
  if (nccl) {
    a2a = std::make_unique<AllToAll>(make_alltoall(world, validate::exchange_pair_bytes(
                                                              layer->gpu_tokens, plan->dispatch_bytes_per_token,
                                                              Exchange::dispatch)));
  } else {
    for (RankContext& r : world.ranks()) {
      EPSIM_CUDA_CHECK(cudaSetDevice(r.device));
      copy_src.emplace_back(static_cast<std::size_t>(o.copy_bytes));
      copy_dst.emplace_back(static_cast<std::size_t>(o.copy_bytes));
    }
  }
  world.wait(o.timeout_s);
  int layers = 1;  // expert FFNs per compute phase, sized below to last about as long as the comm phase
  auto compute = [&] {
    for (std::size_t i = 0; i < world.ranks().size(); ++i) {
      RankContext& r = world.ranks()[i];
      EPSIM_CUDA_CHECK(cudaSetDevice(r.device));
      for (int l = 0; l < layers; ++l) {
        gemms[2 * i]->run(r.compute_stream);
        gemms[2 * i + 1]->run(r.compute_stream);
      }
    }
  };
  auto comm = [&] {
    if (nccl) {
      enqueue_alltoall(world, *a2a);
      return;
    }
    for (std::size_t i = 0; i < world.ranks().size(); ++i) {
      RankContext& r = world.ranks()[i];
      EPSIM_CUDA_CHECK(cudaSetDevice(r.device));
      copy_kernel(copy_src[i].ptr, copy_dst[i].ptr, o.copy_bytes / 16 * 16, o.copy_blocks, r.comm_stream);
      EPSIM_CUDA_CHECK(cudaGetLastError());
    }
  };
  for (auto& g : gemms)
    if (!g->supported()) throw CallError("overlap: cuBLASLt has no BF16 algorithm for the expert GEMM shape");
  Options probe_options = o;  // a short run to size the compute phase
  probe_options.warmup = std::min(o.warmup, 2);
  probe_options.repeats = std::min(o.repeats, 3);
  OverlapTimes probe = time_overlap(world, launcher, probe_options, compute, comm);
  layers = std::max(1, static_cast<int>(std::lround(probe.comm_alone / probe.compute_alone)));
  OverlapTimes t = time_overlap(world, launcher, o, compute, comm);
  gemms.clear();
  for (cublasLtHandle_t h : handles) EPSIM_CUBLAS_CHECK(cublasLtDestroy(h));
  m.overlap.push_back({nccl ? "nccl_alltoallv" : "copy_kernel", mtok.front(), t.compute_alone * 1e6,
                       t.compute_overlapped * 1e6, t.comm_alone * 1e6, t.comm_overlapped * 1e6});
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
