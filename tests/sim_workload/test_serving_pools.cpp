// Serving scenarios beyond one pool: prefill-decode disaggregation as a pair of pools (sim/disaggregation)
// and DP-attention imbalance (sim/scenario/replica_lengths): hand-computed pairs, the drawn lengths, a
// simulated pair, and every rejected input.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>

#include "common/error.hpp"
#include "sim/disaggregation.hpp"
#include "sim/scenario/replica_lengths.hpp"
#include "sim/scenario/scenario.hpp"
#include "sim/simulate.hpp"

using namespace epsim;

namespace {

std::filesystem::path temp_dir(const std::string& name) {
  auto d = std::filesystem::temp_directory_path() / ("epsim_serving_pools_" + name);
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

std::string parse_error(const Json& doc) {
  return error_of([&] { (void)scenario_from_json(doc, "/data/s.json"); });
}

// A two-layer MLA model: KV cache per token = (kv_lora 512 + rope 64) x 2 bytes x 2 layers = 2304 bytes.
const char* kModel = R"({"model_type": "deepseek_v3", "num_hidden_layers": 2, "hidden_size": 1024,
  "n_routed_experts": 4, "num_experts_per_tok": 2, "moe_intermediate_size": 256, "intermediate_size": 512,
  "n_shared_experts": 1, "first_k_dense_replace": 1, "moe_layer_freq": 1, "num_attention_heads": 8,
  "num_key_value_heads": 8, "vocab_size": 1024, "q_lora_rank": 256, "kv_lora_rank": 512, "qk_nope_head_dim": 64,
  "qk_rope_head_dim": 64, "v_head_dim": 64, "n_group": 1, "topk_group": 1})";

// One node of two GPUs (generated DGX: one 50 GB/s NIC per GPU), roofline compute.
Json pool_doc(const std::string& model, const Json& phase) {
  return {{"schema", "epsim.scenario/1"},
          {"topology", {{"nodes", 1}, {"gpus_per_node", 2}}},
          {"model", model},
          {"gemm_efficiency", std::string(EPSIM_SCENARIOS_DIR) + "/measurements/deepgemm_grouped_fp8_h800.csv"},
          {"parallel", {{"dp", 2}, {"ep", 2}}},
          {"phase", phase},
          {"schedule", "serial"},
          {"compute", "roofline"}};
}

Json prefill_phase() { return {{"kind", "prefill"}, {"tokens_per_gpu", 128}, {"sequence_length", 64}}; }
Json decode_phase() { return {{"kind", "decode"}, {"batch_per_gpu", 8}, {"context_length", 96}}; }

Json valid_doc() {
  return Json::parse(R"({
    "schema": "epsim.scenario/1",
    "topology": "topo.json", "model": "model.json", "gemm_efficiency": "g.csv",
    "parallel": {"dp": 4, "ep": 4},
    "phase": {"kind": "decode", "batch_per_gpu": 16, "context_length": 2000}
  })");
}

}  // namespace

