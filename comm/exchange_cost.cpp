#include "comm/exchange_cost.hpp"

#include <algorithm>
#include <cmath>
#include <tuple>
#include <vector>
#include <stdexcept>

#include <fmt/format.h>

#include "common/error.hpp"
#include "common/limits.hpp"

namespace epsim {

double effective_bandwidth_Bps(const KernelPhaseParams& p, const Link& link) {
  // An already effective bandwidth (NCCL XML import) is not discounted again.
  if (link.basis == BandwidthBasis::effective) return link.bandwidth_GBps * 1e9;
  double eff = 1;
  switch (link.kind) {
    case LinkKind::nvlink: eff = p.nvlink_efficiency; break;
    case LinkKind::pcie: eff = p.pcie_efficiency; break;
    case LinkKind::infiniband: eff = p.infiniband_efficiency; break;
    case LinkKind::ethernet: eff = p.ethernet_efficiency; break;
  }
  return link.bandwidth_GBps * 1e9 * eff;
}

namespace {
// NCCL's LL step: DEFAULT_LL_BUFFSIZE (NCCL_LL_LINES_PER_THREAD 8 x NCCL_LL_MAX_NTHREADS 512 x NCCL_STEPS 8
// x 16-byte ncclLLFifoLine = 512 KiB) / NCCL_STEPS (src/include/device.h, src/init.cc).
constexpr double kLlStepBytes = 65536;
}  // namespace

P2pPlan p2p_plan(const KernelPhaseParams& p, double m, int peers, int nodes) {
  if (!(p.p2p_channels >= 1) || !(m >= 0) || peers < 0 || nodes < 1)
    throw std::invalid_argument("p2p_plan: needs p2p_channels >= 1, message >= 0, peers >= 0, nodes >= 1");
  const int total = static_cast<int>(p.p2p_channels);
  const int ranks = peers + 1;
  const bool multi = nodes > 1;
  int most = total;
  if (multi) {
    most = std::max(1, static_cast<int>(p.net_channels_per_peer));
    while (most * ranks > 4 * total && most > 1) most /= 2;
    most = std::min(most, total);
  }
  int least = most;
  while (least * ranks > total && least > 1) least /= 2;
  P2pPlan plan;
  plan.ll = p.ll_threshold_bytes > 0 && p.ll_bandwidth_GBps > 0 && m <= most * p.ll_threshold_bytes;
  plan.step_bytes = plan.ll ? kLlStepBytes : (multi ? p.net_chunk_bytes : p.p2p_chunk_bytes);
  const double step = plan.step_bytes > 0 ? plan.step_bytes : kLlStepBytes;
  const double min_part = multi ? step / 2 : step / 8;
  const double max_part = multi ? step : step * 32;
  const double wanted = std::max(1.0, std::ceil(m / min_part));
  int c = wanted < least ? static_cast<int>(wanted) : least;
  while (m / c > max_part && c <= most / 2) c *= 2;
  plan.channels_per_peer = c;
  plan.concurrent_channels = static_cast<int>(std::min<long long>(total, static_cast<long long>(peers) * c));
  return plan;
}

PhaseTime phase_time(const KernelPhaseParams& p, int sms, const ExchangeLoadSummary& l) {
  for (double v : {l.link_s, l.sm_bytes, l.sm_token_bytes, l.self_bytes, l.sent_bytes, l.peer_message_bytes,
                   l.remote_experts, l.issue_rounds})
    if (!(v >= 0) || !std::isfinite(v)) throw std::invalid_argument("phase_time: negative or non-finite load");
  if (l.peers < 0 || l.nodes < 1) throw std::invalid_argument("phase_time: peers < 0 or nodes < 1");
  PhaseTime t;
  if (l.link_s == 0 && l.sm_bytes == 0 && l.self_bytes == 0 && l.sent_bytes == 0 && l.issue_rounds == 0) return t;
  const bool channels = p.p2p_channels >= 1;
  P2pPlan plan;
  if (channels) {
    plan = p2p_plan(p, l.peer_message_bytes, l.peers, l.nodes);
    t.channels_per_peer = plan.channels_per_peer;
  }
  t.per_message_us = p.per_remote_expert_us * l.remote_experts + p.per_peer_us * l.peers;
  t.latency_us = p.latency_us + p.latency_per_log2_node_us * std::log2(static_cast<double>(l.nodes)) + t.per_message_us;
  t.link_us = l.link_s * 1e6 + (p.self_copy_GBps > 0 ? l.self_bytes / (p.self_copy_GBps * 1e3) : 0.0);
  const double sm_work = l.sm_bytes + p.sm_copies_per_token * l.sm_token_bytes;
  if (p.sm_rate_GBps > 0 && sm_work > 0)
    t.sm_us = sm_work / (p.sm_rate_GBps * 1e3 * std::pow(static_cast<double>(std::max(sms, 1)), p.sm_exponent));
  // deepep-ll's issuing SMs each send their tokens in turn (DeepEP internode_ll.cu: token_idx += num_sms).
  const double issue_us = l.issue_rounds * p.per_token_round_us;
  const bool issue_bound = issue_us > t.sm_us;
  t.sm_us = std::max(t.sm_us, issue_us);
  if (channels && p.channel_GBps > 0 && plan.concurrent_channels > 0) {
    t.channel_us = l.sent_bytes / (plan.concurrent_channels * p.channel_GBps * 1e3);
    // The first chunk crosses one copy stage with the channel's warps to itself (2 x channel_GBps: the
    // same split of a channel between two copies that halves its steady rate) before the stages overlap.
    if (l.sent_bytes > 0)
      t.fill_us = std::min(l.peer_message_bytes / plan.channels_per_peer, plan.step_bytes) / (2 * p.channel_GBps * 1e3);
  }
  // The ramp: without p2p channels on every exchange (the form before them); with them only across
  // nodes, where it stands for the network transport's per-message cost (proxy, NIC, EFA's SRD). On one
  // node the channel ceiling and the pipeline fill are NCCL's own account of small messages, and
  // AIConfigurator's one-node table rejected a ramp on top (docs/validation.md).
  const bool ramp_applies = !channels || l.nodes > 1;
  if (ramp_applies && p.ramp_half_bytes > 0 && l.peer_message_bytes > 0)
    t.ramp = 1.0 / (1.0 + std::pow(p.ramp_half_bytes / l.peer_message_bytes, p.ramp_exponent));
  const double steady = std::max({t.link_us, t.sm_us, t.channel_us});
  const double body = (steady + t.fill_us) / t.ramp;
  const double q = std::max(1.0, p.overlap_exponent);
  t.time_us = q == 1.0 ? t.latency_us + body : std::pow(std::pow(t.latency_us, q) + std::pow(body, q), 1.0 / q);
  t.bottleneck = body == 0 ? "latency" : (t.sm_us > t.link_us ? (issue_bound ? "issue" : "sm") : "link");
  if (t.channel_us > std::max(t.link_us, t.sm_us)) t.bottleneck = "channel";
  // The network ramp costs more than the steady terms it divides (ramp < 0.5): per-message cost rules.
  if (t.ramp < 0.5) t.bottleneck = "ramp";
  if (t.latency_us > body && body > 0) t.bottleneck = "latency";
  if (p.ll_bandwidth_GBps > 0 && (!channels || plan.ll)) {
    // LL moves 8 data bytes per 16-byte line (NCCL src/device/prims_ll.h, union ncclLLFifoLine: data1,
    // flag1, data2, flag2), so its links carry twice the data: across nodes the NIC, not the LL
    // ceiling, bounds it (before, LL ignored the links and read 145 GB/s on 4 nodes of 50 GB/s NICs).
    const double ll_lat = p.ll_latency_us + p.per_peer_us * l.peers +
                          (channels ? p.ll_per_log2_channel_us * std::log2(static_cast<double>(plan.channels_per_peer)) : 0.0);
    const double ll = ll_lat +
                      std::max(l.sent_bytes / (p.ll_bandwidth_GBps * 1e3), 2.0 * l.link_s * 1e6);
    if (channels || ll < t.time_us) {  // with p2p channels NCCL's threshold, not the time, picks LL
      t.time_us = ll;
      t.latency_us = ll_lat;  // the protocol that ran
      t.per_message_us = p.per_peer_us * l.peers;
      t.channel_us = t.fill_us = 0;
      t.bottleneck = "ll-protocol";
    }
  }
  return t;
}

double notify_time_us(const ExchangeKernelParams& k, int nodes) {
  if (!has_notify_phase(k.kind) || nodes <= 1) return 0;
  return k.notify_latency_us + k.notify_per_log2_node_us * std::log2(static_cast<double>(nodes));
}

void validate_kernel_params(const ExchangeKernelParams& k, const std::string& where, const std::string& pointer_prefix) {
  auto fail = [&](const std::string& field, const std::string& expected) {
    throw InputError(where, pointer_prefix + field, expected);
  };
  // Physical ceilings (exchange_cost.hpp, docs/limits.md).
  constexpr double kMaxUs = kKernelMaxLatency_us, kMaxGBps = kKernelMaxRate_GBps, kMaxBytes = kKernelMaxBytes;
  // Floors: an efficiency below 0.1% or a rate below 1 MB/s is a unit error, not a measurement.
  constexpr double kMinEfficiency = 1e-3, kMinGBps = 1e-3;
  if (k.sms < 1 || k.sms > limits::kMaxGpuSms)
    fail("/sms", fmt::format("SMs in [1, {}], found {}", limits::kMaxGpuSms, k.sms));
  if (k.device_sms < 0 || k.device_sms > 100000)
    fail("/device_sms", fmt::format("0 (not used) or a GPU's SM count up to 100000, found {}", k.device_sms));
  for (const auto& [field, v, max] : {std::tuple<const char*, double, double>{"notify_latency_us", k.notify_latency_us, kMaxUs},
                                      {"notify_per_log2_node_us", k.notify_per_log2_node_us, kMaxUs},
                                      {"header_bytes_per_token", k.header_bytes_per_token, kMaxBytes}})
    if (!(v >= 0 && v <= max)) fail(std::string("/") + field, fmt::format("a number in [0, {:g}], found {}", max, v));
  std::vector<std::pair<const char*, const KernelPhaseParams*>> phases = {{"dispatch", &k.dispatch},
                                                                         {"combine", &k.combine}};
  if (k.one_node) {
    phases.emplace_back("one_node/dispatch", &k.one_node->dispatch);
    phases.emplace_back("one_node/combine", &k.one_node->combine);
  }
  for (const auto& [name, p] : phases) {
    const std::string at = fmt::format("/{}/", name);
    for (const auto& [field, v] : {std::pair<const char*, double>{"nvlink_efficiency", p->nvlink_efficiency},
                                   {"pcie_efficiency", p->pcie_efficiency},
                                   {"infiniband_efficiency", p->infiniband_efficiency},
                                   {"ethernet_efficiency", p->ethernet_efficiency}})
      if (!(v >= kMinEfficiency && v <= 1))
        fail(at + field, fmt::format("an efficiency in [{:g}, 1], found {}", kMinEfficiency, v));
    for (const auto& [field, v, max] : {std::tuple<const char*, double, double>{"latency_us", p->latency_us, kMaxUs},
                                        {"latency_per_log2_node_us", p->latency_per_log2_node_us, kMaxUs},
                                        {"per_remote_expert_us", p->per_remote_expert_us, kMaxUs},
                                        {"per_peer_us", p->per_peer_us, kMaxUs},
                                        {"sm_rate_GBps", p->sm_rate_GBps, kMaxGBps},
                                        {"self_copy_GBps", p->self_copy_GBps, kMaxGBps},
                                        {"ramp_half_bytes", p->ramp_half_bytes, kMaxBytes},
                                        {"ll_latency_us", p->ll_latency_us, kMaxUs},
                                        {"ll_bandwidth_GBps", p->ll_bandwidth_GBps, kMaxGBps},
                                        {"p2p_channels", p->p2p_channels, 1024},
                                        {"channel_GBps", p->channel_GBps, kMaxGBps},
                                        {"p2p_chunk_bytes", p->p2p_chunk_bytes, kMaxBytes},
                                        {"net_chunk_bytes", p->net_chunk_bytes, kMaxBytes},
                                        {"net_channels_per_peer", p->net_channels_per_peer, 1024},
                                        {"ll_threshold_bytes", p->ll_threshold_bytes, kMaxBytes},
                                        {"ll_per_log2_channel_us", p->ll_per_log2_channel_us, kMaxUs},
                                        {"per_token_round_us", p->per_token_round_us, kMaxUs},
                                        {"sm_copies_per_token", p->sm_copies_per_token, kKernelMaxSmCopiesPerToken}})
      if (!(v >= 0 && v <= max)) fail(at + field, fmt::format("a number in [0, {:g}], found {}", max, v));
    // A rate is 0 (the term is off) or at least kMinGBps, as a calibrated link bandwidth: a tiny positive
    // rate would make a finite exchange take ~1e300 us.
    for (const auto& [field, v] : {std::pair<const char*, double>{"sm_rate_GBps", p->sm_rate_GBps},
                                   {"self_copy_GBps", p->self_copy_GBps},
                                   {"ll_bandwidth_GBps", p->ll_bandwidth_GBps},
                                   {"channel_GBps", p->channel_GBps}})
      if (v != 0 && v < kMinGBps) fail(at + field, fmt::format("0 (off) or at least {:g} GB/s, found {}", kMinGBps, v));
    // Channel counts are whole (NCCL counts CTAs); a fractional count would be truncated silently.
    for (const auto& [field, v] : {std::pair<const char*, double>{"p2p_channels", p->p2p_channels},
                                   {"net_channels_per_peer", p->net_channels_per_peer}})
      if (v != std::floor(v)) fail(at + field, fmt::format("a whole number of channels, found {}", v));
    if (p->p2p_channels >= 1 && !(p->p2p_chunk_bytes > 0 && p->net_chunk_bytes > 0))
      fail(at + "p2p_chunk_bytes", "p2p_chunk_bytes and net_chunk_bytes > 0 when p2p_channels is set");
    if (!(p->sm_exponent > 0 && p->sm_exponent <= 2)) fail(at + "sm_exponent", fmt::format("an exponent in (0, 2], found {}", p->sm_exponent));
    if (!(p->ramp_exponent > 0 && p->ramp_exponent <= 4)) fail(at + "ramp_exponent", fmt::format("an exponent in (0, 4], found {}", p->ramp_exponent));
    if (!(p->overlap_exponent >= 1 && p->overlap_exponent <= 16)) fail(at + "overlap_exponent", fmt::format("an exponent in [1, 16], found {}", p->overlap_exponent));
  }
}

}  // namespace epsim
