#pragma once
// Topology JSON, schema "epsim.topology/1" (docs/formats.md): load with field-naming errors, save
// deterministically.
#include <filesystem>
#include <string>

#include "common/json_input.hpp"
#include "topology/topology.hpp"

namespace epsim {

/// Schema identifier written to and accepted from topology files.
inline constexpr const char* kTopologySchema = "epsim.topology/1";

/// Parse a topology document. `file` is only used in error messages. Throws InputError naming the
/// file and JSON pointer for: a missing/ill-typed field, unknown device or link kind, duplicate ids,
/// a link to an unknown device, bandwidth that is not finite and > 0, negative latency. Does not run
/// the graph checks of validate_topology().
Topology topology_from_json(const Json& doc, const std::string& file);

/// Load and validate (validate_topology) a topology file.
Topology load_topology(const std::filesystem::path& path);

/// Serialize; pairs of opposite links with equal properties are written once with
/// "bidirectional": true. Byte-identical for identical topologies.
Json topology_to_json(const Topology& topology);

}  // namespace epsim
