// `epsim predict collective`: one collective on a topology from the collective model
// (comm/collectives.hpp; alltoall: the nccl exchange kernel, comm/exchange_cost.hpp), with nccl-tests'
// algbw and busbw (nccl-tests doc/PERFORMANCE.md), optionally calibrated (comm/calibration.hpp).
#include <cmath>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "cli/cli_checks.hpp"
#include "cli/calibration_input.hpp"
#include "cli/commands.hpp"
#include "comm/calibration.hpp"
#include "comm/exchange_prediction.hpp"
#include "comm/link_load.hpp"
#include "common/error.hpp"
#include "common/json_output.hpp"
#include "common/json_input.hpp"
#include "comm/collectives.hpp"
#include "topology/routing.hpp"
#include "topology/topology_json.hpp"

namespace epsim::cli {

namespace {

struct CollectiveOptions {
  std::string topology;
  std::string op;
  double bytes = 0;
  std::optional<int> gpus;  ///< absent: every GPU of the topology
  std::string calibration;
  std::optional<double> nccl_buffsize;  ///< NCCL_BUFFSIZE of the run, bytes; absent: NCCL's default 4 MiB
  bool json = false;
};

void run_collective(const CollectiveOptions& o) {
  check_output_paths({{"--topology", o.topology}, {"--calibration", o.calibration}}, {});
  // At most 1e15 B (1 PB, docs/limits.md): larger sizes overflow the time to inf.
  if (!(o.bytes >= 1 && o.bytes <= 1e15 && o.bytes == std::floor(o.bytes)))
    throw UsageError(fmt::format("--bytes {}: a whole number of bytes in [1, 1e15]", o.bytes));
  if (!parse_collective_kind(o.op) && o.op != "alltoall")
    throw UsageError(fmt::format("--op '{}': expected all_reduce, all_gather, reduce_scatter or alltoall", o.op));
  // NCCL_BUFFSIZE (kNcclMinBuffsizeBytes..kNcclMaxBuffsizeBytes): the collectives' pipeline; the
  // all-to-all's p2p chunks are NCCL's NCCL_P2P_*_CHUNKSIZE, which it does not set.
  if (o.nccl_buffsize) {
    const double b = *o.nccl_buffsize;
    if (!(b >= kNcclMinBuffsizeBytes && b <= kNcclMaxBuffsizeBytes && b == std::floor(b)))
      throw UsageError(fmt::format("--nccl-buffsize {}: a whole number of bytes in [{}, {}]", b, kNcclMinBuffsizeBytes,
                                   kNcclMaxBuffsizeBytes));
    if (o.op == "alltoall")
      throw UsageError("--nccl-buffsize: sets the collectives' pipeline step (NCCL_BUFFSIZE / 8); the all-to-all's "
                       "send/recv chunks are NCCL_P2P_NET_CHUNKSIZE / NCCL_P2P_NVL_CHUNKSIZE, not modelled by it");
  }
  const Topology topo = load_topology(o.topology);
  const int n = o.gpus.value_or(topo.num_gpus());
  // A collective of one GPU moves nothing (time 0, algbw undefined): at least 2.
  if (n < 2 || n > topo.num_gpus())
    throw UsageError(fmt::format("--gpus {} must be between 2 and the {} GPUs of {}", n, topo.num_gpus(), o.topology));
  const RouteTable routes(topo);
  std::vector<std::string> notices;
  const std::optional<Calibration> cal = load_command_calibration(o.calibration, topo, &notices);
  // An Ethernet network is priced as RoCE (NCCL's InfiniBand constants, through the same net_ib
  // transport), collectives and the all-to-all alike; AWS EFA differs (aws-ofi-nccl's latencies, EFA's
  // rate), which only a calibration says.
  // A calibration's ethernet section counts when it holds a rate or a step latency (a Tree fraction alone
  // leaves RoCE's figures in place).
  // The all-to-all's figures are the nccl kernel's (calibrate fits its ethernet_efficiency and ramp from an
  // alltoall_perf run over --network ethernet); the shipped EFA file holds collective figures only.
  const bool alltoall = o.op == "alltoall";
  const bool ethernet_priced =
      cal && (alltoall ? cal->exchange_kernels.count(ExchangeKernelKind::nccl) > 0
                       : cal->links.count(LinkKind::ethernet) && cal->links.at(LinkKind::ethernet).sets_rate_or_latency());
  if (CollectiveModel(topo, routes).network_kind() == LinkKind::ethernet && !ethernet_priced)
    notices.push_back(alltoall ? "the Ethernet network is priced as RoCE (the nccl kernel's defaults); for AWS EFA "
                                 "calibrate the nccl kernel from an alltoall_perf run over EFA (epsim calibrate "
                                 "--network ethernet) and give it as --calibration"
                               : "the Ethernet network is priced as RoCE (NCCL's InfiniBand constants); for AWS EFA "
                                 "give --calibration scenarios/calibrations/aws-p5-efa.json (EFA's fitted rate and "
                                 "52-55 us per network step)");
  std::vector<int> group(static_cast<std::size_t>(n));
  for (int g = 0; g < n; ++g) group[static_cast<std::size_t>(g)] = g;
  double time_us = 0, factor = 0;
  std::string algorithm, protocol, bottleneck;
  if (o.op == "alltoall") {
    // nccl-tests alltoall: `bytes` per rank, bytes / n to every rank (itself included), grouped
    // send/recv: the nccl kernel with one "expert" per GPU and one copy per destination.
    const CalibratedKernel k = calibrated_kernel_params(ExchangeKernelKind::nccl, cal ? &*cal : nullptr, o.calibration, topo);
    if (!k.notice.empty()) notices.push_back(k.notice);
    const EpLinkModel links(topo, routes, n, k.params, ExchangeRouting{1, 1, n});
    const AlltoallPrediction a = predict_alltoall(links, o.bytes);
    const ExchangeCost& c = a.cost;
    time_us = c.phase.time_us;
    factor = static_cast<double>(n - 1) / n;
    algorithm = "nccl all-to-all (grouped send/recv)";
    bottleneck = std::string(c.phase.bottleneck);
    if (c.busiest_link >= 0 && bottleneck == "link") bottleneck += " " + topo.link_name(c.busiest_link);
  } else {
    const CollectiveKind kind = parse_collective_kind(o.op).value();  // checked above
    CollectiveParams params;
    if (cal) params = with_calibration(params, *cal);
    if (o.nccl_buffsize) params.pipeline_step_bytes = *o.nccl_buffsize / kNcclSteps;
    const CollectiveModel model(topo, routes, params);
    if (cal)
      if (std::string n = calibration_collective_notice(*cal, o.calibration, topo, group, model.network_kind()); !n.empty())
        notices.push_back(n);
    const CollectiveResult r = model.cost(kind, group, o.bytes);
    time_us = r.time_us;
    factor = bus_bandwidth_factor(kind, n);
    algorithm = std::string(to_string(r.algorithm));
    protocol = std::string(to_string(r.protocol));
  }
  // nccl-tests: algbw = size / time, busbw = algbw x factor (1e9 bytes/s).
  const double algbw = time_us > 0 ? o.bytes / (time_us * 1e3) : 0.0;
  const double busbw = algbw * factor;
  if (o.json) {
    Json j = {{"op", o.op},           {"gpus", n},           {"bytes", o.bytes},       {"time_us", time_us},
              {"algbw_GBps", algbw}, {"busbw_GBps", busbw}, {"algorithm", algorithm}, {"notices", notices}};
    if (!bottleneck.empty()) j["bottleneck"] = bottleneck;
    if (!protocol.empty()) j["protocol"] = protocol;
    if (!o.calibration.empty()) j["calibration"] = o.calibration;
    fmt::print("{}", json_output_text(j, 1, "the prediction"));
    return;
  }
  fmt::print("{} of {:.0f} B on {} GPUs of {}: {:.2f} us, algbw {:.2f} GB/s, busbw {:.2f} GB/s ({}{})\n", o.op, o.bytes, n,
             o.topology, time_us, algbw, busbw, protocol.empty() ? algorithm : algorithm + " " + protocol, bottleneck.empty() ? "" : ", bottleneck " + bottleneck);
  for (const std::string& s : notices) fmt::print(stderr, "note: {}\n", s);
}

}  // namespace

void add_predict_comm_commands(CLI::App& predict) {
  auto o = std::make_shared<CollectiveOptions>();
  CLI::App* c = predict.add_subcommand("collective", "Predict one collective (time, nccl-tests algbw and busbw)");
  c->add_option("--topology", o->topology, "topology JSON")->required()->check(non_empty_path());
  c->add_option("--op", o->op, "all_reduce, all_gather, reduce_scatter or alltoall")->required();
  c->add_option("--bytes", o->bytes, "nccl-tests size in bytes (alltoall: per rank)")->required();
  c->add_option("--gpus", o->gpus, "GPU ranks 0..N-1 of the topology (default: all)");
  c->add_option("--calibration", o->calibration, "calibration.json (epsim calibrate)")->check(non_empty_path());
  c->add_option("--nccl-buffsize", o->nccl_buffsize,
                "the run's NCCL_BUFFSIZE, bytes (default NCCL's 4194304): collectives pipeline in steps of it / 8");
  c->add_flag("--json", o->json, "print one JSON object");
  c->callback([o] { run_collective(*o); });
}

}  // namespace epsim::cli