TEST_CASE("pair_pools: balanced prefill and decode pools, computed by hand", "[disaggregation]") {
  // Prefill 40,000 input tokens/s per node, decode 20,000 output tokens/s per node; requests of 4,000 input and
  // 1,000 output tokens; DeepSeek-V3's KV (512 + 64) x 2 B x 61 layers = 70,272 B per token; nodes of 8 x 50 GB/s
  // NICs, replicas of one GPU (50 GB/s); EP traffic keeps the NICs 30% (prefill) and 20% (decode) busy.
  PoolFigures p{40000, 4, 500, 0.3, 400, 50}, d{20000, 9, 50, 0.2, 400, 50};
  const PoolPair r = pair_pools(p, d, 4000, 1000, 70272, 1.0);
  CHECK(r.kv_bytes_per_request == Approx(4000.0 * 70272));        // 281,088,000 B
  CHECK(r.kv_transfer_ms == Approx(281.088e6 / 50e9 * 1e3));      // 5.62176 ms over one 50 GB/s NIC
  CHECK(r.prefill_kv_nic_fraction == Approx(40000.0 * 70272 / 400e9));  // 0.0070272
  CHECK(r.decode_kv_nic_fraction == Approx(20.0 * 281.088e6 / 400e9));  // 20 requests/s x 281 MB = 0.0140544
  CHECK(r.prefill_rate_scale == 1);  // 0.3 + 0.007 and 0.2 + 0.014 fit in the NICs
  CHECK(r.decode_rate_scale == 1);
  CHECK(r.prefill_requests_per_s_per_node == Approx(10));  // 40,000 / 4,000
  CHECK(r.decode_requests_per_s_per_node == Approx(20));   // 20,000 / 1,000
  CHECK(r.prefill_nodes_per_decode_node == Approx(2));     // 20 / 10
  CHECK(r.requests_per_s_per_node == Approx(20.0 / 3));    // 1 / (1/10 + 1/20): 20 requests/s on 3 nodes
  CHECK(r.input_tokens_per_s_per_node == Approx(4000 * 20.0 / 3));
  CHECK(r.output_tokens_per_s_per_node == Approx(1000 * 20.0 / 3));
  CHECK(r.ttft_ms == Approx(500 + 5.62176));
  CHECK(r.tpot_ms == Approx(50));

  // MTP: 1.7 tokens per step -> TPOT 50 / 1.7 ms per token.
  CHECK(pair_pools(p, d, 4000, 1000, 70272, 1.7).tpot_ms == Approx(50 / 1.7));

  // NICs too slow for the KV: prefill nodes of 10 GB/s, EP 90% busy: u_kv = 40,000 x 70,272 / 10e9 = 0.281088,
  // so the iteration stretches by 0.9 + 0.281088 = 1.181088 (rate / 1.181088, TTFT x 1.181088).
  p.node_network_GBps = 10;
  p.nic_ep_fraction = 0.9;
  const PoolPair slow = pair_pools(p, d, 4000, 1000, 70272, 1.0);
  CHECK(slow.prefill_rate_scale == Approx(1 / 1.181088));
  CHECK(slow.prefill_input_tokens_per_s_per_node == Approx(40000 / 1.181088));
  CHECK(slow.prefill_nodes_per_decode_node == Approx(20 / (10 / 1.181088)));
  CHECK(slow.ttft_ms == Approx(500 * 1.181088 + 5.62176));

  CHECK_THROWS_AS(pair_pools(p, d, 0, 1000, 70272, 1), std::invalid_argument);
  CHECK_THROWS_AS(pair_pools(p, d, 4000, 1000, 70272, 0.5), std::invalid_argument);
  PoolFigures none = d;
  none.tokens_per_s_per_node = 0;
  CHECK_THROWS_AS(pair_pools(p, none, 4000, 1000, 70272, 1), std::invalid_argument);
}

