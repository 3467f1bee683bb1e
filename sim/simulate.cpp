#include "sim/simulate.hpp"

#include <algorithm>
#include <memory>
#include <numeric>

#include <fmt/format.h>

#include "common/error.hpp"
#include "sim/compute/attention_cost.hpp"
#include "sim/scenario/scenario_topology.hpp"
#include "sim/compute/kernel_tables.hpp"
#include "sim/network/network_model.hpp"
#include "sim/workload/workload.hpp"

namespace epsim {

namespace {

struct Split {
  std::vector<StreamInterval> compute, comm;
};

Split split(const std::vector<StreamInterval>& all) {
  Split s;
  for (const StreamInterval& i : all) (i.comm ? s.comm : s.compute).push_back(i);
  auto by_start = [](const StreamInterval& a, const StreamInterval& b) { return a.start < b.start; };
  std::sort(s.compute.begin(), s.compute.end(), by_start);
  std::sort(s.comm.begin(), s.comm.end(), by_start);
  return s;
}

// For each communication interval, the part not covered by compute intervals (both lists sorted by
// start, each without self-overlap). O(a + b).
std::vector<Time> uncovered(const std::vector<StreamInterval>& comm, const std::vector<StreamInterval>& compute) {
  std::vector<Time> out;
  out.reserve(comm.size());
  std::size_t j = 0;
  for (const StreamInterval& c : comm) {
    while (j < compute.size() && compute[j].end <= c.start) ++j;
    Time covered;
    for (std::size_t k = j; k < compute.size() && compute[k].start < c.end; ++k)
      covered += std::min(c.end, compute[k].end) - std::max(c.start, compute[k].start);
    out.push_back((c.end - c.start) - covered);
  }
  return out;
}

}  // namespace

namespace {

// Training figures: per layer backward compute and gradient reductions at each stage's critical GPU
// (the one that finishes last, as the other per-layer columns), totals at the iteration's critical
// GPU, model FLOPs and MFU.
void training_metrics(const ScenarioInputs& in, const StreamExecutor& ex, SimulationResult& r) {
  const ParallelConfig& p = in.scenario.parallel;
  const int G = p.gpus(), n = p.gpus_per_stage(), L = in.model.num_layers;
  std::vector<std::vector<StreamInterval>> reductions(static_cast<std::size_t>(G));
  for (int t = 0; t < ex.num_tasks(); ++t) {
    const TaskSpec& s = ex.spec(t);
    if (s.op != OpKind::grad_sync && s.op != OpKind::param_all_gather) continue;
    for (int g : s.gpus) reductions[static_cast<std::size_t>(g)].push_back(StreamInterval{t, true, ex.start(t), ex.end(t)});
  }
  std::vector<Time> last_end(static_cast<std::size_t>(G));
  for (int g = 0; g < G; ++g)
    for (const StreamInterval& i : ex.intervals(g)) last_end[static_cast<std::size_t>(g)] = std::max(last_end[static_cast<std::size_t>(g)], i.end);
  for (int g = 0; g < G; ++g)
    for (const StreamInterval& i : reductions[static_cast<std::size_t>(g)])
      last_end[static_cast<std::size_t>(g)] = std::max(last_end[static_cast<std::size_t>(g)], i.end);
  auto by_start = [](const StreamInterval& a, const StreamInterval& b) { return a.start < b.start; };
  // The GPU that finishes last, its gradient reductions included.
  r.critical_gpu = 0;
  for (int g = 1; g < G; ++g)
    if (last_end[static_cast<std::size_t>(g)] > last_end[static_cast<std::size_t>(r.critical_gpu)]) r.critical_gpu = g;
  for (int stage = 0; stage < p.pp; ++stage) {
    int cg = stage * n;
    for (int i = 0; i < n; ++i)
      if (last_end[static_cast<std::size_t>(stage * n + i)] > last_end[static_cast<std::size_t>(cg)]) cg = stage * n + i;
    Split s = split(ex.intervals(cg));
    auto& red = reductions[static_cast<std::size_t>(cg)];
    std::sort(red.begin(), red.end(), by_start);
    // Exposed: the part of a reduction after the GPU's last backward op (what delays its optimizer
    // step); time it runs while the compute stream waits for an exchange hides nothing but costs none.
    Time backward_end;
    for (const StreamInterval& i : ex.intervals(cg))
      if (ex.spec(i.task).backward && ex.spec(i.task).op != OpKind::optimizer) backward_end = std::max(backward_end, i.end);
    std::vector<Time> exposed;
    for (const StreamInterval& i : red) exposed.push_back(i.end > backward_end ? i.end - std::max(i.start, backward_end) : Time());
    const bool critical = cg == r.critical_gpu;
    double fwd = 0, bwd = 0, opt = 0, red_us = 0, red_exp = 0, gather = 0;
    for (const StreamInterval& i : s.compute) {
      const TaskSpec& t = ex.spec(i.task);
      const double d = (i.end - i.start).to_us();
      if (t.op == OpKind::optimizer) opt += d;
      else if (t.backward) bwd += d;
      else fwd += d;
      if (t.backward && t.layer >= 0) r.layers[static_cast<std::size_t>(t.layer)].backward_compute_us += d;
    }
    for (std::size_t k = 0; k < red.size(); ++k) {
      const TaskSpec& t = ex.spec(red[k].task);
      const double d = (red[k].end - red[k].start).to_us();
      if (t.op == OpKind::param_all_gather) {  // after the optimizer step: exposed by construction
        gather += d;
        continue;
      }
      red_us += d;
      red_exp += exposed[k].to_us();
      LayerBreakdown& b = r.layers[static_cast<std::size_t>(t.layer)];
      b.grad_reduce_us += d;
      b.grad_reduce_exposed_us += exposed[k].to_us();
    }
    if (critical) {
      r.forward_compute_us = fwd;
      r.backward_compute_us = bwd;
      r.optimizer_us = opt;
      r.grad_reduce_us = red_us;
      r.grad_reduce_exposed_us = red_exp;
      r.param_gather_us = gather;
    }
  }
  // Model FLOPs: forward per token and layer = 2 x active FFN/gate parameters + attention.
  const MoeModel& m = in.model;
  const PhaseConfig& ph = in.scenario.phase;
  const double attn_per_token = attention_prefill(m, ph.sequence_length, 2.0, 2.0).flops / ph.sequence_length;
  double fwd_per_token = 0;
  for (int l = 0; l < L; ++l) {
    fwd_per_token += attn_per_token;
    if (m.is_moe_layer(l))
      fwd_per_token += 2.0 * (m.top_k * m.expert_weight_elements() +
                              3.0 * m.hidden_size * static_cast<double>(m.shared_intermediate_size) * m.num_shared_experts +
                              static_cast<double>(m.hidden_size) * m.num_experts);
    else
      fwd_per_token += 2.0 * 3.0 * m.hidden_size * static_cast<double>(m.dense_intermediate_size);
  }
  r.model_flops = (1.0 + kBackwardComputeFactor) * fwd_per_token * r.tokens_per_iteration;
  const double peak = in.compute.peak_TFLOPs(in.scenario.precision) * 1e12;
  const double T_s = r.iteration.to_seconds();
  r.mfu = T_s > 0 ? r.model_flops / (T_s * G * peak) : 0;
}

}  // namespace

StreamMetrics stream_metrics(const StreamExecutor& ex, int gpu) {
  Split s = split(ex.intervals(gpu));
  StreamMetrics m;
  for (const auto& i : s.compute) m.compute_busy += i.end - i.start;
  for (const auto& i : s.comm) m.comm_busy += i.end - i.start;
  for (Time t : uncovered(s.comm, s.compute)) m.exposed_comm += t;
  return m;
}

namespace {
SimulationResult simulate_unchecked(const ScenarioInputs& in, const SimulateOptions& opt);
}  // namespace

namespace {

// The scenario with `m` of its micro-batches (of the same size: the batch scaled with them).
ScenarioInputs with_micro_batches(const ScenarioInputs& in, int m) {
  ScenarioInputs out = in;
  out.scenario.phase.batch = in.scenario.phase.batch / in.scenario.phase.micro_batches * m;
  out.scenario.phase.micro_batches = m;
  return out;
}

// K identical micro-batches of a pp = 1 training step from the runs of 1 and 2 (simulate() header):
// every additive figure x(K) = x(1) + (K - 1) x (x(2) - x(1)); the trace and critical path are those
// of the 2-micro-batch run with the last micro-batch moved (K - 2) x T_micro later.
SimulationResult repeat_micro_batches(const ScenarioInputs& in, const SimulationResult& r1, SimulationResult r) {
  const int K = in.scenario.phase.micro_batches;
  const double k = K - 1;
  auto ext = [k](double x1, double x2) { return x1 + k * (x2 - x1); };
  const Time t_micro = r.iteration - r1.iteration;
  const Time shift = t_micro * (K - 2);
  const double flops2 = r.model_flops, T2 = r.iteration.to_seconds();
  r.micro_batches = K;
  r.micro_batches_simulated = 2;
  r.iteration = r1.iteration + t_micro * (K - 1);
  const double T_s = r.iteration.to_seconds();
  r.tokens_per_iteration = ext(r1.tokens_per_iteration, r.tokens_per_iteration);
  r.throughput_tokens_per_s = T_s > 0 ? r.tokens_per_iteration / T_s : 0;
  r.throughput_tokens_per_s_per_gpu = r.throughput_tokens_per_s / r.parallel.gpus();
  r.latency_ms = r.iteration.to_ms();
  for (std::size_t l = 0; l < r.layers.size(); ++l) {
    LayerBreakdown& b = r.layers[l];
    const LayerBreakdown& a = r1.layers[l];
    for (auto f : {&LayerBreakdown::compute_us, &LayerBreakdown::dispatch_us, &LayerBreakdown::combine_us,
                   &LayerBreakdown::other_comm_us, &LayerBreakdown::exposed_comm_us, &LayerBreakdown::bubble_us,
                   &LayerBreakdown::backward_compute_us, &LayerBreakdown::grad_reduce_us,
                   &LayerBreakdown::grad_reduce_exposed_us})
      b.*f = ext(a.*f, b.*f);
  }
  for (std::size_t g = 0; g < r.gpus.size(); ++g) {
    GpuSummary& b = r.gpus[g];
    const GpuSummary& a = r1.gpus[g];
    for (auto f : {&GpuSummary::compute_busy_us, &GpuSummary::expert_compute_us, &GpuSummary::comm_busy_us,
                   &GpuSummary::dispatch_received_bytes, &GpuSummary::combine_received_bytes, &GpuSummary::routed_tokens})
      b.*f = ext(a.*f, b.*f);
    b.compute_idle_us = r.iteration.to_us() - b.compute_busy_us;
  }
  for (std::size_t i = 0; i < r.link_bytes.size(); ++i) r.link_bytes[i] = ext(r1.link_bytes[i], r.link_bytes[i]);
  r.busiest_link = -1;
  double busiest_s = 0;
  for (std::size_t i = 0; i < r.link_bytes.size(); ++i) {  // the rule of simulate_unchecked
    const double busy_s = r.link_bytes[i] / (in.topology->link(static_cast<int>(i)).bandwidth_GBps * 1e9);
    if (r.link_bytes[i] > 0 && (r.busiest_link < 0 || busy_s > busiest_s)) {
      r.busiest_link = static_cast<int>(i);
      r.busiest_link_bytes = r.link_bytes[i];
      busiest_s = busy_s;
    }
  }
  if (r.busiest_link >= 0) {
    r.busiest_link_name = in.topology->link_name(r.busiest_link);
    r.busiest_link_utilization = T_s > 0 ? busiest_s / T_s : 0;
  }
  for (auto f : {&SimulationResult::forward_compute_us, &SimulationResult::backward_compute_us,
                 &SimulationResult::grad_reduce_us, &SimulationResult::grad_reduce_exposed_us,
                 &SimulationResult::optimizer_us, &SimulationResult::param_gather_us, &SimulationResult::model_flops})
    r.*f = ext(r1.*f, r.*f);
  r.mfu = flops2 > 0 && T_s > 0 ? r.mfu * (r.model_flops / flops2) * (T2 / T_s) : 0;
  for (CriticalOp& c : r.critical_path)
    if (c.micro_batch == 1) {
      c.micro_batch = K - 1;
      c.start_us += shift.to_us();
      c.end_us += shift.to_us();
    }
  for (TraceSlice& t : r.trace)
    if (t.micro_batch == 1) {
      t.micro_batch = K - 1;
      t.start = t.start + shift;
      t.end = t.end + shift;
    }
  return r;
}

}  // namespace

SimulationResult simulate(const ScenarioInputs& in, const SimulateOptions& opt) {
  try {
    const PhaseConfig& ph = in.scenario.phase;
    if (opt.repeat_micro_batches && ph.kind == PhaseKind::training && in.scenario.parallel.pp == 1 &&
        ph.micro_batches >= 3) {
      const SimulationResult r1 = simulate_unchecked(with_micro_batches(in, 1), opt);
      return repeat_micro_batches(in, r1, simulate_unchecked(with_micro_batches(in, 2), opt));
    }
    return simulate_unchecked(in, opt);
  } catch (const std::overflow_error& e) {
    // Simulated time is int64 picoseconds (about 106 days): only absurd inputs (a link of 1e-9 GB/s,
    // a latency of 1e16 ns) get there. Name the scenario rather than report an internal error.
    throw InputError(in.scenario.file, "",
                     std::string("an iteration that fits simulated time (int64 picoseconds, about 106 days); the "
                                 "simulation overflowed (") +
                         e.what() + "): check the topology's link bandwidths and latencies and the scenario's sizes");
  }
}

namespace {
SimulationResult simulate_unchecked(const ScenarioInputs& in, const SimulateOptions& opt) {
  const Scenario& sc = in.scenario;
  const ParallelConfig& p = sc.parallel;
  SimulationResult r;
  r.scenario_file = sc.file;
  r.phase = sc.phase.kind;
  r.schedule = opt.schedule.value_or(sc.schedule);
  r.network = opt.network.value_or(sc.network);
  r.parallel = p;
  r.micro_batches = sc.phase.micro_batches;
  if (r.schedule == ScheduleKind::two_batch && sc.phase.kind == PhaseKind::training)
    throw InputError(sc.file, "/schedule", "serial or overlap for training (two-batch pairs forward micro-batches only)");
  if (r.schedule == ScheduleKind::two_batch && r.micro_batches % 2 != 0)
    throw InputError(sc.file, "/phase/micro_batches", "an even number of micro-batches for schedule two-batch");
  r.chunks = (r.schedule == ScheduleKind::overlap && p.ep > 1) ? opt.chunks.value_or(sc.chunks) : 1;
  const ExchangeKernelKind kernel_kind =
      opt.kernel_params ? opt.kernel_params->kind
                        : opt.exchange_kernel.value_or(sc.exchange_kernel.value_or(
                              default_exchange_kernel(sc.phase.kind == PhaseKind::decode)));
  // The kernel's parameters: the caller's, else the scenario's calibration (fitted parameters of this
  // kernel, or its defaults with a notice), else the defaults.
  const CalibratedKernel calibrated =
      opt.kernel_params ? CalibratedKernel{*opt.kernel_params, ""} : exchange_kernel_params(in, kernel_kind);
  const ExchangeKernelParams& kernel = calibrated.params;
  r.exchange_kernel = std::string(to_string(kernel.kind));
  r.replica_choice = std::string(to_string(in.replica_choice));
  // SMs the exchange kernel holds while its data is in flight (comm/exchange_kernel.hpp: DeepEP normal
  // 20, low-latency 0) slow the compute that overlaps it: num_sms / (num_sms - held). Training and
  // calibrated runs keep the compute model's factor.
  double slowdown = in.compute.overlap_slowdown();
  // Where a kernel parameter that the run refuses came from: a calibration file's field, or a caller's
  // own kernel parameters (SimulateOptions::kernel_params).
  auto kernel_field = [&](const char* field) {
    return opt.kernel_params || sc.calibration.empty()
               ? std::string("the kernel parameters given")
               : fmt::format("calibration {}: /exchange_kernels/{}/{}", sc.calibration.string(), to_string(kernel.kind),
                             field);
  };
  // A kernel on every SM of the GPU leaves none to compute: refused (a calibration of 200 SMs for an
  // H100's 132 ran with the compute 132x slower). So below, held <= sms - 1.
  const int gpu_sms = in.compute.gpu().num_sms;
  if (kernel.sms >= gpu_sms)
    throw InputError(fmt::format("{}: {} SMs for the exchange kernel {}: at most {} on the {} ({} SMs, one left to "
                                 "compute)",
                                 kernel_field("sms"), kernel.sms, to_string(kernel.kind), gpu_sms - 1,
                                 in.compute.gpu().name, gpu_sms));
  if (sc.phase.kind != PhaseKind::training && !in.compute.params().overlap_slowdown) {
    const int held = kernel_sm_usage(kernel).sms_in_flight;  // <= kernel.sms < gpu_sms
    slowdown = static_cast<double>(gpu_sms) / (gpu_sms - held);
  }
  r.overlap_slowdown = opt.overlap_slowdown.value_or(slowdown);

  // The one source of nvlink_for_same_node false is a calibration file (its kernel defaults are true).
  if (r.network != "analytical" && !same_node_over_nvlink(kernel)) {
    const std::string where = kernel_field("nvlink_for_same_node");
    throw ExchangeKernelRefusal(
        ExchangeKernelRefusal::Cause::flow_network,
        fmt::format("{}: /network {}: the flow network models route {}'s same-node peers over NVLink, but {} is "
                    "false (same-node peers through the NIC), which the analytical network alone models",
                    sc.file, r.network, to_string(kernel.kind), where));
  }
  const WorkloadConfig config{r.schedule, r.chunks, r.network != "analytical", kernel};
  const WorkloadSize size = estimate_workload_size(in, config, r.micro_batches);
  if (size.tasks > kMaxSimTasks)
    throw InputError(sc.file, "/phase/micro_batches",
                     fmt::format("a task graph of at most {} tasks (docs/limits.md); {} micro-batches x {} chunks of "
                                 "{} layers on {} GPUs would build ~{} tasks (~{:.1f} GiB)",
                                 kMaxSimTasks, r.micro_batches, r.chunks, in.model.num_layers, p.gpus(), size.tasks,
                                 static_cast<double>(size.memory_bytes) / 1073741824.0));
  CollectiveModel coll(*in.topology, *in.routes, in.collective_params);
  ComputeNotices notices;
  std::vector<LayerCosts> costs = layer_costs(in, coll, r.chunks, &notices, opt.routing);
  if (!calibrated.notice.empty()) r.notices.push_back(calibrated.notice);
  if (std::string n = gpu_model_notice(*in.topology, in.compute.gpu().name); !n.empty()) r.notices.push_back(std::move(n));
  for (std::string& n : notices.messages()) r.notices.push_back(std::move(n));
  r.compute_source = in.kernels && sc.phase.kind != PhaseKind::training ? "kernel tables " + in.kernels->tables().folder
                                                                         : std::string("roofline");
  Simulator sim;
  auto net = make_network_model(r.network, sim, *in.topology, *in.routes);
  StreamExecutor ex(p.gpus(), r.overlap_slowdown, Time::from_ps_rounded(opt.exchange_overhead_us * 1e6));
  // Under the flow models the gradient reductions' ring traffic shares links with the all-to-alls.
  build_workload(in, costs, config, ex);
  std::unique_ptr<ClosedFormExchange> closed;
  if (r.network == "analytical") closed = std::make_unique<ClosedFormExchange>(*in.topology, *in.routes, kernel);
  ex.run(sim, net.get(), closed.get());
  r.events = sim.events_executed();
  r.tasks = ex.num_tasks();
  r.iteration = ex.makespan();
  const double T_s = r.iteration.to_seconds();

  const PhaseConfig& ph = sc.phase;
  r.tokens_per_step = ph.kind == PhaseKind::decode ? mtp_tokens_per_step(sc.serving) : 1.0;
  r.tokens_per_iteration = p.dp * (ph.kind == PhaseKind::decode ? ph.batch * r.tokens_per_step : ph.batch * ph.sequence_length);
  r.throughput_tokens_per_s = T_s > 0 ? r.tokens_per_iteration / T_s : 0;
  r.throughput_tokens_per_s_per_gpu = r.throughput_tokens_per_s / p.gpus();
  {
    std::vector<int> hosts;
    for (int g = 0; g < p.gpus(); ++g) hosts.push_back(in.topology->gpu_host(g));
    std::sort(hosts.begin(), hosts.end());
    r.nodes = static_cast<int>(std::unique(hosts.begin(), hosts.end()) - hosts.begin());
    r.throughput_tokens_per_s_per_node = r.nodes > 0 ? r.throughput_tokens_per_s / r.nodes : 0;
  }
  r.latency_name = ph.kind == PhaseKind::decode ? "tpot" : ph.kind == PhaseKind::prefill ? "ttft" : "step";
  r.latency_ms = r.iteration.to_ms();
  r.pipeline_bubble_fraction = static_cast<double>(p.pp - 1) / (r.micro_batches + p.pp - 1);

  // Per GPU.
  const int G = p.gpus();
  std::vector<Time> last_end(static_cast<std::size_t>(G)), first_compute(static_cast<std::size_t>(G), Time::max());
  for (int g = 0; g < G; ++g) {
    GpuSummary s;
    s.gpu = g;
    StreamMetrics m = stream_metrics(ex, g);
    s.compute_busy_us = m.compute_busy.to_us();
    s.comm_busy_us = m.comm_busy.to_us();
    s.compute_idle_us = (r.iteration - m.compute_busy).to_us();
    for (const StreamInterval& i : ex.intervals(g)) {
      last_end[static_cast<std::size_t>(g)] = std::max(last_end[static_cast<std::size_t>(g)], i.end);
      if (!i.comm) first_compute[static_cast<std::size_t>(g)] = std::min(first_compute[static_cast<std::size_t>(g)], i.start);
      if (ex.spec(i.task).op == OpKind::experts) s.expert_compute_us += (i.end - i.start).to_us();
    }
    s.dispatch_received_bytes = ex.counters(g).received_bytes_dispatch;
    s.combine_received_bytes = ex.counters(g).received_bytes_combine;
    r.gpus.push_back(s);
  }
  // Routed tokens per GPU from the layer costs (EP rank r of a stage = stage GPU r).
  const int n = p.gpus_per_stage();
  for (int stage = 0; stage < p.pp; ++stage)
    for (int layer = stage * in.model.num_layers / p.pp; layer < (stage + 1) * in.model.num_layers / p.pp; ++layer) {
      const LayerCosts& c = costs[static_cast<std::size_t>(layer)];
      for (int i = 0; c.moe && i < n; ++i)
        r.gpus[static_cast<std::size_t>(stage * n + i)].routed_tokens +=
            (p.ep > 1 ? c.gpu_tokens[static_cast<std::size_t>(i % p.ep)] : c.gpu_tokens[0]) * r.micro_batches;
    }
  for (int g = 0; g < G; ++g) {
    if (last_end[static_cast<std::size_t>(g)] > last_end[static_cast<std::size_t>(r.critical_gpu)]) r.critical_gpu = g;
    if (r.gpus[static_cast<std::size_t>(g)].compute_busy_us > r.gpus[static_cast<std::size_t>(r.busiest_gpu)].compute_busy_us)
      r.busiest_gpu = g;
  }

  // Per layer at the critical GPU.
  const int L = in.model.num_layers;
  r.layers.resize(static_cast<std::size_t>(L));
  for (int stage = 0; stage < p.pp; ++stage)
    for (int l = stage * L / p.pp; l < (stage + 1) * L / p.pp; ++l) {
      LayerBreakdown& b = r.layers[static_cast<std::size_t>(l)];
      b.layer = l;
      b.moe = in.model.is_moe_layer(l);
      b.stage = stage;
    }
  // Every stage has its own critical GPU: the latest finishing GPU of that stage.
  for (int stage = 0; stage < p.pp; ++stage) {
    int cg = stage * n;
    double bubble = 0;
    for (int i = 0; i < n; ++i) {
      int g = stage * n + i;
      if (last_end[static_cast<std::size_t>(g)] > last_end[static_cast<std::size_t>(cg)]) cg = g;
      if (p.pp > 1 && first_compute[static_cast<std::size_t>(g)] != Time::max())
        bubble += (first_compute[static_cast<std::size_t>(g)] + (r.iteration - last_end[static_cast<std::size_t>(g)])).to_us();
    }
    bubble /= n;
    Split s = split(ex.intervals(cg));
    for (const auto& i : s.compute) {
      int l = ex.spec(i.task).layer;
      if (l >= 0) r.layers[static_cast<std::size_t>(l)].compute_us += (i.end - i.start).to_us();
    }
    std::vector<Time> exposed = uncovered(s.comm, s.compute);
    for (std::size_t k = 0; k < s.comm.size(); ++k) {
      const TaskSpec& t = ex.spec(s.comm[k].task);
      if (t.layer < 0) continue;
      LayerBreakdown& b = r.layers[static_cast<std::size_t>(t.layer)];
      double d = (s.comm[k].end - s.comm[k].start).to_us();
      if (t.op == OpKind::dispatch) b.dispatch_us += d;
      else if (t.op == OpKind::combine) b.combine_us += d;
      else b.other_comm_us += d;
      b.exposed_comm_us += exposed[k].to_us();
    }
    const int l0 = stage * L / p.pp, l1 = (stage + 1) * L / p.pp;
    for (int l = l0; l < l1; ++l) r.layers[static_cast<std::size_t>(l)].bubble_us = bubble / (l1 - l0);
  }

  // The step at the iteration's critical GPU.
  {
    Split s = split(ex.intervals(r.critical_gpu));
    for (const auto& i : s.compute) {
      const double d = (i.end - i.start).to_us();
      switch (ex.spec(i.task).op) {
        case OpKind::attention: r.step.attention_us += d; break;
        case OpKind::experts: r.step.moe_gemm_us += d; break;
        case OpKind::lm_head:
        case OpKind::step_overhead: r.step.overheads_us += d; break;
        default: r.step.other_compute_us += d;
      }
    }
    std::vector<Time> exposed = uncovered(s.comm, s.compute);
    for (std::size_t k = 0; k < s.comm.size(); ++k) {
      const double d = (s.comm[k].end - s.comm[k].start).to_us();
      const OpKind op = ex.spec(s.comm[k].task).op;
      (op == OpKind::dispatch ? r.step.dispatch_us : op == OpKind::combine ? r.step.combine_us : r.step.other_comm_us) += d;
      r.step.exposed_comm_us += exposed[k].to_us();
    }
  }

  // Links.
  // The busiest link is the one busy longest (bytes / bandwidth; ties: the lower index), so a thin
  // link that carries few bytes but gates the iteration is named, as in the sweep CSV.
  const auto& lb = closed ? closed->link_bytes() : net->link_bytes();
  double busiest_s = 0;
  for (std::size_t i = 0; i < lb.size(); ++i) {
    const double busy_s = lb[i] / (in.topology->link(static_cast<int>(i)).bandwidth_GBps * 1e9);
    if (lb[i] > 0 && (r.busiest_link < 0 || busy_s > busiest_s)) {
      r.busiest_link = static_cast<int>(i);
      r.busiest_link_bytes = lb[i];
      busiest_s = busy_s;
    }
  }
  r.link_bytes = lb;
  if (r.busiest_link >= 0) {
    r.busiest_link_name = in.topology->link_name(r.busiest_link);
    double bw = in.topology->link(r.busiest_link).bandwidth_GBps * 1e9;
    r.busiest_link_utilization = T_s > 0 ? r.busiest_link_bytes / (bw * T_s) : 0;
  }

  if (ph.kind == PhaseKind::training) training_metrics(in, ex, r);

  for (int t : ex.critical_path()) {
    const TaskSpec& s = ex.spec(t);
    r.critical_path.push_back(CriticalOp{s.op, s.layer, s.micro_batch, s.chunk,
                                         s.kind == TaskKind::compute ? s.gpus.front() : -1, ex.start(t).to_us(),
                                         ex.end(t).to_us()});
  }
  for (int g : opt.trace_gpus) {
    if (g < 0 || g >= G) throw SettingError("trace_gpus", std::to_string(g), fmt::format("among the {} GPUs of {}", G, sc.file));
    for (const StreamInterval& i : ex.intervals(g)) {
      const TaskSpec& s = ex.spec(i.task);
      r.trace.push_back(TraceSlice{g, i.comm, s.op, s.layer, s.micro_batch, s.chunk, i.start, i.end});
    }
  }
  return r;
}
}  // namespace

}  // namespace epsim
