#include "comm/table_calibration.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "comm/collective_fit.hpp"
#include "comm/collectives.hpp"
#include "comm/kernel_samples.hpp"
#include "common/error.hpp"
#include "common/limits.hpp"
#include "topology/generators.hpp"
#include "topology/routing.hpp"

namespace epsim {

LinkFit fit_link(std::span<const double> bytes, std::span<const double> seconds) {
  if (bytes.size() != seconds.size()) throw std::invalid_argument("fit_link: sizes differ");
  const std::size_t n = bytes.size();
  if (n < 2) throw std::invalid_argument("needs at least two samples of different sizes");
  // Weighted means, then centred sums (numerically stable over 1 KiB .. 1 GiB).
  double sw = 0, sx = 0, st = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (!(seconds[i] > 0) || !(bytes[i] >= 0)) throw std::invalid_argument("times must be > 0 and sizes >= 0");
    double w = 1.0 / (seconds[i] * seconds[i]);
    sw += w;
    sx += w * bytes[i];
    st += w * seconds[i];
  }
  const double xm = sx / sw, tm = st / sw;
  double sxx = 0, sxt = 0;
  for (std::size_t i = 0; i < n; ++i) {
    double w = 1.0 / (seconds[i] * seconds[i]);
    sxx += w * (bytes[i] - xm) * (bytes[i] - xm);
    sxt += w * (bytes[i] - xm) * (seconds[i] - tm);
  }
  if (!(sxx > 0)) throw std::invalid_argument("needs at least two samples of different sizes");
  const double slope = sxt / sxx;  // seconds per byte
  if (!(slope > 0)) throw std::invalid_argument("time does not grow with message size (fitted slope <= 0)");
  const double intercept = std::max(0.0, tm - slope * xm);
  LinkFit c;
  c.bandwidth_GBps = 1.0 / slope / 1e9;
  c.latency_ns = intercept * 1e9;
  c.samples = static_cast<int>(n);
  for (std::size_t i = 0; i < n; ++i)
    c.max_rel_error = std::max(c.max_rel_error, std::fabs(intercept + slope * bytes[i] - seconds[i]) / seconds[i]);
  return c;
}

