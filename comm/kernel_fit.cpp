#include "comm/kernel_fit.hpp"

#include <algorithm>
#include <functional>
#include <tuple>
#include <cmath>
#include <map>
#include <set>
#include <memory>
#include <numeric>
#include <stdexcept>

#include "comm/exchange_cost.hpp"
#include "comm/link_load.hpp"
#include "comm/token_router.hpp"
#include "topology/generators.hpp"
#include "topology/routing.hpp"

namespace epsim {

namespace {

// What a sample's cost needs that does not depend on the parameters: per link kind the busiest nominal
// link's bytes / nominal bandwidth (the kind's efficiency applies), the busiest already effective link's
// bytes / bandwidth (no efficiency: effective_bandwidth_Bps), and the placement-independent terms.
struct Prepared {
  double nominal_s[4] = {0, 0, 0, 0};  // by LinkKind
  double effective_s = 0;
  ExchangeLoadSummary terms;
  int nodes = 1;
  double sm_s_one_copy = 0;  // SM time at the start parameters with one extra copy per token, s
  bool runs_ll = false;      // the sample's phase runs NCCL's LL protocol at the start parameters
  double channel_s = 0;      // its p2p channel term at the start parameters, s (nccl, hierarchical)
};

std::vector<Prepared> prepare(const ExchangeKernelParams& params, const std::vector<KernelSample>& samples) {
  struct Group {
    std::unique_ptr<Topology> topo;
    std::unique_ptr<RouteTable> routes;
  };
  using TopoKey = std::tuple<int, int, double, double, LinkKind>;  // nodes, GPUs per node, NVLink, NIC, network
  std::map<TopoKey, Group> groups;
  std::map<std::tuple<TopoKey, int, int, bool, int>, std::unique_ptr<EpLinkModel>> models;
  std::vector<Prepared> out;
  for (const KernelSample& s : samples) {
    if (s.nodes < 1 || s.selections <= 0 || s.bytes_per_token <= 0 || s.measured_us <= 0)
      throw std::invalid_argument("kernel fit: a sample needs nodes, selections, bytes and a time > 0");
    if (s.gpus_per_node < 1 || !(s.nvlink_GBps > 0) || !(s.nic_GBps > 0))
      throw std::invalid_argument("kernel fit: a sample needs gpus_per_node >= 1 and bandwidths > 0");
    if (!is_network_link(s.network_kind))
      throw std::invalid_argument("kernel fit: a sample's network kind is infiniband or ethernet");
    const TopoKey tk{s.nodes, s.gpus_per_node, s.nvlink_GBps, s.nic_GBps, s.network_kind};
    Group& g = groups[tk];
    if (!g.topo) {
      DgxClusterOptions o;
      o.nodes = s.nodes;
      o.gpus_per_node = s.gpus_per_node;
      o.nvlink_GBps = s.nvlink_GBps;
      o.nic_GBps = s.nic_GBps;
      o.network_kind = s.network_kind;
      g.topo = std::make_unique<Topology>(generate_dgx_cluster(o));
      g.routes = std::make_unique<RouteTable>(*g.topo);
    }
    const int ep = s.nodes * s.gpus_per_node;
    const int nvl = s.nvlink_same_node ? (*s.nvlink_same_node ? 1 : 0) : -1;
    auto& m = models[{tk, s.experts, s.topk, s.grouped_routing, nvl}];
    if (!m) {
      ExchangeKernelParams kp = params;
      if (s.nvlink_same_node) kp.nvlink_for_same_node = *s.nvlink_same_node;
      ExchangeRouting r{1, 1, s.experts};
      r.top_k = s.topk;
      const KernelDelivery d = kernel_delivery(params.kind);
      if (d == KernelDelivery::node_forwarding || d == KernelDelivery::per_gpu) {
        r = s.grouped_routing ? uniform_routing_statistics(s.experts, s.topk, s.nodes, std::min(s.nodes, 4), ep,
                                                           s.gpus_per_node, 8192, 1, GroupScore::max)
                              : uniform_routing_statistics(s.experts, s.topk, 1, 1, ep, s.gpus_per_node, 8192, 1);
        r.experts = s.experts;
        r.top_k = s.topk;
      }
      m = std::make_unique<EpLinkModel>(*g.topo, *g.routes, ep, kp, r);
    }
    const Exchange dir = s.dispatch ? Exchange::dispatch : Exchange::combine;
    std::vector<double> tokens(static_cast<std::size_t>(ep), s.selections);
    std::vector<double> bytes = exchange_link_bytes(*m, tokens, s.bytes_per_token, dir);
    Prepared p;
    for (int l = 0; l < m->num_links(); ++l) {
      const Link& link = g.topo->link(l);
      auto& slot = link.basis == BandwidthBasis::effective ? p.effective_s : p.nominal_s[static_cast<int>(link.kind)];
      slot = std::max(slot, bytes[static_cast<std::size_t>(l)] / (link.bandwidth_GBps * 1e9));
    }
    p.terms = exchange_load_terms(*m, s.selections * ep, s.selections, s.bytes_per_token);
    p.nodes = m->nodes();
    const KernelPhaseParams& ph = phase_for_nodes(params, s.dispatch, p.nodes);
    if (ph.sm_rate_GBps > 0)
      p.sm_s_one_copy = (p.terms.sm_bytes + p.terms.sm_token_bytes) /
                        (ph.sm_rate_GBps * 1e9 * std::pow(static_cast<double>(std::max(s.sms > 0 ? s.sms : params.sms, 1)),
                                                          ph.sm_exponent));
    out.push_back(p);
  }
  return out;
}

PhaseTime phase_of(const ExchangeKernelParams& k, const KernelSample& s, const Prepared& p) {
  const KernelPhaseParams& ph = phase_for_nodes(k, s.dispatch, p.nodes);
  const double eff[4] = {ph.nvlink_efficiency, ph.pcie_efficiency, ph.infiniband_efficiency, ph.ethernet_efficiency};
  ExchangeLoadSummary sum = p.terms;
  sum.link_s = p.effective_s;
  for (int i = 0; i < 4; ++i) sum.link_s = std::max(sum.link_s, p.nominal_s[i] / eff[i]);
  return phase_time(ph, s.sms > 0 ? s.sms : k.sms, sum);
}

double eval(const ExchangeKernelParams& k, const KernelSample& s, const Prepared& p) { return phase_of(k, s, p).time_us; }

double* field(KernelPhaseParams& p, FitField f) {
  switch (f) {
    case FitField::latency_us: return &p.latency_us;
    case FitField::latency_per_log2_node_us: return &p.latency_per_log2_node_us;
    case FitField::per_remote_expert_us: return &p.per_remote_expert_us;
    case FitField::per_peer_us: return &p.per_peer_us;
    case FitField::nvlink_efficiency: return &p.nvlink_efficiency;
    case FitField::network_efficiency:  // expanded by fit_kernel into the two below
    case FitField::infiniband_efficiency: return &p.infiniband_efficiency;
    case FitField::ethernet_efficiency: return &p.ethernet_efficiency;
    case FitField::sm_rate_GBps: return &p.sm_rate_GBps;
    case FitField::sm_exponent: return &p.sm_exponent;
    case FitField::overlap_exponent: return &p.overlap_exponent;
    case FitField::ramp_half_bytes: return &p.ramp_half_bytes;
    case FitField::ramp_exponent: return &p.ramp_exponent;
    case FitField::ll_latency_us: return &p.ll_latency_us;
    case FitField::ll_bandwidth_GBps: return &p.ll_bandwidth_GBps;
    case FitField::channel_GBps: return &p.channel_GBps;
    case FitField::ll_per_log2_channel_us: return &p.ll_per_log2_channel_us;
    case FitField::per_token_round_us: return &p.per_token_round_us;
    case FitField::sm_copies_per_token: return &p.sm_copies_per_token;
  }
  return &p.latency_us;
}

double clamp_field(FitField f, double v) {
  switch (f) {
    case FitField::nvlink_efficiency:
    case FitField::network_efficiency:
    case FitField::infiniband_efficiency:
    case FitField::ethernet_efficiency: return std::clamp(v, 0.05, 1.0);
    case FitField::sm_exponent: return std::clamp(v, 0.3, 1.5);
    case FitField::overlap_exponent: return std::clamp(v, 1.0, 8.0);
    case FitField::ramp_exponent: return std::clamp(v, 0.05, 4.0);
    case FitField::channel_GBps: return std::clamp(v, 0.1, kKernelMaxRate_GBps);  // 0 would switch the ceiling off
    // Rates stay at or above validate_kernel_params' floor of 0.001 GB/s (0 there means the term is off).
    case FitField::sm_rate_GBps:
    case FitField::ll_bandwidth_GBps: return std::clamp(v, 1e-3, kKernelMaxRate_GBps);
    case FitField::ramp_half_bytes: return std::clamp(v, 0.0, kKernelMaxBytes);
    case FitField::sm_copies_per_token: return std::clamp(v, 0.0, kKernelMaxSmCopiesPerToken);
    // The rest are latencies (us): at most validate_kernel_params' ceiling, so that a fit whose rows
    // leave a latency flat cannot write a value the reader refuses.
    default: return std::clamp(v, 0.0, kKernelMaxLatency_us);
  }
}

// The network ramp's two fields (fit_kernel fits them together or not at all).
bool is_ramp_field(FitField f) { return f == FitField::ramp_half_bytes || f == FitField::ramp_exponent; }

// Where the search starts for an exercised field whose start value is 0 (a term that is off by
// default). Nelder-Mead's first step from 0 is 0.05, too small to find a per-token cost of ~1-3 us
// whose effect is flat near 0 (the max with the link term hides it): start it at 1 us instead. Only the
// search's first point, never a value a fit returns unfitted (an unexercised field keeps its 0).
double search_start_when_zero(FitField f) {
  return f == FitField::per_token_round_us || f == FitField::sm_copies_per_token ? 1.0 : 0.0;
}

// The sample's busiest link time at full efficiency (nominal bandwidths, effective ones as they are), s.
double full_efficiency_link_s(const Prepared& p) {
  double link_s = p.effective_s;
  for (double s : p.nominal_s) link_s = std::max(link_s, s);
  return link_s;
}

// Whether a sample's cost depends on the field at all (its link kind carries bytes, it has remote
// experts, peers, several nodes). A field no sample of a phase exercises keeps its start value: the
// fit cannot identify it, and a value the search wandered to would be used where it does matter
// (deepep-ll fitted on NVLink-disabled rows, then run with NVLink on).
bool exercised(FitField f, const Prepared& p) {
  switch (f) {
    // Where NVLink can bind: its time at full efficiency at least half the sample's busiest link's.
    // On rows whose NICs bind (an all-to-all across nodes: 7/16 of the bytes on 450 GB/s NVLink, 8/16
    // on a 50 GB/s NIC) the efficiency moves nothing until it is absurd, and a fresh-user trial's
    // multi-node alltoall file wrote 0.087 (0.05, the floor, on another), which then made one-node
    // exchanges 9x slow.
    case FitField::nvlink_efficiency: {
      const double nvlink_s = p.nominal_s[static_cast<int>(LinkKind::nvlink)];
      return nvlink_s > 0 && nvlink_s >= 0.5 * full_efficiency_link_s(p);
    }
    case FitField::network_efficiency:
    case FitField::infiniband_efficiency: return p.nominal_s[static_cast<int>(LinkKind::infiniband)] > 0;
    case FitField::ethernet_efficiency: return p.nominal_s[static_cast<int>(LinkKind::ethernet)] > 0;
    case FitField::per_remote_expert_us: return p.terms.remote_experts > 0;
    case FitField::per_peer_us: return p.terms.peers > 0;
    case FitField::latency_per_log2_node_us: return p.nodes > 1;
    // The p2p channel rate: where its ceiling can bind, as the NVLink efficiency above (at the start
    // rate, the channel term at least half the busiest link's full-efficiency time). On NIC-bound rows
    // it moved nothing and a multi-node file wrote 1e6 GB/s, the bound, which then took the channel
    // ceiling and the pipeline fill off every one-node exchange.
    case FitField::channel_GBps: return p.terms.sent_bytes > 0 && p.channel_s >= 0.5 * full_efficiency_link_s(p);
    // NCCL's LL protocol: only rows that run it (nccl: NCCL's threshold on the per-peer message; its
    // latency is flat on rows of large messages, and the search would wander: a multi-node file of 32
    // MiB - 2 GiB per rank wrote an LL latency of 4.7e12 us, which the reader refuses).
    case FitField::ll_latency_us:
    case FitField::ll_bandwidth_GBps:
    case FitField::ll_per_log2_channel_us: return p.runs_ll;
    // The network ramp (nccl, hierarchical): where a Simple exchange crosses nodes over a network
    // (exchange_cost.cpp applies it there only); fit_kernel also wants 3 message sizes of such rows.
    case FitField::ramp_half_bytes:
    case FitField::ramp_exponent:
      return p.nodes > 1 && !p.runs_ll && p.terms.peer_message_bytes > 0 &&
             (p.nominal_s[static_cast<int>(LinkKind::infiniband)] > 0 ||
              p.nominal_s[static_cast<int>(LinkKind::ethernet)] > 0);
    case FitField::per_token_round_us: {
      // Identifiable only where the issue term can bind: a round after the first (the first is in the
      // latency) and, at the search's start of 1 us per round, at least half
      // the sample's link time at full efficiency (else the fit could move it anywhere below the link
      // term: 128-CTA rows are link-bound at every token count).
      return p.terms.issue_rounds >= 1 &&
             p.terms.issue_rounds * search_start_when_zero(f) * 1e-6 >= 0.5 * full_efficiency_link_s(p);
    }
    case FitField::sm_copies_per_token: {
      // The same rule for deepep-normal's per-token SM copies: where the SM term with one extra copy
      // per token reaches half the link time, not where links hide it; and on one node only, where
      // the term was measured (the intranode combine's per-token reduce, docs/validation.md). Across
      // nodes the forwarders' SM work and the RDMA overlap it, and rows there leave it unidentified.
      return p.nodes == 1 && p.terms.sm_token_bytes > 0 && p.sm_s_one_copy >= 0.5 * full_efficiency_link_s(p);
    }
    default: return true;
  }
}


}  // namespace

std::vector<double> minimize_nelder_mead(const std::function<double(const std::vector<double>&)>& f,
                                         std::vector<double> x0) {
  const std::size_t n = x0.size();
  std::vector<std::vector<double>> pts(n + 1, x0);
  for (std::size_t i = 0; i < n; ++i) pts[i + 1][i] = x0[i] != 0 ? x0[i] * 1.3 : 0.05;
  std::vector<double> val(n + 1);
  for (std::size_t i = 0; i <= n; ++i) val[i] = f(pts[i]);
  for (int it = 0; it < 400 * static_cast<int>(n); ++it) {
    std::vector<std::size_t> order(n + 1);
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return val[a] < val[b]; });
    const std::size_t best = order[0], worst = order[n], second = order[n - 1];
    // Converged: every vertex within 1e-12 (relative) of the best and the values equal to 1e-14. Further
    // shrinking moves nothing a fit reports; stopping saves the budget (a 2-parameter network fit over
    // 256-GPU rows took 2 minutes running it out).
    bool converged = val[worst] - val[best] <= 1e-14 * std::abs(val[best]);
    for (std::size_t i = 0; converged && i <= n; ++i)
      for (std::size_t j = 0; converged && j < n; ++j)
        converged = std::abs(pts[i][j] - pts[best][j]) <= 1e-12 * (1.0 + std::abs(pts[best][j]));
    if (converged) break;
    std::vector<double> c(n, 0.0);
    for (std::size_t i = 0; i <= n; ++i)
      if (i != worst)
        for (std::size_t j = 0; j < n; ++j) c[j] += pts[i][j] / static_cast<double>(n);
    auto along = [&](double t) {
      std::vector<double> y(n);
      for (std::size_t j = 0; j < n; ++j) y[j] = c[j] + t * (pts[worst][j] - c[j]);
      return y;
    };
    std::vector<double> r = along(-1.0);
    const double fr = f(r);
    if (fr < val[best]) {
      std::vector<double> e = along(-2.0);
      const double fe = f(e);
      if (fe < fr) pts[worst] = e, val[worst] = fe;
      else pts[worst] = r, val[worst] = fr;
    } else if (fr < val[second]) {
      pts[worst] = r, val[worst] = fr;
    } else {
      std::vector<double> k = along(0.5);
      const double fk = f(k);
      if (fk < val[worst]) {
        pts[worst] = k, val[worst] = fk;
      } else {
        for (std::size_t i = 0; i <= n; ++i)
          if (i != best) {
            for (std::size_t j = 0; j < n; ++j) pts[i][j] = pts[best][j] + 0.5 * (pts[i][j] - pts[best][j]);
            val[i] = f(pts[i]);
          }
      }
    }
  }
  return pts[static_cast<std::size_t>(std::min_element(val.begin(), val.end()) - val.begin())];
}

