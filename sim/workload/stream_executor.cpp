#include "sim/workload/stream_executor.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace epsim {

std::string_view to_string(OpKind kind) {
  switch (kind) {
    case OpKind::attention: return "attention";
    case OpKind::tp_all_reduce: return "tp_all_reduce";
    case OpKind::gate: return "gate";
    case OpKind::dispatch: return "dispatch";
    case OpKind::experts: return "experts";
    case OpKind::shared_experts: return "shared_experts";
    case OpKind::combine: return "combine";
    case OpKind::ffn_all_reduce: return "ffn_all_reduce";
    case OpKind::dense_ffn: return "dense_ffn";
    case OpKind::pp_send: return "pp_send";
    case OpKind::grad_sync: return "grad_sync";
    case OpKind::optimizer: return "optimizer";
    case OpKind::param_all_gather: return "param_all_gather";
    case OpKind::lm_head: return "lm_head";
    case OpKind::step_overhead: return "step_overhead";
    case OpKind::fixed: return "op";
  }
  return "op";
}

bool is_communication(OpKind kind) {
  switch (kind) {
    case OpKind::tp_all_reduce:
    case OpKind::dispatch:
    case OpKind::combine:
    case OpKind::ffn_all_reduce:
    case OpKind::pp_send:
    case OpKind::grad_sync:
    case OpKind::param_all_gather: return true;
    default: return false;
  }
}

StreamExecutor::StreamExecutor(int num_gpus, double overlap_slowdown, Time exchange_overhead)
    : num_gpus_(num_gpus), slowdown_(overlap_slowdown), exchange_overhead_(exchange_overhead) {
  if (num_gpus < 1) throw std::invalid_argument("StreamExecutor: need at least one GPU");
  if (!(overlap_slowdown >= 1.0)) throw std::invalid_argument("StreamExecutor: overlap slowdown must be >= 1");
  if (exchange_overhead < Time()) throw std::invalid_argument("StreamExecutor: negative exchange overhead");
  auto n = static_cast<std::size_t>(num_gpus);
  compute_.resize(n);
  comm_.resize(n);
  running_.resize(n);
  intervals_.resize(n);
  counters_.resize(n);
}

int StreamExecutor::add(TaskSpec spec) {
  const int id = num_tasks();
  if (spec.gpus.empty()) throw std::invalid_argument("StreamExecutor::add: task without GPUs");
  for (int g : spec.gpus)
    if (g < 0 || g >= num_gpus_) throw std::invalid_argument("StreamExecutor::add: GPU rank out of range");
  if (spec.kind == TaskKind::compute && spec.gpus.size() != 1)
    throw std::invalid_argument("StreamExecutor::add: a compute task runs on exactly one GPU");
  if (spec.duration < Time()) throw std::invalid_argument("StreamExecutor::add: negative duration");
  if (spec.kind == TaskKind::exchange && !spec.make_transfers)
    throw std::invalid_argument("StreamExecutor::add: exchange without transfers");
  Task t;
  for (const TaskDep& d : spec.deps) {
    if (d.task < 0 || d.task >= id) throw std::invalid_argument("StreamExecutor::add: dependency on a later task");
    Task& pred = tasks_[static_cast<std::size_t>(d.task)];
    if (std::find(pred.spec.gpus.begin(), pred.spec.gpus.end(), d.gpu) == pred.spec.gpus.end())
      throw std::invalid_argument("StreamExecutor::add: dependency on a GPU that is not a participant");
    pred.dependents.emplace_back(d.gpu, id);
  }
  t.deps_left = static_cast<int>(spec.deps.size());
  const bool uses_streams = spec.kind == TaskKind::compute || spec.occupies_streams;
  if (uses_streams) {
    const bool comm = spec.kind != TaskKind::compute;
    for (int g : spec.gpus) stream(g, comm).queue.push_back(id);
    t.num_streams = static_cast<int>(spec.gpus.size());
  }
  t.participants_left = static_cast<int>(spec.gpus.size());
  t.spec = std::move(spec);
  tasks_.push_back(std::move(t));
  return id;
}

