#pragma once
// Scale limits epsim enforces with a clear InputError instead of running out of memory (or swapping).
// Each cap and the memory it implies are measured by bench/bench_limits and written in docs/limits.md.
#include <cstdint>

namespace epsim::limits {

/// Largest input file read (JSON, CSV, text), bytes: parsed JSON takes several times its size.
inline constexpr std::uintmax_t kMaxInputFileBytes = 512ull << 20;
/// Devices and directed links of one topology file (a 4096-node DGX cluster has ~71k devices, ~213k directed links).
inline constexpr std::int64_t kMaxDevices = 1 << 20;
inline constexpr std::int64_t kMaxLinks = 1 << 22;
/// GPUs a route table serves (the compact per-destination table: ~G^2/16 bytes; 16384 GPUs ~ 16 MiB).
inline constexpr int kMaxRoutedGpus = 16384;
/// EP ranks of one all-to-all link model (EpLinkModel aggregates EP^2 routes; 4096 ranks ~ 16.8M
/// routes, minutes; see docs/limits.md).
inline constexpr int kMaxEpRanks = 4096;
/// Layers of a model / expert-loads file, and routed experts per MoE layer.
inline constexpr std::int64_t kMaxLayers = 1024;
inline constexpr std::int64_t kMaxExperts = 65536;
/// Expert counts in one loads file (layers x experts).
inline constexpr std::int64_t kMaxLoadCounts = 1 << 24;
/// Largest token count of one expert in a loads file, and largest --tokens-per-gpu: far above any real
/// measurement, low enough that bytes = tokens x hidden x bytes per element stay finite in a double.
inline constexpr double kMaxTokenCount = 1e15;

}  // namespace epsim::limits