std::vector<double> predict_samples(const ExchangeKernelParams& params, const std::vector<KernelSample>& samples) {
  std::vector<Prepared> prep = prepare(params, samples);
  std::vector<double> out;
  for (std::size_t i = 0; i < samples.size(); ++i) out.push_back(eval(params, samples[i], prep[i]));
  return out;
}

double mean_abs_error(const std::vector<double>& predicted, const std::vector<KernelSample>& samples) {
  if (samples.empty()) return 0;
  double s = 0;
  for (std::size_t i = 0; i < samples.size(); ++i) s += std::abs(predicted[i] / samples[i].measured_us - 1);
  return s / static_cast<double>(samples.size());
}

ExchangeKernelParams fit_kernel(ExchangeKernelParams start, const std::vector<KernelSample>& samples,
                                const std::vector<FitField>& asked) {
  // network_efficiency: the efficiency of each network kind the samples cross (kernel_fit.hpp).
  std::vector<FitField> requested;
  for (FitField f : asked) {
    if (f != FitField::network_efficiency) requested.push_back(f);
    else requested.insert(requested.end(), {FitField::infiniband_efficiency, FitField::ethernet_efficiency});
  }
  std::vector<Prepared> prep = prepare(start, samples);
  for (std::size_t i = 0; i < samples.size(); ++i) {
    const PhaseTime t = phase_of(start, samples[i], prep[i]);
    prep[i].runs_ll = t.bottleneck == "ll-protocol";
    prep[i].channel_s = t.channel_us * 1e-6;
  }
  // A kernel with one-node phases (ExchangeKernelParams::one_node) fits them on the one-node samples
  // and its other phases on the rest; without, every sample fits the one pair of phases.
  const bool scoped = start.one_node.has_value();
  for (const auto& [one_node, dispatch] : {std::pair{false, true}, {false, false}, {true, true}, {true, false}}) {
    if (one_node && !scoped) continue;
    std::vector<std::size_t> idx;
    for (std::size_t i = 0; i < samples.size(); ++i)
      if (samples[i].dispatch == dispatch && (!scoped || (prep[i].nodes == 1) == one_node)) idx.push_back(i);
    if (idx.empty()) continue;
    // The phase this pass fits, in `start` or in a trial copy of it.
    auto phase_in = [&, one = one_node, d = dispatch](ExchangeKernelParams& k) -> KernelPhaseParams& {
      if (one) return d ? k.one_node->dispatch : k.one_node->combine;
      return d ? k.dispatch : k.combine;
    };
    KernelPhaseParams& ph = phase_in(start);
    std::vector<FitField> fields;
    for (FitField f : requested)
      if (std::any_of(idx.begin(), idx.end(), [&](std::size_t i) { return exercised(f, prep[i]); }))
        fields.push_back(f);
    // The ramp's half point and exponent need rows at 3 or more per-peer message sizes across nodes, at
    // 2 or more node counts, and more rows than the fields fitted with them: with fewer, the half point
    // trades with the network efficiency and the latency (a 2-size file fits any exponent; one node
    // count's 7 sizes of AWS p5 fitted exponent 4, the bound, within 0.6% and then put 16 nodes 250x
    // slow). Its search starts, when off, at the geometric mean of those sizes.
    std::set<double> ramp_sizes;
    std::set<int> ramp_nodes;
    for (std::size_t i : idx)
      if (exercised(FitField::ramp_half_bytes, prep[i])) {
        ramp_sizes.insert(prep[i].terms.peer_message_bytes);
        ramp_nodes.insert(prep[i].nodes);
      }
    if (ramp_sizes.size() < 3 || ramp_nodes.size() < 2 || idx.size() <= fields.size())
      std::erase_if(fields, is_ramp_field);
    if (fields.empty()) continue;
    // One Nelder-Mead search of `fit` from the phase `from` (a field at 0 starts at
    // search_start_when_zero, the ramp's half point at `half_start`): the fitted phase and its mean
    // squared log error.
    auto search = [&](const KernelPhaseParams& from, const std::vector<FitField>& fit, double half_start) {
      ExchangeKernelParams trial = start;
      phase_in(trial) = from;
      std::vector<double> x0;
      KernelPhaseParams& t0 = phase_in(trial);
      // The ramp's half point is searched by its logarithm: it spans decades of bytes, and a step of
      // x 1.3 from a start far from it never gets there (a fit from 2 MiB stalled at 554 KiB for 256).
      auto by_log = [](FitField f) { return f == FitField::ramp_half_bytes; };
      for (FitField f : fit) {
        const double v = *field(t0, f) != 0 ? *field(t0, f) : f == FitField::ramp_half_bytes ? half_start : search_start_when_zero(f);
        x0.push_back(by_log(f) ? std::log(v) : v);
      }
      // exp of at most 700 (e^709 is the largest double) before the clamp to kKernelMaxBytes.
      auto apply = [&](const std::vector<double>& x) {
        KernelPhaseParams& t = phase_in(trial);
        for (std::size_t j = 0; j < fit.size(); ++j)
          *field(t, fit[j]) = clamp_field(fit[j], by_log(fit[j]) ? std::exp(std::min(x[j], 700.0)) : x[j]);
      };
      auto objective = [&](const std::vector<double>& x) {
        apply(x);
        double sum = 0;
        for (std::size_t i : idx) {
          const double r = std::log(eval(trial, samples[i], prep[i]) / samples[i].measured_us);
          sum += r * r;
        }
        return sum / static_cast<double>(idx.size());
      };
      const std::vector<double> x = fit.empty() ? x0 : minimize_nelder_mead(objective, x0);
      const double err = objective(x);
      return std::pair<KernelPhaseParams, double>{phase_in(trial), err};
    };
    const bool ramp_fitted = std::find(fields.begin(), fields.end(), FitField::ramp_half_bytes) != fields.end();
    if (!ramp_fitted || ph.ramp_half_bytes > 0) {
      ph = search(ph, fields, 0.0).first;
      continue;
    }
    // A ramp that starts off: the fit without it, and with it from the start's values and from that
    // fit's, the half point at the geometric mean of the rows' sizes; the best of the three. The ramp
    // trades with the efficiency and the latency, and any one search can stall on that ridge (rows
    // made without a ramp came back at efficiency 0.65 for 0.6; rows made with one, from the flat fit's
    // latency, at no ramp and 7% off).
    double log_sum = 0;
    for (double m : ramp_sizes) log_sum += std::log(m);
    const double half_start = std::exp(log_sum / static_cast<double>(ramp_sizes.size()));
    std::vector<FitField> without = fields;
    std::erase_if(without, is_ramp_field);
    const auto flat = search(ph, without, 0.0);  // with no other field: the start's own error
    std::pair<KernelPhaseParams, double> best = flat;
    for (const KernelPhaseParams& from : {ph, flat.first}) {
      const auto ramped = search(from, fields, half_start);
      if (ramped.second < best.second) best = ramped;
    }
    ph = best.first;
  }
  return start;
}

}  // namespace epsim
