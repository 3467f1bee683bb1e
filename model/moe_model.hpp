#pragma once
// A MoE model as read from its Hugging Face config.json (field names as published).
#include <filesystem>
#include <string>

#include "common/json_input.hpp"

namespace epsim {

/// The parts of a MoE transformer that planning and simulation need. Sizes in elements.
struct MoeModel {
  std::string name;                  ///< model_type or the file stem
  int num_layers = 0;                ///< num_hidden_layers
  int hidden_size = 0;               ///< hidden_size
  int num_experts = 0;               ///< routed experts per MoE layer (n_routed_experts / num_local_experts / num_experts)
  int top_k = 0;                     ///< num_experts_per_tok
  int moe_intermediate_size = 0;     ///< per-expert FFN width (moe_intermediate_size, else intermediate_size)
  int dense_intermediate_size = 0;   ///< FFN width of dense layers (intermediate_size)
  int num_shared_experts = 0;        ///< n_shared_experts (Llama-4: 1 shared expert)
  int shared_intermediate_size = 0;  ///< FFN width of one shared expert
  int first_k_dense = 0;             ///< first_k_dense_replace: the first k layers are dense
  int moe_layer_freq = 1;            ///< every moe_layer_freq-th layer (after first_k_dense) is MoE
  int num_attention_heads = 0;
  int num_kv_heads = 0;
  int head_dim = 0;
  int vocab_size = 0;
  int n_group = 1;                   ///< DeepSeek group-limited routing: expert groups
  int topk_group = 1;                ///< groups a token may use
  // DeepSeek MLA (0 when the model uses GQA)
  int q_lora_rank = 0;
  int kv_lora_rank = 0;
  int qk_nope_head_dim = 0;
  int qk_rope_head_dim = 0;
  int v_head_dim = 0;

  /// True if layer index (0-based) is a MoE layer.
  bool is_moe_layer(int layer) const;
  /// Number of MoE layers.
  int num_moe_layers() const;
  /// Weight elements of one routed expert: 3 x hidden x moe_intermediate (SwiGLU gate, up, down).
  double expert_weight_elements() const { return 3.0 * hidden_size * moe_intermediate_size; }
};

/// Parse a Hugging Face config.json (nested "text_config" is used when present, as for Llama-4).
/// Throws InputError naming the file and field when a required field is missing, not a positive
/// integer, or inconsistent (top_k > experts, first_k_dense > layers).
MoeModel moe_model_from_json(const Json& doc, const std::string& file);
MoeModel load_moe_model(const std::filesystem::path& path);

}  // namespace epsim
