#include <catch2/catch.hpp>

#include "common/error.hpp"
#include "model/moe_model.hpp"

using namespace epsim;

namespace {
std::string model_path(const std::string& name) { return std::string(EPSIM_SCENARIOS_DIR) + "/models/" + name; }
}  // namespace

TEST_CASE("DeepSeek-V3 config: 256 experts, top-8, 58 MoE layers after 3 dense ones") {
  MoeModel m = load_moe_model(model_path("deepseek-v3.config.json"));
  CHECK(m.num_experts == 256);
  CHECK(m.top_k == 8);
  CHECK(m.hidden_size == 7168);
  CHECK(m.moe_intermediate_size == 2048);
  CHECK(m.num_layers == 61);
  CHECK(m.first_k_dense == 3);
  // 61 layers - 3 dense = 58 MoE layers.
  CHECK(m.num_moe_layers() == 58);
  CHECK_FALSE(m.is_moe_layer(2));
  CHECK(m.is_moe_layer(3));
  CHECK(m.num_shared_experts == 1);
  CHECK(m.n_group == 8);
  CHECK(m.topk_group == 4);
  CHECK(m.kv_lora_rank == 512);
}

TEST_CASE("Other families name the fields differently") {
  MoeModel mix = load_moe_model(model_path("mixtral-8x7b-v0.1.config.json"));
  CHECK(mix.num_experts == 8);  // num_local_experts
  CHECK(mix.top_k == 2);
  CHECK(mix.moe_intermediate_size == 14336);  // Mixtral's expert width is intermediate_size
  CHECK(mix.num_moe_layers() == 32);
  MoeModel qwen = load_moe_model(model_path("qwen3-235b-a22b.config.json"));
  CHECK(qwen.num_experts == 128);  // num_experts
  CHECK(qwen.moe_intermediate_size == 1536);
  CHECK(qwen.num_kv_heads == 4);
  MoeModel llama = load_moe_model(model_path("llama-4-scout-17b-16e-instruct.config.json"));
  CHECK(llama.num_experts == 16);  // nested under text_config
  CHECK(llama.top_k == 1);
  CHECK(llama.num_shared_experts == 1);
  CHECK(llama.num_moe_layers() == 48);
  MoeModel phi = load_moe_model(model_path("phi-3.5-moe-instruct.config.json"));
  CHECK(phi.num_experts == 16);
  CHECK(phi.moe_intermediate_size == 6400);
}

TEST_CASE("Model config rejections name the file and field") {
  auto bad = [](const char* text) { return moe_model_from_json(Json::parse(text), "m.json"); };
  CHECK_THROWS_WITH(bad(R"({"hidden_size": 8})"), Catch::Contains("m.json") && Catch::Contains("num_hidden_layers"));
  CHECK_THROWS_WITH(bad(R"({"num_hidden_layers": 2, "hidden_size": -8, "n_routed_experts": 4, "num_experts_per_tok": 2,
                           "moe_intermediate_size": 8, "num_attention_heads": 2})"),
                    Catch::Contains("/hidden_size"));
  CHECK_THROWS_WITH(bad(R"({"num_hidden_layers": 2, "hidden_size": 8, "n_routed_experts": 4, "num_experts_per_tok": 5,
                           "moe_intermediate_size": 8, "num_attention_heads": 2})"),
                    Catch::Contains("/num_experts_per_tok"));
  CHECK_THROWS_WITH(bad(R"({"num_hidden_layers": 2, "hidden_size": 8, "n_routed_experts": "four", "num_experts_per_tok": 2,
                           "moe_intermediate_size": 8, "num_attention_heads": 2})"),
                    Catch::Contains("/n_routed_experts"));
  CHECK_THROWS_WITH(bad(R"({"num_hidden_layers": 2, "hidden_size": 8, "n_routed_experts": 4, "num_experts_per_tok": 2,
                           "moe_intermediate_size": 8, "num_attention_heads": 2, "first_k_dense_replace": 2})"),
                    Catch::Contains("no MoE layer"));
  CHECK_THROWS_WITH(bad("[1, 2]"), Catch::Contains("expected an object"));
}
