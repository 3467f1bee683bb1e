// `epsim calibrate` (measured files -> calibration.json) and `epsim validate` (measured vs the
// planner's closed-form predictions), for the output of cuda_validate/epsim_cuda_validate.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "cli/cli_checks.hpp"
#include "cli/commands.hpp"
#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "common/json_output.hpp"
#include "comm/table_calibration.hpp"
#include "measurements/comm_tables.hpp"
#include "model/gpu_spec.hpp"
#include "cuda_validate/calibration.hpp"
#include "cuda_validate/measurements.hpp"
#include "cuda_validate/plan_traffic.hpp"
#include "cuda_validate/prediction.hpp"
#include "topology/generators.hpp"
#include "topology/routing.hpp"
#include "topology/topology_json.hpp"

namespace epsim::cli {

namespace {

struct CalibrateOptions {
  std::vector<std::string> inputs;
  std::string out;
  std::string gemm_dtype = "bf16";
  std::string gpu;
  std::string network;   // infiniband or ethernet; empty: the --topology's, else infiniband
  std::string topology;  // the cluster the files were measured on (its network kind)
};

/// The network kind of the multi-node files (TableSamples::network_kind): --network, else the kind of
/// the --topology's network links, else infiniband. Usage errors for an unknown kind, a topology with
/// both kinds and no --network, or a --network the topology contradicts.
LinkKind calibrate_network_kind(const CalibrateOptions& o) {
  std::optional<LinkKind> flag;
  if (!o.network.empty()) {
    flag = parse_link_kind(o.network);
    if (!flag || !is_network_link(*flag))
      throw UsageError(fmt::format("--network '{}': expected infiniband or ethernet", o.network));
  }
  if (o.topology.empty()) return flag.value_or(LinkKind::infiniband);
  const Topology topo = load_topology(o.topology);
  std::vector<LinkKind> kinds;
  for (const Link& l : topo.links())
    if (is_network_link(l.kind) && std::find(kinds.begin(), kinds.end(), l.kind) == kinds.end()) kinds.push_back(l.kind);
  if (flag) {
    if (!kinds.empty() && std::find(kinds.begin(), kinds.end(), *flag) == kinds.end())
      throw UsageError(fmt::format("--network {}: {} has no {} links (its network is {})", o.network, o.topology,
                                   o.network, to_string(kinds.front())));
    return *flag;
  }
  if (kinds.size() > 1)
    throw UsageError(fmt::format("{} has both infiniband and ethernet links: give --network", o.topology));
  return kinds.empty() ? LinkKind::infiniband : kinds.front();
}

void run_calibrate(const CalibrateOptions& o) {
  if (o.inputs.empty())
    throw UsageError("give at least one measured file: nccl-tests output, an AWS nccl-tests csv, the AIConfigurator "
                     "tables, the EP tables of data/measurements or the harness's measurements.json (epsim calibrate "
                     "--help)");
  if (o.gemm_dtype != "bf16" && o.gemm_dtype != "fp8")
    throw UsageError(fmt::format("--gemm-dtype '{}': expected bf16 or fp8", o.gemm_dtype));
  std::vector<PathArg> inputs;
  for (const std::string& f : o.inputs) inputs.push_back({"measurements", f});
  if (!o.topology.empty()) inputs.push_back({"--topology", o.topology});
  check_output_paths(inputs, {{"--out", o.out}});
  // A file given twice (also as another spelling of the same path) would count its rows twice in every fit.
  for (std::size_t i = 0; i < o.inputs.size(); ++i)
    for (std::size_t j = 0; j < i; ++j) {
      std::error_code ec;
      if (o.inputs[i] == o.inputs[j] || std::filesystem::equivalent(o.inputs[i], o.inputs[j], ec))
        throw UsageError(fmt::format("measured file {} is given twice (also as {}): its rows would count twice",
                                     o.inputs[i], o.inputs[j]));
    }
  // calibrate reads a measured file more than once (its kind, its header, its rows): a pipe or a process
  // substitution (<(...)) gives its bytes once, and the second read would find it empty.
  for (const std::string& f : o.inputs) {
    std::error_code ec;
    const auto type = std::filesystem::status(f, ec).type();
    if (!ec && type != std::filesystem::file_type::regular && type != std::filesystem::file_type::directory &&
        type != std::filesystem::file_type::not_found)
      throw InputError(f, "", "a regular file (calibrate reads each measured file more than once, which a pipe or a "
                              "process substitution cannot give): write it to a file first");
  }
  check_writable(o.out);
  // --gpu names a GPU epsim knows: checked before any file is read (nothing printed first).
  std::string given_gpu;
  if (!o.gpu.empty()) try {
      given_gpu = canonical_gpu_name(o.gpu, "--gpu", "");
    } catch (const InputError& e) {
      throw UsageError(e.what());
    }
  Calibration c;
  std::optional<validate::CalibrationFit> harness;  // the harness's measurements.json, at most one
  std::string harness_file;
  TableSamples tables;
  tables.network_kind = calibrate_network_kind(o);
  struct SmRow {
    std::string file, label;
    int sms = 0;
  };
  std::vector<SmRow> sm_rows;  // kernel rows that name their SM count, checked against the GPU below
  for (const std::string& f : o.inputs) {
    const CommTableKind kind = detect_comm_table(f);
    if (kind == CommTableKind::measurements_json) {
      if (harness)
        throw UsageError(fmt::format("one measurements.json per calibration: {} and {}", harness_file, f));
      validate::Measurements m = validate::load_measurements(f);
      harness = validate::fit_calibration(m, validate::CalibrationOptions{o.gemm_dtype});
      harness_file = f;
      c = harness->calibration;
      fmt::print("{}: harness measurements of {} ({}), {} GPUs\n", f, c.device, c.gpu, m.num_gpus);
    } else {
      std::map<ExchangeKernelKind, std::size_t> before;
      for (const auto& [k, v] : tables.kernels) before[k] = v.size();
      add_table(tables, f, kind);
      for (const auto& [k, v] : tables.kernels)
        for (std::size_t i = before.count(k) ? before.at(k) : 0; i < v.size(); ++i)
          if (v[i].sms > 0) sm_rows.push_back({f, v[i].label, v[i].sms});
      fmt::print("{}: {}\n", f, to_string(kind));
      if (kind == CommTableKind::nccl_tests_aws_csv && tables.network_kind == LinkKind::infiniband)
        fmt::print(stderr, "epsim: note: {} is an AWS nccl-tests csv, fitted as InfiniBand; for AWS EFA give --network "
                           "ethernet (or a p5 --topology)\n",
                   f);
    }
  }
  // The GPU: what the files name (they agree: add_table checks), else --gpu.
  std::string device = !c.device.empty() ? c.device : tables.device;
  if (!c.device.empty() && !tables.device.empty() &&
      canonical_gpu_name(tables.device, tables.device_file, "device") != c.gpu)
    throw InputError(tables.device_file, "device",
                     fmt::format("measurements of one GPU: {} names {}, {} names {}", tables.device_file, tables.device,
                                 harness_file, c.device));
  if (!o.gpu.empty()) {
    if (!device.empty() && canonical_gpu_name(device, "", "") != given_gpu)
      throw UsageError(fmt::format("--gpu {}: the measured files name {}", o.gpu, device));
    if (device.empty()) device = o.gpu;
  }
  if (!device.empty()) {
    c.device = device;
    c.gpu = canonical_gpu_name(device, "the measured files", "");
  }
  // A row that ran on more SMs than the GPU has is of another GPU (or a typo): its SM term would be
  // priced at a rate no GPU of this kind reaches. The tables' own bound is limits::kMaxGpuSms.
  if (!c.gpu.empty())
    for (const SmRow& r : sm_rows)
      if (const GpuSpec spec = gpu_spec(c.gpu); r.sms > spec.num_sms)
        throw InputError(r.file, "",
                         fmt::format("rows of the {}, which has {} SMs; found one on {} SMs ({}): give the GPU it was "
                                     "measured on (--gpu) or fix the row",
                                     spec.name, spec.num_sms, r.sms, r.label));
  const TableFit fit = fit_tables(tables, c);
  write_file_atomic(o.out, json_output_text(calibration_to_json(c), 1, "the calibration"));
  fmt::print("calibration of {}\n", c.gpu.empty() ? std::string("an unnamed GPU (no file names one; see --gpu)")
                                                   : fmt::format("{} ({})", c.device, c.gpu));
  // The network line only when some file ran across nodes (it says which link kind their fits set).
  bool multi_node = false;
  for (const CollectiveSamples& s : tables.collectives) multi_node = multi_node || s.nodes > 1;
  for (const auto& [kind, v] : tables.kernels)
    for (const KernelSample& x : v) multi_node = multi_node || x.nodes > 1;
  if (multi_node) fmt::print("  network of the multi-node files: {}\n", to_string(tables.network_kind));
  if (harness)
    for (const auto& [kind, l] : harness->link_fits)
      fmt::print("  {:<11} bandwidth {:8.2f} GB/s per GPU  latency {:9.1f} ns  ({} sizes, max error {:.1f}%)\n", to_string(kind),
                 l.bandwidth_GBps, l.latency_ns, l.samples, 100 * l.max_rel_error);
  for (const CollectiveFitSummary& f : fit.collectives) {
    std::string protocols;
    auto protocol = [&](const char* name, const ProtocolLatencyFit& p) {
      if (!p.step_latency_ns) return;
      protocols += fmt::format("  {} {:.1f} ns", name, *p.step_latency_ns);
      if (p.base_latency_us) protocols += fmt::format(" (base {:.2f} us)", *p.base_latency_us);
    };
    protocol("LL", f.ll);
    protocol("LL128", f.ll128);
    // A rate refitted through the model says so, with the ring line it came from.
    const std::string refit =
        f.bandwidth_GBps == f.line_bandwidth_GBps
            ? std::string()
            : fmt::format(" (as {} in the model; a ring's line {:.2f})", to_string(f.largest_algorithm), f.line_bandwidth_GBps);
    fmt::print("  {:<11} bandwidth {:8.2f} GB/s per GPU{}  step latency {:9.1f} ns{}  ({} {}, {} ranks on {} node{}, {} "
               "sizes){}\n",
               to_string(f.kind), f.bandwidth_GBps, refit, f.step_latency_ns, protocols, f.file, f.op, f.ranks, f.nodes,
               f.nodes == 1 ? "" : "s", f.samples,
               c.links.at(f.kind).bandwidth_GBps == f.bandwidth_GBps ? "" : "  (not used: another fit of this link)");
    // (a network kind fitted over several node counts at once is printed below, and used instead)
  }
  for (const NetworkFitSummary& n : fit.networks)
    fmt::print("  {:<11} bandwidth {:8.2f} GB/s per GPU (efficiency {:.3f})  network steps Simple {:.1f} ns  LL {:.1f} "
               "ns  LL128 {:.1f} ns  (one fit through the collective model of the {} rows at {} nodes; fit error "
               "{:.1f}%){}\n",
               to_string(n.kind), n.bandwidth_GBps, n.efficiency, n.latency_ns, n.ll_latency_ns, n.ll128_latency_ns, n.rows,
               fmt::join(n.nodes, ", "), 100 * n.mean_abs_error,
               c.links.at(n.kind).bandwidth_GBps == n.bandwidth_GBps ? "" : "  (not used: the harness's fit of this link)");
  for (const auto& [kind, l] : c.links)
    if (l.tree_bandwidth_fraction)
      fmt::print("  {:<11} NCCL's Tree at {:g} of the ring's network bandwidth (the hosts' figure the fit priced Tree "
                 "with; EFA: aws-ofi-nccl's tuner model; not fitted)\n",
                 to_string(kind), *l.tree_bandwidth_fraction);
  if (c.links.empty()) fmt::print("  links: no p2p or collective samples, none fitted\n");
  {
    const CollectiveParams defaults;
    std::vector<std::string> bases;
    if (c.collectives.ll_base_latency_us)
      bases.push_back(fmt::format("LL {:.2f} us (default {:g})", *c.collectives.ll_base_latency_us, defaults.ll_base_latency_us));
    if (c.collectives.ll128_base_latency_us)
      bases.push_back(
          fmt::format("LL128 {:.2f} us (default {:g})", *c.collectives.ll128_base_latency_us, defaults.ll128_base_latency_us));
    if (!bases.empty()) fmt::print("  collective base latency  {}\n", fmt::join(bases, "  "));
  }
  // A written latency of 0 is the search's floor: the model's fixed costs (NCCL's base latency, the other
  // steps) already reach the rows' times, so the file does not measure that step.
  for (const CollectiveFitSummary& f : fit.collectives) {
    if (c.links.at(f.kind).bandwidth_GBps != f.bandwidth_GBps) continue;
    std::vector<std::string> floor;
    if (f.step_latency_ns == 0) floor.push_back("Simple");
    // A protocol whose base latency was fitted at the floor is not "unmeasured": its rows set the base.
    if (f.ll.step_latency_ns && *f.ll.step_latency_ns == 0 && !f.ll.base_latency_us) floor.push_back("LL");
    if (f.ll128.step_latency_ns && *f.ll128.step_latency_ns == 0 && !f.ll128.base_latency_us) floor.push_back("LL128");
    if (!floor.empty())
      fmt::print(stderr,
                 "epsim: note: {} ({}, {} ranks): the {} step latency written is 0 ns, its floor: the model's fixed "
                 "costs (NCCL's base latency, the other steps) already reach those rows' times\n",
                 f.file, f.op, f.ranks, fmt::format("{}", fmt::join(floor, " / ")));
  }
  for (const CollectiveFitSummary& f : fit.collectives)
    if (f.nodes > 1 && f.op == "all_reduce") {
      // Its large sizes ran NVLS tree or Tree (faster than a ring's rail sum), the line is a ring's.
      fmt::print(stderr,
                 "epsim: note: {}: an all_reduce across nodes is fitted as a ring's line, but NCCL runs its large "
                 "sizes as an NVLS tree or Tree, so the per-GPU figure can exceed the NIC's line rate (uses cap it "
                 "at the link's bandwidth); all_gather or reduce_scatter files measure the network's ring\n",
                 f.file);
      break;
    }
  for (const KernelFitSummary& k : fit.kernels) {
    fmt::print("  kernel {:<16} {:4} samples  mean |error| defaults {:5.1f}%  fitted {:5.1f}% (on the same rows)\n",
               to_string(k.kind), k.samples, 100 * k.default_error, 100 * k.fitted_error);
    // The nccl kernel's network ramp (comm/exchange_cost.hpp): written only when multi-node rows fitted it.
    if (const auto it = c.exchange_kernels.find(k.kind); it != c.exchange_kernels.end())
      for (const auto& [phase, ph] : {std::pair<const char*, const KernelPhaseParams*>{"dispatch", &it->second.params.dispatch},
                                      {"combine", &it->second.params.combine}})
        if (ph->ramp_half_bytes > 0)
          fmt::print("    {} {}: network ramp: half bandwidth at {:.0f} KiB per peer message, exponent {:.2f}\n",
                     to_string(k.kind), phase, ph->ramp_half_bytes / 1024, ph->ramp_exponent);
    // deepep-normal: one-node rows fit DeepEP's intranode kernel, the others its internode kernel.
    if (default_kernel_params(k.kind).one_node) {
      const int multi = k.samples - k.one_node_samples;
      fmt::print("    {}: {} one-node rows fit its one-node phases (one_node){}, {} multi-node rows its other phases{}\n",
                 to_string(k.kind), k.one_node_samples, k.one_node_samples == 0 ? ": kept at the defaults" : "",
                 multi, multi == 0 ? ": kept at the defaults" : "");
    }
    // A table of one direction (the one-sided payload table: dispatch only) fits that phase alone.
    if (k.dispatch_samples == 0 || k.dispatch_samples == k.samples)
      fmt::print("    {}: no {} rows, written at the kernel's defaults\n", to_string(k.kind),
                 k.dispatch_samples == 0 ? "dispatch" : "combine");
    // Rows that cannot tell the fitted fields apart: the fit is still written (it matches them), but
    // what it says elsewhere is extrapolation (a fresh-user trial: Hybrid-EP's table, all at 4096
    // tokens, fitted a 543 us combine latency that a 1-token exchange then paid).
    const int fewest = std::min(k.dispatch_samples, k.samples - k.dispatch_samples);
    if (k.exchange_sizes == 1) {
      const bool by_message = k.kind == ExchangeKernelKind::nccl || k.kind == ExchangeKernelKind::hierarchical;
      fmt::print("    {}: every row at one {}: its fixed cost and its rate trade off, so the latency keeps its default "
                 "and times at other {} extrapolate\n",
                 to_string(k.kind), by_message ? "size" : "token count", by_message ? "sizes" : "token counts");
    }
    if (fewest > 0 && fewest < k.fields)
      fmt::print("    {}: {} row{} of a phase for {} fitted fields: the fit is not determined by its rows\n",
                 to_string(k.kind), fewest, fewest == 1 ? "" : "s", k.fields);
    // The fit minimizes the squared log error; a mean |error| above the defaults' on its own rows means
    // rows the kernel cannot match (units, the network kind, a table of another kernel).
    // Above by more than the printed precision: 7.44% against 7.41% is no difference a reader sees.
    if (k.fitted_error > k.default_error + 5e-4)
      fmt::print(stderr,
                 "epsim: warning: kernel {}: the fit's mean |error| on its own rows ({:.1f}%) is above the defaults' "
                 "({:.1f}%); the rows may be in other units, of another network (--network) or of another kernel; "
                 "the fit is written\n",
                 to_string(k.kind), 100 * k.fitted_error, 100 * k.default_error);
  }
  if (harness) {
    for (const auto& g : c.gemm_efficiency)
      fmt::print("  gemm {} M {:6.0f}  efficiency {:.3f}\n", o.gemm_dtype, g.tokens_per_expert, g.efficiency);
    if (c.gemm_efficiency.empty()) fmt::print("  gemm: no {} samples, no efficiency table\n", o.gemm_dtype);
    if (c.overlap_slowdown) fmt::print("  overlap slowdown of compute {:.3f}\n", *c.overlap_slowdown);
    else fmt::print("  overlap: no samples, no overlap_slowdown written\n");
  }
  fmt::print("wrote {}\n", o.out);
}

struct ValidateOptions {
  std::string measurements;
  std::string topology;
  std::string plan;
  std::string routing = "shortest";
  std::string calibration;
};

/// The topology to predict on: the given file, else a generated DGX cluster of the measured size
/// (8 GPUs per node; fewer GPUs = one node with that many).
Topology topology_for(const ValidateOptions& o, const validate::Measurements& m) {
  if (!o.topology.empty()) return load_topology(o.topology);
  DgxClusterOptions dgx;
  if (m.num_gpus <= 8) {
    dgx.nodes = 1;
    dgx.gpus_per_node = m.num_gpus;
  } else if (m.num_gpus % 8 == 0) {
    dgx.nodes = m.num_gpus / 8;
  } else {
    throw UsageError(fmt::format("{} GPUs is not a whole number of 8-GPU nodes: pass --topology", m.num_gpus));
  }
  std::string gpu = m.gpu;
  for (char& ch : gpu) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  dgx.gpu_model = gpu.find("h200") != std::string::npos ? "h200" : "h100";
  return generate_dgx_cluster(dgx);
}

void run_validate(const ValidateOptions& o) {
  RoutingOptions routing;
  if (o.routing == "shortest") routing.policy = RoutingPolicy::shortest;
  else if (o.routing == "pxn") routing.policy = RoutingPolicy::pxn;
  else throw UsageError(fmt::format("--routing '{}': expected shortest or pxn", o.routing));
  check_output_paths({{"measurements", o.measurements}, {"--calibration", o.calibration}}, {});
  if (!o.plan.empty()) {  // the measurements must come from a run of this plan: same GPU count
    validate::PlanTraffic plan = validate::load_plan_traffic(o.plan);
    validate::load_measurements(o.measurements, plan.ep, o.plan);
  }
  std::optional<int> expected;
  Topology topo;
  if (!o.topology.empty()) {
    topo = load_topology(o.topology);
    expected = topo.num_gpus();
  }
  validate::Measurements m = validate::load_measurements(o.measurements, expected, o.topology);
  if (o.topology.empty()) topo = topology_for(o, m);
  RouteTable routes(topo, routing);
  std::optional<Calibration> calibration;
  if (!o.calibration.empty()) {
    calibration = load_calibration(o.calibration);
    const std::string w = calibration_gpu_warning(*calibration, o.calibration, m.gpu);
    if (!w.empty()) fmt::print(stderr, "epsim: warning: {}\n", w);
  }
  const CalibratedKernel nccl = calibrated_kernel_params(
      ExchangeKernelKind::nccl, calibration ? &*calibration : nullptr, o.calibration, topo);
  if (!nccl.notice.empty()) fmt::print(stderr, "epsim: note: {}\n", nccl.notice);
  std::vector<validate::Comparison> rows =
      validate::compare_with_model(m, topo, routes, nccl.params, calibration ? &*calibration : nullptr);
  fmt::print("{} ({} x {}), topology {} ({} GPUs), closed-form model: busiest link bytes / bandwidth + route latency{}\n",
             o.measurements, m.num_gpus, m.gpu, o.topology.empty() ? "generated " + topo.name : o.topology,
             topo.num_gpus(), calibration ? ", calibration " + o.calibration : std::string(", datasheet figures"));
  fmt::print("{:<44} {:>12} {:>12} {:>8}\n", "measurement", "measured_us", "predicted_us", "error");
  double sum_abs = 0;
  for (const auto& r : rows) {
    fmt::print("{:<44} {:12.2f} {:12.2f} {:+7.1f}%\n", r.what, r.measured_us, r.predicted_us, 100 * r.error());
    sum_abs += std::fabs(r.error());
  }
  if (rows.empty()) fmt::print("(no all-to-all or p2p samples to predict)\n");
  else fmt::print("mean |error| {:.1f}% over {} measurements (positive = model slower than the hardware)\n",
                  100 * sum_abs / static_cast<double>(rows.size()), rows.size());
  for (const auto& g : m.gemm)
    fmt::print("gemm {} {} M {}: {:.1f} TFLOP/s measured = {:.1f}% of {:.0f} peak (no closed-form prediction)\n",
               g.dtype, g.name, g.tokens_per_expert, g.tflops, 100 * g.tflops / g.peak_tflops, g.peak_tflops);
  for (const auto& v : m.overlap)
    fmt::print("overlap {}: compute x{:.3f}, communication x{:.3f} when overlapped\n", v.comm, v.compute_slowdown(),
               v.comm_slowdown());
}

}  // namespace

void add_calibrate_commands(CLI::App& app) {
  auto c = std::make_shared<CalibrateOptions>();
  CLI::App* cal = app.add_subcommand("calibrate", "Fit link latency/bandwidth, exchange kernel parameters, GEMM "
                                                  "efficiency and overlap slowdown to measured files (calibration.json)");
  cal->add_option("measured", c->inputs,
                  "measured files: measurements.json (epsim_cuda_validate, at most one), nccl-tests output "
                  "(all_reduce_perf, all_gather_perf, reduce_scatter_perf, alltoall_perf, sendrecv_perf), the "
                  "AWS nccl-tests csv (Nodes, GPUs, size(MB), ... algbw columns), the AIConfigurator DeepEP LL / "
                  "normal and nccl_perf tables, the NCCL EP, DeepEP PR 521 and V2, Hybrid-EP and TRT-LLM one-sided "
                  "NVLink tables of data/measurements (docs/formats-measurements.md)")
      ->check(non_empty_path());
  cal->add_option("--gpu", c->gpu,
                  "the GPU the files were measured on, when none of them names it (a name model/gpu_spec.hpp "
                  "knows: H100, H200, H800, B200, ...)");
  cal->add_option("--network", c->network,
                  "the network the multi-node files ran over: infiniband or ethernet (RoCE, AWS EFA); sets which "
                  "link kind the multi-node fits calibrate (links.<kind>, the kernels' <kind>_efficiency); default: "
                  "the --topology's, else infiniband");
  cal->add_option("--topology", c->topology, "topology JSON of the measured cluster: its network kind (see --network)")
      ->check(non_empty_path());
  cal->add_option("--out", c->out, "calibration.json to write")->required()->check(non_empty_path());
  cal->add_option("--gemm-dtype", c->gemm_dtype, "GEMM samples that give the efficiency table: bf16 or fp8")
      ->capture_default_str();
  cal->callback([c] { run_calibrate(*c); });

  auto v = std::make_shared<ValidateOptions>();
  CLI::App* val = app.add_subcommand("validate", "Print measured vs predicted (closed-form link model) times");
  val->add_option("measurements", v->measurements, "measurements.json (schema epsim.measurements/1)")
      ->required()
      ->check(non_empty_path());
  val->add_option("--topology", v->topology,
                  "topology JSON with the measured GPU count (default: generated DGX nodes of 8 GPUs)");
  val->add_option("--plan", v->plan, "plan.json the measurements replayed (its EP size must match num_gpus)");
  val->add_option("--routing", v->routing, "shortest (ECMP) or pxn")->capture_default_str();
  val->add_option("--calibration", v->calibration,
                  "calibration.json (epsim calibrate): the nccl kernel's fitted parameters and link figures")
      ->check(non_empty_path());
  val->callback([v] { run_validate(*v); });
}

}  // namespace epsim::cli
