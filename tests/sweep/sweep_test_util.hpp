#pragma once
// Shared helpers of the sweep tests: small specs over Phi-3.5-MoE (16 experts, 32 layers) and
// per-process temporary folders.
#include <filesystem>
#include <string>

#include "common/json_input.hpp"
#include "sweep/sweep_spec.hpp"

namespace epsim::test {

/// A base scenario: Phi-3.5-MoE with the synthetic 16-expert loads, prefill of 1024 tokens per GPU in
/// 2 micro-batches, EP 8 (dp 8) on a generated rail-optimized cluster, greedy placement.
Json phi_base();
/// {"schema": "epsim.sweep/2", "name": "t", "base": phi_base(), "axes": axes}.
Json phi_spec_json(const Json& axes);
/// A "phase" axis value that switches to decode: {"value": "decode", "set": {"/phase": {kind decode,
/// batch_per_gpu, context_length, micro_batches 2}}}.
Json decode_value(double batch_per_gpu, double context_length);
/// Parse with paths relative to scenarios/.
SweepSpec parse_spec(const Json& doc);
/// A fresh, empty folder under the temp dir, unique to this process and name.
std::filesystem::path fresh_dir(const std::string& name);
/// Whole file as a string ("" when missing).
std::string read_text(const std::filesystem::path& path);

}  // namespace epsim::test
