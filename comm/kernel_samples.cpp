#include "comm/kernel_samples.hpp"

#include <algorithm>
#include <set>
#include <tuple>

#include <fmt/format.h>

#include "comm/token_router.hpp"
#include "common/error.hpp"

namespace epsim {

namespace {

constexpr int kLlTokens = 128;  // NCCL EP and DeepEP PR 521 LL: 128 tokens per rank (PROVENANCE.md)
constexpr int kHidden = 7168;   // DeepSeek-V3 hidden size, every published EP table
constexpr int kDeepEpHeader = 16;  // deepep-ll's per-message header (comm/kernels/deepep_ll.cpp)

KernelSample base(int nodes, int experts, int topk, double selections, bool dispatch, double bytes, double us,
                  int group, std::string label) {
  KernelSample s;
  s.nodes = nodes;
  s.experts = experts;
  s.topk = topk;
  s.selections = selections;
  s.dispatch = dispatch;
  s.bytes_per_token = bytes;
  s.measured_us = us;
  s.group = group;
  s.label = std::move(label);
  return s;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

}  // namespace

double fp8_token_bytes(int hidden) { return hidden * kFp8DispatchBytesPerElement; }
double bf16_token_bytes(int hidden) { return hidden * kBf16BytesPerElement; }

std::vector<KernelSample> deepep_ll_samples(const std::vector<DeepEpLlRow>& rows) {
  std::vector<KernelSample> out;
  for (const DeepEpLlRow& r : rows)
    for (bool d : {true, false}) {
      KernelSample s = base(r.nodes, r.experts, r.topk, r.selections(), d,
                            d ? fp8_token_bytes(r.hidden) : bf16_token_bytes(r.hidden), d ? r.dispatch_us : r.combine_us,
                            r.nodes,
                            fmt::format("{} nodes, hidden {}, {} tokens, top-{}, {} experts", r.nodes, r.hidden, r.tokens,
                                        r.topk, r.experts));
      s.gpus_per_node = kAicDeepEpGpusPerNode;  // the reader's node size (its GPU cap counts nodes of it)
      out.push_back(s);
    }
  return out;
}

std::vector<KernelSample> deepep_normal_samples(const std::vector<DeepEpNormalRow>& rows) {
  std::vector<KernelSample> out;
  for (const DeepEpNormalRow& r : rows)
    for (bool d : {true, false}) {
      KernelSample s = base(r.nodes, r.experts, r.topk, static_cast<double>(r.tokens) * r.topk, d,
                            d ? fp8_token_bytes(r.hidden) : bf16_token_bytes(r.hidden),
                            d ? r.dispatch_us : r.combine_us, r.tokens,
                            fmt::format("{} nodes, hidden {}, {} tokens, top-{}, {} experts, {} SMs", r.nodes, r.hidden,
                                        r.tokens, r.topk, r.experts, d ? r.sms : r.combine_sms));
      s.sms = d ? r.sms : r.combine_sms;
      s.gpus_per_node = kAicDeepEpGpusPerNode;  // the reader checked the routing on nodes of this size
      s.grouped_routing = true;
      out.push_back(s);
    }
  return out;
}

std::vector<KernelSample> nccl_ep_samples(const std::vector<NcclEpRow>& rows) {
  std::vector<KernelSample> out;
  const double sel = kLlTokens * 8.0;
  for (const NcclEpRow& r : rows) {
    if (r.gpus != r.nodes * 8)
      throw InputError("NCCL EP table", fmt::format("line {}", r.line),
                       fmt::format("num_gpus = 8 x node_count, found {} and {}", r.gpus, r.nodes));
    for (bool d : {true, false}) {
      const double bytes = bf16_token_bytes(kHidden);
      const double us = sel * bytes / ((d ? r.dispatch_GBps : r.combine_GBps) * 1e3);
      out.push_back(base(r.nodes, 256, 8, sel, d, bytes, us, r.nodes, fmt::format("EP {} (BF16)", r.gpus)));
    }
  }
  return out;
}

std::vector<KernelSample> deepep_pr521_ll_samples(const std::vector<DeepEpPr521LlRow>& rows) {
  std::vector<KernelSample> out;
  for (const DeepEpPr521LlRow& r : rows) {
    if (r.ep % 8 != 0)
      throw InputError("DeepEP PR 521 LL table", fmt::format("line {}", r.line), "an ep_size that is a multiple of 8");
    for (bool d : {true, false}) {
      const double bytes = d ? fp8_token_bytes(kHidden) : bf16_token_bytes(kHidden);
      // DeepEP's LL bandwidth counts the message bytes (header included in dispatch).
      const double counted = d ? bytes + kDeepEpHeader : bytes;
      const double us = d ? r.dispatch_us : r.combine_us;
      const double sel = (d ? r.dispatch_GBps : r.combine_GBps) * us * 1e3 / counted;
      KernelSample s = base(r.ep / 8, 256, 8, std::min(sel, kLlTokens * 8.0), d, bytes, us, r.ep,
                            fmt::format("{} EP {}", r.backend, r.ep));
      s.nvlink_same_node = false;
      out.push_back(s);
    }
  }
  return out;
}

std::vector<KernelSample> deepep_bandwidth_samples(const std::vector<DeepEpBandwidthRow>& rows,
                                                   const DeepEpBandwidthSetting& st) {
  std::vector<KernelSample> out;
  for (const DeepEpBandwidthRow& r : rows) {
    const int ep = r.nodes * r.gpus_per_node;
    const ExchangeRouting routing =
        st.grouped ? uniform_routing_statistics(st.experts, st.topk, r.nodes, std::min(r.nodes, 4), ep, r.gpus_per_node,
                                                8192, 1, GroupScore::max)
                   : uniform_routing_statistics(st.experts, st.topk, 1, 1, ep, r.gpus_per_node, 8192, 1);
    // DeepEP's count: (token, node) pairs incl. the own node across nodes; (token, GPU) pairs in one node.
    const double pairs = static_cast<double>(st.tokens) * st.topk * (r.nodes > 1 ? routing.node_factor : routing.gpu_factor);
    for (bool d : {true, false}) {
      const double bytes = d ? fp8_token_bytes(st.hidden) : bf16_token_bytes(st.hidden);
      KernelSample s = base(r.nodes, st.experts, st.topk, static_cast<double>(st.tokens) * st.topk, d, bytes,
                            pairs * bytes / ((d ? r.dispatch_GBps : r.combine_GBps) * 1e3), r.nodes,
                            fmt::format("{} EP {}{}", r.label, ep, r.sms ? fmt::format(", {} SMs", r.sms) : ""));
      s.sms = r.sms > 0 ? r.sms : st.sms;
      s.grouped_routing = st.grouped;
      s.gpus_per_node = r.gpus_per_node;
      s.nvlink_GBps = st.nvlink_GBps;
      s.nic_GBps = st.nic_GBps;
      out.push_back(s);
    }
  }
  return out;
}

std::vector<DeepEpBandwidthRow> hybrid_ep_rows(const std::vector<HybridEpRow>& rows) {
  std::vector<DeepEpBandwidthRow> out;
  for (const HybridEpRow& r : rows) {  // ranks: a multiple of 8 (read_hybrid_ep_table checks it)
    DeepEpBandwidthRow b;
    b.line = r.line;
    b.label = "Hybrid-EP kernel";
    b.nodes = r.ranks / 8;
    b.sms = r.sms;
    b.dispatch_GBps = r.kernel_dispatch_fp8_GBps;
    b.combine_GBps = r.kernel_combine_GBps;
    b.dispatch_link = b.combine_link = "RDMA";
    out.push_back(b);
  }
  return out;
}

DeepEpBandwidthSetting hybrid_ep_setting(int ranks) {
  DeepEpBandwidthSetting s;
  s.experts = 8 * ranks;  // 8 local experts per rank
  s.grouped = false;      // uniform random router
  return s;
}

namespace {
// One row of the TensorRT-LLM blog's setting: one NVLink domain of `ep` GB200 GPUs, batch x top-8
// selections of 256 experts.
KernelSample onesided_sample(int ep, int batch, bool dispatch, double bytes_per_token, double us, int group,
                             std::string label) {
  KernelSample s = base(1, 256, 8, batch * 8.0, dispatch, bytes_per_token, us, group, std::move(label));
  s.gpus_per_node = ep;  // one NVLink domain
  s.nvlink_GBps = 900;   // GB200: NVLink 5, 1.8 TB/s bidirectional per GPU
  return s;
}
}  // namespace

std::vector<KernelSample> onesided_samples(const std::vector<OneSidedRow>& rows) {
  std::vector<KernelSample> out;
  for (const OneSidedRow& r : rows)
    for (bool d : {true, false})
      out.push_back(onesided_sample(r.ep, r.batch, d, bf16_token_bytes(kHidden), d ? r.dispatch_us : r.combine_us,
                                    r.ep, fmt::format("EP {}, batch {}", r.ep, r.batch)));
  return out;
}

std::vector<KernelSample> onesided_payload_samples(const std::vector<OneSidedPayloadRow>& rows) {
  std::vector<KernelSample> out;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const OneSidedPayloadRow& r = rows[i];
    out.push_back(onesided_sample(r.ep, r.batch, true, r.bytes_per_token, r.dispatch_us, static_cast<int>(i),
                                  fmt::format("{} ({:.0f} B per token), EP {}, batch {}", r.recipe, r.bytes_per_token,
                                              r.ep, r.batch)));
  }
  return out;
}

std::vector<KernelSample> nccl_alltoall_samples(const std::vector<NcclPerfRow>& rows, double nvlink_GBps) {
  std::map<std::pair<int, double>, std::vector<double>> times;
  std::set<double> sizes;
  for (const NcclPerfRow& r : rows) {
    if (r.op != "alltoall") continue;
    times[{r.gpus, r.bytes()}].push_back(r.time_us);
    sizes.insert(r.bytes());
  }
  const std::vector<double> size_list(sizes.begin(), sizes.end());
  std::vector<KernelSample> out;
  for (const auto& [key, t] : times) {
    const auto [gpus, bytes] = key;
    const int index = static_cast<int>(std::lower_bound(size_list.begin(), size_list.end(), bytes) - size_list.begin());
    // One "expert" per GPU, one selection per destination: S / gpus bytes from every rank to every rank.
    // An all-to-all has no direction: the same row is a dispatch and a combine sample, so that both
    // phases of the nccl kernel (the same grouped send/recv) are fitted.
    for (bool dispatch : {true, false}) {
      KernelSample s = base(1, gpus, 1, gpus, dispatch, bytes / gpus, median(t), index,
                            fmt::format("{} GPUs, {:.0f} B per rank{}", gpus, bytes, dispatch ? "" : " (combine)"));
      s.gpus_per_node = gpus;
      s.nvlink_GBps = nvlink_GBps;
      out.push_back(s);
    }
  }
  return out;
}

std::map<ExchangeKernelKind, std::vector<KernelSample>> kernel_samples_from_file(const std::filesystem::path& path,
                                                                                CommTableKind kind) {
  std::map<ExchangeKernelKind, std::vector<KernelSample>> out;
  auto add = [&](ExchangeKernelKind k, std::vector<KernelSample> v) {
    for (KernelSample& s : v) s.label = path.filename().string() + ": " + s.label;
    auto& dst = out[k];
    dst.insert(dst.end(), v.begin(), v.end());
  };
  switch (kind) {
    case CommTableKind::aic_deepep_ll: add(ExchangeKernelKind::deepep_ll, deepep_ll_samples(read_deepep_ll_table(path))); break;
    case CommTableKind::aic_deepep_normal:
      add(ExchangeKernelKind::deepep_normal, deepep_normal_samples(read_deepep_normal_table(path)));
      break;
    case CommTableKind::nccl_ep_ll: add(ExchangeKernelKind::deepep_ll, nccl_ep_samples(read_nccl_ep_table(path))); break;
    case CommTableKind::deepep_pr521_ll:
      add(ExchangeKernelKind::deepep_ll, deepep_pr521_ll_samples(read_deepep_pr521_ll(path)));
      break;
    case CommTableKind::deepep_pr521_normal:
      add(ExchangeKernelKind::deepep_normal, deepep_bandwidth_samples(read_deepep_pr521_normal(path), {}));
      break;
    case CommTableKind::deepep_h800_normal: {
      DeepEpBandwidthSetting st;
      st.nvlink_GBps = 200;  // H800: NVLink 400 GB/s bidirectional (model/gpu_spec.cpp)
      add(ExchangeKernelKind::deepep_normal, deepep_bandwidth_samples(read_deepep_h800_normal(path), st));
      break;
    }
    case CommTableKind::deepep_v2_normal: {
      DeepEpBandwidthSetting st;
      st.tokens = 8192;
      for (const DeepEpBandwidthRow& r : read_deepep_v2_normal(path)) {
        st.nvlink_GBps = r.label.rfind("SM100", 0) == 0 ? 900 : 450;  // B200 NVLink 5 / H100 NVLink 4
        add(ExchangeKernelKind::deepep_normal, deepep_bandwidth_samples({r}, st));
      }
      break;
    }
    case CommTableKind::hybrid_ep:
      for (const DeepEpBandwidthRow& r : hybrid_ep_rows(read_hybrid_ep_table(path)))
        add(ExchangeKernelKind::hybrid_ep, deepep_bandwidth_samples({r}, hybrid_ep_setting(r.nodes * 8)));
      break;
    case CommTableKind::onesided_nvlink:
      add(ExchangeKernelKind::nvlink_one_sided, onesided_samples(read_onesided_table(path)));
      break;
    case CommTableKind::onesided_payload:
      add(ExchangeKernelKind::nvlink_one_sided, onesided_payload_samples(read_onesided_payload_table(path)));
      break;
    case CommTableKind::aic_nccl_perf: add(ExchangeKernelKind::nccl, nccl_alltoall_samples(read_aic_nccl_perf(path))); break;
    default: break;
  }
  return out;
}

std::vector<FitField> calibration_fields(ExchangeKernelKind kind) {
  switch (kind) {
    case ExchangeKernelKind::deepep_ll:
      return {FitField::latency_us, FitField::per_remote_expert_us, FitField::network_efficiency,
              FitField::nvlink_efficiency, FitField::per_token_round_us};
    case ExchangeKernelKind::deepep_normal:
      return {FitField::latency_us, FitField::latency_per_log2_node_us, FitField::network_efficiency,
              FitField::sm_rate_GBps, FitField::sm_exponent, FitField::nvlink_efficiency, FitField::sm_copies_per_token};
    case ExchangeKernelKind::hybrid_ep:
      // Not the NVLink efficiency: the published Hybrid-EP rows are all across nodes, where the RDMA
      // and the SMs bound the kernel, so no row can tell an NVLink limit from an RDMA one. Fitted, it
      // took EP 32-64's plateau for NVLink at ~106 GB/s per GPU (a quarter of H100's) and held out EP
      // 16 went 89-109% slow (docs/validation.md). It stays at NCCL's figure for the hardware.
      return {FitField::latency_us, FitField::latency_per_log2_node_us, FitField::network_efficiency,
              FitField::sm_rate_GBps, FitField::sm_exponent};
    case ExchangeKernelKind::nvlink_one_sided:
      return {FitField::latency_us, FitField::per_peer_us, FitField::nvlink_efficiency, FitField::overlap_exponent};
    case ExchangeKernelKind::nccl:
    case ExchangeKernelKind::hierarchical:
      // network_efficiency and the network ramp: only where samples cross a network (multi-node
      // alltoall_perf runs; the ramp at 3 or more per-peer sizes); one node's leaves them at their
      // defaults (kernel_fit.hpp: a field no sample exercises is kept).
      return {FitField::latency_us, FitField::nvlink_efficiency, FitField::network_efficiency, FitField::channel_GBps,
              FitField::ll_latency_us, FitField::ll_bandwidth_GBps, FitField::ll_per_log2_channel_us,
              FitField::ramp_half_bytes, FitField::ramp_exponent};
  }
  return {};
}

}  // namespace epsim