TEST_CASE("a simulated pair: each pool as simulated alone, the KV transfer over the NICs", "[disaggregation][simulate]") {
  const auto dir = temp_dir("pair");
  const std::string model = write(dir, "model.json", kModel);
  write(dir, "decode.json", pool_doc(model, decode_phase()).dump());
  Json pdoc = pool_doc(model, prefill_phase());
  pdoc["disaggregation"] = {{"decode_scenario", "decode.json"}, {"output_tokens", 200}};
  const std::string pfile = write(dir, "prefill.json", pdoc.dump());
  const Scenario ps = load_scenario(pfile);
  REQUIRE(ps.disaggregation);
  CHECK(ps.disaggregation->decode_scenario == dir / "decode.json");  // relative to the prefill scenario
  CHECK(ps.disaggregation->kv_bytes_per_element == 2);
  const ScenarioInputs pin = prepare_scenario(ps);
  const DisaggregatedResult r = simulate_disaggregated(pin, SimulateOptions{});
  const SimulationResult prefill = simulate(pin, SimulateOptions{});
  const SimulationResult decode = simulate(prepare_scenario(load_scenario(dir / "decode.json")), SimulateOptions{});
  CHECK(r.prefill.iteration == prefill.iteration);
  CHECK(r.decode.iteration == decode.iteration);
  // One node per pool: no EP byte crosses a NIC, and the KV takes a negligible share: rates as simulated.
  CHECK(r.pair.prefill_rate_scale == 1);
  CHECK(r.pair.decode_rate_scale == 1);
  CHECK(r.pair.prefill_input_tokens_per_s_per_node == Approx(prefill.throughput_tokens_per_s_per_node));
  CHECK(r.pair.decode_output_tokens_per_s_per_node == Approx(decode.throughput_tokens_per_s_per_node));
  // Requests of 64 input and 200 output tokens: prefill nodes per decode node = (D / 200) / (P / 64).
  CHECK(r.pair.prefill_nodes_per_decode_node ==
        Approx((decode.throughput_tokens_per_s_per_node / 200) / (prefill.throughput_tokens_per_s_per_node / 64)));
  // KV: 2,304 B per token x 64 tokens = 147,456 B over one GPU's 50 GB/s NIC = 2.94912 us.
  CHECK(r.pair.kv_bytes_per_token == Approx(2304));
  CHECK(r.pair.kv_transfer_ms == Approx(147456 / 50e9 * 1e3));
  CHECK(r.pair.ttft_ms == Approx(prefill.latency_ms + 147456 / 50e9 * 1e3));
  CHECK(r.notices.empty());  // context 96 >= 64 input tokens

  // A decode context shorter than a prompt is noted.
  Json short_ctx = pool_doc(model, decode_phase());
  short_ctx["phase"]["context_length"] = 32;
  write(dir, "decode.json", short_ctx.dump());
  const DisaggregatedResult noted = simulate_disaggregated(pin, SimulateOptions{});
  REQUIRE(noted.notices.size() == 1);
  CHECK(noted.notices[0].find("context_length (32) is shorter than a request's input (64") != std::string::npos);
}

TEST_CASE("disaggregation: every rejected input names the field", "[disaggregation]") {
  Json on_decode = valid_doc();
  on_decode["disaggregation"] = {{"decode_scenario", "d.json"}, {"output_tokens", 100}};
  CHECK(parse_error(on_decode).find("/disaggregation: no /disaggregation unless /phase/kind is prefill") != std::string::npos);
  Json doc = valid_doc();
  doc["phase"] = {{"kind", "prefill"}, {"tokens_per_gpu", 4096}};
  doc["disaggregation"] = {{"output_tokens", 100}};
  CHECK(parse_error(doc).find("/disaggregation/decode_scenario") != std::string::npos);
  doc["disaggregation"] = {{"decode_scenario", "d.json"}};
  CHECK(parse_error(doc).find("/disaggregation/output_tokens") != std::string::npos);
  doc["disaggregation"] = {{"decode_scenario", "d.json"}, {"output_tokens", 0}};
  CHECK(parse_error(doc).find("/disaggregation/output_tokens") != std::string::npos);
  doc["disaggregation"] = {{"decode_scenario", "d.json"}, {"output_tokens", 10}, {"kv_bytes_per_element", -1}};
  CHECK(parse_error(doc).find("/disaggregation/kv_bytes_per_element") != std::string::npos);
  doc["disaggregation"] = {{"decode_scenario", "d.json"}, {"output_tokens", 10}, {"kv_bytes", 1}};
  CHECK(parse_error(doc).find("/disaggregation/kv_bytes") != std::string::npos);
  doc["disaggregation"] = {{"decode_scenario", ""}, {"output_tokens", 10}};
  CHECK(parse_error(doc).find("/disaggregation/decode_scenario") != std::string::npos);

  // When the pools are paired: the decode scenario missing, not a decode, another model, a pool without NICs.
  const auto dir = temp_dir("rejections");
  const std::string model = write(dir, "model.json", kModel);
  Json pdoc = pool_doc(model, prefill_phase());
  pdoc["disaggregation"] = {{"decode_scenario", "decode.json"}, {"output_tokens", 200}};
  const std::string pfile = write(dir, "prefill.json", pdoc.dump());
  const ScenarioInputs pin = prepare_scenario(load_scenario(pfile));
  auto paired = [&] { (void)simulate_disaggregated(pin, SimulateOptions{}); };
  CHECK(error_of(paired).find("decode.json") != std::string::npos);  // no such file
  write(dir, "decode.json", pool_doc(model, prefill_phase()).dump());
  CHECK(error_of(paired).find("/disaggregation/decode_scenario: a scenario with phase decode") != std::string::npos);
  Json other = Json::parse(kModel);
  other["num_hidden_layers"] = 3;
  const std::string model3 = write(dir, "model3.json", other.dump());
  write(dir, "decode.json", pool_doc(model3, decode_phase()).dump());
  CHECK(error_of(paired).find("a decode pool serving the same model as the prefill pool") != std::string::npos);
  write(dir, "topo.json", R"({"schema": "epsim.topology/1", "name": "one", "hosts": ["node0"], "devices": [
    {"id": "node0/gpu0", "kind": "gpu", "model": "h100", "host": "node0", "rail": 0}], "links": []})");
  Json lone = pool_doc(model, decode_phase());
  lone["topology"] = "topo.json";
  lone["parallel"] = {{"dp", 1}, {"ep", 1}};
  write(dir, "decode.json", lone.dump());
  CHECK(error_of(paired).find("/topology: a topology whose nodes have scale-out NICs") != std::string::npos);
}

