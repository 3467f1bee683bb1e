#include "cuda_validate/calibration.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

#include "common/error.hpp"
#include "common/json_output.hpp"

namespace epsim::validate {

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

}  // namespace

CalibrationFit fit_calibration(const Measurements& m, const CalibrationOptions& options) {
  if (m.p2p.empty() && m.gemm.empty() && m.overlap.empty())
    throw InputError(m.file, "/samples", "p2p, gemm or overlap samples to fit (found none)");
  CalibrationFit fit;
  Calibration& c = fit.calibration;
  c.device = m.gpu;
  c.gpu = canonical_gpu_name(m.gpu, m.file, "/gpu");
  std::map<LinkKind, std::pair<std::vector<double>, std::vector<double>>> by_kind;
  for (std::size_t i = 0; i < m.p2p.size(); ++i) {
    const P2pSample& s = m.p2p[i];
    const auto kind = parse_link_kind(s.link_class);
    if (!kind)
      throw InputError(m.file, fmt::format("/samples (p2p sample {}, link_class)", i),
                       fmt::format("a link kind: nvlink, pcie, infiniband or ethernet; found \"{}\"", s.link_class));
    auto& [x, t] = by_kind[*kind];
    x.push_back(s.bytes);
    t.push_back(s.time_us * 1e-6);
  }
  for (const auto& [kind, xt] : by_kind) {
    try {
      const LinkFit f = fit_link(xt.first, xt.second);
      fit.link_fits[kind] = f;
      c.links[kind] = LinkCalibration{f.bandwidth_GBps, f.latency_ns};
    } catch (const std::invalid_argument& e) {
      throw InputError(m.file, "/samples",
                       fmt::format("p2p samples of link class \"{}\" that fit t = latency + bytes / bandwidth: {}",
                                   to_string(kind), e.what()));
    }
  }
  std::map<int, std::pair<double, double>> gemm;  // M -> (FLOPs, sum time x peak FLOP/s)
  for (const GemmSample& s : m.gemm) {
    if (s.dtype != options.gemm_dtype) continue;
    auto& [flops, capacity] = gemm[s.tokens_per_expert];
    flops += 2.0 * s.tokens_per_expert * static_cast<double>(s.n) * s.k;
    capacity += s.time_us * 1e-6 * s.peak_tflops * 1e12;
  }
  for (const auto& [mtok, fc] : gemm)
    c.gemm_efficiency.push_back({static_cast<double>(mtok), std::min(1.0, fc.first / fc.second)});
  if (!m.overlap.empty()) {
    std::vector<double> slow;
    for (const OverlapSample& s : m.overlap) slow.push_back(s.compute_slowdown());
    c.overlap_slowdown = std::max(1.0, median(std::move(slow)));
  }
  return fit;
}

}  // namespace epsim::validate
