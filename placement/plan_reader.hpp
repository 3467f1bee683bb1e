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
#include "placement/replica_choice.hpp"

namespace epsim {

/// A plan file's /settings as far as they need no model: the one reader of them, used by
/// read_plan_file and by cuda_validate's traffic reader.
struct PlanFileSettings {
  int ep = 0;                           ///< settings.ep, >= 1
  int slots_per_gpu = 0;                ///< settings.slots_per_gpu, >= 1
  double tokens_per_gpu = 4096;         ///< settings.tokens_per_gpu, >= 0 (this default when absent)
  double dispatch_bytes_per_token = 0;  ///< settings.dispatch_bytes_per_token, > 0; 0 when absent
  double combine_bytes_per_token = 0;   ///< settings.combine_bytes_per_token, > 0; 0 when absent
  std::string exchange_kernel;          ///< settings.exchange_kernel (a kernel name); empty when absent
  /// settings.calibration.file: the calibration.json the plan was made with, as `epsim plan` was given
  /// it (relative paths: to the working directory); empty when absent (no calibration, or a plan file
  /// written before this field).
  std::string calibration_file;
  /// settings.calibration.fnv1a64: 16 lower-case hex digits, the FNV-1a 64-bit hash of that file's bytes
  /// when the plan was made (a changed file is detected, cli/calibration_input.hpp); empty when absent.
  std::string calibration_fnv1a64;
  /// settings.replica_choice (rule or lp; rule when absent): how the plan's figures split an expert's
  /// tokens over its replicas (placement/replica_choice.hpp).
  ReplicaChoice replica_choice = ReplicaChoice::rule;
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
  std::string exchange_kernel;        ///< settings.exchange_kernel; empty when absent
  std::string calibration_file;       ///< settings.calibration.file; empty when absent (PlanFileSettings)
  std::string calibration_fnv1a64;    ///< settings.calibration.fnv1a64; empty when absent
  /// settings.replica_choice (rule when absent): how the plan's figures split an expert's tokens
  /// over its replicas (placement/replica_choice.hpp).
  ReplicaChoice replica_choice = ReplicaChoice::rule;
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
