// Kernel tables: the reader, the interpolation, out-of-range notices, every rejected input, and a
// two-layer scenario whose op times all come from tiny tables (docs/compute_model.md "Kernel tables").
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "common/error.hpp"
#include "measurements/kernel_table.hpp"
#include "model/gpu_spec.hpp"
#include "sim/compute/kernel_tables.hpp"
#include "sim/scenario/scenario.hpp"
#include "sim/simulate.hpp"

using namespace epsim;

namespace {

const std::string kData = std::string(EPSIM_TEST_DATA_DIR) + "/kernel_tables/";

// A fresh folder under the temp directory for files a test writes.
std::filesystem::path temp_dir(const std::string& name) {
  auto d = std::filesystem::temp_directory_path() / ("epsim_kernel_tables_" + name);
  std::filesystem::remove_all(d);
  std::filesystem::create_directories(d);
  return d;
}

std::string write(const std::filesystem::path& dir, const std::string& file, const std::string& text) {
  std::ofstream(dir / file) << text;
  return (dir / file).string();
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "no error";
}

const char* kMlaHeader =
    "framework,version,device,op_name,kernel_source,model,architecture,mla_dtype,kv_cache_dtype,gemm_type,num_heads,"
    "batch_size,isl,tp_size,step,latency\n";

}  // namespace

TEST_CASE("kernel tables: interpolation is exact on rows and log-log between them", "[kernel_tables]") {
  const KernelTable t = read_kernel_table(kData + "tiny_gemm.csv", KernelTableKind::gemm, "H100");
  const LatencyGrid& g = *t.grid("bfloat16");
  // Every row of the file, looked up at its own (m, n, k): its latency (ms -> us).
  struct Row {
    double m, n, k, us;
  };
  for (const Row r : {Row{1, 1024, 1024, 10}, Row{1, 2048, 1024, 20}, Row{4, 1024, 1024, 10}, Row{4, 2048, 1024, 20},
                      Row{1, 1024, 2048, 10}, Row{1, 2048, 2048, 20}, Row{4, 1024, 2048, 40}, Row{4, 2048, 2048, 80}}) {
    const double q[3] = {r.m, r.n, r.k};
    const auto l = g.lookup(q);
    CHECK(l.inside);
    CHECK(l.us == Approx(r.us).epsilon(1e-12));
  }
  // m = 2 is the log midpoint of 1 and 4: exp((ln 10 + ln 40) / 2) = sqrt(10 x 40) = 20 us.
  const double mid[3] = {2, 1024, 2048};
  CHECK(g.lookup(mid).us == Approx(20.0).epsilon(1e-12));
  // Centre of the cube (m 2, n 1448.15 = sqrt(1024 x 2048), k 1448.15): the geometric mean of the 8
  // corners = (10 20 10 20 10 20 40 80)^(1/8) = 20 x (1/2 x 1 x 1/2 x 1 x 1/2 x 1 x 2 x 4)^(1/8) = 20.
  const double c = std::sqrt(1024.0 * 2048.0);
  const double centre[3] = {2, c, c};
  CHECK(g.lookup(centre).us == Approx(20.0).epsilon(1e-12));
}

TEST_CASE("kernel tables: outside the range, the nearest point scaled by the roofline, noted once", "[kernel_tables]") {
  KernelTableSet set;
  set.gpu = "H100";
  set.tables.emplace(KernelTableKind::gemm, read_kernel_table(kData + "tiny_gemm.csv", KernelTableKind::gemm, "H100"));
  const KernelTableModel model(set, gpu_spec("h100"));
  ComputeNotices notices;
  // k = 4096 is beyond the table's k = 2048: the (4, 1024, 2048) row (40 us) x roofline(k 4096) /
  // roofline(k 2048). Both are HBM-bound on an H100 (3.35 TB/s): bytes = (m k + k n) x 2 + 2 m n:
  // k = 4096: (16384 + 4194304) x 2 + 8192 = 8,429,568; k = 2048: (8192 + 2097152) x 2 + 8192 = 4,218,880.
  const double expected = 40.0 * 8429568.0 / 4218880.0;
  CHECK(*model.gemm_us(4, 1024, 4096, GemmDtype::bf16, &notices) == Approx(expected).epsilon(1e-12));
  CHECK(*model.gemm_us(4, 1024, 4096, GemmDtype::bf16, &notices) == Approx(expected).epsilon(1e-12));
  // Inside: no notice added.
  CHECK(*model.gemm_us(4, 2048, 2048, GemmDtype::bf16, &notices) == Approx(80.0).epsilon(1e-12));
  const auto msgs = notices.messages();
  REQUIRE(msgs.size() == 1);  // once per table per run
  CHECK(msgs[0].find("2 look-up(s)") != std::string::npos);
  CHECK(msgs[0].find("4 x 1024 x 4096") != std::string::npos);
  // m or n beyond the largest value: an exact split into row / column blocks (m 8 = 2 x 4: 2 x 10 us;
  // n 4096 = 2 x 2048: 2 x 20 us).
  CHECK(*model.gemm_us(8, 1024, 1024, GemmDtype::bf16, nullptr) == Approx(20.0).epsilon(1e-12));
  CHECK(*model.gemm_us(1, 4096, 1024, GemmDtype::bf16, nullptr) == Approx(40.0).epsilon(1e-12));
  // A dtype the table does not have: no answer (the caller uses the roofline).
  CHECK_FALSE(model.gemm_us(4, 1024, 1024, GemmDtype::fp8, nullptr).has_value());
}

