#pragma once
// Synthetic measurements with known parameters, for the calibration and loader tests.
#include <cmath>

#include "cuda_validate/measurements.hpp"

namespace epsim::validate::testing {

/// Link parameters used to generate p2p samples: t = latency + bytes / bandwidth.
struct KnownLink {
  const char* link_class;
  int src, dst;
  double bandwidth_GBps;
  double latency_ns;
};

/// 16 GPUs; p2p sweeps 1 KiB .. 1 GiB (x4) on each known link with relative noise
/// +-noise alternating in sign; GEMMs at M = 64 and 1024 with known efficiencies 0.25 and 0.75 of a
/// 989 TFLOP/s peak; two overlap samples with compute slowdowns 1.10 and 1.20; one all-to-all.
inline Measurements synthetic_measurements(const std::vector<KnownLink>& links, double noise = 0.0) {
  Measurements m;
  m.file = "synthetic.json";
  m.gpu = "NVIDIA H200";
  m.driver = "580.00";
  m.cuda = "13.0";
  m.nccl = "2.28.9";
  m.topology_id = "dgx-h200-2node";
  m.plan_id = "plan.json";
  m.num_gpus = 16;
  m.mode = "mpi";
  m.warmup = 5;
  for (const KnownLink& l : links) {
    int i = 0;
    for (double bytes = 1024; bytes <= 1024.0 * 1024 * 1024; bytes *= 4, ++i) {
      double t_s = l.latency_ns * 1e-9 + bytes / (l.bandwidth_GBps * 1e9);
      t_s *= 1 + (i % 2 ? noise : -noise);
      m.p2p.push_back({l.link_class, l.src, l.dst, bytes, t_s * 1e6, 20});
    }
  }
  for (auto [tokens, eff] : {std::pair{64, 0.25}, std::pair{1024, 0.75}}) {
    const double peak = 989.0;
    for (auto [name, n, k] : {std::tuple{"gate_up", 4096, 7168}, std::tuple{"down", 7168, 2048}}) {
      double flops = 2.0 * tokens * n * k;
      double t_s = flops / (peak * 1e12 * eff);
      m.gemm.push_back({"bf16", name, tokens, n, k, t_s * 1e6, flops / t_s / 1e12, peak, 20});
    }
  }
  m.overlap.push_back({"nccl_alltoallv", 256, 100.0, 110.0, 50.0, 55.0});
  m.overlap.push_back({"nccl_alltoallv", 512, 200.0, 240.0, 80.0, 90.0});
  AllToAllSample a;
  a.direction = Exchange::dispatch;
  a.layer = 3;
  a.bytes_per_token = 7168;
  for (int d = 0; d < 16; ++d) a.gpu_tokens.push_back(256.0 * (1 + d % 3));
  a.bytes_per_rank = 7168.0 * 256 * 32 / 16;
  a.time_us = 300;
  a.max_rank_time_us = 320;
  a.algbw_GBps = algbw_GBps(a.bytes_per_rank, a.time_us * 1e-6);
  a.busbw_GBps = alltoall_busbw_GBps(a.algbw_GBps, 16);
  a.repeats = 20;
  m.alltoall.push_back(a);
  return m;
}

}  // namespace epsim::validate::testing
