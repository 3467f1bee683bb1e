#pragma once
// Executes a task graph on per-GPU CUDA-like streams: every GPU has one compute stream and one
// communication stream; a stream runs its tasks one at a time in issue order (the order of add()).
// A task starts when all its dependencies are satisfied and it is at the head of every stream it
// occupies. Compute that runs while the same GPU's communication stream is busy progresses slower by
// a factor (ComputeModel::overlap_slowdown()), re-evaluated whenever the communication stream starts
// or stops. Exchanges go through a NetworkModel and complete per GPU. Integer picosecond time.
#include "comm/link_load.hpp"
#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>
#include <vector>

#include "sim/closed_form_exchange.hpp"
#include "sim/network/network_model.hpp"
#include "sim/engine/simulator.hpp"
#include "sim/engine/time.hpp"

namespace epsim {

/// What a task does (names in reports and traces).
enum class OpKind : std::uint8_t {
  attention,      ///< attention block (compute)
  tp_all_reduce,  ///< TP all-reduce after attention (collective)
  gate,           ///< router GEMM + top-k (compute)
  dispatch,       ///< all-to-all: tokens to the GPUs of their experts (exchange)
  experts,        ///< grouped routed-expert GEMMs (compute)
  shared_experts, ///< shared-expert FFN (compute)
  combine,        ///< all-to-all: expert outputs back (exchange)
  ffn_all_reduce, ///< all-reduce of the expert-TP / dense-TP FFN output (collective)
  dense_ffn,      ///< FFN of a dense layer (compute)
  pp_send,        ///< pipeline stage boundary activation transfer (exchange, no stream)
  grad_sync,      ///< data-parallel gradient reduce-scatter / all-reduce (collective)
  optimizer,      ///< optimizer step (compute, memory-bound)
  param_all_gather, ///< all-gather of updated parameters after a sharded optimizer step (collective)
  lm_head,        ///< LM head GEMM and sampling after the last layer (compute)
  step_overhead,  ///< fixed per-step cost of a decode step (graph launch, scheduler; compute stream)
  fixed,          ///< generic op (tests)
};

/// Name of an op kind ("attention", "dispatch", ...).
std::string_view to_string(OpKind kind);
/// True for ops that run on the communication stream (collectives and exchanges).
bool is_communication(OpKind kind);

/// Kind of execution of a task.
enum class TaskKind : std::uint8_t {
  compute,     ///< one GPU's compute stream for `duration` (nominal; slowed while comm is busy)
  collective,  ///< the communication streams of all `gpus` for a fixed `duration`, started together
  exchange,    ///< the transfers of make_transfers() through the NetworkModel; ends per GPU
};

/// A dependency: satisfied when `task` has finished on GPU `gpu` (a participant of that task).
struct TaskDep {
  int task = 0;
  int gpu = 0;
};

/// One task of the graph. Ids are the order of StreamExecutor::add (dependencies point backwards).
struct TaskSpec {
  TaskKind kind = TaskKind::compute;
  OpKind op = OpKind::fixed;
  int layer = -1;       ///< model layer (-1: none)
  int micro_batch = 0;  ///< micro-batch index
  int chunk = 0;        ///< chunk index inside a chunked exchange / expert pass
  bool backward = false;///< training backward pass
  std::vector<int> gpus;  ///< compute: exactly one GPU; collective/exchange: the participants
  Time duration;          ///< compute (nominal) and collective durations; exchange: the least time
                          ///< from the task's start to each GPU's end (0 = none)
  /// exchange only: builds the transfers when the task starts (keeps the graph small). Transfers
  /// between GPUs that are not participants are an error (std::invalid_argument).
  std::function<std::vector<Transfer>()> make_transfers;
  /// exchange only, optional: transfers are shape_scale x those of every exchange with the same
  /// non-null shape_key (same order); lets the closed-form network reuse its route scan.
  const void* shape_key = nullptr;
  /// exchange only, optional: the transfers are an EP all-to-all among gpus (consecutive ranks from
  /// gpus.front()) of (*a2a_tokens)[rank] x a2a_fraction selections per rank, a2a_bytes_per_token each,
  /// under the exchange kernel's closed form with a2a_routing's de-duplication
  /// (ClosedFormExchange::all_to_all); lets the closed form skip generating transfers.
  std::shared_ptr<const std::vector<double>> a2a_tokens;
  double a2a_bytes_per_token = 0;
  double a2a_fraction = 1;
  bool a2a_dispatch = true;
  ExchangeRouting a2a_routing;
  /// exchange only: the kernel's latency before its transfers start under a network model (the
  /// closed form includes it in its times).
  Time start_latency;
  double shape_scale = 1.0;
  /// exchange and collective: false = no stream (PP sends, gradient reductions on their own streams;
  /// such a task leaves no StreamInterval). Compute tasks always occupy their stream.
  bool occupies_streams = true;
  std::vector<TaskDep> deps;
};

/// One busy interval of a stream of one GPU.
struct StreamInterval {
  int task = 0;
  bool comm = false;  ///< communication stream (else compute stream)
  Time start;
  Time end;
};

/// Per-GPU totals collected while running.
struct GpuCounters {
  double received_bytes_dispatch = 0;  ///< bytes that arrived in dispatch exchanges
  double received_bytes_combine = 0;   ///< bytes that arrived in combine exchanges
  double received_bytes_other = 0;     ///< pp_send and other exchanges
};

/// Executes one task graph once. Not thread-safe; one instance per simulation.
/// Complexity: O(T log T + sum of deps + transfers) events and work for T tasks.
class StreamExecutor {
 public:
  /// num_gpus: GPU ranks 0..num_gpus-1; overlap_slowdown >= 1; exchange_overhead: fixed cost before
  /// the transfers of every exchange start (communication kernel launch + handshake; per message, so
  /// splitting an exchange into chunks is not free). Throws std::invalid_argument on bad values.
  StreamExecutor(int num_gpus, double overlap_slowdown, Time exchange_overhead);