TEST_CASE("kernel tables: every rejected input names the file, line and column", "[kernel_tables]") {
  const auto dir = temp_dir("rejects");
  SECTION("missing column: the expected header is named") {
    const auto f = write(dir, "g.csv", "gemm_dtype,m,n,k,latency\nbfloat16,1,1,1,0.1\n");
    const std::string e = error_of([&] { read_kernel_table(f, KernelTableKind::gemm, "H100"); });
    CHECK(e.find("g.csv") != std::string::npos);
    CHECK(e.find("line 1") != std::string::npos);
    CHECK(e.find("gemm_dtype,m,n,k,latency_ms") != std::string::npos);
    CHECK(e.find("latency_ms") != std::string::npos);
  }
  SECTION("non-numeric latency") {
    const auto f = write(dir, "g.csv", "gemm_dtype,m,n,k,latency_ms\nbfloat16,1,1,1,0.1\nbfloat16,2,1,1,fast\n");
    const std::string e = error_of([&] { read_kernel_table(f, KernelTableKind::gemm, "H100"); });
    CHECK(e.find("line 3, column latency_ms") != std::string::npos);
  }
  SECTION("negative and zero latencies, a non-positive axis value") {
    for (const char* row : {"bfloat16,1,1,1,-0.1", "bfloat16,1,1,1,0"}) {
      const auto f = write(dir, "g.csv", std::string("gemm_dtype,m,n,k,latency_ms\n") + row + "\n");
      const std::string e = error_of([&] { read_kernel_table(f, KernelTableKind::gemm, "H100"); });
      CHECK(e.find("line 2, column latency_ms") != std::string::npos);
      CHECK(e.find("a latency > 0") != std::string::npos);
    }
    const auto f = write(dir, "g.csv", "gemm_dtype,m,n,k,latency_ms\nbfloat16,0,1,1,0.1\n");
    CHECK(error_of([&] { read_kernel_table(f, KernelTableKind::gemm, "H100"); }).find("line 2, column m") != std::string::npos);
  }
  SECTION("a repeated row") {
    const auto f = write(dir, "g.csv", "gemm_dtype,m,n,k,latency_ms\nbfloat16,1,1,1,0.1\nbfloat16,1,1,1,0.2\n");
    const std::string e = error_of([&] { read_kernel_table(f, KernelTableKind::gemm, "H100"); });
    CHECK(e.find("line 3") != std::string::npos);
    CHECK(e.find("line 2 has the same") != std::string::npos);
  }
  SECTION("no row for the GPU") {
    const auto f = write(dir, "mla.csv", std::string(kMlaHeader) +
                                             "SGLang,0.5.10,NVIDIA H100 80GB HBM3,mla_generation,fa3,m,a,fp8_block,fp8,"
                                             "fp8_block,128,4,100,1,0,0.05\n");
    const std::string e = error_of([&] { read_kernel_table(f, KernelTableKind::mla_generation, "H200"); });
    CHECK(e.find("mla.csv") != std::string::npos);
    CHECK(e.find("rows measured on H200") != std::string::npos);
  }
  SECTION("manifest: an unknown table kind lists the known kinds with their headers; a GPU mismatch") {
    write(dir, "g.csv", "gemm_dtype,m,n,k,latency_ms\nbfloat16,1,1,1,0.1\n");
    write(dir, "kernel_tables.json",
          R"({"schema": "epsim.kernel_tables/1", "gpu": "H100", "tables": {"gemm": "g.csv", "attention": "g.csv"}})");
    const std::string e = error_of([&] { read_kernel_tables(dir, "H100"); });
    CHECK(e.find("/tables/attention") != std::string::npos);
    CHECK(e.find("gemm (gemm_dtype,m,n,k,latency_ms)") != std::string::npos);
    CHECK(e.find("mla_context (device,kernel_source,num_heads,batch_size,isl,latency)") != std::string::npos);
    write(dir, "kernel_tables.json", R"({"schema": "epsim.kernel_tables/1", "gpu": "H100", "tables": {"gemm": "g.csv"}})");
    CHECK(error_of([&] { read_kernel_tables(dir, "H200"); }).find("/gpu") != std::string::npos);
  }
}

