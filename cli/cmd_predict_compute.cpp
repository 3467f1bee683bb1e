// `epsim predict gemm | mla | moe`: one compute operation from the measured kernel tables
// (docs/compute_model.md "Kernel tables"); look-ups outside the tables are noted on stderr (--json: in
// the output).
#include <algorithm>
#include <cmath>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "cli/cli_checks.hpp"
#include "cli/commands.hpp"
#include "common/error.hpp"
#include "common/json_output.hpp"
#include "common/json_input.hpp"
#include "model/expert_loads.hpp"
#include "model/gpu_spec.hpp"
#include "model/moe_model.hpp"
#include "placement/plan.hpp"
#include "sim/compute/kernel_tables.hpp"

namespace epsim::cli {

namespace {

struct Common {
  std::string gpu = "h100";
  std::string kernel_tables;  ///< empty: the shipped tables of the GPU
  bool json = false;
};

// --gpu names a GPU model/gpu_spec.hpp knows: a usage error listing them otherwise (checked while the
// command line is parsed, before any file is read; "unknown GPU 'a100'" was an input error, exit 1).
CLI::Validator known_gpu() {
  return CLI::Validator(
      [](std::string& name) -> std::string {
        try {
          gpu_spec(name);
          return {};
        } catch (const InputError& e) {
          return e.what();
        }
      },
      "GPU");
}

void add_common(CLI::App* c, Common& o) {
  c->add_option("--gpu", o.gpu, "GPU: h100, h200 or h800 (H800 uses the H100 tables)")
      ->capture_default_str()
      ->check(known_gpu());
  c->add_option("--kernel-tables", o.kernel_tables, "folder with kernel_tables.json (default: the shipped tables)");
  c->add_flag("--json", o.json, "print JSON");
}

std::shared_ptr<const KernelTableModel> tables(const Common& o) {
  const GpuSpec gpu = gpu_spec(o.gpu);
  const std::string folder = o.kernel_tables.empty() ? default_kernel_tables_folder(gpu.name) : o.kernel_tables;
  if (folder.empty())
    throw UsageError(fmt::format("no kernel tables are shipped for {}: give --kernel-tables", gpu.name));
  return std::make_shared<const KernelTableModel>(read_kernel_tables(folder, kernel_tables_gpu(gpu.name)), gpu);
}

// A GEMM dimension: cuBLAS's int range.
CLI::Validator gemm_dimension() { return whole_number_in(1, 2147483647.0); }

void positive(const char* flag, double v) {
  if (!(v > 0) || !std::isfinite(v)) throw UsageError(fmt::format("{} must be a finite number > 0", flag));
}

void print(const Common& o, Json j, const ComputeNotices& notices, const std::string& text) {
  if (o.json) {
    j["notices"] = notices.messages();
    fmt::print("{}", json_output_text(j, 1, "the prediction"));
    return;
  }
  fmt::print("{}\n", text);
  for (const auto& n : notices.messages()) fmt::print(stderr, "note: {}\n", n);
}

// DeepSeek-V3's attention dimensions: the MLA tables hold this model only.
MoeModel deepseek_v3_attention() {
  MoeModel m;
  m.hidden_size = 7168;
  m.num_attention_heads = 128;
  m.q_lora_rank = 1536;
  m.kv_lora_rank = 512;
  m.qk_nope_head_dim = 128;
  m.qk_rope_head_dim = 64;
  m.v_head_dim = 128;
  return m;
}

struct GemmOptions {
  Common c;
  std::string dtype = "fp8_block";
  double m = 0, n = 0, k = 0;
};

void run_gemm(const GemmOptions& o) {
  positive("--m", o.m), positive("--n", o.n), positive("--k", o.k);
  const GemmDtype d = parse_gemm_dtype(o.dtype);
  const auto kt = tables(o.c);
  ComputeNotices notices;
  const std::optional<double> us = kt->gemm_us(o.m, o.n, o.k, d, &notices);
  if (!us) throw InputError(kt->tables().folder, "/tables/gemm", fmt::format("a GEMM table with {} rows", to_string(d)));
  const double tflops = 2 * o.m * o.n * o.k / (*us * 1e-6) / 1e12;
  print(o.c,
        {{"op", "gemm"}, {"gpu", kt->gpu().name}, {"dtype", std::string(to_string(d))}, {"m", o.m}, {"n", o.n},
         {"k", o.k}, {"time_us", *us}, {"TFLOPs", tflops}},
        notices,
        fmt::format("GEMM {} {:g} x {:g} x {:g} on {}: {:.2f} us, {:.0f} TFLOP/s", to_string(d), o.m, o.n, o.k,
                    kt->gpu().name, *us, tflops));
}

struct MlaOptions {
  Common c;
  std::string phase = "decode";
  double batch = 0, context = 0, heads = 128;
  std::string backend = "fa3";
};

void run_mla(const MlaOptions& o) {
  positive("--batch", o.batch), positive("--context", o.context), positive("--heads", o.heads);
  if (o.phase != "prefill" && o.phase != "decode") throw UsageError("--phase must be prefill or decode");
  const auto kt = tables(o.c);
  const MoeModel m = deepseek_v3_attention();
  ComputeNotices notices;
  const bool decode = o.phase == "decode";
  const std::optional<double> core = decode ? kt->mla_decode_us(m, o.batch, o.context, o.heads, o.backend, &notices)
                                            : kt->mla_prefill_us(m, o.batch, o.context, 0, o.heads, o.backend, &notices);
  if (!core)
    throw UsageError(fmt::format("the kernel tables have no MLA {} rows for backend '{}' (fa3, flashinfer)", o.phase, o.backend));
  // Rows through the fused q_a / kv_a projection: one per query token.
  const double rows = decode ? o.batch : o.batch * o.context;
  const double qkv_a = kt->gemm_us(rows, 2112, 7168, GemmDtype::fp8_block, &notices).value_or(0);
  print(o.c,
        {{"op", "mla"}, {"gpu", kt->gpu().name}, {"phase", o.phase}, {"batch", o.batch}, {"context", o.context},
         {"heads", o.heads}, {"backend", o.backend}, {"mla_module_us", *core}, {"qkv_a_projection_us", qkv_a},
         {"time_us", *core + qkv_a}},
        notices,
        fmt::format("MLA {} (DeepSeek-V3, {:g} heads, {}) batch {:g}, {} {:g} on {}: {:.2f} us (module {:.2f} + q_a/kv_a "
                    "projection {:.2f})",
                    o.phase, o.heads, o.backend, o.batch, decode ? "KV length" : "sequence length", o.context,
                    kt->gpu().name, *core + qkv_a, *core, qkv_a));
}

struct MoeOptions {
  Common c;
  std::string phase = "prefill";
  double tokens_per_gpu = 0;
  int ep = 0;
  std::string model, loads;
};

void run_moe(const MoeOptions& o) {
  if (o.phase != "prefill" && o.phase != "decode") throw UsageError("--phase must be prefill or decode");
  const MoeModel m = load_moe_model(o.model);
  if (o.ep < 1 || m.num_experts % o.ep != 0)
    throw UsageError(fmt::format("--ep must divide the model's {} routed experts", m.num_experts));
  const auto kt = tables(o.c);
  ComputeNotices notices;
  const int per_gpu = m.num_experts / o.ep;
  // Per MoE layer: the loads scaled so that every rank originates tokens_per_gpu tokens (uniform without
  // --loads), experts placed contiguously (expert e on GPU e / per_gpu); the busiest GPU's grouped GEMM.
  ExpertLoads loads;
  if (!o.loads.empty()) loads = load_expert_loads(o.loads);
  double worst = 0, sum = 0, worst_pairs = 0, worst_active = 0;
  int layers = 0, worst_layer = -1;
  for (int layer = 0; layer < m.num_layers; ++layer) {
    if (!m.is_moe_layer(layer)) continue;
    std::vector<double> count(static_cast<std::size_t>(m.num_experts), 1.0);
    if (!o.loads.empty()) {
      if (loads.num_experts() != m.num_experts || layer >= loads.num_layers())
        throw InputError(o.loads, "/logical_count", fmt::format("{} layers x {} experts", m.num_layers, m.num_experts));
      count = loads.count[static_cast<std::size_t>(layer)];
    }
    std::vector<double> load = scaled_layer_load(count, m, o.ep, o.tokens_per_gpu);
    if (std::all_of(load.begin(), load.end(), [](double v) { return v <= 0; }))
      load.assign(load.size(), o.tokens_per_gpu * o.ep * m.top_k / static_cast<double>(m.num_experts));
    double layer_worst = 0, lp = 0, la = 0;
    for (int g = 0; g < o.ep; ++g) {
      double pairs = 0, active = 0;
      for (int e = g * per_gpu; e < (g + 1) * per_gpu; ++e) {
        pairs += load[static_cast<std::size_t>(e)];
        active += load[static_cast<std::size_t>(e)] > 0 ? 1 : 0;
      }
      const std::optional<double> us = o.phase == "decode" ? kt->moe_decode_us(m, active, pairs, &notices)
                                                           : kt->moe_prefill_us(m, active, pairs, pairs, &notices);
      if (!us)
        throw UsageError(fmt::format("the kernel tables have no grouped-GEMM rows for this model (hidden {}, expert FFN {}, "
                                     "top-{}, {} experts)",
                                     m.hidden_size, m.moe_intermediate_size, m.top_k, m.num_experts));
      if (*us > layer_worst) layer_worst = *us, lp = pairs, la = active;
    }
    sum += layer_worst;
    ++layers;
    if (layer_worst > worst) worst = layer_worst, worst_layer = layer, worst_pairs = lp, worst_active = la;
  }
  if (layers == 0) throw UsageError("the model has no MoE layer");
  print(o.c,
        {{"op", "moe"}, {"gpu", kt->gpu().name}, {"phase", o.phase}, {"tokens_per_gpu", o.tokens_per_gpu}, {"ep", o.ep},
         {"loads", o.loads.empty() ? "uniform" : o.loads}, {"time_us", worst}, {"layer", worst_layer},
         {"pairs", worst_pairs}, {"active_experts", worst_active}, {"mean_over_layers_us", sum / layers}},
        notices,
        fmt::format("MoE grouped GEMM ({}, {} loads) at EP {}, {:g} tokens per GPU on {}: busiest GPU {:.1f} us (layer {}, "
                    "{:.0f} token-expert pairs on {:.0f} experts); mean over {} MoE layers {:.1f} us",
                    o.phase, o.loads.empty() ? "uniform" : "measured", o.ep, o.tokens_per_gpu, kt->gpu().name, worst,
                    worst_layer, worst_pairs, worst_active, layers, sum / layers));
}

}  // namespace

void add_predict_compute_commands(CLI::App& predict) {
  auto g = std::make_shared<GemmOptions>();
  CLI::App* gemm = predict.add_subcommand("gemm", "GEMM time from the kernel tables: C[m x n] = A[m x k] B[k x n]");
  add_common(gemm, g->c);
  gemm->add_option("--dtype", g->dtype, "bf16, fp8 (per-tensor scales) or fp8_block (128 x 128 block scales)")->capture_default_str();
  // cuBLAS takes m, n and k as int (cublasGemmEx): whole numbers in [1, 2^31 - 1].
  gemm->add_option("--m", g->m, "rows (tokens), a whole number in [1, 2^31 - 1]")->required()->check(gemm_dimension());
  gemm->add_option("--n", g->n, "output columns, a whole number in [1, 2^31 - 1]")->required()->check(gemm_dimension());
  gemm->add_option("--k", g->k, "inner dimension, a whole number in [1, 2^31 - 1]")->required()->check(gemm_dimension());
  gemm->callback([g] { run_gemm(*g); });

  auto a = std::make_shared<MlaOptions>();
  CLI::App* mla = predict.add_subcommand("mla", "DeepSeek-V3 MLA attention (one layer) from the kernel tables");
  add_common(mla, a->c);
  mla->add_option("--phase", a->phase, "prefill or decode")->capture_default_str();
  mla->add_option("--batch", a->batch, "sequences (prefill) or query rows (decode), in [1, 1e15]")
      ->required()
      ->check(token_count());
  mla->add_option("--context", a->context, "sequence length (prefill) or KV length (decode), in [1, 1e15]")
      ->required()
      ->check(token_count());
  // DeepSeek-V3's 128 heads split over the attention TP ranks.
  mla->add_option("--heads", a->heads, "attention heads on the GPU (128 / attention TP), a whole number in [1, 128]")
      ->capture_default_str()
      ->check(whole_number_in(1, 128));
  mla->add_option("--backend", a->backend, "fa3 or flashinfer")->capture_default_str();
  mla->callback([a] { run_mla(*a); });

  auto e = std::make_shared<MoeOptions>();
  CLI::App* moe = predict.add_subcommand("moe", "Grouped MoE GEMM of the busiest GPU (DeepEP-MoE tables)");
  add_common(moe, e->c);
  moe->add_option("--phase", e->phase, "prefill (DeepEP normal) or decode (low-latency)")->capture_default_str();
  moe->add_option("--tokens-per-gpu", e->tokens_per_gpu, "tokens each GPU sends to the experts, in [1, 1e15]")
      ->required()
      ->check(token_count());
  moe->add_option("--ep", e->ep, "expert-parallel size")->required();
  moe->add_option("--model", e->model, "Hugging Face config.json")->required();
  moe->add_option("--loads", e->loads, "expert loads (SGLang logical_count JSON); default uniform");
  moe->callback([e] { run_moe(*e); });
}

}  // namespace epsim::cli