void StreamExecutor::run(Simulator& sim, NetworkModel* net, ClosedFormExchange* closed_form) {
  sim_ = &sim;
  net_ = net;
  closed_form_ = closed_form;
  for (Task& t : tasks_)
    std::stable_sort(t.dependents.begin(), t.dependents.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
  for (int g = 0; g < num_gpus_; ++g) {
    announce_head(g, false);
    announce_head(g, true);
  }
  for (int i = 0; i < num_tasks(); ++i)
    if (tasks_[static_cast<std::size_t>(i)].num_streams == 0) maybe_start(i);
  sim.run();
  if (finished_ != num_tasks())
    throw std::logic_error("StreamExecutor: " + std::to_string(num_tasks() - finished_) +
                           " tasks never ran (dependency cycle through stream order)");
  sim_ = nullptr;
  net_ = nullptr;
}

void StreamExecutor::announce_head(int gpu, bool comm) {
  Stream& s = stream(gpu, comm);
  if (s.busy || s.head >= s.queue.size()) return;
  int task = s.queue[s.head];
  ++tasks_[static_cast<std::size_t>(task)].streams_waiting;
  maybe_start(task);
}

void StreamExecutor::maybe_start(int task) {
  Task& t = tasks_[static_cast<std::size_t>(task)];
  if (t.started || t.deps_left > 0 || t.streams_waiting < t.num_streams) return;
  start_task(task);
}

void StreamExecutor::start_task(int task) {
  Task& t = tasks_[static_cast<std::size_t>(task)];
  t.started = true;
  t.start = sim_->now();
  t.binding = cause_;
  if (t.num_streams > 0) {
    const bool comm = t.spec.kind != TaskKind::compute;
    for (int g : t.spec.gpus) {
      Stream& s = stream(g, comm);
      s.busy = true;
      ++s.head;
      if (comm) set_comm_busy(g, true);
    }
  }
  switch (t.spec.kind) {
    case TaskKind::compute: {
      int g = t.spec.gpus.front();
      RunningCompute& rc = running_[static_cast<std::size_t>(g)];
      rc.task = task;
      rc.remaining_ps = static_cast<double>(t.spec.duration.count_ps());
      rc.segment_start = sim_->now();
      rc.factor = comm_[static_cast<std::size_t>(g)].busy ? slowdown_ : 1.0;
      schedule_compute_end(g);
      break;
    }
    case TaskKind::collective:
      sim_->schedule(sim_->now() + t.spec.duration, Simulator::kDefaultPriority, [this, task] {
        for (int g : tasks_[static_cast<std::size_t>(task)].spec.gpus) finish_on(task, g);
      });
      break;
    case TaskKind::exchange: {
      // The closed form includes the kernel's latency in its times; a network model does not.
      const bool closed = closed_form_ != nullptr && t.spec.a2a_tokens;
      const Time delay = exchange_overhead_ + (closed ? Time() : t.spec.start_latency);
      if (delay > Time())
        sim_->schedule(sim_->now() + delay, Simulator::kDefaultPriority, [this, task] { start_exchange_transfers(task); });
      else
        start_exchange_transfers(task);
      break;
    }
  }
}

void StreamExecutor::start_exchange_transfers(int task) {
  Task& t = tasks_[static_cast<std::size_t>(task)];
  std::vector<int> index(static_cast<std::size_t>(num_gpus_), -1);
  for (std::size_t i = 0; i < t.spec.gpus.size(); ++i) index[static_cast<std::size_t>(t.spec.gpus[i])] = static_cast<int>(i);
  if (closed_form_ != nullptr && t.spec.a2a_tokens) {
    std::vector<Time> done;
    std::vector<double> received;
    if (closed_form_->all_to_all(*t.spec.a2a_tokens, t.spec.a2a_bytes_per_token, t.spec.a2a_fraction,
                                 t.spec.a2a_dispatch, t.spec.gpus.front(), t.spec.a2a_routing, done, received)) {
      const Time now = sim_->now();
      for (std::size_t i = 0; i < done.size(); ++i) {
        int g = t.spec.gpus[i];
        GpuCounters& c = counters_[static_cast<std::size_t>(g)];
        (t.spec.op == OpKind::dispatch ? c.received_bytes_dispatch : c.received_bytes_combine) += received[i];
      }
      for (std::size_t i = 0; i < done.size(); ++i) {
        int g = t.spec.gpus[i];
        if (done[i] == Time()) finish_on(task, g);
        else sim_->schedule(now + done[i], Simulator::kDefaultPriority, [this, task, g] { finish_on(task, g); });
      }
      return;
    }
  }
  std::vector<Transfer> all = t.spec.make_transfers();
  if (closed_form_ != nullptr) {
    // Closed form: each participant finishes at the latest arrival of its transfers (in or out).
    closed_form_->arrival_offsets(all, offsets_, t.spec.shape_key, t.spec.shape_scale);
    std::vector<Time> done(t.spec.gpus.size(), Time());
    for (std::size_t k = 0; k < all.size(); ++k) {
      const Transfer& tr = all[k];
      int si = index[static_cast<std::size_t>(tr.src_gpu)], di = index[static_cast<std::size_t>(tr.dst_gpu)];
      if (si < 0 || di < 0) throw std::invalid_argument("StreamExecutor: transfer between non-participants");
      if (tr.src_gpu == tr.dst_gpu || !(tr.bytes > 0)) continue;
      GpuCounters& c = counters_[static_cast<std::size_t>(tr.dst_gpu)];
      if (t.spec.op == OpKind::dispatch) c.received_bytes_dispatch += tr.bytes;
      else if (t.spec.op == OpKind::combine) c.received_bytes_combine += tr.bytes;
      else c.received_bytes_other += tr.bytes;
      done[static_cast<std::size_t>(si)] = std::max(done[static_cast<std::size_t>(si)], offsets_[k]);
      done[static_cast<std::size_t>(di)] = std::max(done[static_cast<std::size_t>(di)], offsets_[k]);
    }
    const Time now = sim_->now();
    for (std::size_t i = 0; i < done.size(); ++i) {
      int g = t.spec.gpus[i];
      if (done[i] == Time()) finish_on(task, g);
      else sim_->schedule(now + done[i], Simulator::kDefaultPriority, [this, task, g] { finish_on(task, g); });
    }
    return;
  }
  auto run = std::make_unique<ExchangeRun>();
  run->task = task;
  run->outstanding.assign(t.spec.gpus.size(), 0);
  std::vector<Transfer> live;
  live.reserve(all.size());
  for (const Transfer& tr : all) {
    if (tr.src_gpu < 0 || tr.src_gpu >= num_gpus_ || tr.dst_gpu < 0 || tr.dst_gpu >= num_gpus_)
      throw std::invalid_argument("StreamExecutor: transfer GPU out of range");
    int si = index[static_cast<std::size_t>(tr.src_gpu)], di = index[static_cast<std::size_t>(tr.dst_gpu)];
    if (si < 0 || di < 0) throw std::invalid_argument("StreamExecutor: transfer between non-participants");
    if (tr.src_gpu == tr.dst_gpu || !(tr.bytes > 0)) continue;
    live.push_back(tr);
    run->src_idx.push_back(si);
    run->dst_idx.push_back(di);
    run->bytes.push_back(tr.bytes);
    ++run->outstanding[static_cast<std::size_t>(si)];
    ++run->outstanding[static_cast<std::size_t>(di)];
  }
  // Participants without transfers are done now.
  std::vector<int> idle;
  for (std::size_t i = 0; i < t.spec.gpus.size(); ++i)
    if (run->outstanding[i] == 0) idle.push_back(t.spec.gpus[i]);
  run->transfers_left = live.size();
  ExchangeRun* r = run.get();
  exchanges_.push_back(std::move(run));
  if (!live.empty()) {
    if (net_ == nullptr) throw std::logic_error("StreamExecutor: exchange without a network model");
    net_->start_exchange(std::move(live), [this, r](std::size_t i) {
      const Task& tk = tasks_[static_cast<std::size_t>(r->task)];
      int dst = tk.spec.gpus[static_cast<std::size_t>(r->dst_idx[i])];
      GpuCounters& c = counters_[static_cast<std::size_t>(dst)];
      if (tk.spec.op == OpKind::dispatch) c.received_bytes_dispatch += r->bytes[i];
      else if (tk.spec.op == OpKind::combine) c.received_bytes_combine += r->bytes[i];
      else c.received_bytes_other += r->bytes[i];
      for (int idx : {r->src_idx[i], r->dst_idx[i]})
        if (--r->outstanding[static_cast<std::size_t>(idx)] == 0) finish_on(r->task, tk.spec.gpus[static_cast<std::size_t>(idx)]);
      if (--r->transfers_left == 0) *r = ExchangeRun{};  // release the per-transfer vectors
    }, nullptr);
  }
  for (int g : idle) finish_on(task, g);
}

void StreamExecutor::finish_on(int task, int gpu) {
  Task& t = tasks_[static_cast<std::size_t>(task)];
  const Time now = sim_->now();
  // An exchange with a least duration (a collective whose traffic also runs through the network):
  // a GPU whose transfers are done early ends at start + duration.
  if (t.spec.kind == TaskKind::exchange && now < t.start + t.spec.duration) {
    sim_->schedule(t.start + t.spec.duration, Simulator::kDefaultPriority, [this, task, gpu] { finish_on(task, gpu); });
    return;
  }
  const bool comm = t.spec.kind != TaskKind::compute;
  if (t.num_streams > 0) {
    intervals_[static_cast<std::size_t>(gpu)].push_back(StreamInterval{task, comm, t.start, now});
  }
  if (--t.participants_left == 0) {
    t.end = now;
    ++finished_;
    makespan_ = std::max(makespan_, now);
  }
  const int saved = cause_;
  cause_ = task;
  if (t.num_streams > 0) {
    stream(gpu, comm).busy = false;
    if (comm) set_comm_busy(gpu, false);
  }
  auto range = std::equal_range(t.dependents.begin(), t.dependents.end(), std::pair<int, int>(gpu, 0),
                                [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto it = range.first; it != range.second; ++it) {
    Task& d = tasks_[static_cast<std::size_t>(it->second)];
    --d.deps_left;
    maybe_start(it->second);
  }
  if (t.num_streams > 0) announce_head(gpu, comm);
  cause_ = saved;
}

void StreamExecutor::schedule_compute_end(int gpu) {
  RunningCompute& rc = running_[static_cast<std::size_t>(gpu)];
  Time d = rc.factor == 1.0 ? Time::ps(static_cast<Time::Rep>(rc.remaining_ps))
                            : Time::from_ps_ceil(rc.remaining_ps * rc.factor);
  rc.event = sim_->schedule(sim_->now() + d, Simulator::kDefaultPriority, [this, gpu] { finish_compute(gpu); });
}

void StreamExecutor::finish_compute(int gpu) {
  RunningCompute& rc = running_[static_cast<std::size_t>(gpu)];
  int task = rc.task;
  rc.task = -1;
  finish_on(task, gpu);
}

void StreamExecutor::set_comm_busy(int gpu, bool busy) {
  RunningCompute& rc = running_[static_cast<std::size_t>(gpu)];
  if (rc.task < 0) return;
  double factor = busy ? slowdown_ : 1.0;
  if (factor == rc.factor) return;
  const Time now = sim_->now();
  double elapsed = static_cast<double>((now - rc.segment_start).count_ps());
  rc.remaining_ps = std::max(0.0, rc.remaining_ps - elapsed / rc.factor);
  if (rc.factor == 1.0) rc.remaining_ps = std::round(rc.remaining_ps);
  sim_->cancel(rc.event);
  rc.factor = factor;
  rc.segment_start = now;
  schedule_compute_end(gpu);
}

std::vector<int> StreamExecutor::critical_path() const {
  std::vector<int> path;
  int last = -1;
  for (int i = 0; i < num_tasks(); ++i)
    if (last < 0 || tasks_[static_cast<std::size_t>(i)].end > tasks_[static_cast<std::size_t>(last)].end) last = i;
  for (int t = last; t >= 0; t = tasks_[static_cast<std::size_t>(t)].binding) path.push_back(t);
  std::reverse(path.begin(), path.end());
  return path;
}

}  // namespace epsim