// Two layers of a DeepSeek-V3-shaped model (layer 0 dense, layer 1 MoE with 4 experts, top-2), decode of
// 4 sequences at context 100 on one GPU, serial schedule: every op time comes from a one-row table.
TEST_CASE("kernel tables: a two-layer decode step from tiny tables, computed by hand", "[kernel_tables][simulate]") {
  const auto dir = temp_dir("two_layer");
  // Tables (latencies in ms): qkv_a GEMM (4 x 2112 x 7168, fp8_block) 0.012; router (4 x 4 x 7168, bf16)
  // 0.005; LM head (4 x 1024 x 7168, bf16) 0.008; MLA decode (128 heads, 4 rows, KV 100) 0.05; grouped
  // GEMM (4 local experts, 4 tokens x top-2 = 8 pairs) 0.03; MLP of 4 tokens: width 2048 (dense) 0.02,
  // width 1024 (shared expert) 0.01.
  write(dir, "gemm.csv",
        "gemm_dtype,m,n,k,latency_ms\nfp8_block,4,2112,7168,0.012\nbfloat16,4,4,7168,0.005\nbfloat16,4,1024,7168,0.008\n");
  write(dir, "mla.csv", std::string(kMlaHeader) +
                            "SGLang,0.5.10,NVIDIA H100 80GB HBM3,mla_generation,fa3,m,a,fp8_block,fp8,fp8_block,128,4,100,1,0,0.05\n");
  write(dir, "moe.csv",
        "framework,version,device,op_name,kernel_source,moe_dtype,num_tokens,hidden_size,inter_size,topk,num_experts,"
        "moe_tp_size,moe_ep_size,distribution,latency\n"
        "SGLang,0.5.10,NVIDIA H100 80GB HBM3,moe_generation,deepepmoe,fp8_block,4,7168,1024,2,4,1,1,uniform,0.03\n");
  write(dir, "mlp.csv",
        "framework,version,device,op_name,kernel_source,quant_type,num_token,hidden_size,intermediate_size,avg_ms\n"
        "SGLang,0.5.6,NVIDIA H100 80GB HBM3,mlp,deepseek_v3,fp8_block,4,7168,2048,0.02\n"
        "SGLang,0.5.6,NVIDIA H100 80GB HBM3,mlp,deepseek_v3,fp8_block,4,7168,1024,0.01\n");
  write(dir, "kernel_tables.json",
        R"({"schema": "epsim.kernel_tables/1", "gpu": "H100", "tables": {"gemm": "gemm.csv", "mla_generation": "mla.csv",
            "moe_generation": "moe.csv", "mlp": "mlp.csv"}})");
  write(dir, "model.json",
        R"({"model_type": "deepseek_v3", "num_hidden_layers": 2, "hidden_size": 7168, "n_routed_experts": 4,
            "num_experts_per_tok": 2, "moe_intermediate_size": 1024, "intermediate_size": 2048, "n_shared_experts": 1,
            "first_k_dense_replace": 1, "moe_layer_freq": 1, "num_attention_heads": 128, "num_key_value_heads": 128,
            "vocab_size": 1024, "q_lora_rank": 1536, "kv_lora_rank": 512, "qk_nope_head_dim": 128,
            "qk_rope_head_dim": 64, "v_head_dim": 128, "n_group": 1, "topk_group": 1})");
  write(dir, "topo.json", R"({"schema": "epsim.topology/1", "name": "one", "hosts": ["node0"], "devices": [{"id":
            "node0/gpu0", "kind": "gpu", "model": "h100", "host": "node0", "rail": 0}], "links": []})");
  const Json doc = {{"schema", "epsim.scenario/1"},
                    {"topology", (dir / "topo.json").string()},
                    {"model", (dir / "model.json").string()},
                    {"gemm_efficiency", std::string(EPSIM_SCENARIOS_DIR) + "/measurements/deepgemm_grouped_fp8_h800.csv"},
                    {"parallel", {{"dp", 1}, {"ep", 1}}},
                    {"phase", {{"kind", "decode"}, {"batch_per_gpu", 4}, {"context_length", 100}, {"micro_batches", 1}}},
                    {"schedule", "serial"},
                    {"precision", "fp8"}};
  Scenario s = scenario_from_json(doc, (dir / "scenario.json").string());
  s.serving.kernel_tables = dir;
  SimulateOptions opt;
  opt.trace_gpus = {0};
  const SimulationResult r = simulate(prepare_scenario(s), opt);
  // Layer 0: attention (qkv_a 12 + MLA 50) + dense MLP 20; layer 1: attention 62 + router 5 + shared 10 +
  // experts 30; LM head 8 + sampling: 4 rows x 1024 x 4 B x 2 passes / 3.35e12 B/s = 0.0097815 us.
  const double sampling = 4.0 * 1024 * 4 * 2 / 3.35e12 * 1e6;
  CHECK(r.iteration.to_us() == Approx(62 + 20 + 62 + 5 + 10 + 30 + 8 + sampling).margin(1e-5));
  CHECK(r.step.attention_us == Approx(124).margin(1e-5));
  CHECK(r.step.moe_gemm_us == Approx(30).margin(1e-5));
  CHECK(r.step.other_compute_us == Approx(35).margin(1e-5));
  CHECK(r.step.overheads_us == Approx(8 + sampling).margin(1e-5));
  CHECK(r.notices.empty());
  CHECK(r.compute_source.find("kernel tables") == 0);
}
