#pragma once
// Reading plan.json (schema "epsim.plan/1", docs/formats.md) back: the placement of every MoE layer
// and the settings it was made with, so that a plan can be evaluated on other loads (`epsim
// evaluate`), simulated (scenario "plan") or rebalanced from.
#include <filesystem>
#include <string>
#include <vector>

#include "common/json_input.hpp"
#include "model/layer_placement.hpp"
#include "model/moe_model.hpp"

namespace epsim {

/// A plan file's /settings as far as they need no model: the one reader of them, used by
/// read_plan_file and by cuda_validate's traffic reader.
struct PlanFileSettings {
  int ep = 0;                           ///< settings.ep, >= 1
  int slots_per_gpu = 0;                ///< settings.slots_per_gpu, >= 1
  double tokens_per_gpu = 4096;         ///< settings.tokens_per_gpu, >= 0 (this default when absent)
  double dispatch_bytes_per_token = 0;  ///< settings.dispatch_bytes_per_token, > 0; 0 when absent
  double combine_bytes_per_token = 0;   ///< settings.combine_bytes_per_token, > 0; 0 when absent
};

/// Check /schema (kPlanSchema, placement/plan_json.hpp) and read /settings of a parsed plan. Throws InputError naming the
/// cursor's file, the JSON pointer and what was expected.
PlanFileSettings read_plan_settings(const JsonCursor& root);

/// What a plan file says about one plan.
struct PlanFile {
  int ep = 0;
  int slots_per_gpu = 0;
  int redundant = 0;                  ///< ep x slots_per_gpu - experts
  double tokens_per_gpu = 4096;       ///< settings.tokens_per_gpu (default when absent)
  double dispatch_bytes_per_token = 0;  ///< settings.dispatch_bytes_per_token; 0 when absent
  double combine_bytes_per_token = 0;
  /// [model layer] placement; empty (num_gpus 0) for dense layers. Every MoE layer has one.
  std::vector<LayerPlacement> layers;
};

/// Read and check a plan against a model: schema, settings.ep and settings.slots_per_gpu (positive),
/// one entry per MoE layer (layers[i].layer a MoE layer of the model, no layer twice), each
/// slot_expert of ep x slots_per_gpu experts in [-1, E) with every expert present and no two
/// replicas of one expert on one GPU. Throws InputError naming the file, the JSON pointer and what
/// was expected. expected_ep > 0: settings.ep must equal it (`expected_ep_what` says whose EP it is,
/// e.g. "the scenario's ep (32)").
PlanFile read_plan_file(const std::filesystem::path& path, const MoeModel& model, int expected_ep = 0,
                        const std::string& expected_ep_what = "");

}  // namespace epsim
