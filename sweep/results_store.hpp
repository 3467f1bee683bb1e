#pragma once
// A results folder: sweep.json (the manifest: which grid the points belong to) and
// points/<index>.json, one file per finished point, each written atomically when it finishes.
#include <cstddef>
#include <filesystem>
#include <map>
#include <optional>

#include "common/json_input.hpp"
#include "sweep/evaluator.hpp"
#include "sweep/sweep_spec.hpp"

namespace epsim {

/// The manifest of a sweep: schema "epsim.sweep-results/1", name, evaluator, number of points and
/// the axes (name + value labels). Two folders hold parts of the same sweep iff their manifests
/// are equal.
Json sweep_manifest(const SweepSpec& spec);

/// One finished point as stored: {"index", "axes", "skipped_reason", "metrics"}.
Json point_record(const SweepPoint& point, const PointResult& result);

/// Create `out` and out/points, then write out/sweep.json, or check that an existing one equals
/// `manifest`. Throws InputError naming out/sweep.json when it belongs to a different sweep (then
/// use another folder) or when the folder cannot be written.
void prepare_results_folder(const std::filesystem::path& out, const Json& manifest);

/// Read out/sweep.json. Throws InputError when it is missing or invalid.
Json read_manifest(const std::filesystem::path& out);

/// Path of point `index`'s file: out/points/<index>.json.
std::filesystem::path point_file(const std::filesystem::path& out, std::size_t index);

/// Write a point record atomically.
void write_point(const std::filesystem::path& out, const Json& record);

/// The stored record of point `index`, or nullopt when it is not finished (no file). Throws
/// InputError naming the file when it is unreadable or its index/axes differ from `expected_axes`
/// (a point of another sweep).
std::optional<Json> read_point(const std::filesystem::path& out, std::size_t index, const Json& expected_axes);

/// All stored records of a folder by index (files named <index>.json with index < num_points).
/// Throws InputError on an unreadable record.
std::map<std::size_t, Json> read_all_points(const std::filesystem::path& out, std::size_t num_points);

}  // namespace epsim
