#pragma once
// FLOPs and memory bytes of the attention block of one transformer layer: MLA (DeepSeek) or GQA
// (everything else), for prefill and decode. Pure functions of the model shape.
#include "model/moe_model.hpp"

namespace epsim {

/// Work of one kernel or block: floating-point operations (a multiply-add = 2 FLOPs) and bytes moved
/// to/from HBM.
struct OpCost {
  double flops = 0;
  double bytes = 0;
};

/// True when the model uses DeepSeek multi-head latent attention (kv_lora_rank > 0).
bool uses_mla(const MoeModel& model);

/// Weight elements of the attention projections of one layer.
/// MLA, not absorbed (prefill): q = hidden x q_lora + q_lora x H x (nope + rope) (or hidden x H x
/// (nope + rope) without q_lora), kv_a = hidden x (kv_lora + rope), kv_b = kv_lora x H x (nope + v),
/// o = H x v x hidden. MLA absorbed (decode, DeepSeek-V2 paper section 2.1.2): kv_b is split into
/// W_UK (H x nope x kv_lora) folded into the query and W_UV (H x kv_lora x v) folded into the output;
/// the element count is the same, only the order of products changes.
/// GQA: q = hidden x H x d, k and v = hidden x KV x d each, o = H x d x hidden, with d = head_dim (or
/// hidden / H when head_dim is 0).
double attention_weight_elements(const MoeModel& model);

/// Attention-core FLOPs of one query token over `context` keys (scores + weighted sum of values).
/// MLA prefill: 2 x H x (nope + rope) x c + 2 x H x v x c. MLA decode (absorbed, attention in the
/// latent space as in FlashMLA): 2 x H x (kv_lora + rope) x c + 2 x H x kv_lora x c.
/// GQA: 2 x H x d x c + 2 x H x d x c.
double attention_core_flops_per_query(const MoeModel& model, double context, bool decode);

/// KV-cache bytes per token per layer. MLA caches the compressed latent and the rope key:
/// (kv_lora + rope) x bytes_per_element. GQA caches keys and values: 2 x KV x d x bytes_per_element.
double kv_cache_bytes_per_token(const MoeModel& model, double bytes_per_element);

/// One layer's attention for a prefill of one sequence of `seq_len` tokens with causal masking:
/// FLOPs = 2 x weights x L + core(c) summed over c = 1..L (= core(1) x L (L + 1) / 2, quadratic in L);
/// bytes = weights x weight_bytes + L x KV bytes per token (the cache written). Throws
/// std::invalid_argument when seq_len < 1.
OpCost attention_prefill(const MoeModel& model, double seq_len, double weight_bytes, double kv_bytes_per_element);

/// One layer's attention for one decode step of `batch` sequences, each attending over `context`
/// tokens: FLOPs = batch x (2 x weights + core(context)); bytes = weights x weight_bytes + batch x
/// context x KV bytes per token (the cache read). Throws std::invalid_argument when batch < 1 or
/// context < 1.
OpCost attention_decode(const MoeModel& model, double batch, double context, double weight_bytes,
                        double kv_bytes_per_element);

/// FLOPs of a SwiGLU FFN (gate, up, down GEMMs) over `tokens` tokens: 3 x 2 x tokens x hidden x
/// intermediate.
inline double swiglu_flops(double tokens, double hidden, double intermediate) {
  return 3.0 * 2.0 * tokens * hidden * intermediate;
}

}  // namespace epsim
