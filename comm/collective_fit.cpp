#include "comm/collective_fit.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <memory>
#include <numeric>

#include <fmt/format.h>

#include "comm/kernel_fit.hpp"
#include "common/error.hpp"

namespace epsim {

namespace {

// One generated cluster per node count, with its routes (built once per fit, reused by every evaluation).
struct Cluster {
  Topology topology;
  std::unique_ptr<RouteTable> routes;
  std::vector<int> gpus;
};

class Clusters {
 public:
  explicit Clusters(const DgxClusterOptions& base) : base_(base) {}
  const Cluster& of(int nodes) {
    auto it = by_nodes_.find(nodes);
    if (it != by_nodes_.end()) return *it->second;
    DgxClusterOptions o = base_;
    o.nodes = nodes;
    auto c = std::make_unique<Cluster>();
    c->topology = generate_dgx_cluster(o);
    c->routes = std::make_unique<RouteTable>(c->topology);
    c->gpus.resize(static_cast<std::size_t>(c->topology.num_gpus()));
    std::iota(c->gpus.begin(), c->gpus.end(), 0);
    return *by_nodes_.emplace(nodes, std::move(c)).first->second;
  }

 private:
  DgxClusterOptions base_;
  std::map<int, std::unique_ptr<Cluster>> by_nodes_;
};

void check_rows(const std::vector<CollectiveRow>& rows) {
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const CollectiveRow& r = rows[i];
    if (r.nodes < 1 || !(r.bytes > 0) || !std::isfinite(r.bytes) || !(r.measured_busbw_GBps > 0) ||
        !std::isfinite(r.measured_busbw_GBps))
      throw InputError(fmt::format("collective row {}: nodes must be >= 1, bytes and measured busbw finite and > 0 "
                                   "(got {}, {}, {})",
                                   i, r.nodes, r.bytes, r.measured_busbw_GBps));
  }
}

std::vector<double> predict(const CollectiveParams& params, Clusters& clusters, const std::vector<CollectiveRow>& rows) {
  // Rows of one collective at one node count are priced together (the group's routes once).
  std::map<std::pair<int, CollectiveKind>, std::vector<std::size_t>> runs;
  for (std::size_t i = 0; i < rows.size(); ++i) runs[{rows[i].nodes, rows[i].kind}].push_back(i);
  std::vector<double> out(rows.size());
  std::vector<double> sizes;
  for (const auto& [run, members] : runs) {
    const Cluster& c = clusters.of(run.first);
    const CollectiveModel model(c.topology, *c.routes, params);
    sizes.clear();
    for (std::size_t i : members) sizes.push_back(rows[i].bytes);
    const std::vector<CollectiveResult> r = model.cost(run.second, c.gpus, sizes);
    for (std::size_t k = 0; k < members.size(); ++k) out[members[k]] = r[k].busbw_GBps;
  }
  return out;
}

}  // namespace

std::vector<double> predict_busbw(const CollectiveParams& params, const DgxClusterOptions& cluster,
                                  const std::vector<CollectiveRow>& rows) {
  check_rows(rows);
  Clusters clusters(cluster);
  return predict(params, clusters, rows);
}

double collective_mean_abs_error(const std::vector<double>& predicted, const std::vector<CollectiveRow>& rows) {
  if (predicted.size() != rows.size() || rows.empty()) return 0.0;
  double sum = 0;
  for (std::size_t i = 0; i < rows.size(); ++i) sum += std::abs(predicted[i] / rows[i].measured_busbw_GBps - 1.0);
  return sum / static_cast<double>(rows.size());
}

CollectiveFit fit_network_efficiency(const CollectiveParams& start, LinkKind kind, const DgxClusterOptions& cluster,
                                     const std::vector<CollectiveRow>& rows, FitStepLatency fit_latency) {
  if (!is_network_link(kind))
    throw InputError(fmt::format("fit_network_efficiency: kind must be infiniband or ethernet, got {}", to_string(kind)));
  if (rows.empty()) throw InputError("fit_network_efficiency: no rows to fit");
  check_rows(rows);
  Clusters clusters(cluster);
  const bool eth = kind == LinkKind::ethernet;
  const double ll128_0 = eth ? start.ethernet_ll128_step_latency_us : start.network_ll128_step_latency_us;
  auto with = [&](double e, double ll128_us) {
    CollectiveParams p = start;
    (eth ? p.ethernet_efficiency : p.network_efficiency) = std::clamp(e, 0.05, 1.0);
    const double shift = std::clamp(ll128_us, 0.0, kMaxFittedStepLatency_us) - ll128_0;
    for (double* f : eth ? std::array{&p.ethernet_step_latency_us, &p.ethernet_ll_step_latency_us,
                                      &p.ethernet_ll128_step_latency_us}
                         : std::array{&p.network_step_latency_us, &p.network_ll_step_latency_us,
                                      &p.network_ll128_step_latency_us})
      *f = std::max(0.0, *f + shift);
    return p;
  };
  const bool fit_l = fit_latency == FitStepLatency::yes;
  auto params_of = [&](const std::vector<double>& x) { return with(x[0], fit_l ? x[1] : ll128_0); };
  auto loss = [&](const std::vector<double>& x) {
    const std::vector<double> pred = predict(params_of(x), clusters, rows);
    double sum = 0;
    for (std::size_t i = 0; i < rows.size(); ++i) sum += std::pow(std::log(pred[i] / rows[i].measured_busbw_GBps), 2);
    return sum / static_cast<double>(rows.size());
  };
  const double e0 = eth ? start.ethernet_efficiency : start.network_efficiency;
  std::vector<double> x0{e0};
  if (fit_l) x0.push_back(ll128_0);
  const std::vector<double> x = minimize_nelder_mead(loss, x0);
  CollectiveFit fit;
  fit.params = params_of(x);
  fit.efficiency = eth ? fit.params.ethernet_efficiency : fit.params.network_efficiency;
  fit.ll128_step_latency_us = eth ? fit.params.ethernet_ll128_step_latency_us : fit.params.network_ll128_step_latency_us;
  fit.mean_abs_error = collective_mean_abs_error(predict(fit.params, clusters, rows), rows);
  return fit;
}

}  // namespace epsim