TEST_CASE("replica lengths: drawn deterministically with the asked mean and spread", "[replica_lengths]") {
  // cv 0: every replica at the mean.
  for (double l : draw_replica_lengths(LengthDistribution::uniform, 4, 2000, 0, 7)) CHECK(l == 2000);
  const auto a = draw_replica_lengths(LengthDistribution::lognormal, 64, 2000, 0.5, 7);
  CHECK(a == draw_replica_lengths(LengthDistribution::lognormal, 64, 2000, 0.5, 7));
  CHECK(a != draw_replica_lengths(LengthDistribution::lognormal, 64, 2000, 0.5, 8));
  // Uniform with cv 0.5: within mean x (1 -+ 0.5 sqrt(3)) = [268, 3732].
  for (double l : draw_replica_lengths(LengthDistribution::uniform, 256, 2000, 0.5, 1)) {
    CHECK(l >= 2000 * (1 - 0.5 * std::sqrt(3.0)));
    CHECK(l <= 2000 * (1 + 0.5 * std::sqrt(3.0)));
  }
  // Moments over many draws: mean 2000 and cv 0.5 within sampling error (20,000 draws: the mean's standard
  // error is 0.5 / sqrt(20,000) = 0.35% of the mean; 2% is > 5 standard errors).
  for (auto dist : {LengthDistribution::uniform, LengthDistribution::lognormal}) {
    const auto v = draw_replica_lengths(dist, 20000, 2000, 0.5, 3);
    double mean = 0, var = 0;
    for (double x : v) mean += x / static_cast<double>(v.size());
    for (double x : v) var += (x - mean) * (x - mean) / static_cast<double>(v.size() - 1);
    CHECK(mean == Approx(2000).epsilon(0.02));
    CHECK(std::sqrt(var) / mean == Approx(0.5).epsilon(0.05));
  }
  CHECK_THROWS_AS(draw_replica_lengths(LengthDistribution::uniform, 0, 2000, 0.1, 1), std::invalid_argument);
  CHECK_THROWS_AS(draw_replica_lengths(LengthDistribution::uniform, 2, 0, 0.1, 1), std::invalid_argument);
  CHECK_THROWS_AS(draw_replica_lengths(LengthDistribution::uniform, 2, 2000, -0.1, 1), std::invalid_argument);
  CHECK_THROWS_AS(draw_replica_lengths(LengthDistribution::uniform, 2, 2000, 0.6, 1), std::invalid_argument);
}

