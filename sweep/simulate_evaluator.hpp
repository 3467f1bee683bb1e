#pragma once
// The "simulate" evaluator: each point's scenario is translated into the simulator's Scenario
// (sim/scenario/scenario.hpp), prepared with shared inputs and replayed by simulate() (one prefill or decode
// iteration, event by event). Fills the simulate metrics of metric_catalog() and the plan metrics it
// also knows (busiest link, plan gap, GPU imbalance). Fields and translation: docs/sweep.md.
#include <cstddef>
#include <memory>

#include "sweep/evaluator.hpp"

namespace epsim {

/// Counters of the evaluator's shared input cache (for tests and docs).
struct SimulateEvaluatorStats {
  std::size_t models_parsed = 0;
  std::size_t loads_parsed = 0;
  std::size_t topologies_built = 0;  ///< topology + route table
  std::size_t plans_made = 0;        ///< per (topology, model, loads, EP, placement settings, tokens)
  std::size_t simulations = 0;       ///< simulate() calls (points not skipped before simulating)
};

/// A simulator-based evaluator. Scenario fields read (docs/sweep.md, "simulate" column): model,
/// loads, gemm_efficiency, calibration, phase, tokens_per_gpu, batch_per_gpu, sequence_length,
/// context_length, micro_batches, chunks, schedule, network, gpu, precision, dispatch/combine bytes
/// per element, parallel {layout, ep, redundant}, placement {algorithm, objective, seed}, topology.
/// Layouts: "ep" = dp ep x tp 1 x pp 1 with ep EP ranks; "tp<T>xpp<P>" = one replica over T x P GPUs,
/// experts tensor-parallel over T (ep 1), at the same tokens (or sequences) per GPU.
/// Skips (reason in the CSV): phase train, a layout or placement the simulator rejects (GPUs beyond
/// the topology, experts + redundant not divisible by EP, heads not divisible by TP, memory per GPU
/// over HBM, odd micro-batches with two-batch), loads that do not match the model. Throws InputError
/// for a field of the wrong type, an unknown field or schedule, or an unreadable file.
/// Topologies with routes, models, loads and plans are built once per distinct input and shared
/// (OnceCache); points that differ only in schedule, chunks or network share their plan. Thread-safe.
class SimulateEvaluator {
 public:
  SimulateEvaluator();
  PointResult operator()(const SweepPoint& point) const;
  SimulateEvaluatorStats stats() const;

 private:
  struct Caches;
  std::shared_ptr<Caches> caches_;
};

/// The evaluator "simulate" (a SimulateEvaluator behind the PointEvaluator hook).
Evaluator make_simulate_evaluator();

}  // namespace epsim
