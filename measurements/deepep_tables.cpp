#include "measurements/deepep_tables.hpp"

#include <cmath>

#include <fmt/format.h>

#include "common/error.hpp"
#include "measurements/csv_table.hpp"

namespace epsim {

namespace {

int positive_int(const CsvTable& t, std::size_t r, std::size_t c) {
  const double v = t.number(r, c);
  if (!(v >= 1) || v != std::floor(v) || v > 1e9)
    throw InputError(t.file, fmt::format("line {}, column {}", t.line_numbers[r], t.columns[c]),
                     fmt::format("a positive integer, found {}", v));
  return static_cast<int>(v);
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
    row.nodes = positive_int(t, r, n);
    row.hidden = positive_int(t, r, h);
    row.tokens = positive_int(t, r, tok);
    row.topk = positive_int(t, r, k);
    row.experts = positive_int(t, r, e);
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
    row.nodes = positive_int(t, r, n);
    row.hidden = positive_int(t, r, h);
    row.tokens = positive_int(t, r, tok);
    row.topk = positive_int(t, r, k);
    row.experts = positive_int(t, r, e);
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
