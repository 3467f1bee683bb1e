#include <catch2/catch.hpp>

#include "sim/compute/attention_cost.hpp"

using namespace epsim;

namespace {
MoeModel model(const char* file) { return load_moe_model(std::string(EPSIM_SCENARIOS_DIR) + "/models/" + file); }
}  // namespace

TEST_CASE("MLA attention of DeepSeek-V3", "[attention]") {
  MoeModel m = model("deepseek-v3.config.json");
  REQUIRE(uses_mla(m));
  // q_a 7168x1536 + q_b 1536x128x(128+64) + kv_a 7168x(512+64) + kv_b 512x128x(128+128) + o 128x128x7168
  const double w = 7168.0 * 1536 + 1536.0 * 128 * 192 + 7168.0 * 576 + 512.0 * 128 * 256 + 128.0 * 128 * 7168;
  CHECK(attention_weight_elements(m) == Approx(w));  // 187,105,280 (x 61 layers = 11.4 B parameters)
  // KV cache: latent 512 + rope key 64 elements per token per layer, BF16 = 1152 bytes.
  CHECK(kv_cache_bytes_per_token(m, 2.0) == Approx(1152.0));
  // Decode (absorbed) core at context 4096: 2 x 128 x 576 x c + 2 x 128 x 512 x c.
  CHECK(attention_core_flops_per_query(m, 4096, true) == Approx(2.0 * 128 * 576 * 4096 + 2.0 * 128 * 512 * 4096));
  // Prefill, causal, L = 4096: 2 w L + (2 x 128 x 192 + 2 x 128 x 128) x L (L + 1) / 2.
  OpCost p = attention_prefill(m, 4096, 1.0, 2.0);
  CHECK(p.flops == Approx(2 * w * 4096 + (2.0 * 128 * 192 + 2.0 * 128 * 128) * 4096.0 * 4097 / 2));
  CHECK(p.bytes == Approx(w * 1.0 + 4096 * 1152.0));
  // Decode: batch 32, context 2048: flops = 32 (2 w + core(2048)), bytes = w + 32 x 2048 x 1152.
  OpCost d = attention_decode(m, 32, 2048, 1.0, 2.0);
  CHECK(d.flops == Approx(32 * (2 * w + attention_core_flops_per_query(m, 2048, true))));
  CHECK(d.bytes == Approx(w + 32.0 * 2048 * 1152));
  CHECK_THROWS_AS(attention_decode(m, 0, 2048, 1.0, 2.0), std::invalid_argument);
}

TEST_CASE("GQA attention of Qwen3-235B-A22B", "[attention]") {
  MoeModel m = model("qwen3-235b-a22b.config.json");
  REQUIRE_FALSE(uses_mla(m));
  // 64 query heads, 4 KV heads, head_dim 128, hidden 4096:
  // q 4096x64x128 + k,v 2 x 4096x4x128 + o 64x128x4096.
  const double w = 4096.0 * 64 * 128 + 2.0 * 4096 * 4 * 128 + 64.0 * 128 * 4096;
  CHECK(attention_weight_elements(m) == Approx(w));
  CHECK(kv_cache_bytes_per_token(m, 2.0) == Approx(2.0 * 4 * 128 * 2));  // K and V, BF16
  // Per-token decode FLOPs are dominated by the projections at short context: 2 w + 4 x 64 x 128 x c.
  CHECK(attention_core_flops_per_query(m, 1000, true) == Approx(4.0 * 64 * 128 * 1000));
  // Prefill is quadratic: doubling L more than doubles the FLOPs.
  CHECK(attention_prefill(m, 8192, 2, 2).flops > 2 * attention_prefill(m, 4096, 2, 2).flops);
}