namespace {

// nccl-tests' bus bandwidth factor and the ring's steps of each op (nccl-tests doc/PERFORMANCE.md).
double bus_factor(const std::string& op, int n) {
  const double f = static_cast<double>(n - 1) / n;
  return op == "all_reduce" ? 2 * f : op == "sendrecv" ? 1.0 : f;
}
int ring_steps(const std::string& op, int n) { return op == "all_reduce" ? 2 * (n - 1) : op == "sendrecv" ? 1 : n - 1; }

// The collective model of one nccl-tests run: `ranks` H100s on `nodes` DGX hosts, or AWS p5 hosts with
// EFA's figures when the network is Ethernet (72 GPUs per host at most: the largest NVLink domain epsim
// generates). nullptr for a run it cannot stand for (sendrecv, uneven hosts, bigger hosts).
struct RunModel {
  Topology topo;
  RouteTable routes;
  CollectiveParams params;
  CollectiveKind kind;
  std::vector<int> gpus;
  RunModel(DgxClusterOptions o, CollectiveParams p, CollectiveKind k, int ranks)
      : topo(generate_dgx_cluster(o)), routes(topo), params(std::move(p)), kind(k), gpus(static_cast<std::size_t>(ranks)) {
    for (int g = 0; g < ranks; ++g) gpus[static_cast<std::size_t>(g)] = g;
  }
};

// The hosts a run of `nodes` hosts is modelled on and their collective defaults: AWS p5 with EFA's
// figures when the run crosses an Ethernet network, DGX H100 (InfiniBand) otherwise.
struct Hosts {
  DgxClusterOptions options;
  CollectiveParams params;
};
Hosts hosts_for(int nodes, LinkKind network_kind) {
  const bool efa = nodes > 1 && network_kind == LinkKind::ethernet;
  return efa ? Hosts{aws_p5_options(nodes), aws_p5_efa_params()} : Hosts{dgx_options_for_nodes(nodes), CollectiveParams{}};
}

std::unique_ptr<RunModel> run_model(const CollectiveSamples& c, LinkKind network_kind) {
  const std::optional<CollectiveKind> kind = parse_collective_kind(c.op);  // sendrecv: none
  if (!kind || c.nodes < 1 || c.ranks < 2 || c.ranks % c.nodes != 0 || c.ranks / c.nodes > 72) return nullptr;
  Hosts h = hosts_for(c.nodes, network_kind);
  h.options.gpus_per_node = c.ranks / c.nodes;
  return std::make_unique<RunModel>(h.options, h.params, *kind, c.ranks);
}

// The rows the line t = latency + bus bytes / bandwidth describes: Simple's. The collective model
// prices a ring with the cheapest of LL, LL128 and Simple (the calibrated line), as NCCL's tuner does, on
// one host and across hosts; rows that LL or LL128 carry at the model's defaults would pull Simple's
// latency down to LL's and make mid sizes too fast. When fewer than two distinct Simple sizes remain,
// every row is kept.
std::vector<bool> simple_protocol_rows(const CollectiveSamples& c, const RunModel* m) {
  std::vector<bool> keep(c.bytes.size(), true);
  if (!m) return keep;
  const CollectiveModel model(m->topo, m->routes, m->params);
  std::set<double> simple_sizes;
  for (std::size_t i = 0; i < c.bytes.size(); ++i) {
    keep[i] = model.cost(m->kind, CollectiveAlgorithm::ring, m->gpus, c.bytes[i]).protocol == CollectiveProtocol::simple;
    if (keep[i]) simple_sizes.insert(c.bytes[i]);
  }
  if (simple_sizes.size() < 2) keep.assign(c.bytes.size(), true);
  return keep;
}

// Sum over rows of log(predicted time / measured time)^2 (times in us, element by element).
double squared_log_error(const std::vector<CollectiveResult>& predicted, const std::vector<double>& measured_us) {
  double e = 0;
  for (std::size_t i = 0; i < predicted.size(); ++i) e += std::pow(std::log(predicted[i].time_us / measured_us[i]), 2);
  return e;
}

// The x in [a, b] where f is least, for f unimodal there: golden-section search, 60 iterations
// (interval x 0.618^60, below 1e-12 of it). Deterministic.
double golden_section_minimum(const std::function<double(double)>& f, double a, double b) {
  const double phi = (std::sqrt(5.0) - 1) / 2;
  double x1 = b - phi * (b - a), x2 = a + phi * (b - a), f1 = f(x1), f2 = f(x2);
  for (int it = 0; it < 60; ++it) {
    if (f1 <= f2) {
      b = x2, x2 = x1, f2 = f1;
      x1 = b - phi * (b - a), f1 = f(x1);
    } else {
      a = x1, x1 = x2, f1 = f2;
      x2 = a + phi * (b - a), f2 = f(x2);
    }
  }
  return (a + b) / 2;
}

// The fixed cost of `protocol` (LL or LL128) in `params`, us (NCCL's baseLat[Ring][p]), and the field.
double& protocol_base_latency_us(CollectiveParams& params, CollectiveProtocol protocol) {
  return protocol == CollectiveProtocol::ll ? params.ll_base_latency_us : params.ll128_base_latency_us;
}

// The latencies of `protocol` (LL or LL128) that best fit the rows the model gives that protocol at its
// defaults, with the fitted Simple line already in `links` (nullopt with fewer than two such rows):
//  1. the step latency on the run's link kind (nvlink on one node, the network across nodes):
//     golden-section search over [0, 100] us of the squared log error of CollectiveModel::cost (the
//     algorithm, Tree or ring, as the model picks it);
//  2. when that search ends on its floor of 0 (the model's fixed cost, NCCL's baseLat, alone already
//     reaches the rows: 2 H100s run an LL all_gather in 5.2 us, baseLat[Ring][LL] + one step is 7.2),
//     the protocol's base latency with that step at 0: the same search over [0, the default] us. Set
//     only when it lowers the error.
ProtocolLatencyFit fit_protocol_latency(const CollectiveSamples& c, const RunModel& m, LinkKind link,
                                        std::map<LinkKind, LinkCalibration> links, CollectiveProtocol protocol) {
  ProtocolLatencyFit out;
  const std::vector<CollectiveResult> at_defaults = CollectiveModel(m.topo, m.routes, m.params).cost(m.kind, m.gpus, c.bytes);
  std::vector<double> sizes, times;
  for (std::size_t i = 0; i < c.bytes.size(); ++i)
    if (at_defaults[i].protocol == protocol) sizes.push_back(c.bytes[i]), times.push_back(c.time_us[i]);
  if (sizes.size() < 2) return out;
  CollectiveParams params = m.params;
  auto error = [&](double step_ns) {
    LinkCalibration& lc = links[link];
    (protocol == CollectiveProtocol::ll ? lc.ll_latency_ns : lc.ll128_latency_ns) = step_ns;
    const CollectiveModel model(m.topo, m.routes, with_calibration(params, links));
    return squared_log_error(model.cost(m.kind, m.gpus, sizes), times);
  };
  const double best = golden_section_minimum(error, 0, 1e5);  // ns
  const double at_floor = error(0);
  out.step_latency_ns = at_floor <= error(best) ? 0.0 : best;
  if (*out.step_latency_ns > 0) return out;
  const double default_base_us = protocol_base_latency_us(params, protocol);
  auto base_error = [&](double base_us) {
    protocol_base_latency_us(params, protocol) = base_us;
    return error(0);
  };
  const double base = golden_section_minimum(base_error, 0, default_base_us);
  if (base_error(base) < at_floor) out.base_latency_us = base;
  return out;
}

// The bandwidth of the run's link kind (per GPU, as calibration.json links hold it; line_GBps is the
// line `line`'s bus bandwidth per GPU) that best fits the bandwidth-bound rows through the model (the
// algorithm as the model picks it with that bandwidth), with the fitted step latency in `links`:
// golden-section search of the squared log error over [line_GBps / 8, line_GBps x 2] on a log scale. The line t = latency + bus bytes / B says what a ring's bus
// moves; when the model runs the large sizes another way (NVLS on one NVSwitch: S (n+1)/n per port at
// the NVLS efficiency; NCCL's Tree or an NVLS tree across hosts), the same rows mean another link rate,
// which only the model turns them into. Rows: those whose bandwidth term in the line is at least half
// the measured time (at least one; the caller checked the largest). The line's figure when no rate
// fits them better.
double fit_bandwidth_through_model(const CollectiveSamples& c, const RunModel& m, LinkKind link,
                                   std::map<LinkKind, LinkCalibration> links, const LinkFit& line, double line_GBps) {
  std::vector<double> sizes, times;
  for (std::size_t i = 0; i < c.bytes.size(); ++i)
    if (c.bytes[i] * bus_factor(c.op, c.ranks) / (line.bandwidth_GBps * 1e9) >= 0.5 * c.time_us[i] * 1e-6)
      sizes.push_back(c.bytes[i]), times.push_back(c.time_us[i]);
  if (sizes.empty()) return line_GBps;
  auto error = [&](double log_GBps) {
    links[link].bandwidth_GBps = std::exp(log_GBps);
    const CollectiveModel model(m.topo, m.routes, with_calibration(m.params, links));
    return squared_log_error(model.cost(m.kind, m.gpus, sizes), times);
  };
  const double best = golden_section_minimum(error, std::log(line_GBps / 8), std::log(line_GBps * 2));
  // Rows the link's rate does not move (a 2-host all-reduce bound by NVLS inside the hosts) leave the
  // line's figure: the error is flat there, and the search would end anywhere on it.
  return error(best) < error(std::log(line_GBps)) ? std::exp(best) : line_GBps;
}

// The Simple step latency of the run's link kind that gives the model's Simple ring the line's
// intercept, ns. The model's Simple ring at (almost) no bytes is t(x) = t(0) + k x for a step latency x
// of that kind: on one node every step is an NVLink step (k = ring steps, t(0) = NCCL's base latency);
// across hosts only the network steps are (k = 2(m-1) or m-1), the others keep NVLink's cost. So x =
// (intercept - t(0)) / k, at least 0. (Spreading the intercept over every ring step, as before, gave a
// 32-node EFA file a 0.7 us network step where the file's own rows need ~100.)
double simple_step_latency_ns(const RunModel& m, LinkKind link, double bandwidth_GBps, double intercept_ns) {
  CollectiveParams p = m.params;
  p.allow_ll_protocols = false;
  auto simple_ring_us = [&](double latency_ns) {
    std::map<LinkKind, LinkCalibration> links = {{link, LinkCalibration{bandwidth_GBps, latency_ns}}};
    const CollectiveModel model(m.topo, m.routes, with_calibration(p, links));
    return model.cost(m.kind, CollectiveAlgorithm::ring, m.gpus, 1.0).time_us;
  };
  const double t0 = simple_ring_us(0), k = (simple_ring_us(1000.0) - t0);  // us per us of step latency
  if (!(k > 0)) return 0.0;
  return std::max(0.0, (intercept_ns * 1e-3 - t0) / k) * 1e3;
}

// The nominal per-GPU bandwidth of a link kind in `topology` (nominal_edge_link_GBps times the links a
// GPU spreads that kind over: calibration_links_per_gpu), GB/s.
double nominal_per_gpu_GBps(const Topology& topology, LinkKind link) {
  return nominal_edge_link_GBps(topology, link) * calibration_links_per_gpu(topology, link);
}

// The joint fit of fit_tables: the runs across hosts of 8 GPUs each (the hosts hosts_for generates)
// whose op the collective model prices, when they span two or more node counts; fit_network_efficiency
// (efficiency and network step latency) from those hosts' defaults on every row, busbw = bytes x bus
// factor / time. nullopt when the runs span fewer than two node counts.
std::optional<NetworkFitSummary> fit_network(const TableSamples& s) {
  constexpr int kGpusPerHost = 8;  // DgxClusterOptions' and aws_p5_options' hosts
  std::vector<CollectiveRow> rows;
  std::set<int> nodes;
  for (const CollectiveSamples& c : s.collectives) {
    const std::optional<CollectiveKind> kind = parse_collective_kind(c.op);
    if (c.nodes < 2 || c.ranks != c.nodes * kGpusPerHost || !kind) continue;
    nodes.insert(c.nodes);
    for (std::size_t i = 0; i < c.bytes.size(); ++i)
      rows.push_back({*kind, c.nodes, c.bytes[i], c.bytes[i] * bus_factor(c.op, c.ranks) / (c.time_us[i] * 1e3)});
  }
  if (nodes.size() < 2) return std::nullopt;
  const LinkKind kind = s.network_kind;
  const bool eth = kind == LinkKind::ethernet;
  const Hosts hosts = hosts_for(2, kind);
  const CollectiveFit fit = fit_network_efficiency(hosts.params, kind, hosts.options, rows, FitStepLatency::yes);
  NetworkFitSummary n;
  n.kind = kind;
  n.nodes.assign(nodes.begin(), nodes.end());
  n.rows = static_cast<int>(rows.size());
  n.efficiency = fit.efficiency;
  n.bandwidth_GBps = nominal_per_gpu_GBps(generate_dgx_cluster(hosts.options), kind) * fit.efficiency;
  n.latency_ns = (eth ? fit.params.ethernet_step_latency_us : fit.params.network_step_latency_us) * 1e3;
  n.ll_latency_ns = (eth ? fit.params.ethernet_ll_step_latency_us : fit.params.network_ll_step_latency_us) * 1e3;
  n.ll128_latency_ns = fit.ll128_step_latency_us * 1e3;
  n.mean_abs_error = fit.mean_abs_error;
  return n;
}

}  // namespace

