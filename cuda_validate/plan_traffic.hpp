#pragma once
// Per-pair all-to-all byte counts of one layer of a plan (plan.json, schema "epsim.plan/1"), the
// traffic model of comm/link_load.hpp made integral so that real buffers can be sized.
// Under data-parallel attention every EP rank originates an equal share of the tokens that rank d
// computes, so in dispatch
//   tokens(s -> d) = T_d / n        (n = EP ranks; T_d = gpu_tokens[d])
// and in combine the results travel back: bytes_combine(s, d) = bytes_dispatch(d, s).
// The self pair (s == d) is part of the matrix (a local copy in the real exchange) but crosses no
// link. Host-only: no CUDA.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "common/json_input.hpp"
#include "comm/link_load.hpp"

namespace epsim::validate {

/// Square matrix of counts (tokens or bytes), row = source rank, column = destination rank.
class PairMatrix {
 public:
  PairMatrix() = default;
  explicit PairMatrix(int n) : n_(n), v_(static_cast<std::size_t>(n) * static_cast<std::size_t>(n), 0) {}

  int size() const { return n_; }
  std::int64_t& at(int s, int d) { return v_[index(s, d)]; }
  std::int64_t at(int s, int d) const { return v_[index(s, d)]; }
  /// Bytes rank s sends, the self pair included (its send-buffer size).
  std::int64_t send_total(int s) const;
  /// Bytes rank d receives, the self pair included (its receive-buffer size).
  std::int64_t recv_total(int d) const;
  /// Sum over pairs with s != d (what crosses links).
  std::int64_t off_diagonal_total() const;
  /// Largest send_total over ranks: S of nccl-tests' algbw for an all-to-all-v.
  std::int64_t max_send_total() const;
  PairMatrix transposed() const;

 private:
  std::size_t index(int s, int d) const {
    return static_cast<std::size_t>(s) * static_cast<std::size_t>(n_) + static_cast<std::size_t>(d);
  }
  int n_ = 0;
  std::vector<std::int64_t> v_;
};

/// Token counts of one dispatch: T_d = round(gpu_tokens[d]) split over the n source ranks as evenly
/// as integers allow,
///   count(s, d) = floor(T_d (s + 1) / n) - floor(T_d s / n),   so sum_s count(s, d) = T_d,
/// which is exactly T_d / n when n divides T_d. Throws InputError if a count is negative or not
/// finite.
PairMatrix dispatch_token_counts(const std::vector<double>& gpu_tokens);

/// Bytes from each rank to each rank for one exchange: dispatch = token counts x bytes_per_token,
/// combine = the transpose. bytes_per_token > 0.
PairMatrix exchange_pair_bytes(const std::vector<double>& gpu_tokens, std::int64_t bytes_per_token, Exchange direction);

/// One MoE layer of a plan: model layer index and tokens computed per EP rank.
struct PlanLayer {
  int layer = 0;
  std::vector<double> gpu_tokens;
};

/// What the harness needs from plan.json.
struct PlanTraffic {
  std::string file;
  int ep = 0;
  int slots_per_gpu = 1;
  std::vector<std::string> gpus;               ///< topology GPU id of each EP rank
  std::int64_t dispatch_bytes_per_token = 0;
  std::int64_t combine_bytes_per_token = 0;
  int worst_layer = -1;                        ///< /summary/worst_layer, -1 when absent
  std::vector<PlanLayer> layers;

  /// The layer with model index `layer`; throws InputError naming the file when absent.
  const PlanLayer& find_layer(int layer) const;
  /// Default layer to replay: the worst layer when recorded, else the first.
  const PlanLayer& default_layer() const;
  std::int64_t bytes_per_token(Exchange direction) const {
    return direction == Exchange::dispatch ? dispatch_bytes_per_token : combine_bytes_per_token;
  }
};

/// Expert-GEMM sizes M to measure for a plan layer: the distinct round(gpu_tokens[d] /
/// slots_per_gpu) > 0, ascending; more than max_points values are thinned to max_points quantiles
/// (smallest and largest kept). max_points >= 2.
std::vector<int> tokens_per_expert_sweep(const PlanTraffic& plan, const PlanLayer& layer, std::size_t max_points = 8);

/// Read the fields above from a parsed plan. Throws InputError naming file + JSON pointer for a
/// missing or ill-typed field, bytes per token that are not a positive integer, or a layer whose
/// gpu_tokens does not have settings.ep entries.
PlanTraffic plan_traffic_from_json(const Json& doc, const std::string& file);
PlanTraffic load_plan_traffic(const std::filesystem::path& path);

}  // namespace epsim::validate
