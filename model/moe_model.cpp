#include "model/moe_model.hpp"

#include <fmt/format.h>

#include "common/error.hpp"
#include "common/limits.hpp"

namespace epsim {

bool MoeModel::is_moe_layer(int layer) const {
  if (layer < first_k_dense || layer >= num_layers) return false;
  return (layer - first_k_dense) % moe_layer_freq == 0;
}

int MoeModel::num_moe_layers() const {
  int n = 0;
  for (int l = 0; l < num_layers; ++l) n += is_moe_layer(l) ? 1 : 0;
  return n;
}

namespace {

constexpr std::int64_t kMaxSize = 1LL << 30;

// First of `keys` present in `cfg`, as a positive integer; throws naming the first key if none.
int require_int(const JsonCursor& cfg, std::initializer_list<const char*> keys, std::int64_t lo = 1,
                std::int64_t hi = kMaxSize) {
  for (const char* k : keys)
    if (cfg.has(k) && !cfg.node()[k].is_null()) return static_cast<int>(cfg.at(k).as_int(lo, hi));
  std::string names;
  for (const char* k : keys) names += (names.empty() ? "" : " or ") + std::string("\"") + k + "\"";
  cfg.fail(fmt::format("required field {} is missing (a MoE model's Hugging Face config.json)", names));
}

int optional_int(const JsonCursor& cfg, std::initializer_list<const char*> keys, int fallback, std::int64_t lo = 0) {
  for (const char* k : keys)
    if (cfg.has(k) && !cfg.node()[k].is_null()) return static_cast<int>(cfg.at(k).as_int(lo, kMaxSize));
  return fallback;
}

}  // namespace

MoeModel moe_model_from_json(const Json& doc, const std::string& file) {
  JsonCursor root(doc, file);
  root.require_object();
  JsonCursor cfg = root.has("text_config") ? root.at("text_config") : root;
  cfg.require_object();
  MoeModel m;
  m.name = cfg.string_or("model_type", root.string_or("model_type", "moe"));
  m.num_layers = require_int(cfg, {"num_hidden_layers"}, 1, limits::kMaxLayers);  // docs/limits.md
  m.hidden_size = require_int(cfg, {"hidden_size"});
  m.num_experts = require_int(cfg, {"n_routed_experts", "num_local_experts", "num_experts"}, 1, limits::kMaxExperts);
  m.top_k = require_int(cfg, {"num_experts_per_tok", "moe_topk"});
  m.moe_intermediate_size = require_int(cfg, {"moe_intermediate_size", "intermediate_size"});
  m.dense_intermediate_size = optional_int(cfg, {"intermediate_size_mlp", "intermediate_size"}, m.moe_intermediate_size, 1);
  m.num_attention_heads = require_int(cfg, {"num_attention_heads"});
  m.num_kv_heads = optional_int(cfg, {"num_key_value_heads"}, m.num_attention_heads, 1);
  m.head_dim = optional_int(cfg, {"head_dim"}, m.hidden_size / m.num_attention_heads, 1);
  m.vocab_size = optional_int(cfg, {"vocab_size"}, 0);
  m.first_k_dense = optional_int(cfg, {"first_k_dense_replace"}, 0);
  m.moe_layer_freq = optional_int(cfg, {"moe_layer_freq", "decoder_sparse_step", "interleave_moe_layer_step"}, 1, 1);
  m.n_group = optional_int(cfg, {"n_group"}, 1, 1);
  m.topk_group = optional_int(cfg, {"topk_group"}, m.n_group, 1);
  m.q_lora_rank = optional_int(cfg, {"q_lora_rank"}, 0);
  m.kv_lora_rank = optional_int(cfg, {"kv_lora_rank"}, 0);
  m.qk_nope_head_dim = optional_int(cfg, {"qk_nope_head_dim"}, 0);
  m.qk_rope_head_dim = optional_int(cfg, {"qk_rope_head_dim"}, 0);
  m.v_head_dim = optional_int(cfg, {"v_head_dim"}, 0);
  if (cfg.has("n_shared_experts")) {
    m.num_shared_experts = optional_int(cfg, {"n_shared_experts"}, 0);
    m.shared_intermediate_size = m.moe_intermediate_size;
  } else if (cfg.has("shared_expert_intermediate_size")) {
    m.shared_intermediate_size = optional_int(cfg, {"shared_expert_intermediate_size"}, 0);
    m.num_shared_experts = m.shared_intermediate_size > 0 ? 1 : 0;
  } else if (m.name.rfind("llama4", 0) == 0) {
    m.num_shared_experts = 1;  // Llama-4 MoE layers carry one shared expert of the routed width
    m.shared_intermediate_size = m.moe_intermediate_size;
  }
  if (m.top_k > m.num_experts)
    cfg.at(cfg.has("num_experts_per_tok") ? "num_experts_per_tok" : "moe_topk").fail(fmt::format("top-k {} exceeds the {} routed experts", m.top_k, m.num_experts));
  if (m.first_k_dense > m.num_layers)
    cfg.at("first_k_dense_replace").fail(fmt::format("exceeds num_hidden_layers {}", m.num_layers));
  if (m.num_experts % m.n_group != 0)
    cfg.at("n_group").fail(fmt::format("n_group {} does not divide the {} routed experts", m.n_group, m.num_experts));
  if (m.topk_group > m.n_group)
    cfg.at("topk_group").fail(fmt::format("topk_group {} exceeds n_group {}", m.topk_group, m.n_group));
  if (m.num_moe_layers() == 0) cfg.fail("the model has no MoE layer");
  return m;
}

MoeModel load_moe_model(const std::filesystem::path& path) {
  return moe_model_from_json(read_json_file(path), path.string());
}

}  // namespace epsim
