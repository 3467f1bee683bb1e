#include "measurements/deepep_tables.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include <fmt/format.h>

#include "common/error.hpp"
#include "common/limits.hpp"
#include "measurements/csv_table.hpp"

namespace epsim {

namespace {


int positive_int(const CsvTable& t, std::size_t r, std::size_t c) {
  const double v = t.number(r, c);
  if (!(v >= 1) || v != std::floor(v) || v > 1e9)
    throw InputError(t.file, t.where(r, c), fmt::format("a positive integer, found {}", v));
  return static_cast<int>(v);
}

// The nodes of a row: node_num x kAicDeepEpGpusPerNode GPUs at most limits::kMaxMeasuredTableGpus (1e6
// nodes ran 40 s and died of bad_alloc; 1000 nodes were refused later without the file).
int node_count(const CsvTable& t, std::size_t r, std::size_t c) {
  constexpr int kMaxNodes = limits::kMaxMeasuredTableGpus / kAicDeepEpGpusPerNode;
  const double v = t.number(r, c);
  if (!(v >= 1) || v != std::floor(v) || v > kMaxNodes)
    throw InputError(t.file, t.where(r, c),
                     fmt::format("a node count in [1, {}] (node_num x {} GPUs per node, at most {} GPUs), found {}",
                                 kMaxNodes, kAicDeepEpGpusPerNode, limits::kMaxMeasuredTableGpus, v));
  return static_cast<int>(v);
}

// The routed experts of a row: at most limits::kMaxExperts (routed experts of one MoE layer).
int expert_count(const CsvTable& t, std::size_t r, std::size_t c) {
  const double v = t.number(r, c);
  if (!(v >= 1) || v != std::floor(v) || v > static_cast<double>(limits::kMaxExperts))
    throw InputError(t.file, t.where(r, c), fmt::format("an expert count in [1, {}], found {}", limits::kMaxExperts, v));
  return static_cast<int>(v);
}

// The top-k of a row: at most its experts (TokenRouter picks top_k distinct experts).
int top_k(const CsvTable& t, std::size_t r, std::size_t c, int experts) {
  const int k = positive_int(t, r, c);
  if (k > experts)
    throw InputError(t.file, t.where(r, c), fmt::format("a top-k of at most num_experts = {}, found {}", experts, k));
  return k;
}

// What DeepEP's normal-kernel test routing (deepep_normal_samples: the node is the group, top min(nodes,
// 4) groups by group maximum) needs of a row: every rank holds num_experts / num_ranks experts (DeepEP
// tests/test_internode.py), so the node groups are equal; and the allowed groups hold top-k experts.
void check_grouped_routing(const CsvTable& t, std::size_t r, std::size_t e, std::size_t k, const DeepEpNormalRow& row) {
  const int gpus = row.nodes * kAicDeepEpGpusPerNode;
  if (row.experts % gpus != 0)
    throw InputError(t.file, t.where(r, e),
                     fmt::format("a multiple of the {} GPUs (node_num {} x {} GPUs per node; DeepEP places num_experts "
                                 "/ num_ranks experts on each rank), found {}",
                                 gpus, row.nodes, kAicDeepEpGpusPerNode, row.experts));
  if (row.nodes == 1) return;  // one group: plain top-k, which top_k() checked
  const int groups = std::min(row.nodes, 4), per_node = row.experts / row.nodes;
  if (row.topk > groups * per_node)
    throw InputError(t.file, t.where(r, k),
                     fmt::format("a top-k of at most {} (DeepEP's test routing draws from the top min(node_num, 4) = {} "
                                 "of {} nodes, {} experts each), found {}",
                                 groups * per_node, groups, row.nodes, per_node, row.topk));
}

}  // namespace

double DeepEpLlRow::selections() const {
  const double bytes = hidden + hidden / 128.0 * 4 + 16;
  return dispatch_GBps * dispatch_us * 1e3 / bytes;
}

std::vector<DeepEpLlRow> read_deepep_ll_table(const std::filesystem::path& path) {
  CsvTable t = read_csv_file(path);
  const std::size_t n = t.column("node_num"), h = t.column("hidden_size"), tok = t.column("num_token"),
                    k = t.column("num_topk"), e = t.column("num_experts"), dt = t.column("dispatch_avg_t_us"),
                    ct = t.column("combine_avg_t_us"), db = t.column("dispatch_bandwidth_gbps"),
                    cb = t.column("combine_bandwidth_gbps");
  std::vector<DeepEpLlRow> out;
  for (std::size_t r = 0; r < t.rows.size(); ++r) {
    DeepEpLlRow row;
    row.line = t.line_numbers[r];
    row.nodes = node_count(t, r, n);
    row.hidden = positive_int(t, r, h);
    row.tokens = positive_int(t, r, tok);
    // Plain top-k (deepep_ll_samples): top-k of the experts. Not a multiple of the GPUs: AIConfigurator's
    // published table runs DeepEP's 288 experts (256 + 32 redundant) on 8 nodes, and the LL kernel's
    // model counts experts per rank as a fraction (comm/link_load.cpp remote_experts).
    row.experts = expert_count(t, r, e);
    row.topk = top_k(t, r, k, row.experts);
    row.dispatch_us = t.measured(r, dt);
    row.combine_us = t.measured(r, ct);
    row.dispatch_GBps = t.measured(r, db);
    row.combine_GBps = t.measured(r, cb);
    out.push_back(row);
  }
  return out;
}

std::vector<DeepEpNormalRow> read_deepep_normal_table(const std::filesystem::path& path) {
  CsvTable t = read_csv_file(path);
  const std::size_t n = t.column("node_num"), h = t.column("hidden_size"), tok = t.column("num_token"),
                    k = t.column("num_topk"), e = t.column("num_experts"), sm = t.column("dispatch_sms"), csm = t.column("combine_sms"),
                    dt = t.column("dispatch_transmit_us"), dn = t.column("dispatch_notify_us"),
                    ct = t.column("combine_transmit_us"), cn = t.column("combine_notify_us");
  std::vector<DeepEpNormalRow> out;
  for (std::size_t r = 0; r < t.rows.size(); ++r) {
    DeepEpNormalRow row;
    row.line = t.line_numbers[r];
    row.nodes = node_count(t, r, n);
    row.hidden = positive_int(t, r, h);
    row.tokens = positive_int(t, r, tok);
    row.experts = expert_count(t, r, e);
    row.topk = top_k(t, r, k, row.experts);
    check_grouped_routing(t, r, e, k, row);
    row.sms = positive_int(t, r, sm);
    row.combine_sms = positive_int(t, r, csm);
    row.dispatch_us = t.measured(r, dt);
    row.dispatch_notify_us = t.measured(r, dn, true);
    row.combine_us = t.measured(r, ct);
    row.combine_notify_us = t.measured(r, cn, true);
    out.push_back(row);
  }
  return out;
}

}  // namespace epsim
