#include "cuda_validate/harness/measure.hpp"

#include <algorithm>
#include <cmath>
#include <memory>
#include <type_traits>
#include <utility>

#include <fmt/format.h>

#include "cuda_validate/harness/alltoall.hpp"
#include "cuda_validate/harness/check.hpp"
#include "cuda_validate/harness/gemm.hpp"
#include "cuda_validate/harness/kernels.hpp"

namespace epsim::cuda {

using validate::Measurements;
using validate::PairMatrix;

namespace {

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

}  // namespace

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

}  // namespace epsim::cuda
