#include "sim/compute/attention_cost.hpp"

#include <stdexcept>

namespace epsim {
namespace {

double gqa_head_dim(const MoeModel& m) {
  if (m.head_dim > 0) return m.head_dim;
  if (m.num_attention_heads <= 0) throw std::invalid_argument("model has no attention heads");
  return static_cast<double>(m.hidden_size) / m.num_attention_heads;
}

double kv_heads(const MoeModel& m) { return m.num_kv_heads > 0 ? m.num_kv_heads : m.num_attention_heads; }

}  // namespace

bool uses_mla(const MoeModel& model) { return model.kv_lora_rank > 0; }

double attention_weight_elements(const MoeModel& m) {
  const double hidden = m.hidden_size;
  const double h = m.num_attention_heads;
  if (uses_mla(m)) {
    const double qk = m.qk_nope_head_dim + m.qk_rope_head_dim;
    const double q = m.q_lora_rank > 0 ? hidden * m.q_lora_rank + m.q_lora_rank * h * qk : hidden * h * qk;
    const double kv_a = hidden * (m.kv_lora_rank + m.qk_rope_head_dim);
    const double kv_b = m.kv_lora_rank * h * (m.qk_nope_head_dim + m.v_head_dim);
    const double o = h * m.v_head_dim * hidden;
    return q + kv_a + kv_b + o;
  }
  const double d = gqa_head_dim(m);
  return hidden * h * d + 2.0 * hidden * kv_heads(m) * d + h * d * hidden;
}

double attention_core_flops_per_query(const MoeModel& m, double context, bool decode) {
  const double h = m.num_attention_heads;
  if (uses_mla(m)) {
    if (decode) return 2.0 * h * (m.kv_lora_rank + m.qk_rope_head_dim) * context + 2.0 * h * m.kv_lora_rank * context;
    return 2.0 * h * (m.qk_nope_head_dim + m.qk_rope_head_dim) * context + 2.0 * h * m.v_head_dim * context;
  }
  const double d = gqa_head_dim(m);
  return 4.0 * h * d * context;
}

double kv_cache_bytes_per_token(const MoeModel& m, double bytes_per_element) {
  if (uses_mla(m)) return (m.kv_lora_rank + m.qk_rope_head_dim) * bytes_per_element;
  return 2.0 * kv_heads(m) * gqa_head_dim(m) * bytes_per_element;
}

OpCost attention_prefill(const MoeModel& m, double seq_len, double weight_bytes, double kv_bytes_per_element) {
  if (!(seq_len >= 1)) throw std::invalid_argument("attention_prefill: seq_len must be >= 1");
  const double w = attention_weight_elements(m);
  OpCost c;
  c.flops = 2.0 * w * seq_len + attention_core_flops_per_query(m, 1.0, false) * seq_len * (seq_len + 1.0) / 2.0;
  c.bytes = w * weight_bytes + seq_len * kv_cache_bytes_per_token(m, kv_bytes_per_element);
  return c;
}

OpCost attention_decode(const MoeModel& m, double batch, double context, double weight_bytes,
                        double kv_bytes_per_element) {
  if (!(batch >= 1) || !(context >= 1)) throw std::invalid_argument("attention_decode: batch and context must be >= 1");
  const double w = attention_weight_elements(m);
  OpCost c;
  c.flops = batch * (2.0 * w + attention_core_flops_per_query(m, context, true));
  c.bytes = w * weight_bytes + batch * context * kv_cache_bytes_per_token(m, kv_bytes_per_element);
  return c;
}

}  // namespace epsim
