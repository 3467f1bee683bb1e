#include "sim/sim_report.hpp"

#include <algorithm>
#include <cmath>
#include <map>

#include <fmt/format.h>

#include "common/json_output.hpp"

namespace epsim {

namespace {

// Round to 1e-3 (ns when in us) so that reports are stable and readable.
double tidy(double v) { return round_decimals(v, 3); }  // 1 ns on microsecond fields

std::string op_label(OpKind op, int layer, int mb, int chunk) {
  std::string s(to_string(op));
  if (layer >= 0) s += fmt::format(" L{}", layer);
  s += fmt::format(" mb{}", mb);
  if (chunk > 0) s += fmt::format(" c{}", chunk);
  return s;
}

}  // namespace

Json report_to_json(const SimulationResult& r) {
  Json j = Json::object();
  j["schema"] = kReportSchema;
  j["scenario"] = r.scenario_file;
  j["settings"] = {{"phase", std::string(to_string(r.phase))},
                   {"schedule", std::string(to_string(r.schedule))},
                   {"network", r.network},
                   {"exchange_kernel", r.exchange_kernel},
                   {"replica_choice", r.replica_choice},
                   {"dp", r.parallel.dp},
                   {"tp", r.parallel.tp},
                   {"pp", r.parallel.pp},
                   {"ep", r.parallel.ep},
                   {"expert_tp", r.parallel.expert_tp},
                   {"gpus", r.parallel.gpus()},
                   {"micro_batches", r.micro_batches},
                   {"chunks", r.chunks},
                   {"overlap_slowdown", tidy(r.overlap_slowdown)}};
  // Present only when micro-batches were repeated rather than all simulated (simulate.hpp).
  if (r.micro_batches_simulated > 0) j["settings"]["micro_batches_simulated"] = r.micro_batches_simulated;
  j["iteration_us"] = tidy(r.iteration.to_us());
  j["iteration_ps"] = r.iteration.count_ps();
  j["tokens_per_iteration"] = tidy(r.tokens_per_iteration);
  j["throughput_tokens_per_s"] = tidy(r.throughput_tokens_per_s);
  j["throughput_tokens_per_s_per_gpu"] = tidy(r.throughput_tokens_per_s_per_gpu);
  j["throughput_tokens_per_s_per_node"] = tidy(r.throughput_tokens_per_s_per_node);
  j["nodes"] = r.nodes;
  if (r.phase == PhaseKind::decode) j["tokens_per_step"] = tidy(r.tokens_per_step);
  j["latency"] = {{"kind", r.latency_name}, {"ms", tidy(r.latency_ms)}};
  j["compute_source"] = r.compute_source;
  j["step"] = {{"gpu", r.critical_gpu},
               {"attention_us", tidy(r.step.attention_us)},
               {"moe_gemm_us", tidy(r.step.moe_gemm_us)},
               {"other_compute_us", tidy(r.step.other_compute_us)},
               {"dispatch_us", tidy(r.step.dispatch_us)},
               {"combine_us", tidy(r.step.combine_us)},
               {"other_comm_us", tidy(r.step.other_comm_us)},
               {"exposed_comm_us", tidy(r.step.exposed_comm_us)},
               {"overheads_us", tidy(r.step.overheads_us)}};
  j["notices"] = r.notices;
  j["pipeline_bubble_fraction"] = tidy(r.pipeline_bubble_fraction);
  j["critical_gpu"] = r.critical_gpu;
  j["busiest_gpu"] = r.busiest_gpu;
  if (r.busiest_link >= 0)
    j["busiest_link"] = {{"link", r.busiest_link_name},
                         {"bytes", tidy(r.busiest_link_bytes)},
                         {"utilization", tidy(r.busiest_link_utilization)}};
  else
    j["busiest_link"] = nullptr;
  Json layers = Json::array();
  double tot_compute = 0, tot_dispatch = 0, tot_combine = 0, tot_exposed = 0, tot_bubble = 0;
  for (const LayerBreakdown& l : r.layers) {
    layers.push_back({{"layer", l.layer},
                      {"stage", l.stage},
                      {"moe", l.moe},
                      {"compute_us", tidy(l.compute_us)},
                      {"dispatch_us", tidy(l.dispatch_us)},
                      {"combine_us", tidy(l.combine_us)},
                      {"other_comm_us", tidy(l.other_comm_us)},
                      {"exposed_comm_us", tidy(l.exposed_comm_us)},
                      {"bubble_us", tidy(l.bubble_us)}});
    if (r.phase == PhaseKind::training) {
      layers.back()["backward_compute_us"] = tidy(l.backward_compute_us);
      layers.back()["grad_reduce_us"] = tidy(l.grad_reduce_us);
      layers.back()["grad_reduce_exposed_us"] = tidy(l.grad_reduce_exposed_us);
    }
    tot_compute += l.compute_us;
    tot_dispatch += l.dispatch_us;
    tot_combine += l.combine_us;
    tot_exposed += l.exposed_comm_us;
    tot_bubble += l.bubble_us;
  }
  j["totals"] = {{"compute_us", tidy(tot_compute)}, {"dispatch_us", tidy(tot_dispatch)},
                 {"combine_us", tidy(tot_combine)}, {"exposed_comm_us", tidy(tot_exposed)},
                 {"bubble_us", tidy(tot_bubble)}};
  j["layers"] = std::move(layers);
  if (r.phase == PhaseKind::training)
    j["training"] = {{"forward_compute_us", tidy(r.forward_compute_us)},
                     {"backward_compute_us", tidy(r.backward_compute_us)},
                     {"grad_reduce_us", tidy(r.grad_reduce_us)},
                     {"grad_reduce_exposed_us", tidy(r.grad_reduce_exposed_us)},
                     {"optimizer_us", tidy(r.optimizer_us)},
                     {"param_gather_us", tidy(r.param_gather_us)},
                     {"model_flops", tidy(r.model_flops)},
                     {"mfu", tidy(r.mfu)}};
  Json gpus = Json::array();
  for (const GpuSummary& g : r.gpus)
    gpus.push_back({{"gpu", g.gpu},
                    {"compute_busy_us", tidy(g.compute_busy_us)},
                    {"compute_idle_us", tidy(g.compute_idle_us)},
                    {"expert_compute_us", tidy(g.expert_compute_us)},
                    {"comm_busy_us", tidy(g.comm_busy_us)},
                    {"dispatch_received_bytes", tidy(g.dispatch_received_bytes)},
                    {"combine_received_bytes", tidy(g.combine_received_bytes)},
                    {"routed_tokens", tidy(g.routed_tokens)}});
  j["gpus"] = std::move(gpus);
  Json path = Json::array();
  for (const CriticalOp& o : r.critical_path)
    path.push_back({{"op", std::string(to_string(o.op))},
                    {"layer", o.layer},
                    {"micro_batch", o.micro_batch},
                    {"chunk", o.chunk},
                    {"gpu", o.gpu},
                    {"start_us", tidy(o.start_us)},
                    {"end_us", tidy(o.end_us)}});
  j["critical_path"] = std::move(path);
  j["simulator"] = {{"events", r.events}, {"tasks", r.tasks}};
  return j;
}

Json trace_to_json(const SimulationResult& r) {
  Json events = Json::array();
  std::vector<int> gpus;
  for (const TraceSlice& s : r.trace)
    if (std::find(gpus.begin(), gpus.end(), s.gpu) == gpus.end()) gpus.push_back(s.gpu);
  for (int g : gpus) {
    events.push_back({{"ph", "M"}, {"name", "process_name"}, {"pid", g}, {"tid", 0}, {"args", {{"name", fmt::format("GPU {}", g)}}}});
    events.push_back({{"ph", "M"}, {"name", "thread_name"}, {"pid", g}, {"tid", 0}, {"args", {{"name", "compute"}}}});
    events.push_back({{"ph", "M"}, {"name", "thread_name"}, {"pid", g}, {"tid", 1}, {"args", {{"name", "comm"}}}});
  }
  for (const TraceSlice& s : r.trace) {
    // ts/dur in us with ps kept as fractional digits (exact to 1e-6 us).
    events.push_back({{"ph", "X"},
                      {"name", op_label(s.op, s.layer, s.micro_batch, s.chunk)},
                      {"cat", std::string(to_string(s.op))},
                      {"pid", s.gpu},
                      {"tid", s.comm ? 1 : 0},
                      {"ts", static_cast<double>(s.start.count_ps()) / 1e6},
                      {"dur", static_cast<double>((s.end - s.start).count_ps()) / 1e6},
                      {"args", {{"layer", s.layer}, {"micro_batch", s.micro_batch}, {"chunk", s.chunk}}}});
  }
  return Json{{"traceEvents", std::move(events)}, {"displayTimeUnit", "ns"}};
}

std::string format_report_table(const SimulationResult& r) {
  std::string o;
  const ParallelConfig& p = r.parallel;
  o += fmt::format("{} | {} schedule | {} network | dp {} tp {} pp {} ep {} expert_tp {} | {} GPUs | {} micro-batches, {} chunks\n",
                   to_string(r.phase), to_string(r.schedule), r.network, p.dp, p.tp, p.pp, p.ep, p.expert_tp, p.gpus(),
                   r.micro_batches, r.chunks);
  if (r.micro_batches_simulated > 0)
    o += fmt::format("({} micro-batches simulated; the others repeat micro-batch 0 exactly: pp = 1 training, "
                     "docs/simulator.md)\n",
                     r.micro_batches_simulated);
  o += fmt::format("iteration {:.3f} ms | {} {:.3f} ms | throughput {:.0f} tokens/s ({:.0f} per GPU) | {} tokens\n",
                   r.iteration.to_ms(), r.latency_name, r.latency_ms, r.throughput_tokens_per_s,
                   r.throughput_tokens_per_s_per_gpu, r.tokens_per_iteration);
  o += fmt::format("{:.0f} {} tokens/s per node ({} nodes){} | compute: {}\n", r.throughput_tokens_per_s_per_node,
                   r.phase == PhaseKind::decode ? "output" : r.phase == PhaseKind::prefill ? "input" : "training",
                   r.nodes, r.phase == PhaseKind::decode ? fmt::format(" | {:.3f} tokens per sequence per step", r.tokens_per_step) : "",
                   r.compute_source);
  const StepBreakdown& st = r.step;
  o += fmt::format("step at GPU {}, ms: attention {:.3f} | MoE GEMM {:.3f} | other compute {:.3f} | dispatch {:.3f} | "
                   "combine {:.3f} | other comm {:.3f} | exposed comm {:.3f} | overheads {:.3f}\n",
                   r.critical_gpu, st.attention_us / 1e3, st.moe_gemm_us / 1e3, st.other_compute_us / 1e3,
                   st.dispatch_us / 1e3, st.combine_us / 1e3, st.other_comm_us / 1e3, st.exposed_comm_us / 1e3,
                   st.overheads_us / 1e3);
  for (const std::string& n : r.notices) o += "note: " + n + "\n";
  if (p.pp > 1) o += fmt::format("pipeline bubble (p-1)/(m+p-1) = {:.3f}\n", r.pipeline_bubble_fraction);
  const bool training = r.phase == PhaseKind::training;
  if (training)
    o += fmt::format("training at GPU {}: forward {:.3f} ms, backward {:.3f} ms, gradient reduction {:.3f} ms ({:.3f} ms "
                     "exposed), optimizer {:.3f} ms, parameter all-gather {:.3f} ms | MFU {:.1f}%\n",
                     r.critical_gpu, r.forward_compute_us / 1e3, r.backward_compute_us / 1e3, r.grad_reduce_us / 1e3,
                     r.grad_reduce_exposed_us / 1e3, r.optimizer_us / 1e3, r.param_gather_us / 1e3, r.mfu * 100);
  o += "\nper layer (critical GPU of each stage, summed over micro-batches), us\n";
  o += fmt::format("{:>5} {:>5} {:>4} {:>11} {:>11} {:>11} {:>11} {:>11} {:>11}", "layer", "stage", "moe", "compute",
                   "dispatch", "combine", "other_comm", "exposed", "bubble");
  o += training ? fmt::format(" {:>11} {:>11} {:>11}\n", "backward", "grad_reduce", "grad_exposed") : "\n";
  double tc = 0, td = 0, tb = 0, to = 0, te = 0, tbu = 0, tbw = 0, tgr = 0, tge = 0;
  for (const LayerBreakdown& l : r.layers) {
    o += fmt::format("{:>5} {:>5} {:>4} {:>11.1f} {:>11.1f} {:>11.1f} {:>11.1f} {:>11.1f} {:>11.1f}", l.layer, l.stage,
                     l.moe ? "yes" : "no", l.compute_us, l.dispatch_us, l.combine_us, l.other_comm_us, l.exposed_comm_us,
                     l.bubble_us);
    o += training ? fmt::format(" {:>11.1f} {:>11.1f} {:>11.1f}\n", l.backward_compute_us, l.grad_reduce_us,
                                l.grad_reduce_exposed_us)
                  : "\n";
    tc += l.compute_us, td += l.dispatch_us, tb += l.combine_us, to += l.other_comm_us, te += l.exposed_comm_us,
        tbu += l.bubble_us;
    tbw += l.backward_compute_us, tgr += l.grad_reduce_us, tge += l.grad_reduce_exposed_us;
  }
  o += fmt::format("{:>16} {:>11.1f} {:>11.1f} {:>11.1f} {:>11.1f} {:>11.1f} {:>11.1f}", "total", tc, td, tb, to, te, tbu);
  o += training ? fmt::format(" {:>11.1f} {:>11.1f} {:>11.1f}\n", tbw, tgr, tge) : "\n";
  // GPUs: idle compute time, min / mean / max, and the extremes.
  double sum_idle = 0;
  const GpuSummary* most_idle = &r.gpus.front();
  for (const GpuSummary& g : r.gpus) {
    sum_idle += g.compute_idle_us;
    if (g.compute_idle_us > most_idle->compute_idle_us) most_idle = &g;
  }
  const GpuSummary& busy = r.gpus[static_cast<std::size_t>(r.busiest_gpu)];
  o += fmt::format("\ncompute-stream idle: mean {:.1f} us, max {:.1f} us (GPU {}); busiest GPU {} (compute {:.1f} us, "
                   "experts {:.1f} us, {:.0f} routed tokens)\n",
                   sum_idle / static_cast<double>(r.gpus.size()), most_idle->compute_idle_us, most_idle->gpu, busy.gpu,
                   busy.compute_busy_us, busy.expert_compute_us, busy.routed_tokens);
  if (r.gpus.size() <= 16) {
    o += fmt::format("{:>5} {:>12} {:>12} {:>12} {:>12} {:>14} {:>14}\n", "gpu", "compute_us", "idle_us", "experts_us",
                     "comm_us", "dispatch_rx_B", "combine_rx_B");
    for (const GpuSummary& g : r.gpus)
      o += fmt::format("{:>5} {:>12.1f} {:>12.1f} {:>12.1f} {:>12.1f} {:>14.0f} {:>14.0f}\n", g.gpu, g.compute_busy_us,
                       g.compute_idle_us, g.expert_compute_us, g.comm_busy_us, g.dispatch_received_bytes,
                       g.combine_received_bytes);
  }
  if (r.busiest_link >= 0)
    o += fmt::format("busiest link {}: {:.3g} bytes, {:.1f}% of its bandwidth over the iteration\n", r.busiest_link_name,
                     r.busiest_link_bytes, 100.0 * r.busiest_link_utilization);
  else
    o += "busiest link: none (no byte crossed a link)\n";
  // Critical path: time per op kind, then the first and last ops.
  std::map<std::string, std::pair<int, double>> per_op;
  for (const CriticalOp& c : r.critical_path) {
    auto& e = per_op[std::string(to_string(c.op))];
    ++e.first;
    e.second += c.end_us - c.start_us;
  }
  // Where the path ends: its last op's GPU (a compute op), or the op itself (an exchange or collective
  // of several GPUs). Not r.critical_gpu: when GPUs finish together that is the lowest of them.
  std::string ending;
  if (!r.critical_path.empty()) {
    const CriticalOp& last = r.critical_path.back();
    ending = last.gpu >= 0 ? fmt::format(" ending on GPU {}", last.gpu)
                           : fmt::format(" ending with {}", op_label(last.op, last.layer, last.micro_batch, last.chunk));
  }
  o += fmt::format("critical path: {} ops{}:", r.critical_path.size(), ending);
  for (const auto& [name, e] : per_op) o += fmt::format(" {} x{} {:.1f} us;", name, e.first, e.second);
  o += "\n";
  const std::size_t n = r.critical_path.size();
  for (std::size_t i = 0; i < n; ++i) {
    if (n > 12 && i == 6) o += fmt::format("  ... {} more ...\n", n - 12);
    if (n > 12 && i >= 6 && i < n - 6) continue;
    const CriticalOp& c = r.critical_path[i];
    o += fmt::format("  {:>12.1f} .. {:>12.1f} us  {}{}\n", c.start_us, c.end_us, op_label(c.op, c.layer, c.micro_batch, c.chunk),
                     c.gpu >= 0 ? fmt::format(" (GPU {})", c.gpu) : std::string());
  }
  return o;
}

namespace {

Json pair_to_json(const PoolPair& p) {
  return Json{{"input_tokens_per_request", tidy(p.input_tokens)},
              {"output_tokens_per_request", tidy(p.output_tokens)},
              {"prefill_input_tokens_per_s_per_node", tidy(p.prefill_input_tokens_per_s_per_node)},
              {"decode_output_tokens_per_s_per_node", tidy(p.decode_output_tokens_per_s_per_node)},
              {"prefill_requests_per_s_per_node", tidy(p.prefill_requests_per_s_per_node)},
              {"decode_requests_per_s_per_node", tidy(p.decode_requests_per_s_per_node)},
              {"prefill_nodes_per_decode_node", tidy(p.prefill_nodes_per_decode_node)},
              {"requests_per_s_per_node", tidy(p.requests_per_s_per_node)},
              {"input_tokens_per_s_per_node", tidy(p.input_tokens_per_s_per_node)},
              {"output_tokens_per_s_per_node", tidy(p.output_tokens_per_s_per_node)},
              {"ttft_ms", tidy(p.ttft_ms)},
              {"tpot_ms", tidy(p.tpot_ms)},
              {"kv_transfer",
               {{"bytes_per_token", tidy(p.kv_bytes_per_token)},
                {"bytes_per_request", tidy(p.kv_bytes_per_request)},
                {"ms_per_request", tidy(p.kv_transfer_ms)},
                {"prefill_nic_fraction", tidy(p.prefill_kv_nic_fraction)},
                {"decode_nic_fraction", tidy(p.decode_kv_nic_fraction)},
                {"prefill_rate_scale", tidy(p.prefill_rate_scale)},
                {"decode_rate_scale", tidy(p.decode_rate_scale)}}}};
}

}  // namespace

Json report_to_json(const DisaggregatedResult& r) {
  Json j = report_to_json(r.prefill);
  Json d = pair_to_json(r.pair);
  d["decode_scenario"] = r.decode_file;
  d["notices"] = r.notices;
  d["decode"] = report_to_json(r.decode);
  j["disaggregation"] = std::move(d);
  return j;
}

std::string format_report_table(const DisaggregatedResult& r) {
  const PoolPair& p = r.pair;
  std::string o = "prefill pool\n" + format_report_table(r.prefill);
  o += "\ndecode pool (" + r.decode_file + ")\n" + format_report_table(r.decode);
  o += fmt::format("\ndisaggregated pair: {:g} input + {:g} output tokens per request\n", p.input_tokens, p.output_tokens);
  o += fmt::format("prefill {:.0f} input tokens/s per node ({:.3f} requests/s) | decode {:.0f} output tokens/s per node "
                   "({:.3f} requests/s)\n",
                   p.prefill_input_tokens_per_s_per_node, p.prefill_requests_per_s_per_node,
                   p.decode_output_tokens_per_s_per_node, p.decode_requests_per_s_per_node);
  o += fmt::format("balanced: {:.3f} prefill nodes per decode node | {:.3f} requests/s per node | {:.0f} input and {:.0f} "
                   "output tokens/s per node | TTFT {:.3f} ms | TPOT {:.3f} ms\n",
                   p.prefill_nodes_per_decode_node, p.requests_per_s_per_node, p.input_tokens_per_s_per_node,
                   p.output_tokens_per_s_per_node, p.ttft_ms, p.tpot_ms);
  o += fmt::format("KV transfer: {:.0f} bytes per token, {:.3f} ms per request; NIC share prefill {:.1f}% (rate x {:.3f}), "
                   "decode {:.1f}% (rate x {:.3f})\n",
                   p.kv_bytes_per_token, p.kv_transfer_ms, 100 * p.prefill_kv_nic_fraction, p.prefill_rate_scale,
                   100 * p.decode_kv_nic_fraction, p.decode_rate_scale);
  for (const std::string& n : r.notices) o += "note: " + n + "\n";
  return o;
}

}  // namespace epsim
