#include "comm/exchange_kernel.hpp"
#include "sim/scenario/scenario_params.hpp"

#include <algorithm>
#include <cctype>
#include <string>
#include <vector>

#include "common/limits.hpp"
#include "model/gpu_spec.hpp"
#include "placement/algorithms/algorithms.hpp"
#include "placement/objective.hpp"
#include "placement/replica_choice.hpp"
#include "sim/compute/compute_model.hpp"
#include "sim/network/network_model.hpp"
#include "sim/scenario/replica_lengths.hpp"
#include "sim/scenario/scenario.hpp"
#include "topology/generators.hpp"
#include "topology/routing.hpp"

namespace epsim {

namespace {

std::vector<std::string> gpu_choices() {
  std::vector<std::string> names = known_gpu_names();
  for (std::string& n : names)
    std::transform(n.begin(), n.end(), n.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return names;
}

// Builders that keep the table below one line per field where they can.
ParamSpec field(std::string pointer, ParamType type, std::string unit, Json def, std::string meaning) {
  ParamSpec s;
  s.pointer = std::move(pointer);
  s.type = type;
  s.unit = std::move(unit);
  s.default_value = std::move(def);
  s.meaning = std::move(meaning);
  return s;
}
ParamSpec integer(std::string pointer, std::string unit, Json def, double lo, double hi, std::string meaning) {
  ParamSpec s = field(std::move(pointer), ParamType::integer, std::move(unit), std::move(def), std::move(meaning));
  s.min = lo;
  s.max = hi;
  return s;
}
ParamSpec positive(std::string pointer, std::string unit, Json def, std::string meaning) {
  ParamSpec s = field(std::move(pointer), ParamType::number, std::move(unit), std::move(def), std::move(meaning));
  s.min = 0;
  s.min_exclusive = true;
  return s;
}
ParamSpec at_most(ParamSpec s, double hi) {
  s.max = hi;
  return s;
}
// A token count a user gives: [1, 1e15] (common/token_count.hpp: the one rule, and why fractions above one are allowed).
ParamSpec token_count(std::string pointer, std::string unit, std::string meaning) {
  ParamSpec s = field(std::move(pointer), ParamType::number, std::move(unit), nullptr, std::move(meaning));
  s.min = limits::kMinTokenCount;
  s.max = limits::kMaxTokenCount;
  return s;
}
ParamSpec choice(std::string pointer, std::vector<std::string> choices, Json def, std::string meaning) {
  ParamSpec s = field(std::move(pointer), ParamType::choice, "", std::move(def), std::move(meaning));
  s.choices = std::move(choices);
  return s;
}
ParamSpec& with_alias(ParamSpec& s, std::string alias) {
  s.alias = std::move(alias);
  return s;
}
ParamSpec& when(ParamSpec& s, std::string pointer, std::vector<std::string> values) {
  s.when_pointer = std::move(pointer);
  s.when_values = std::move(values);
  return s;
}
ParamSpec& note(ParamSpec& s, std::string text) {
  s.default_note = std::move(text);
  return s;
}
ParamSpec& required(ParamSpec& s) {
  s.required = true;
  return s;
}

std::vector<ParamSpec> build() {
  const DgxClusterOptions dgx;  // the generator's defaults (DGX H100 datasheet values, generators.hpp)
  const double max_ranks = 1 << 20;  // dp x tp x pp is checked against limits::kMaxRoutedGpus by the parser
  std::vector<ParamSpec> t;
  auto add = [&](ParamSpec s) -> ParamSpec& { return t.emplace_back(std::move(s)); };

  ParamSpec& schema = add(field("/schema", ParamType::constant, "", nullptr, "format id"));
  schema.choices = {kScenarioSchema};
  required(schema);
  add(field("/name", ParamType::string, "", nullptr, "free text"));
  add(field("/description", ParamType::string, "", nullptr, "free text"));

  // Inputs.
  with_alias(required(add(field("/model", ParamType::path, "", nullptr, "Hugging Face config.json of the MoE model"))),
             "model");
  with_alias(add(field("/loads", ParamType::path, "", nullptr,
                       "expert loads (SGLang logical_count or per_source_count); absent: every expert equal")),
             "loads");
  add(field("/plan", ParamType::path, "", nullptr,
            "plan.json (epsim.plan/1) whose slot_expert is the placement; absent: planned with /placement"));
  with_alias(add(field("/calibration", ParamType::path, "", nullptr, "calibration.json (epsim.calibration/2; /1 is read): links, compute, exchange kernels")),
             "calibration");
  required(add(field("/gemm_efficiency", ParamType::path, "", nullptr,
                     "DeepGEMM CSV of GEMM efficiency vs tokens per expert "
                     "(scenarios/measurements/deepgemm_grouped_fp8_h800.csv)")));

  // Phase.
  required(add(field("/phase", ParamType::object, "", nullptr, "the work of one iteration, per DP replica")));
  with_alias(required(add(choice("/phase/kind", phase_names(), nullptr,
                                 "prefill, decode, or training (forward + backward, gradient reduction, optimizer)"))),
             "phase");
  const std::vector<std::string> not_decode = {"prefill", "training"};
  with_alias(when(add(token_count("/phase/tokens_per_gpu", "tokens",
                               "tokens per DP replica (per micro-batch in training); = per GPU when tp = pp = 1")),
                  "/phase/kind", not_decode),
             "tokens_per_gpu");
  note(when(add(token_count("/phase/sequence_length", "tokens",
                         "tokens per sequence (with batch, or splitting tokens_per_gpu into sequences)")),
            "/phase/kind", not_decode),
       "tokens_per_gpu");
  when(add(positive("/phase/batch", "sequences", nullptr,
                    "sequences per DP replica (with sequence_length, instead of tokens_per_gpu)")),
       "/phase/kind", not_decode);
  with_alias(when(add(token_count("/phase/batch_per_gpu", "sequences",
                               "decode: sequences per DP replica (required; = per GPU when tp = pp = 1)")),
                  "/phase/kind", {"decode"}),
             "batch_per_gpu");
  with_alias(when(add(token_count("/phase/context_length", "tokens",
                               "decode: tokens already in each KV cache (required)")),
                  "/phase/kind", {"decode"}),
             "context_length");
  // 65536: pp = 1 training builds 2 micro-batches whatever their number (sim/simulate.hpp); otherwise
  // simulate() refuses a task graph above kMaxSimTasks (docs/limits.md).
  with_alias(add(integer("/phase/micro_batches", "", 1, 1, 1 << 16,
                         "the replica's batch is split into this many micro-batches (pipeline, two-batch overlap)")),
             "micro_batches");

  // The cluster.
  required(add(field("/topology", ParamType::path_or_object, "", nullptr,
                     "topology JSON (epsim.topology/1), or an object describing a generated DGX cluster (members below)")));
  with_alias(add(choice("/topology/fabric", fabric_names(), std::string(to_string(dgx.fabric)),
                        "how NICs attach to leaf switches (rail-optimized: DGX SuperPOD)")),
             "fabric");
  note(with_alias(add(integer("/topology/nodes", "nodes", nullptr, 1, kMaxGeneratedNodes, "nodes of the generated cluster")), "nodes"),
       "just enough for dp x tp x pp GPUs");
  add(integer("/topology/gpus_per_node", "GPUs", dgx.gpus_per_node, 1, kMaxGeneratedGpusPerNode, "GPUs per node"));
  add(choice("/topology/gpu_model", gpu_choices(), dgx.gpu_model, "GPU model of the generated cluster"));
  add(positive("/topology/nvlink_GBps", "GB/s", dgx.nvlink_GBps, "NVLink bandwidth per GPU and direction"));
  with_alias(add(positive("/topology/nic_GBps", "GB/s", dgx.nic_GBps, "NIC bandwidth per direction (ConnectX-7: 50)")),
             "nic_GBps");
  add(positive("/topology/pcie_GBps", "GB/s", dgx.pcie_GBps, "PCIe bandwidth per direction (Gen5 x16)"));
  add(integer("/topology/nodes_per_su", "nodes", dgx.nodes_per_su, 1, 65536, "nodes per scalable unit (leaf group)"));
  add(integer("/topology/spines", "switches", dgx.spines, 1, 4096, "spine switches per scalable unit group"));
  ParamSpec& os = add(field("/topology/oversubscription", ParamType::number, "", dgx.oversubscription,
                            "leaf down-link : up-link bandwidth ratio"));
  os.min = 1;
  with_alias(os, "oversubscription");
  // Layout.
  add(field("/parallel", ParamType::object, "", nullptr, "the parallel layout"));
  add(integer("/parallel/dp", "replicas", 1, 1, max_ranks, "data-parallel replicas of attention"));
  add(integer("/parallel/tp", "GPUs", 1, 1, 1024, "tensor-parallel size of attention"));
  add(integer("/parallel/pp", "stages", 1, 1, 1024, "pipeline stages"));
  note(add(integer("/parallel/ep", "ranks", nullptr, 1, max_ranks,
                   "EP ranks of the MoE layers: ep x expert_tp = dp x tp (training: or a divisor of dp x tp)")),
       "dp x tp / expert_tp");
  add(integer("/parallel/expert_tp", "GPUs", 1, 1, 1024, "TP size inside one expert (modelled with ep = 1 only)"));

  // Execution.
  with_alias(add(choice("/schedule", schedule_names(), "overlap",
                        "serial; overlap (chunked dispatch, experts start per arrived chunk); two-batch "
                        "(two micro-batches interleaved, even micro_batches)")),
             "schedule");
  with_alias(add(integer("/chunks", "", 4, 1, 64, "dispatch chunks of the overlap schedule")), "chunks");
  add(choice("/pipeline_schedule", pipeline_schedule_names(), "1f1b", "order of forward/backward slots per stage"));
  with_alias(add(choice("/network", network_model_names(), "analytical",
                        "network model: busiest-link closed form, max-min fair flows per GPU and destination host, "
                        "or one flow per transfer")),
             "network");
  with_alias(add(choice("/routing", routing_policy_names(), "shortest", "routing between hosts: ECMP, or NCCL's PXN")),
             "routing");
  with_alias(add(choice("/ecmp", ecmp_mode_names(), "split",
                        "equal-cost paths: every flow split evenly over them, or each (source, destination) flow "
                        "hashed onto one per switch (collisions)")),
             "ecmp");
  note(with_alias(add(choice("/exchange_kernel", exchange_kernel_name_list(), nullptr,
                             "EP exchange kernel of dispatch and combine (docs/simulator.md, \"Exchange kernels\")")),
                  "exchange_kernel"),
       "deepep-ll for decode, deepep-normal for prefill and training");
  note(with_alias(add(choice("/gpu", gpu_choices(), "h100", "the simulated GPU (datasheet figures, model/gpu_spec.cpp)")),
                  "gpu"),
       "the generated cluster's gpu_model, else h100");
  with_alias(add(choice("/precision", precision_names(), "fp8", "GEMM inputs and weights")), "precision");
  note(add(at_most(positive("/dispatch_bytes_per_element", "bytes", nullptr, "bytes per hidden element on the wire, dispatch"),
                   kMaxWireBytesPerElement)),
       "1.03125 for fp8 (a byte per value + an FP32 scale per 128), 2 for bf16");
  add(at_most(positive("/combine_bytes_per_element", "bytes", 2.0, "bytes per hidden element on the wire, combine (BF16)"),
              kMaxWireBytesPerElement));
  with_alias(add(integer("/nccl_buffsize_bytes", "bytes", kNcclDefaultBuffsizeBytes, kNcclMinBuffsizeBytes,
                         kNcclMaxBuffsizeBytes,
                         "the run's NCCL_BUFFSIZE: the collectives pipeline in steps of it / 8 (NCCL_STEPS)")),
             "nccl_buffsize");

  // Placement (when no plan file is given).
  add(field("/placement", ParamType::object, "", nullptr, "how the placement is planned when no /plan is given"));
  with_alias(add(choice("/placement/algorithm", placement_algorithm_names(), "greedy", "placement algorithm")),
             "placement");
  with_alias(add(integer("/placement/redundant", "slots", 0, 0, max_ranks,
                         "extra expert slots for replicas of hot experts: (experts + redundant) % ep == 0")),
             "redundant");
  add(choice("/placement/objective", objective_names(), "link", "what the planner minimizes"));
  add(integer("/placement/seed", "", 1, 0, 9007199254740992.0 /* 2^53, exact in JSON */, "seed of the placement search"));
  note(with_alias(add(choice("/placement/replica_choice", replica_choice_names(), nullptr,
                             "how a batch's tokens of an expert split over its replicas: equal shares, or the "
                             "per-batch LP minimizing the busiest GPU (docs/placement.md)")),
                  "replica_choice"),
       "the /plan file's settings.replica_choice, else rule");

  // Serving (prefill and decode): compute from measured kernel tables, the engine's step.
  const std::vector<std::string> serving_phases = {"prefill", "decode"};
  note(when(add(field("/kernel_tables", ParamType::path, "", nullptr,
                      "folder with kernel_tables.json (measured GEMM, MLA, MoE, MLP tables; docs/compute_model.md)")),
            "/phase/kind", serving_phases),
       "the shipped tables of /gpu (h100, h200; h800 uses h100's), none for other GPUs");
  with_alias(when(add(choice("/compute", {"kernel-tables", "roofline"}, "kernel-tables",
                             "op times from the kernel tables (roofline outside their range), or rooflines only")),
                  "/phase/kind", serving_phases),
             "compute");
  when(add(choice("/attention_backend", {"fa3", "flashinfer"}, "fa3",
                  "MLA kernels of the tables (SGLang's fa3 default on Hopper)")),
       "/phase/kind", serving_phases);
  when(add(field("/mtp", ParamType::object, "", nullptr, "multi-token prediction (DeepSeek-V3 MTP draft tokens)")),
       "/phase/kind", {"decode"});
  add(integer("/mtp/draft_tokens", "tokens", 0, 0, 16, "draft tokens per step"));
  ParamSpec& accept = add(field("/mtp/acceptance_rate", ParamType::number, "", 0.0,
                                "probability that a draft token is accepted given the previous one was"));
  accept.min = 0;
  accept.max = 1;
  when(add(field("/decode_step_overhead_us", ParamType::number, "us", 0.0,
                 "fixed cost per decode step (graph launch, scheduling) not hidden by the engine; 0: SGLang's "
                 "overlap scheduler hides it")),
       "/phase/kind", {"decode"})
      .min = 0;

  when(add(field("/replica_lengths", ParamType::object, "", nullptr,
                 "sequence lengths per DP attention replica: each replica's attention costs its own length, the "
                 "slowest gates the layer (give lengths or distribution)")),
       "/phase/kind", serving_phases);
  ParamSpec& lengths = add(field("/replica_lengths/lengths", ParamType::number_list, "tokens", nullptr,
                                 "one length per DP replica (prefill: its sequences' length; decode: its KV length)"));
  lengths.min = 0;
  lengths.min_exclusive = true;
  add(choice("/replica_lengths/distribution", length_distribution_names(), nullptr,
             "draw each replica's length, mean = the phase's sequence_length (prefill) or context_length (decode)"));
  ParamSpec& cv = add(field("/replica_lengths/cv", ParamType::number, "", 0.5,
                            "coefficient of variation of the drawn lengths (uniform: below 1/sqrt(3) = 0.577)"));
  cv.min = 0;
  add(integer("/replica_lengths/seed", "", 1, 0, 4294967295.0, "seed of the draw"));

  // Prefill-decode disaggregation: this scenario is the prefill pool, paired with a decode pool.
  when(add(field("/disaggregation", ParamType::object, "", nullptr,
                 "prefill-decode disaggregation: this scenario is the prefill pool of a pair (docs/simulator.md)")),
       "/phase/kind", {"prefill"});
  required(add(field("/disaggregation/decode_scenario", ParamType::path, "", nullptr,
                     "scenario of the decode pool (phase decode, the same model)")));
  required(add(positive("/disaggregation/output_tokens", "tokens", nullptr, "mean output tokens per request")));
  add(positive("/disaggregation/kv_bytes_per_element", "bytes", 2.0,
               "bytes per KV-cache element sent from the prefill to the decode pool (BF16: SGLang's default)"));

  // Training.
  when(add(field("/training", ParamType::object, "", nullptr, "training options")), "/phase/kind", {"training"});
  add(field("/training/overlap_grad_reduce", ParamType::boolean, "", true,
            "reduce a layer's gradients while earlier layers run their backward"));
  add(choice("/training/grad_reduce", grad_reduce_names(), "all_reduce",
             "all_reduce, or reduce_scatter (distributed optimizer, then all-gather of the parameters)"));
  return t;
}

}  // namespace

ParamTable scenario_params() {
  static const std::vector<ParamSpec> table = build();
  return table;
}

}  // namespace epsim
