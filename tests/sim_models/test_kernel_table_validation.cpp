// Leave-out validation of the shipped kernel tables (docs/validation.md, "Compute: kernel tables"):
// every row a DeepSeek-V3 look-up touches is left out and predicted from its neighbours with the
// product's interpolator (LatencyGrid) or fit (fit_moe_prefill); the mean absolute errors are printed
// and held to the figures the docs report.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <set>

#include "measurements/kernel_table.hpp"
#include "sim/compute/kernel_tables.hpp"

using namespace epsim;

namespace {

const std::string kTables = std::string(EPSIM_SCENARIOS_DIR) + "/measurements/kernels/";

// Predict the value at x from the neighbours (lo, v_lo), (hi, v_hi) with the product's interpolation.
double between(double lo, double v_lo, double hi, double v_hi, double x) {
  LatencyGrid g({{lo, hi}});
  const std::size_t i0[1] = {0}, i1[1] = {1};
  g.set(i0, v_lo);
  g.set(i1, v_hi);
  const double q[1] = {x};
  return g.lookup(q).us;
}

// A tile-step pair of the GEMM table's m grid: (16j, 16j + 1), j >= 1.
bool step_pair(double a, double b) {
  const double lo = std::min(a, b), hi = std::max(a, b);
  return hi == lo + 1 && std::fmod(lo, 16) == 0 && lo >= 16;
}

struct Errors {
  double sum = 0;
  int n = 0;
  void add(double pred, double meas) {
    sum += std::abs(pred / meas - 1);
    ++n;
  }
  double mean() const { return n ? sum / n : 0; }
};

// DeepSeek-V3's GEMM shapes (n, k) (config.json: hidden 7168, q_lora 1536, kv_lora 512, 128 heads,
// nope 128, rope 64, v 128, shared expert 2048, dense FFN 18432, 256 experts): fused q_a/kv_a, q_b,
// kv_b, o, shared gate_up and down, dense gate_up and down, router.
const double kShapes[][2] = {{2112, 7168}, {24576, 1536}, {32768, 512},  {7168, 16384}, {4096, 7168},
                             {7168, 2048}, {36864, 7168}, {7168, 18432}, {256, 7168}};

Errors gemm_leave_out(const KernelTable& t, const std::string& dtype) {
  const LatencyGrid& g = *t.grid(dtype);
  const auto& ms = g.axes()[0];
  const auto& ns = g.axes()[1];
  const auto& ks = g.axes()[2];
  auto value = [&](std::size_t i, std::size_t j, std::size_t l) {
    const std::size_t idx[3] = {i, j, l};
    return g.value(idx);
  };
  auto bracket = [](const std::vector<double>& ax, double x) {
    std::vector<std::size_t> out;
    for (std::size_t i = 0; i < ax.size(); ++i)
      if (ax[i] == x) return std::vector<std::size_t>{i};
    for (std::size_t i = 1; i < ax.size(); ++i)
      if (ax[i - 1] < x && x < ax[i]) out = {i - 1, i};
    return out;
  };
  Errors e;
  for (const auto& s : kShapes) {
    const bool n_off = bracket(ns, s[0]).size() == 2, k_off = bracket(ks, s[1]).size() == 2;
    for (std::size_t j : bracket(ns, s[0]))
      for (std::size_t l : bracket(ks, s[1]))
        for (std::size_t i = 0; i < ms.size() && ms[i] <= 16384; ++i) {
          const double v = value(i, j, l);
          if (std::isnan(v)) continue;
          // Along m, inside a tile segment.
          if (i > 0 && i + 1 < ms.size() && !step_pair(ms[i - 1], ms[i]) && !step_pair(ms[i], ms[i + 1])) {
            const double a = value(i - 1, j, l), b = value(i + 1, j, l);
            if (!std::isnan(a) && !std::isnan(b)) e.add(between(ms[i - 1], a, ms[i + 1], b, ms[i]), v);
          }
          if (n_off && j > 0 && j + 1 < ns.size()) {
            const double a = value(i, j - 1, l), b = value(i, j + 1, l);
            if (!std::isnan(a) && !std::isnan(b)) e.add(between(ns[j - 1], a, ns[j + 1], b, ns[j]), v);
          }
          if (k_off && l > 0 && l + 1 < ks.size()) {
            const double a = value(i, j, l - 1), b = value(i, j, l + 1);
            if (!std::isnan(a) && !std::isnan(b)) e.add(between(ks[l - 1], a, ks[l + 1], b, ks[l]), v);
          }
        }
  }
  return e;
}

// Leave-one-out along each axis of a grid (every interior measured point, both neighbours measured).
Errors grid_leave_out(const LatencyGrid& g, std::size_t fixed_axis = 99, double fixed_value = 0) {
  Errors e;
  const std::size_t d = g.dimensions();
  std::vector<std::size_t> idx(d, 0);
  std::function<void(std::size_t)> walk = [&](std::size_t a) {
    if (a == d) {
      const double v = g.value(idx);
      if (std::isnan(v)) return;
      for (std::size_t ax = 0; ax < d; ++ax) {
        if (ax == fixed_axis) continue;
        if (idx[ax] == 0 || idx[ax] + 1 == g.axes()[ax].size()) continue;
        auto lo = idx, hi = idx;
        --lo[ax];
        ++hi[ax];
        const double a0 = g.value(lo), a1 = g.value(hi);
        if (std::isnan(a0) || std::isnan(a1)) continue;
        e.add(between(g.axes()[ax][lo[ax]], a0, g.axes()[ax][hi[ax]], a1, g.axes()[ax][idx[ax]]), v);
      }
      return;
    }
    for (idx[a] = 0; idx[a] < g.axes()[a].size(); ++idx[a]) {
      if (a == fixed_axis && g.axes()[a][idx[a]] != fixed_value) continue;
      walk(a + 1);
    }
  };
  walk(0);
  return e;
}

}  // namespace

