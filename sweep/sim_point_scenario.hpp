#pragma once
// Translation of a sweep point's scenario (the sweep's epsim.scenario/1 fields, docs/sweep.md) into
// the simulator's Scenario (sim/scenario/scenario.hpp): layout -> dp/tp/pp/ep, phase + tokens or batch per
// GPU -> PhaseConfig, the generated cluster -> TopologyVariant.
#include <cstdint>
#include <string>

#include "placement/objective.hpp"
#include "sim/scenario/scenario.hpp"
#include "sweep/evaluator.hpp"
#include "sweep/scenario_topology.hpp"

namespace epsim {

/// What the simulate evaluator needs of one point.
struct SimPoint {
  Scenario scenario;          ///< file = "scenario of sweep point <i>"; topology path empty when generated
  TopologyVariant topology;   ///< the cluster (generated or a file)
  ObjectiveKind objective = ObjectiveKind::link;  ///< placement objective (make_plan)
  std::uint64_t seed = 1;     ///< placement seed (make_plan)
  std::string layout = "ep";  ///< "ep" or "tp<T>xpp<P>"
  std::string skipped_reason; ///< non-empty: an invalid combination seen from the fields alone
};

/// Read `point.scenario`. Layout "ep": dp = ep, tp = pp = 1 (data-parallel attention, one EP rank per
/// GPU). Layout "tp<T>xpp<P>": dp = 1, tp = T, pp = P, ep = 1, expert_tp = T. Tokens are per GPU:
/// a replica of R = tp x pp GPUs processes R x tokens_per_gpu prompt tokens (prefill; sequences of
/// sequence_length, default tokens_per_gpu / batch_per_gpu, else tokens_per_gpu) or R x batch_per_gpu
/// sequences (decode; default batch_per_gpu = tokens_per_gpu). micro_batches defaults to 2 x pp.
/// Skips: phase "train" (not simulated), tokens_per_gpu 0, two-batch with an odd number of
/// micro-batches. Throws InputError naming "scenario of sweep point <i>" and the field for an unknown
/// field, a wrong type or range, an unknown schedule, network, gpu, precision, algorithm or objective,
/// a missing model, loads, gemm_efficiency, parallel.ep, or decode context_length.
SimPoint sim_point_from_sweep(const SweepPoint& point);

}  // namespace epsim
