#include "sim/compute/kernel_tables.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <stdexcept>

#include <fmt/format.h>

#include "common/error.hpp"

#ifndef EPSIM_KERNEL_TABLES_DIR
#error "EPSIM_KERNEL_TABLES_DIR must name scenarios/measurements/kernels (sim/CMakeLists.txt)"
#endif

namespace epsim {

namespace {

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

// Bytes per element of a GEMM dtype's inputs (block scales ignored: < 1%).
double input_bytes(GemmDtype d) { return d == GemmDtype::bf16 ? 2.0 : 1.0; }

std::string shape(std::initializer_list<double> v) {
  std::string s;
  for (double x : v) s += (s.empty() ? "" : " x ") + fmt::format("{:g}", x);
  return s;
}

}  // namespace

// ---- ComputeNotices ----

void ComputeNotices::note(const std::string& table, const std::string& what) {
  auto [it, fresh] = first_.emplace(table, std::make_pair(what, 0L));
  ++it->second.second;
}

std::vector<std::string> ComputeNotices::messages() const {
  std::vector<std::string> out;
  for (const auto& [table, f] : first_)
    out.push_back(fmt::format("{}: {} look-up(s) outside the measured range, scaled from the nearest measured point "
                              "(roofline ratio or an exact split of the work); first: {}",
                              table, f.second, f.first));
  return out;
}

// ---- dtypes ----

std::string_view to_string(GemmDtype d) {
  switch (d) {
    case GemmDtype::bf16: return "bfloat16";
    case GemmDtype::fp8: return "fp8";
    case GemmDtype::fp8_block: return "fp8_block";
  }
  return "?";
}

GemmDtype parse_gemm_dtype(std::string_view name) {
  if (name == "bf16" || name == "bfloat16") return GemmDtype::bf16;
  if (name == "fp8") return GemmDtype::fp8;
  if (name == "fp8_block") return GemmDtype::fp8_block;
  throw UsageError(fmt::format("unknown GEMM dtype '{}': expected bf16, fp8 or fp8_block", name));
}

// ---- MoE prefill fit ----

MoePrefillFit fit_moe_prefill(const std::vector<MoeFitRow>& rows, double expert_GB) {
  if (rows.size() < 4) throw std::invalid_argument("fit_moe_prefill: at least 4 rows");
  // Weighted normal equations (weight 1 / t: relative error), 4 x 4, Gaussian elimination with pivoting.
  std::array<std::array<double, 5>, 4> a{};
  double min_p = rows.front().pairs, max_p = rows.front().pairs;
  for (const auto& r : rows) {
    const std::array<double, 4> x = {1.0, r.local_experts * expert_GB, r.pairs / 1e3, r.rows / 1e3};
    const double w2 = 1.0 / (r.us * r.us);
    for (int i = 0; i < 4; ++i) {
      for (int j = 0; j < 4; ++j) a[i][j] += w2 * x[i] * x[j];
      a[i][4] += w2 * x[i] * r.us;
    }
    min_p = std::min(min_p, r.pairs);
    max_p = std::max(max_p, r.pairs);
  }
  for (int c = 0; c < 4; ++c) {
    int piv = c;
    for (int r = c + 1; r < 4; ++r)
      if (std::abs(a[r][c]) > std::abs(a[piv][c])) piv = r;
    if (!(std::abs(a[piv][c]) > 1e-300)) throw std::invalid_argument("fit_moe_prefill: singular system");
    std::swap(a[c], a[piv]);
    for (int r = 0; r < 4; ++r) {
      if (r == c) continue;
      const double f = a[r][c] / a[c][c];
      for (int k = c; k < 5; ++k) a[r][k] -= f * a[c][k];
    }
  }
  MoePrefillFit fit;
  fit.c0_us = a[0][4] / a[0][0];
  fit.per_weight_GB_us = a[1][4] / a[1][1];
  fit.per_kpair_us = a[2][4] / a[2][2];
  fit.per_krow_us = a[3][4] / a[3][3];
  fit.min_pairs = min_p;
  fit.max_pairs = max_p;
  return fit;
}

// ---- KernelTableModel ----

KernelTableModel::KernelTableModel(KernelTableSet tables, GpuSpec gpu) : tables_(std::move(tables)), gpu_(std::move(gpu)) {
  if (const KernelTable* t = tables_.find(KernelTableKind::moe_context)) {
    // Group the uniform rows by model key (the key without its distribution).
    std::map<std::string, std::vector<MoeFitRow>> by_model;
    std::map<std::string, double> expert_GB;
    for (const auto& row : t->rows) {
      const std::string suffix = "/uniform";
      if (row.key.size() < suffix.size() || row.key.compare(row.key.size() - suffix.size(), suffix.size(), suffix) != 0)
        continue;
      const std::string model = row.key.substr(0, row.key.size() - suffix.size());
      // key = dtype/hidden/inter/topk/experts: FP8 weights, 3 x hidden x inter bytes per expert.
      double hidden = 0, inter = 0;
      if (std::sscanf(model.c_str(), "%*[^/]/%lf/%lf", &hidden, &inter) != 2) continue;
      expert_GB[model] = 3.0 * hidden * inter / 1e9;
      by_model[model].push_back(MoeFitRow{row.x[0], row.x[1], 0.0, row.us});
    }
    // The collector's rows: num_tokens (all of the EP group's tokens) = pairs x experts / (local x topk).
    for (auto& [model, rows] : by_model) {
      double topk = 0, experts = 0;
      std::sscanf(model.c_str(), "%*[^/]/%*[^/]/%*[^/]/%lf/%lf", &topk, &experts);
      if (!(topk > 0) || !(experts > 0)) continue;
      for (auto& r : rows) r.rows = r.pairs * experts / (r.local_experts * topk);
      if (rows.size() < 4)
        throw InputError(t->file, "", fmt::format("at least 4 uniform rows of {} to fit the prefill grouped GEMM", model));
      moe_fits_.emplace(model, fit_moe_prefill(rows, expert_GB[model]));
    }
  }
}

double KernelTableModel::roofline_us(double flops, double bytes, double peak_TFLOPs) const {
  return std::max(flops / (peak_TFLOPs * 1e12), bytes / (gpu_.hbm_TBps * 1e12)) * 1e6;
}

std::optional<double> KernelTableModel::gemm_us(double m, double n, double k, GemmDtype dtype,
                                                ComputeNotices* notices) const {
  const KernelTable* t = tables_.find(KernelTableKind::gemm);
  if (!t) return std::nullopt;
  const LatencyGrid* g = t->grid(std::string(to_string(dtype)));
  if (!g) return std::nullopt;
  if (!(m > 0) || !(n > 0) || !(k > 0)) throw std::invalid_argument("gemm_us: m, n and k must be > 0");
  // Beyond the largest m or n: equal blocks inside the range (the work splits exactly).
  const double m_max = g->axes()[0].back(), n_max = g->axes()[1].back();
  const double mb = std::ceil(m / m_max), nb = std::ceil(n / n_max);
  if (mb > 1 || nb > 1) {
    if (notices) notices->note(t->file, fmt::format("GEMM {} {} split into {:g} x {:g} blocks", to_string(dtype),
                                                    shape({m, n, k}), mb, nb));
    return mb * nb * *gemm_us(m / mb, n / nb, k, dtype, nullptr);
  }
  const double q[3] = {m, n, k};
  const LatencyGrid::Lookup r = g->lookup(q);
  if (r.inside) return r.us;
  const double peak = dtype == GemmDtype::bf16 ? gpu_.bf16_dense_TFLOPs : gpu_.fp8_dense_TFLOPs;
  auto roof = [&](double mm, double nn, double kk) {
    return roofline_us(2 * mm * nn * kk, (mm * kk + kk * nn) * input_bytes(dtype) + 2 * mm * nn, peak);
  };
  if (notices) notices->note(t->file, fmt::format("GEMM {} {} from {}", to_string(dtype), shape({m, n, k}),
                                                  shape({r.at[0], r.at[1], r.at[2]})));
  return r.us * roof(m, n, k) / roof(r.at[0], r.at[1], r.at[2]);
}

bool KernelTableModel::covers_mla(const MoeModel& m) const {
  return m.hidden_size == 7168 && m.q_lora_rank == 1536 && m.kv_lora_rank == 512 && m.qk_nope_head_dim == 128 &&
         m.qk_rope_head_dim == 64 && m.v_head_dim == 128;
}

namespace {

// Work of the measured MLA module (q_b, kv_b or absorbed BMMs, attention core, o_proj) for roofline
// scaling: FP8 weights, FP8 KV cache (576 B per token), BF16 activations. Prefill: causal over isl.
struct MlaWork {
  double flops = 0, bytes = 0;
};
MlaWork mla_work(double heads, double batch, double isl, bool decode) {
  const double q_b = 1536.0 * heads * 192, kv_b = 512.0 * heads * 256, o = heads * 128.0 * 7168;
  const double weights = q_b + kv_b + o;
  MlaWork w;
  if (decode) {
    w.flops = batch * (2 * weights + 2 * heads * (576 + 512) * isl);
    w.bytes = weights + batch * isl * 576;
  } else {
    const double tokens = batch * isl;
    w.flops = 2 * weights * tokens + batch * 2 * heads * (192 + 128) * isl * (isl + 1) / 2;
    w.bytes = weights + tokens * (576 + 2 * 7168);
  }
  return w;
}

}  // namespace

std::optional<double> KernelTableModel::mla_prefill_us(const MoeModel& model, double seqs, double tokens, double prefix,
                                                       double heads, const std::string& backend,
                                                       ComputeNotices* notices) const {
  const KernelTable* t = tables_.find(KernelTableKind::mla_context);
  if (!t || !covers_mla(model)) return std::nullopt;
  const LatencyGrid* g = t->grid(backend);
  if (!g) return std::nullopt;
  auto at = [&](double isl) {
    const double q[3] = {heads, seqs, isl};
    const LatencyGrid::Lookup r = g->lookup(q);
    if (r.inside) return r.us;
    if (notices) notices->note(t->file, fmt::format("MLA prefill heads {:g}, batch {:g}, isl {:g} from ({:g}, {:g}, {:g})",
                                                    heads, seqs, isl, r.at[0], r.at[1], r.at[2]));
    const MlaWork a = mla_work(heads, seqs, isl, false), b = mla_work(r.at[0], r.at[1], r.at[2], false);
    return r.us * roofline_us(a.flops, a.bytes, gpu_.fp8_dense_TFLOPs) / roofline_us(b.flops, b.bytes, gpu_.fp8_dense_TFLOPs);
  };
  const double fresh = at(tokens);
  if (!(prefix > 0)) return fresh;
  return std::max(at(prefix + tokens) - at(prefix), fresh);
}

std::optional<double> KernelTableModel::mla_decode_us(const MoeModel& model, double batch, double kv_len, double heads,
                                                      const std::string& backend, ComputeNotices* notices) const {
  const KernelTable* t = tables_.find(KernelTableKind::mla_generation);
  if (!t || !covers_mla(model)) return std::nullopt;
  const LatencyGrid* g = t->grid(backend);
  if (!g) return std::nullopt;
  const double q[3] = {heads, batch, kv_len};
  const LatencyGrid::Lookup r = g->lookup(q);
  if (r.inside) return r.us;
  if (notices) notices->note(t->file, fmt::format("MLA decode heads {:g}, batch {:g}, KV {:g} from ({:g}, {:g}, {:g})",
                                                  heads, batch, kv_len, r.at[0], r.at[1], r.at[2]));
  const MlaWork a = mla_work(heads, batch, kv_len, true), b = mla_work(r.at[0], r.at[1], r.at[2], true);
  return r.us * roofline_us(a.flops, a.bytes, gpu_.fp8_dense_TFLOPs) / roofline_us(b.flops, b.bytes, gpu_.fp8_dense_TFLOPs);
}

std::string KernelTableModel::moe_key(const MoeModel& m, const char* distribution) const {
  std::string k = fmt::format("fp8_block/{}/{}/{}/{}", m.hidden_size, m.moe_intermediate_size, m.top_k, m.num_experts);
  if (distribution) k += std::string("/") + distribution;
  return k;
}

bool KernelTableModel::covers_moe(const MoeModel& m) const {
  const KernelTable* t = tables_.find(KernelTableKind::moe_generation);
  return moe_fits_.count(moe_key(m, nullptr)) > 0 && t && t->grid(moe_key(m, "uniform"));
}

const MoePrefillFit* KernelTableModel::moe_prefill_fit(const MoeModel& m) const {
  auto it = moe_fits_.find(moe_key(m, nullptr));
  return it == moe_fits_.end() ? nullptr : &it->second;
}

std::optional<double> KernelTableModel::moe_prefill_us(const MoeModel& m, double active_experts, double pairs, double rows,
                                                       ComputeNotices* notices) const {
  const MoePrefillFit* f = moe_prefill_fit(m);
  if (!f) return std::nullopt;
  if (!(pairs > 0)) return 0.0;
  const double expert_GB = 3.0 * m.hidden_size * static_cast<double>(m.moe_intermediate_size) / 1e9;
  if ((pairs < f->min_pairs || pairs > f->max_pairs) && notices)
    notices->note(tables_.find(KernelTableKind::moe_context)->file,
                  fmt::format("prefill grouped GEMM of {:g} pairs outside the fitted {:g}..{:g} (linear model extended)",
                              pairs, f->min_pairs, f->max_pairs));
  return f->predict_us(std::max(1.0, active_experts) * expert_GB, pairs, rows);
}

std::optional<double> KernelTableModel::moe_decode_us(const MoeModel& m, double active_experts, double pairs,
                                                      ComputeNotices* notices) const {
  const KernelTable* t = tables_.find(KernelTableKind::moe_generation);
  if (!t) return std::nullopt;
  const LatencyGrid* g = t->grid(moe_key(m, "uniform"));
  if (!g) return std::nullopt;
  if (!(pairs > 0)) return 0.0;
  const double e = std::max(1.0, active_experts);
  const double q[2] = {e, pairs};
  const LatencyGrid::Lookup r = g->lookup(q);
  if (r.inside) return r.us;
  if (notices) notices->note(t->file, fmt::format("decode grouped GEMM of {:g} experts, {:g} pairs from ({:g}, {:g})", e,
                                                  pairs, r.at[0], r.at[1]));
  const double h = m.hidden_size, i = m.moe_intermediate_size;
  auto roof = [&](double experts, double p) {
    return roofline_us(6 * p * h * i, experts * 3 * h * i + p * (h + 2 * i + 2 * h), gpu_.fp8_dense_TFLOPs);
  };
  return r.us * roof(e, pairs) / roof(r.at[0], r.at[1]);
}

std::optional<double> KernelTableModel::mlp_us(const MoeModel& m, double tokens, double intermediate,
                                               ComputeNotices* notices) const {
  const KernelTable* t = tables_.find(KernelTableKind::mlp);
  if (!t) return std::nullopt;
  const LatencyGrid* g = t->grid(fmt::format("fp8_block/{}/{:g}", m.hidden_size, intermediate));
  if (!g) return std::nullopt;
  if (!(tokens > 0)) return 0.0;
  const double q[1] = {tokens};
  const LatencyGrid::Lookup r = g->lookup(q);
  if (r.inside) return r.us;
  if (notices) notices->note(t->file, fmt::format("MLP of {:g} tokens from {:g}", tokens, r.at[0]));
  const double h = m.hidden_size;
  auto roof = [&](double n) { return roofline_us(6 * n * h * intermediate, 3 * h * intermediate + n * 4 * h, gpu_.fp8_dense_TFLOPs); };
  return r.us * roof(tokens) / roof(r.at[0]);
}

// ---- defaults ----

std::string kernel_tables_gpu(const std::string& gpu_name) {
  const std::string g = upper(gpu_name);
  return g == "H800" ? "H100" : g;
}

std::string default_kernel_tables_folder(const std::string& gpu_name) {
  const std::string g = kernel_tables_gpu(gpu_name);
  if (g == "H100") return std::string(EPSIM_KERNEL_TABLES_DIR) + "/h100_sxm";
  if (g == "H200") return std::string(EPSIM_KERNEL_TABLES_DIR) + "/h200_sxm";
  return {};
}

}  // namespace epsim
