#pragma once
// Scale limits epsim enforces with a clear InputError instead of running out of memory (or swapping).
// Each cap and the memory it implies are measured by bench/bench_limits and written in docs/limits.md.
#include <cstdint>

namespace epsim::limits {

/// Largest input file read (JSON, CSV, text), bytes: parsed JSON takes several times its size.
inline constexpr std::uintmax_t kMaxInputFileBytes = 512ull << 20;
/// Deepest nesting of a JSON or XML input (arrays/objects, elements). epsim's deepest format (a sweep
/// axis holding a scenario fragment) nests ~8 levels and an NCCL dump ~8; 64 leaves room and keeps every
/// recursive routine (copy, dump, compare, property-tree walk) thousands of frames below a stack overflow.
inline constexpr int kMaxJsonDepth = 64;
inline constexpr int kMaxXmlDepth = 64;
/// Largest estimated memory of one parsed JSON document (common/json_budget.hpp): the largest trace
/// `trace generate` writes with DeepSeek-V3 defaults (58 layers, EP 32 x 4096 tokens) parses to ~1.0 GiB;
/// a read then peaks at the file (<= 512 MiB) + 2 GiB + what the reader builds from it.
inline constexpr std::uint64_t kMaxJsonParsedBytes = 2ull << 30;
/// Devices and directed links of one topology file (a 4096-node DGX cluster has ~71k devices, ~213k directed links).
inline constexpr std::int64_t kMaxDevices = 1 << 20;
inline constexpr std::int64_t kMaxLinks = 1 << 22;
/// Physical ranges of a link (topology files, generators, NCCL import). Bandwidth: 1 MB/s (far below
/// any PCIe/NVLink/Ethernet link) to 100 TB/s (50x an NVLink 5 GPU's 1.8 TB/s); latency: 0 to 1 s
/// (a cross-continent round trip is ~0.1 s). Outside these ranges, times of a byte count lose their
/// meaning (1e-320 GB/s is a denormal; 1.7e308 ns overflows any sum to infinity).
inline constexpr double kMinLinkBandwidthGBps = 1e-3;
inline constexpr double kMaxLinkBandwidthGBps = 1e5;
inline constexpr double kMaxLinkLatencyNs = 1e9;
/// GPUs a route table serves (the compact per-destination table: ~G^2/16 bytes; 16384 GPUs ~ 16 MiB).
inline constexpr int kMaxRoutedGpus = 16384;
/// EP ranks of one all-to-all link model (EpLinkModel aggregates EP^2 routes; 4096 ranks ~ 16.8M
/// routes, minutes; see docs/limits.md).
inline constexpr int kMaxEpRanks = 4096;
/// GPUs one row of a measured communication table may name (measurements/comm_tables.cpp,
/// measurements/deepep_tables.cpp; docs/formats-measurements.md): the published tables run 2 to 64 GPUs,
/// 1024 is epsim's documented scale (16 to 1024 GPUs). Each row's samples build the link model of that
/// many GPUs (EP^2 routes): a row of 1e9 GPUs overflowed the expert count, one of 65536 ran for a minute,
/// an AIConfigurator DeepEP row of 1e6 nodes ran 40 s and died of bad_alloc.
inline constexpr int kMaxMeasuredTableGpus = 1024;
/// SMs of one GPU any input may name (an exchange kernel's `sms`, a measured table's SM count): H100 has
/// 132, B200 148; 1024 only keeps the field sane (a calibration of 100000 SMs priced the SM term at 0).
inline constexpr int kMaxGpuSms = 1024;
/// Memory the EP link model's per-rank rows may take (comm/link_load.hpp EpLinkModel), bytes: 4 GiB.
/// The rows grow as EP^2 and with the links a route spreads over (ECMP across spines, several NICs per
/// GPU). Estimated from the first rank's rows before the others are built (ep x its entries x 48
/// bytes); a larger model is refused. Estimates: DGX H100 1024 GPUs 0.2 GiB, 4096 3.4 GiB; AWS p5 (4
/// NICs per GPU) 1024 GPUs 0.9 GiB, 2048 3.7 GiB, 4096 15 GiB (refused).
inline constexpr double kMaxEpLinkModelBytes = 4.0 * 1024 * 1024 * 1024;
/// Layers of a model / expert-loads file, and routed experts per MoE layer.
inline constexpr std::int64_t kMaxLayers = 1024;
inline constexpr std::int64_t kMaxExperts = 65536;
/// Expert counts in one loads file (layers x experts).
inline constexpr std::int64_t kMaxLoadCounts = 1 << 24;
/// Largest token count of one expert in a loads file, and largest --tokens-per-gpu: far above any real
/// measurement, low enough that bytes = tokens x hidden x bytes per element stay finite in a double.
inline constexpr double kMaxTokenCount = 1e15;
/// Smallest token count a user gives (tokens per GPU or replica, per sequence, in a KV cache): one
/// token (common/token_count.hpp says why, and why fractions above one are allowed).
inline constexpr double kMinTokenCount = 1.0;
/// Range of one measured quantity in a measured file (a time in us or ms, a bandwidth in GB/s, a byte or
/// element count, TFLOP/s): outside it no row is a measurement (1e12 us is 11 days); a 1e300 row passed
/// and pulled a fit (a DeepEP normal latency 26.9 -> 48.6 us) or overflowed its sums.
inline constexpr double kMinMeasuredValue = 1e-9;
inline constexpr double kMaxMeasuredValue = 1e12;
/// The range as the readers' messages write it.
inline constexpr const char* kMeasuredValueRange = "[1e-09, 1e12]";
/// Whether `v` is a measured value: within [kMinMeasuredValue, kMaxMeasuredValue], or 0 with `zero_ok`
/// (a phase a kernel may skip, e.g. DeepEP's notify). NaN is not.
constexpr bool is_measured_value(double v, bool zero_ok = false) {
  return (v >= kMinMeasuredValue || (zero_ok && v == 0)) && v <= kMaxMeasuredValue;
}
/// Rows one `epsim calibrate` fits (all its measured files together). Exchange-kernel samples: each fit
/// step prices every one (~0.05 ms per sample for the whole fit; 198,720 samples took 11 s, 128 MB); the
/// largest published table has 4,968 (AIConfigurator DeepEP normal). Collective rows: a network fit
/// prices every row through the collective model at each step (2-4.4 ms per row for the whole fit; 4,096
/// all_reduce rows took 18 s); published nccl-tests files hold tens to ~500. docs/limits.md "Scale caps".
inline constexpr std::int64_t kMaxCalibrationKernelSamples = 200000;
inline constexpr std::int64_t kMaxCalibrationCollectiveRows = 4096;
/// Token-expert ids of one generated trace (layers x tokens x (top_k + 1): expert ids and source
/// ranks). 2^27 ids hold DeepSeek-V3 prefill at EP 32 x 4096 tokens per GPU (58 x 131072 x 9 = 68.4M)
/// with room; the generator also refuses a trace whose file epsim could not read back
/// (kMaxJsonParsedBytes) and states its memory estimate (model/trace_generator.hpp).
inline constexpr std::int64_t kMaxTraceIds = 1ll << 27;

}  // namespace epsim::limits
