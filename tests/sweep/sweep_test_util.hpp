#pragma once
// Shared helpers of the sweep tests: small specs over Phi-3.5-MoE (16 experts, 32 layers) and
// per-process temporary folders.
#include <filesystem>
#include <string>

#include "common/json_input.hpp"
#include "sweep/sweep_spec.hpp"

namespace epsim::test {

/// A base scenario: Phi-3.5-MoE with the synthetic 16-expert loads, EP 8 on a generated cluster.
Json phi_base();
/// {"schema": "epsim.sweep/1", "name": "t", "base": phi_base(), "axes": axes}.
Json phi_spec_json(const Json& axes);
/// Parse with paths relative to scenarios/.
SweepSpec parse_spec(const Json& doc);
/// A fresh, empty folder under the temp dir, unique to this process and name.
std::filesystem::path fresh_dir(const std::string& name);
/// Whole file as a string ("" when missing).
std::string read_text(const std::filesystem::path& path);

}  // namespace epsim::test
