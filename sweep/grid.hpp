#pragma once
// The grid of a sweep: point i <-> one value per axis (mixed radix, the last axis of
// axis_catalog() order varies fastest), shards, and the skip reasons that need no evaluator.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "sweep/evaluator.hpp"
#include "sweep/sweep_spec.hpp"

namespace epsim {

/// Value index per axis (spec.axes order) of point `index`. Throws std::out_of_range when
/// index >= spec.num_points().
std::vector<std::size_t> point_axis_indices(const SweepSpec& spec, std::size_t index);

/// Point `index`: axes = {name: value as written}, scenario = base with every axis value and its
/// "set" overrides applied. Same index, same spec -> same point, independent of threads or shards.
SweepPoint make_point(const SweepSpec& spec, std::size_t index);

/// A slice of the grid for one process of a job array: the points with index % count == index.
struct Shard {
  std::size_t index = 0;
  std::size_t count = 1;
  bool contains(std::size_t point) const { return point % count == index; }
};

/// Parse "i/n" (0 <= i < n). Throws UsageError otherwise.
Shard parse_shard(std::string_view text);

/// Indices of the points of `shard` in increasing order.
std::vector<std::size_t> shard_points(std::size_t num_points, const Shard& shard);

/// Why a point is an invalid combination regardless of the evaluator, or "" when it is not:
/// a layout that needs more GPUs than the given nodes have, a TP x PP baseline (layout axis) whose
/// GPU count differs from the point's ep axis value (baselines are compared at equal GPU count only).
std::string structural_skip_reason(const SweepSpec& spec, const SweepPoint& point);

}  // namespace epsim