TEST_CASE("kernel tables: leave-out errors of the shipped H100 and H200 tables", "[kernel_tables][validation]") {
  struct Gpu {
    const char* folder;
    const char* name;
    double gemm_bar;  // the figures docs/validation.md reports, rounded up
  };
  for (const Gpu gpu : {Gpu{"h100_sxm", "H100", 0.050}, Gpu{"h200_sxm", "H200", 0.064}}) {
    const KernelTableSet set = read_kernel_tables(kTables + gpu.folder, gpu.name);
    // GEMM: the rows DeepSeek-V3's shapes touch, left out one at a time.
    for (const char* dtype : {"fp8_block", "bfloat16", "fp8"}) {
      const Errors e = gemm_leave_out(*set.find(KernelTableKind::gemm), dtype);
      std::printf("%s gemm %-9s leave-out mean abs error %.2f%% over %d predictions\n", gpu.name, dtype, e.mean() * 100, e.n);
      CHECK(e.n > 900);
      CHECK(e.mean() <= gpu.gemm_bar);
    }
    // MLA: 128 heads (DeepSeek-V3 at TP 1), along batch and along the sequence / KV length.
    for (auto kind : {KernelTableKind::mla_context, KernelTableKind::mla_generation})
      for (const char* backend : {"fa3", "flashinfer"}) {
        const Errors e = grid_leave_out(*set.find(kind)->grid(backend), 0, 128);
        std::printf("%s %s %-10s leave-out mean abs error %.2f%% over %d predictions\n", gpu.name,
                    std::string(to_string(kind)).c_str(), backend, e.mean() * 100, e.n);
        CHECK(e.mean() <= 0.10);
      }
    // Decode grouped GEMM: uniform rows along local experts and along pairs.
    {
      const Errors e = grid_leave_out(*set.find(KernelTableKind::moe_generation)->grid("fp8_block/7168/2048/8/256/uniform"));
      std::printf("%s moe_generation uniform leave-out mean abs error %.2f%% over %d predictions\n", gpu.name,
                  e.mean() * 100, e.n);
      CHECK(e.mean() <= 0.10);
    }
    // Prefill grouped GEMM: the 4-coefficient fit, each uniform row left out of the fit and predicted.
    {
      std::vector<MoeFitRow> rows;
      for (const auto& r : set.find(KernelTableKind::moe_context)->rows)
        if (r.key == "fp8_block/7168/2048/8/256/uniform")
          rows.push_back(MoeFitRow{r.x[0], r.x[1], r.x[1] * 256 / (r.x[0] * 8), r.us});
      const double expert_GB = 3.0 * 7168 * 2048 / 1e9;
      Errors e;
      for (std::size_t i = 0; i < rows.size(); ++i) {
        std::vector<MoeFitRow> rest = rows;
        rest.erase(rest.begin() + static_cast<std::ptrdiff_t>(i));
        const MoePrefillFit f = fit_moe_prefill(rest, expert_GB);
        e.add(f.predict_us(rows[i].local_experts * expert_GB, rows[i].pairs, rows[i].rows), rows[i].us);
      }
      const MoePrefillFit all = fit_moe_prefill(rows, expert_GB);
      std::printf("%s moe_context fit: %.1f us + %.2f us/GB + %.2f us per 1k pairs + %.2f us per 1k rows; "
                  "leave-one-out mean abs error %.2f%% over %d rows\n",
                  gpu.name, all.c0_us, all.per_weight_GB_us, all.per_kpair_us, all.per_krow_us, e.mean() * 100, e.n);
      CHECK(e.mean() <= 0.10);
    }
  }
}
