#pragma once
// Deployable forms of a plan: SGLang's --init-expert-location file and EPLB's arrays.
#include "common/json_input.hpp"
#include "model/moe_model.hpp"
#include "placement/plan.hpp"

namespace epsim {

/// SGLang `--init-expert-location` JSON: {"physical_to_logical_map": [layer][physical_slot]} over all
/// of the model's layers (num_hidden_layers rows; physical slot s lives on EP rank s / slots_per_gpu).
/// Dense layers, which SGLang never reads, get its default map (slot s -> expert s mod E).
/// Throws InputError when the plan leaves a slot empty (SGLang needs every slot filled): plan with
/// --redundant 0 for contiguous, or with an algorithm that fills redundant slots.
Json export_sglang(const Plan& plan, const MoeModel& model);

/// DeepSeek EPLB's arrays for the MoE layers: {"layers": [model layer indices], "phy2log":
/// [moe_layer][slot], "log2phy": [moe_layer][expert][max_replicas] padded with -1, "logcnt":
/// [moe_layer][expert]}. Throws InputError on empty slots, as export_sglang.
Json export_eplb(const Plan& plan);

}  // namespace epsim