  /// Add a task; returns its id. Throws std::invalid_argument when a GPU is out of range, a compute
  /// task has != 1 GPU, a dependency names a later task or a GPU that is not its participant.
  int add(TaskSpec spec);

  /// Run the graph to completion on `sim` (which must be fresh: now() == 0). `net` may be null when
  /// the graph has no exchange. When `closed_form` is given, exchanges use it instead of `net` (one
  /// event per participant GPU instead of one per transfer; same times as the analytical model).
  /// Throws std::logic_error when tasks never start (a dependency cycle through stream order),
  /// std::invalid_argument from the network model.
  void run(Simulator& sim, NetworkModel* net, ClosedFormExchange* closed_form = nullptr);

  int num_tasks() const { return static_cast<int>(tasks_.size()); }
  int num_gpus() const { return num_gpus_; }
  const TaskSpec& spec(int task) const { return tasks_[static_cast<std::size_t>(task)].spec; }
  /// Start time of a task (after run).
  Time start(int task) const { return tasks_[static_cast<std::size_t>(task)].start; }
  /// Time the task finished on its last participant.
  Time end(int task) const { return tasks_[static_cast<std::size_t>(task)].end; }
  /// The task whose completion let this task start (-1: started at time 0 / by no completion).
  int binding_predecessor(int task) const { return tasks_[static_cast<std::size_t>(task)].binding; }
  /// Busy intervals of a GPU's streams, in order of start per stream (compute then comm interleaved
  /// by completion order).
  const std::vector<StreamInterval>& intervals(int gpu) const { return intervals_[static_cast<std::size_t>(gpu)]; }
  const GpuCounters& counters(int gpu) const { return counters_[static_cast<std::size_t>(gpu)]; }
  /// Latest end of any task.
  Time makespan() const { return makespan_; }
  /// The chain of binding predecessors ending at the task that ends last, first task first.
  std::vector<int> critical_path() const;

 private:
  struct Task {
    TaskSpec spec;
    int deps_left = 0;
    int streams_waiting = 0;  ///< streams occupied by the task whose head it is and which are idle
    int num_streams = 0;
    int participants_left = 0;
    bool started = false;
    Time start;
    Time end;
    int binding = -1;
    std::vector<std::pair<int, int>> dependents;  ///< (gpu, dependent task), sorted by gpu at run
  };
  struct Stream {
    std::vector<int> queue;
    std::size_t head = 0;
    bool busy = false;
  };
  struct RunningCompute {
    int task = -1;
    double remaining_ps = 0;  ///< nominal work left
    Time segment_start;
    double factor = 1;
    EventId event{};
  };
  struct ExchangeRun {
    int task = 0;
    std::vector<int> src_idx, dst_idx;  ///< participant index of each transfer's ends
    std::vector<double> bytes;
    std::vector<int> outstanding;       ///< per participant
    std::size_t transfers_left = 0;     ///< the vectors are released when it reaches 0
  };

  Stream& stream(int gpu, bool comm) { return (comm ? comm_ : compute_)[static_cast<std::size_t>(gpu)]; }
  void announce_head(int gpu, bool comm);
  void maybe_start(int task);
  void start_task(int task);
  void start_exchange_transfers(int task);
  void finish_on(int task, int gpu);
  void finish_compute(int gpu);
  void set_comm_busy(int gpu, bool busy);
  void schedule_compute_end(int gpu);

  int num_gpus_;
  double slowdown_;
  Time exchange_overhead_;
  std::vector<Task> tasks_;
  std::vector<Stream> compute_, comm_;
  std::vector<RunningCompute> running_;
  std::vector<std::vector<StreamInterval>> intervals_;
  std::vector<GpuCounters> counters_;
  std::vector<std::unique_ptr<ExchangeRun>> exchanges_;
  Simulator* sim_ = nullptr;
  NetworkModel* net_ = nullptr;
  ClosedFormExchange* closed_form_ = nullptr;
  std::vector<Time> offsets_;  ///< scratch of the closed form
  int cause_ = -1;
  int finished_ = 0;
  Time makespan_;
};

}  // namespace epsim