TableFit fit_tables(const TableSamples& s, Calibration& cal) {
  TableFit out;
  for (const auto& [kind, samples] : s.kernels) {
    if (samples.empty()) continue;
    const ExchangeKernelParams def = default_kernel_params(kind);
    // An all-to-all's rows (nccl, hierarchical) differ by message size, the EP kernels' by token count.
    // Sizes within 5% of each other are one size: a table's selections are often derived from its
    // bandwidth x time (DeepEP PR 521's LL rows: 1012-1024 selections for 128 tokens x top-8).
    const bool by_message = kind == ExchangeKernelKind::nccl || kind == ExchangeKernelKind::hierarchical;
    std::vector<double> sizes;
    for (const KernelSample& x : samples) sizes.push_back(by_message ? x.bytes_per_token : x.selections);
    std::sort(sizes.begin(), sizes.end());
    int distinct_sizes = 0;
    for (std::size_t i = 0; i < sizes.size(); ++i)
      if (i == 0 || sizes[i] > sizes[i - 1] * 1.05) ++distinct_sizes;
    // At one size the fixed cost and the rate trade off: the latency then keeps its default (fitted, DeepEP
    // PR 521's LL rows wrote 0 us, and a 1-token exchange over 4 InfiniBand nodes read 1.2 us).
    std::vector<FitField> fields = calibration_fields(kind);
    const bool keep_latency = distinct_sizes == 1;
    if (keep_latency)
      std::erase_if(fields, [](FitField f) { return f == FitField::latency_us || f == FitField::latency_per_log2_node_us; });
    KernelCalibration k;
    k.params = fit_kernel(def, samples, fields);
    std::vector<std::string> files;
    for (const KernelSample& x : samples) {
      const std::string f = x.label.substr(0, x.label.find(": "));
      if (std::find(files.begin(), files.end(), f) == files.end()) files.push_back(f);
    }
    k.source = fmt::format("epsim calibrate: {} samples of {}", samples.size(), fmt::join(files, ", "));
    KernelFitSummary sum;
    sum.kind = kind;
    sum.samples = static_cast<int>(samples.size());
    sum.dispatch_samples = static_cast<int>(
        std::count_if(samples.begin(), samples.end(), [](const KernelSample& x) { return x.dispatch; }));
    sum.one_node_samples = static_cast<int>(
        std::count_if(samples.begin(), samples.end(), [](const KernelSample& x) { return x.nodes == 1; }));
    sum.exchange_sizes = distinct_sizes;
    sum.fields = static_cast<int>(fields.size());
    sum.default_error = mean_abs_error(predict_samples(def, samples), samples);
    sum.fitted_error = mean_abs_error(predict_samples(k.params, samples), samples);
    cal.exchange_kernels[kind] = std::move(k);
    out.kernels.push_back(sum);
  }
  std::map<LinkKind, CollectiveFitSummary> best;
  for (const CollectiveSamples& c : s.collectives) {
    const std::unique_ptr<RunModel> run = run_model(c, s.network_kind);
    const std::vector<bool> keep = simple_protocol_rows(c, run.get());
    std::vector<double> x, t;
    for (std::size_t i = 0; i < c.bytes.size(); ++i) {
      if (!keep[i]) continue;
      x.push_back(c.bytes[i] * bus_factor(c.op, c.ranks));
      t.push_back(c.time_us[i] * 1e-6);
    }
    LinkFit f;
    try {
      f = fit_link(x, t);
    } catch (const std::invalid_argument& e) {
      throw InputError(c.file, "", fmt::format("nccl-tests rows that fit t = latency + bus bytes / bandwidth: {}", e.what()));
    }
    // The bandwidth is identified only by rows whose time the bytes dominate: at the largest fitted
    // size the line's bandwidth term must be at least half the measured time. Below that (a file cut
    // after its latency-bound sizes) the slope is noise: a 2-node table cut at 64 KiB fitted 1.7 GB/s per
    // GPU and made a 1 GiB all-reduce 20x too slow.
    const std::size_t last =
        static_cast<std::size_t>(std::max_element(x.begin(), x.end()) - x.begin());
    const double bytes_share = x[last] / (f.bandwidth_GBps * 1e9) / t[last];
    if (!(bytes_share >= 0.5))
      throw InputError(c.file, "",
                       fmt::format("{} rows whose largest sizes are bandwidth-bound; its largest fitted row ({:g} B "
                                   "of {}) spends {:.0f}% of its time in the fitted line's bandwidth term, so the "
                                   "bandwidth is not identified (run nccl-tests up to 1 GiB or more: -e 1G)",
                                   c.op, x[last] / bus_factor(c.op, c.ranks), c.op, 100 * std::min(bytes_share, 1.0)));
    CollectiveFitSummary sum;
    sum.file = c.file;
    sum.op = c.op;
    sum.ranks = c.ranks;
    sum.nodes = c.nodes;
    sum.kind = c.nodes > 1 ? s.network_kind : LinkKind::nvlink;
    sum.samples = f.samples;
    // Across nodes the ring's bus bandwidth is the sum of one rail channel per GPU of a node
    // (comm/collectives.cpp ring_bus_bandwidth_GBps): one NIC link carries busbw / GPUs per node.
    // sendrecv (rank r sends to r + 1) is no ring of the node's rails: each rank's bandwidth is its own
    // pair's, and the pairs that cross hosts each run over one GPU's NIC, so the figure is per GPU as
    // measured (16 ranks on 2 hosts read 6.2 GB/s per GPU for a 50 GB/s NIC before).
    const bool ring = c.op != "sendrecv";
    sum.bandwidth_GBps = c.nodes > 1 && ring ? f.bandwidth_GBps / (static_cast<double>(c.ranks) / c.nodes) : f.bandwidth_GBps;
    sum.line_bandwidth_GBps = sum.bandwidth_GBps;
    // Without a model of the run: t = base_latency_us + steps x step latency + bus bytes / bandwidth
    // (comm/collectives.cpp, NCCL's baseLat), the step latency what the intercept leaves after the base,
    // per ring step (intercept / steps counted the base twice: 8.4 us too slow at every size). sendrecv
    // feeds point_to_point, whose latency is the whole intercept. With a model: simple_step_latency_ns.
    const double base_ns = c.op == "sendrecv" ? 0.0 : CollectiveParams{}.base_latency_us * 1e3;
    sum.step_latency_ns = run ? simple_step_latency_ns(*run, sum.kind, sum.bandwidth_GBps, f.latency_ns)
                              : std::max(0.0, f.latency_ns - base_ns) / ring_steps(c.op, c.ranks);
    if (run) {
      sum.nominal_GBps = nominal_per_gpu_GBps(run->topo, sum.kind);
      // A ring's line is the ring's link rate. When the model runs the largest size of a one-node run as
      // NVLS, whose ports are the same NVLink links, the rate is refitted through the model. Across
      // hosts (NCCL's Tree, the NVLS tree) the time mixes NVLink, NVLS and the NIC, and a NIC rate
      // fitted through it would carry the others' error into rings and exchanges (the 2-node IB
      // all_reduce file gave 30.6 GB/s per GPU, NVLS-bound at defaults): the line stays there.
      const std::map<LinkKind, LinkCalibration> as_line = {{sum.kind, LinkCalibration{sum.bandwidth_GBps, sum.step_latency_ns}}};
      const double largest = *std::max_element(c.bytes.begin(), c.bytes.end());
      sum.largest_algorithm =
          CollectiveModel(run->topo, run->routes, with_calibration(run->params, as_line)).cost(run->kind, run->gpus, largest).algorithm;
      if (sum.kind == LinkKind::nvlink && sum.largest_algorithm == CollectiveAlgorithm::nvls) {
        const std::map<LinkKind, LinkCalibration> latency = {{sum.kind, LinkCalibration{std::nullopt, sum.step_latency_ns}}};
        sum.bandwidth_GBps = fit_bandwidth_through_model(c, *run, sum.kind, latency, f, sum.line_bandwidth_GBps);
      }
      const std::map<LinkKind, LinkCalibration> line = {{sum.kind, LinkCalibration{sum.bandwidth_GBps, sum.step_latency_ns}}};
      sum.ll = fit_protocol_latency(c, *run, sum.kind, line, CollectiveProtocol::ll);
      sum.ll128 = fit_protocol_latency(c, *run, sum.kind, line, CollectiveProtocol::ll128);
    }
    out.collectives.push_back(sum);
    // Of several fits of a kind the highest bandwidth wins, but a fit above the link's nominal rate
    // (a 32-node EFA ring reading 52.8 GB/s per GPU on 4 x 12.5) is no link rate: it wins only when
    // every fit of the kind is above.
    auto plausible = [](const CollectiveFitSummary& f) { return !(f.bandwidth_GBps > f.nominal_GBps * (1 + 1e-9)); };
    auto it = best.find(sum.kind);
    if (it == best.end() || (plausible(sum) && !plausible(it->second)) ||
        (plausible(sum) == plausible(it->second) && sum.bandwidth_GBps > it->second.bandwidth_GBps))
      best[sum.kind] = sum;
  }
  // The joint network fit priced Tree with the hosts' Tree share of the network (EFA 0.5, aws_p5_efa_params;
  // 1 on InfiniBand): its written figures carry it when it is not NCCL's 1, so the calibration is used as
  // fitted. (One run's line fit below prices no Tree.)
  auto tree_fraction = [](LinkKind kind) -> std::optional<double> {
    if (!is_network_link(kind)) return std::nullopt;
    const CollectiveParams p = hosts_for(2, kind).params;
    const double f = kind == LinkKind::ethernet ? p.ethernet_tree_bandwidth_fraction : p.network_tree_bandwidth_fraction;
    return f == 1.0 ? std::nullopt : std::optional<double>(f);
  };
  if (std::optional<NetworkFitSummary> n = fit_network(s)) {
    if (!cal.links.count(n->kind))
      cal.links[n->kind] = LinkCalibration{n->bandwidth_GBps, n->latency_ns, n->ll_latency_ns, n->ll128_latency_ns,
                                           tree_fraction(n->kind)};
    out.networks.push_back(std::move(*n));
  }
  for (const auto& [kind, sum] : best)
    if (!cal.links.count(kind))
      cal.links[kind] = LinkCalibration{sum.bandwidth_GBps, sum.step_latency_ns, sum.ll.step_latency_ns,
                                        sum.ll128.step_latency_ns};  // a line fit: it priced no Tree
  // Base latencies from the fit that gives a link its figures: NVLink's first (one node, where no
  // network step shares the fixed cost), then the network kinds' in LinkKind order. Bases already in
  // `cal` stay.
  CollectiveBaseLatencies& bases = cal.collectives;
  for (const auto& [kind, sum] : best) {
    if (cal.links.at(kind).bandwidth_GBps != sum.bandwidth_GBps) continue;  // another source's link figures
    if (!bases.ll_base_latency_us) bases.ll_base_latency_us = sum.ll.base_latency_us;
    if (!bases.ll128_base_latency_us) bases.ll128_base_latency_us = sum.ll128.base_latency_us;
  }
  return out;
}

}  // namespace epsim
