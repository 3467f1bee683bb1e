#include "comm/link_load.hpp"
#include "comm/kernel_legs.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <unordered_map>

#include <fmt/format.h>

#include "common/error.hpp"
#include "common/limits.hpp"
#include "topology/nic_path.hpp"

namespace epsim {

namespace {

// Accumulates the legs of one rank's row in a dense scratch and compresses them to a sorted LinkRow.
class RowBuilder {
 public:
  explicit RowBuilder(std::size_t links) : dense_(links, 0.0) {}
  void add(const std::vector<RouteHop>& hops, double weight) {
    for (const RouteHop& h : hops) {
      auto l = static_cast<std::size_t>(h.link);
      if (dense_[l] == 0.0) touched_.push_back(h.link);
      dense_[l] += weight * h.fraction;
    }
  }
  void flush(LinkRow& row) {
    std::sort(touched_.begin(), touched_.end());
    row.clear();
    row.reserve(touched_.size());
    for (int l : touched_) {
      row.emplace_back(l, dense_[static_cast<std::size_t>(l)]);
      dense_[static_cast<std::size_t>(l)] = 0.0;
    }
    touched_.clear();
  }

 private:
  std::vector<double> dense_;
  std::vector<int> touched_;
};

// Copies sent and received per selection through the kernel's SMs (ExchangeLoadSummary::sm_bytes).
// hybrid-ep: one G2S load per (token, node) pair the GPU distributes inside its node, its own tokens
// and the ones its rail peers sent, counted on the received side; the RDMA puts and the TMA stores to
// each destination GPU take no SM copy (comm/kernels/hybrid_ep.cpp).
std::pair<double, double> sm_copies_per_selection(ExchangeKernelKind kind, const ExchangeRouting& r) {
  if (kind == ExchangeKernelKind::hybrid_ep) return {0.0, r.node_factor};
  switch (kernel_delivery(kind)) {
    case KernelDelivery::node_forwarding: return {r.node_factor, r.gpu_factor};
    case KernelDelivery::per_gpu: return {r.gpu_factor, r.gpu_factor};
    default: return {1.0, 1.0};
  }
}

// Hierarchical's two phases from one direction's placement-independent terms (exchange_load_terms or
// a summary of them): phase 1 (NVLink, inside the node: peers = GPUs per node - 1, one node) with
// link time link_a; phase 2 (the rails: peers = nodes - 1, no self copy, one rail message carries a
// node's copies) with link time link_b.
std::pair<ExchangeLoadSummary, ExchangeLoadSummary> hierarchical_phases(const EpLinkModel& model,
                                                                        const ExchangeLoadSummary& terms,
                                                                        double link_a, double link_b) {
  ExchangeLoadSummary a = terms, b = terms;
  a.link_s = link_a;
  a.peers = model.gpus_per_node() - 1;
  a.nodes = 1;
  b.link_s = link_b;
  b.peers = model.nodes() - 1;
  b.self_bytes = 0;
  b.peer_message_bytes *= model.gpus_per_node();
  return {a, b};
}

}  // namespace

EpLinkModel::EpLinkModel(const Topology& topology, const RouteTable& routes, int ep, ExchangeKernelParams kernel,
                         ExchangeRouting routing, int base)
    : topology_(&topology), ep_(ep), base_(base), kernel_(std::move(kernel)), routing_(routing) {
  if (base < 0 || ep < 1 || base + ep > topology.num_gpus())
    throw InputError(fmt::format("EP size {} must be between 1 and the topology's {} GPUs", ep, topology.num_gpus()));
  if (ep > limits::kMaxEpRanks)
    throw InputError(fmt::format("EP {} GPUs: epsim evaluates all-to-alls over at most {} GPUs (docs/limits.md); the "
                                 "EP^2 routes of a larger one do not fit this machine's time and memory budget",
                                 ep, limits::kMaxEpRanks));
  validate_kernel_params(kernel_, "exchange kernel " + std::string(to_string(kernel_.kind)));
  std::map<int, int> per_host;
  for (int g = base; g < base + ep; ++g) ++per_host[topology.gpu_host(g)];
  nodes_ = static_cast<int>(per_host.size());
  for (const auto& [h, n] : per_host) gpus_per_node_ = std::max(gpus_per_node_, n);
  kernel_ = kernel_for_nodes(std::move(kernel_), nodes_);  // one node: the kernel's one-node phases
  if (!(routing_.gpu_factor > 0 && routing_.gpu_factor <= 1 && routing_.node_factor > 0 && routing_.node_factor <= 1))
    throw std::invalid_argument("EpLinkModel: de-duplication factors must be in (0, 1]");
  const auto L = static_cast<std::size_t>(topology.num_links());
  nominal_Bps_.resize(L);
  dispatch_Bps_.resize(L);
  combine_Bps_.resize(L);
  intra_.resize(L);
  for (std::size_t l = 0; l < L; ++l) {
    const Link& link = topology.link(static_cast<int>(l));
    nominal_Bps_[l] = link.bandwidth_GBps * 1e9;
    dispatch_Bps_[l] = effective_bandwidth_Bps(kernel_.dispatch, link);
    combine_Bps_[l] = effective_bandwidth_Bps(kernel_.combine, link);
    intra_[l] = link.kind == LinkKind::nvlink ? 1 : 0;  // hierarchical phase 1; PCIe belongs to the NIC path
  }

  auto rows = std::make_shared<ClassRows>();
  rows->into.resize(static_cast<std::size_t>(ep));
  rows->out_of.resize(static_cast<std::size_t>(ep));
  std::array<LinkRow, 3> in_class, out_class;  // one rank's rows per leg class
  const KernelDelivery delivery = kernel_delivery(kernel_.kind);
  std::array<RowBuilder, 3> in_row = {RowBuilder(L), RowBuilder(L), RowBuilder(L)};
  std::array<RowBuilder, 3> out_row = {RowBuilder(L), RowBuilder(L), RowBuilder(L)};
  RouteScratch scratch;
  std::vector<RouteHop> hops;
  enum { kOne = 0, kGpu = 1, kNode = 2 };
  // Forwarded kernels repeat their legs across a host's destinations: s -> its rail peer p on host H
  // serves every GPU of H, and p -> d every source on p's rail (two_phase: q -> d every GPU of q's
  // host). Their hops are kept per destination host (cleared when it changes), so each such leg is
  // expanded once per host instead of once per destination GPU: the same hops, the same rows bit for
  // bit; ~0.15 MB per host at EP 1024 on p5. Direct legs (s -> d) never repeat: not kept.
  const bool keep_legs = delivery == KernelDelivery::node_forwarding || delivery == KernelDelivery::two_phase;
  std::unordered_map<std::uint64_t, std::vector<RouteHop>> kept_legs;
  int kept_for_host = -1;
  auto leg = [&](int a, int b, int cls, std::array<RowBuilder, 3>& row) {  // GPU ranks
    if (a == b) return;
    if (keep_legs) {
      const std::uint64_t key = (static_cast<std::uint64_t>(static_cast<std::uint32_t>(a)) << 32) | static_cast<std::uint32_t>(b);
      auto it = kept_legs.find(key);
      if (it == kept_legs.end()) {
        std::vector<RouteHop> h;
        routes.append_route(a, b, scratch, h);
        it = kept_legs.emplace(key, std::move(h)).first;
      }
      row[static_cast<std::size_t>(cls)].add(it->second, 1.0);
      return;
    }
    hops.clear();
    routes.append_route(a, b, scratch, hops);
    row[static_cast<std::size_t>(cls)].add(hops, 1.0);
  };
  // deepep-ll with NVLink disabled: a same-host peer's bytes leave through the sender's NIC and come
  // back in through the receiver's (topology/nic_path.hpp); the GPUs' NIC paths, built once.
  const bool same_host_via_nic = !same_node_over_nvlink(kernel_);
  std::vector<std::vector<RouteHop>> nic_up, nic_down;
  if (same_host_via_nic)
    for (int g = base; g < base + ep; ++g) {
      nic_up.push_back(nic_path(topology, g, NicDirection::up));
      nic_down.push_back(nic_path(topology, g, NicDirection::down));
    }
  auto nic_leg = [&](int a, int b, int cls, std::array<RowBuilder, 3>& row) {  // GPU ranks on one host
    row[static_cast<std::size_t>(cls)].add(nic_up[static_cast<std::size_t>(a - base)], 1.0);
    row[static_cast<std::size_t>(cls)].add(nic_down[static_cast<std::size_t>(b - base)], 1.0);
  };
  for (int dr = 0; dr < ep; ++dr) {
    const int d = base + dr;
    const int hd = topology.gpu_host(d);
    if (keep_legs && hd != kept_for_host) {
      kept_legs.clear();
      kept_for_host = hd;
    }
    for (int s = base; s < base + ep; ++s) {
      if (s == d) continue;
      const int hs = topology.gpu_host(s);
      switch (delivery) {
        case KernelDelivery::per_expert:
        case KernelDelivery::per_gpu: {
          const int cls = delivery == KernelDelivery::per_gpu ? kGpu : kOne;
          if (same_host_via_nic && hs == hd) {
            nic_leg(s, d, cls, in_row);
            nic_leg(d, s, cls, out_row);
            break;
          }
          leg(s, d, cls, in_row);
          leg(d, s, cls, out_row);
          break;
        }
        case KernelDelivery::node_forwarding: {
          int p = hs == hd || hd < 0 ? -1 : routes.rail_peer(s, hd);
          if (p < base || p >= base + ep) p = -1;  // no rail peer inside the EP group: sent directly
          if (p < 0) {
            leg(s, d, kGpu, in_row);
            leg(d, s, kGpu, out_row);
          } else {
            leg(s, p, kNode, in_row);
            leg(p, d, kGpu, in_row);
            leg(d, p, kGpu, out_row);
            leg(p, s, kNode, out_row);
          }
          break;
        }
        case KernelDelivery::two_phase: {
          int q = hs == hd || hs < 0 ? -1 : routes.rail_peer(d, hs);
          if (q < base || q >= base + ep) q = -1;
          if (q < 0) {
            leg(s, d, kOne, in_row);
            leg(d, s, kOne, out_row);
          } else {
            leg(s, q, kOne, in_row);
            leg(q, d, kOne, in_row);
            leg(d, q, kOne, out_row);
            leg(q, s, kOne, out_row);
          }
          break;
        }
      }
    }
    for (std::size_t c = 0; c < 3; ++c) {
      in_row[c].flush(in_class[c]);
      out_row[c].flush(out_class[c]);
    }
    rows->into[static_cast<std::size_t>(dr)] = merge_classes(in_class);
    rows->out_of[static_cast<std::size_t>(dr)] = merge_classes(out_class);
    if (dr == 0) {
      // Every rank's rows are about as long as the first's (each sums routes from all other ranks): refuse
      // a model whose rows would exceed the memory budget before building them (limits.hpp).
      const double entries = static_cast<double>(rows->into[0].size() + rows->out_of[0].size());
      const double estimate = static_cast<double>(ep) * entries * (sizeof(ClassEntry) + sizeof(LinkRow::value_type));
      if (estimate > limits::kMaxEpLinkModelBytes)
        throw InputError(fmt::format(
            "EP {} GPUs over this topology: the all-to-all's link model would take about {:.1f} GiB ({:.0f} link "
            "entries per rank), above epsim's {:.0f} GiB budget (docs/limits.md, \"EP link model\"): evaluate a "
            "smaller EP group, or a topology with fewer links per route (NICs per GPU, spines)",
            ep, estimate / (1024.0 * 1024 * 1024), entries, limits::kMaxEpLinkModelBytes / (1024.0 * 1024 * 1024)));
    }
  }
  if (kernel_.kind == ExchangeKernelKind::nvlink_one_sided)
    for (const ClassRow& row : rows->into)
      for (const ClassEntry& e : row)
        if (topology.link(e.link).kind != LinkKind::nvlink)
          throw ExchangeKernelRefusal(
              ExchangeKernelRefusal::Cause::outside_nvlink_domain,
              fmt::format("exchange kernel nvlink-one-sided writes into its peers' memory over NVLink only (one "
                          "NVLink domain, e.g. a GB200 NVL72 rack), but EP {} GPUs {}..{} of the topology reach each "
                          "other over {} link {}: choose another kernel or an EP group inside one NVLink domain",
                          ep, base, base + ep - 1, to_string(topology.link(e.link).kind), topology.link_name(e.link)));
  class_rows_ = std::move(rows);
  combine_rows();
}

EpLinkModel::ClassRow EpLinkModel::merge_classes(const std::array<LinkRow, 3>& classes) {
  ClassRow merged;
  std::array<std::size_t, 3> at{0, 0, 0};
  for (;;) {
    int link = -1;  // the smallest link not yet merged
    for (std::size_t c = 0; c < 3; ++c)
      if (at[c] < classes[c].size() && (link < 0 || classes[c][at[c]].first < link)) link = classes[c][at[c]].first;
    if (link < 0) return merged;
    ClassEntry e{link, {0.0, 0.0, 0.0}};
    for (std::size_t c = 0; c < 3; ++c)
      if (at[c] < classes[c].size() && classes[c][at[c]].first == link) e.coef[c] = classes[c][at[c]++].second;
    merged.push_back(e);
  }
}

void EpLinkModel::combine_rows() {
  // row(l) = sum over the classes c (in order 0, 1, 2) that use l of coef_c x w_c, accumulated from 0.0:
  // the same additions in the same order as summing the class rows link by link.
  const double w[3] = {1.0, routing_.gpu_factor, routing_.node_factor};
  auto combine = [&](const std::vector<ClassRow>& from, std::vector<LinkRow>& to) {
    to.resize(from.size());
    for (std::size_t d = 0; d < from.size(); ++d) {
      LinkRow& row = to[d];
      row.clear();
      row.reserve(from[d].size());
      for (const ClassEntry& e : from[d]) {
        double v = 0.0;
        for (std::size_t c = 0; c < 3; ++c)
          if (e.coef[c] != 0.0) v += e.coef[c] * w[c];
        row.emplace_back(e.link, v);
      }
    }
  };
  combine(class_rows_->into, into_);
  combine(class_rows_->out_of, out_of_);
}

EpLinkModel::EpLinkModel(const EpLinkModel& other, ExchangeRouting routing)
    : topology_(other.topology_), ep_(other.ep_), base_(other.base_), nodes_(other.nodes_),
      gpus_per_node_(other.gpus_per_node_), kernel_(other.kernel_), routing_(routing), class_rows_(other.class_rows_),
      nominal_Bps_(other.nominal_Bps_), dispatch_Bps_(other.dispatch_Bps_), combine_Bps_(other.combine_Bps_),
      intra_(other.intra_) {
  combine_rows();
}

EpLinkModel EpLinkModel::with_routing(ExchangeRouting routing) const {
  if (!(routing.gpu_factor > 0 && routing.gpu_factor <= 1 && routing.node_factor > 0 && routing.node_factor <= 1))
    throw std::invalid_argument("EpLinkModel: de-duplication factors must be in (0, 1]");
  return EpLinkModel(*this, routing);
}

int ep_gpus_per_node(const Topology& topology, int ep) {
  std::map<int, int> per_host;
  for (int g = 0; g < std::min(ep, topology.num_gpus()); ++g) ++per_host[topology.gpu_host(g)];
  int most = 1;
  for (const auto& [h, n] : per_host) most = std::max(most, h < 0 ? 1 : n);
  return most;
}

std::vector<double> exchange_link_bytes(const EpLinkModel& model, const std::vector<double>& gpu_tokens,
                                        double bytes_per_token, Exchange direction) {
  std::vector<double> bytes(static_cast<std::size_t>(model.num_links()), 0.0);
  const double per_token = model.wire_bytes(bytes_per_token) / model.ep();
  for (int d = 0; d < model.ep(); ++d) {
    double t = gpu_tokens[static_cast<std::size_t>(d)];
    if (t == 0.0) continue;
    for (const auto& [l, c] : model.row(d, direction)) bytes[static_cast<std::size_t>(l)] += t * per_token * c;
  }
  return bytes;
}

ExchangeLoadSummary exchange_load_summary(const EpLinkModel& model, const std::vector<double>& link_bytes,
                                          const std::vector<double>& gpu_tokens, double bytes_per_token,
                                          Exchange direction, int gpu, int intra) {
  ExchangeLoadSummary s;
  auto offer = [&](int l) {
    if (intra >= 0 && model.intra_node_link(l) != (intra == 1)) return;
    const double b = link_bytes[static_cast<std::size_t>(l)];
    if (b <= 0) return;
    const double t = b / model.bandwidth_Bps(l, direction);
    if (t > s.link_s) {
      s.link_s = t;
      s.bottleneck_link = l;
    }
  };
  if (gpu < 0) {
    for (int l = 0; l < model.num_links(); ++l) offer(l);
  } else {
    for (const auto& [l, c] : model.into(gpu)) offer(l);
    for (const auto& [l, c] : model.out_of(gpu)) offer(l);
  }
  const double total = std::accumulate(gpu_tokens.begin(), gpu_tokens.end(), 0.0);
  double max_tokens = 0;
  if (gpu >= 0) max_tokens = gpu_tokens[static_cast<std::size_t>(gpu)];
  else
    for (double t : gpu_tokens) max_tokens = std::max(max_tokens, t);
  ExchangeLoadSummary terms = exchange_load_terms(model, total, max_tokens, bytes_per_token);
  terms.link_s = s.link_s;
  terms.bottleneck_link = s.bottleneck_link;
  s = terms;
  if (total <= 0) s = ExchangeLoadSummary{};
  return s;
}

int deepep_ll_issue_sms(int expert_slots, int device_sms) {
  if (expert_slots < 1 || device_sms < 1) return 0;
  const int groups = (expert_slots + device_sms - 1) / device_sms;  // warp groups per CTA
  return (expert_slots + groups - 1) / groups;
}

double deepep_ll_issue_rounds(const ExchangeKernelParams& kernel, const ExchangeRouting& routing, double sent_selections) {
  if (kernel.kind != ExchangeKernelKind::deepep_ll || routing.top_k < 1 || !(sent_selections > 0)) return 0;
  const int slots = routing.expert_slots > 0 ? routing.expert_slots : routing.experts;
  const int sms = deepep_ll_issue_sms(slots, kernel.device_sms);
  if (sms < 1) return 0;
  return std::ceil(sent_selections / routing.top_k / sms) - 1;  // the first token's round is in latency_us
}

ExchangeLoadSummary exchange_load_terms(const EpLinkModel& model, double total, double max_tokens,
                                        double bytes_per_token) {
  ExchangeLoadSummary s;
  const int ep = model.ep();
  bytes_per_token = model.wire_bytes(bytes_per_token);
  const auto [send_f, recv_f] = sm_copies_per_selection(model.kernel().kind, model.routing());
  const double sent_sel = total / ep;  // selections each rank originates (data-parallel attention)
  s.sm_bytes = bytes_per_token * (sent_sel * send_f + max_tokens * recv_f);
  if (model.routing().top_k >= 1) s.sm_token_bytes = bytes_per_token * sent_sel / model.routing().top_k;
  s.self_bytes = bytes_per_token * max_tokens / ep;
  s.sent_bytes = bytes_per_token * sent_sel * (ep - 1) / ep;
  s.peer_message_bytes = bytes_per_token * sent_sel / ep;
  s.peers = ep - 1;
  s.nodes = model.nodes();
  const int experts = model.routing().experts > 0 ? model.routing().experts : ep;
  const bool nvlink = same_node_over_nvlink(model.kernel());
  const int near = nvlink ? std::min(ep, model.gpus_per_node()) : 1;
  s.remote_experts = static_cast<double>(experts) * (ep - near) / ep;
  s.issue_rounds = deepep_ll_issue_rounds(model.kernel(), model.routing(), sent_sel);
  return s;
}

double exchange_time_s(const EpLinkModel& model, double link_s_lb, double total, double max_tokens_lb,
                       double bytes_per_token, Exchange direction) {  // header added by exchange_load_terms
  if (total <= 0) return 0;
  ExchangeLoadSummary s = exchange_load_terms(model, total, max_tokens_lb, bytes_per_token);
  const KernelPhaseParams& p = model.phase(direction);
  const double notify = direction == Exchange::dispatch ? notify_time_us(model.kernel(), model.nodes()) : 0.0;
  if (model.kernel().kind == ExchangeKernelKind::hierarchical && model.nodes() > 1) {
    // The busiest link belongs to one of the two phases, the other phase's busiest link carries >= 0:
    // the time is at least the smaller of the two assignments (each phase's closed form is
    // non-decreasing in its link time, so this bounds exchange_cost for any split of link_s_lb).
    const int sms = model.kernel().sms;
    auto phases = [&](double link_a, double link_b) {
      const auto [a, b] = hierarchical_phases(model, s, link_a, link_b);
      return phase_time(p, sms, a).time_us + phase_time(p, sms, b).time_us;
    };
    return (std::min(phases(link_s_lb, 0), phases(0, link_s_lb)) + notify) * 1e-6;
  }
  s.link_s = link_s_lb;
  return (phase_time(p, model.kernel().sms, s).time_us + notify) * 1e-6;
}

ExchangeCost exchange_cost(const EpLinkModel& model, const std::vector<double>& link_bytes,
                           const std::vector<double>& gpu_tokens, double bytes_per_token, Exchange direction, int gpu) {
  ExchangeCost cost;
  const KernelPhaseParams& p = model.phase(direction);
  const int sms = model.kernel().sms;
  if (model.kernel().kind == ExchangeKernelKind::hierarchical && model.nodes() > 1) {
    const ExchangeLoadSummary intra =
        exchange_load_summary(model, link_bytes, gpu_tokens, bytes_per_token, direction, gpu, 1);
    const ExchangeLoadSummary net =
        exchange_load_summary(model, link_bytes, gpu_tokens, bytes_per_token, direction, gpu, 0);
    auto [a, b] = hierarchical_phases(model, intra, intra.link_s, net.link_s);
    a.bottleneck_link = intra.bottleneck_link;
    b.bottleneck_link = net.bottleneck_link;
    PhaseTime ta = phase_time(p, sms, a), tb = phase_time(p, sms, b);
    cost.phase = tb;
    cost.phase.time_us = ta.time_us + tb.time_us;
    cost.phase.latency_us = ta.latency_us + tb.latency_us;
    cost.phase.per_message_us = ta.per_message_us + tb.per_message_us;
    cost.phase.link_us = ta.link_us + tb.link_us;
    const ExchangeLoadSummary& worst = a.link_s > b.link_s ? a : b;
    cost.busiest_link = worst.bottleneck_link;
    cost.bottleneck_s = worst.link_s;
  } else {
    ExchangeLoadSummary s = exchange_load_summary(model, link_bytes, gpu_tokens, bytes_per_token, direction, gpu);
    cost.phase = phase_time(p, sms, s);
    cost.busiest_link = s.bottleneck_link;
    cost.bottleneck_s = s.link_s;
  }
  // deepep-normal's notify (metadata all-to-all) runs before every dispatch.
  if (direction == Exchange::dispatch && cost.phase.time_us > 0) {
    const double n = notify_time_us(model.kernel(), model.nodes());
    cost.phase.time_us += n;
    cost.phase.latency_us += n;
  }
  if (cost.busiest_link >= 0) cost.busiest_link_bytes = link_bytes[static_cast<std::size_t>(cost.busiest_link)];
  cost.latency_s = cost.phase.latency_us * 1e-6;
  return cost;
}

double kernel_latency_us(const ExchangeKernelParams& kernel, bool dispatch, const Topology& topology, int base, int ep,
                         int experts) {
  std::map<int, int> per_host;
  for (int g = base; g < base + ep && g < topology.num_gpus(); ++g) ++per_host[topology.gpu_host(g)];
  int gpn = 1;
  for (const auto& [h, n] : per_host) gpn = std::max(gpn, h < 0 ? 1 : n);
  const int nodes = static_cast<int>(per_host.size());
  const KernelPhaseParams& p = phase_for_nodes(kernel, dispatch, nodes);
  const int e = experts > 0 ? experts : ep;
  const bool nvlink = same_node_over_nvlink(kernel);
  const int near = nvlink ? std::min(ep, gpn) : 1;
  double us = p.latency_us + p.latency_per_log2_node_us * std::log2(static_cast<double>(std::max(1, nodes))) +
              p.per_remote_expert_us * e * (ep - near) / ep + p.per_peer_us * (ep - 1);
  if (dispatch) us += notify_time_us(kernel, nodes);
  return us;
}

}  // namespace epsim