TEST_CASE("replica lengths: parsed, drawn at parse time, every rejected input named", "[replica_lengths]") {
  Json doc = valid_doc();  // dp 4, decode at context 2000
  doc["replica_lengths"] = {{"lengths", {1000, 2000, 3000, 4000}}};
  CHECK(scenario_from_json(doc, "/data/s.json").serving.replica_lengths == std::vector<double>{1000, 2000, 3000, 4000});
  doc["replica_lengths"] = {{"distribution", "lognormal"}, {"cv", 0.3}, {"seed", 5}};
  CHECK(scenario_from_json(doc, "/data/s.json").serving.replica_lengths ==
        draw_replica_lengths(LengthDistribution::lognormal, 4, 2000, 0.3, 5));
  doc["replica_lengths"] = {{"distribution", "uniform"}};  // cv 0.5, seed 1 by default
  CHECK(scenario_from_json(doc, "/data/s.json").serving.replica_lengths ==
        draw_replica_lengths(LengthDistribution::uniform, 4, 2000, 0.5, 1));
  CHECK(scenario_from_json(valid_doc(), "/data/s.json").serving.replica_lengths.empty());

  auto with = [&](const Json& rl) {
    Json d = valid_doc();
    d["replica_lengths"] = rl;
    return parse_error(d);
  };
  CHECK(with({{"lengths", {1000, 2000}}}).find("/replica_lengths/lengths: one length per DP replica: 4 (dp), found 2") !=
        std::string::npos);
  CHECK(with({{"lengths", {1000, 2000, 3000, 4000}}, {"distribution", "uniform"}})
            .find("/replica_lengths: either lengths (one per DP replica) or distribution, not both") != std::string::npos);
  CHECK(with(Json::object()).find("/replica_lengths: either lengths") != std::string::npos);
  CHECK(with({{"lengths", {1000, 2000, 3000, 4000}}, {"cv", 0.2}}).find("/replica_lengths/cv: no cv or seed") !=
        std::string::npos);
  CHECK(with({{"lengths", {1000, 2000, 3000, 4000}}, {"seed", 2}}).find("/replica_lengths/seed") != std::string::npos);
  CHECK(with({{"lengths", {1000, -1, 3000, 4000}}}).find("/replica_lengths/lengths/1") != std::string::npos);
  CHECK(with({{"lengths", {1000, "x", 3000, 4000}}}).find("/replica_lengths/lengths/1") != std::string::npos);
  CHECK(with({{"lengths", Json::array()}}).find("/replica_lengths/lengths: a non-empty list of numbers > 0") !=
        std::string::npos);
  CHECK(with({{"lengths", 1000}}).find("/replica_lengths/lengths") != std::string::npos);
  CHECK(with({{"distribution", "zipf"}}).find("/replica_lengths/distribution") != std::string::npos);
  CHECK(with({{"distribution", "uniform"}, {"cv", 0.6}}).find("/replica_lengths/cv: a cv below 1/sqrt(3)") !=
        std::string::npos);
  CHECK(with({{"distribution", "lognormal"}, {"cv", -1}}).find("/replica_lengths/cv") != std::string::npos);
  CHECK(with({{"distribution", "lognormal"}, {"bins", 3}}).find("/replica_lengths/bins") != std::string::npos);
  Json training = valid_doc();
  training["phase"] = {{"kind", "training"}, {"tokens_per_gpu", 4096}};
  training["replica_lengths"] = {{"distribution", "uniform"}};
  CHECK(parse_error(training).find("/replica_lengths: no /replica_lengths unless /phase/kind is prefill or decode") !=
        std::string::npos);
}
