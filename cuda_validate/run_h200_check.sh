#!/usr/bin/env bash
# One-GPU check of epsim_cuda_validate on a rented H100/H200 (under 5 minutes once dependencies are
# installed): build the harness and the CLI, measure expert GEMMs (BF16, FP8) at DeepSeek-V3 shapes
# and compute/copy-kernel overlap, fit a calibration and print a short table.
#
# Usage: cuda_validate/run_h200_check.sh [build-dir] [out-dir]
# Needs: CUDA toolkit with cuBLASLt and NCCL, CMake >= 3.22, Ninja, a C++20 compiler, and the
# project's libraries (Boost, nlohmann_json, CLI11, fmt, GLPK; Catch2 2 for tests).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-${here}/build-h200}"
out="${2:-${here}/h200-check}"
mkdir -p "${out}"

nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true

start=$(date +%s)
cmake -S "${here}" -B "${build}" -G Ninja -DCMAKE_BUILD_TYPE=Release -DEPSIM_CUDA=ON \
      -DEPSIM_BUILD_TESTS=OFF -DEPSIM_BUILD_BENCH=OFF > "${out}/configure.log"
cmake --build "${build}" --target epsim_cuda_validate epsim -j"$(nproc)" > "${out}/build.log"
echo "built in $(( $(date +%s) - start )) s"

# One GPU: GEMMs at M = 16..8192 (BF16 and FP8), then expert GEMMs against a 24-block copy kernel.
timeout 240 "${build}/cuda_validate/epsim_cuda_validate" --mode one-gpu \
    --hidden 7168 --intermediate 2048 --warmup 5 --repeats 20 \
    --out "${out}/measurements-1gpu.json" | tee "${out}/run.log"

"${build}/cli/epsim" calibrate "${out}/measurements-1gpu.json" --out "${out}/calibration-1gpu.json"

# Short table: TFLOP/s and efficiency per tokens per expert (gate_up + down together).
python3 - "${out}/measurements-1gpu.json" <<'PY'
import json, sys, collections
m = json.load(open(sys.argv[1]))
print(f"\n{m['gpu']}  driver {m['driver']}  CUDA {m['cuda']}  NCCL {m['nccl']}")
agg = collections.defaultdict(lambda: [0.0, 0.0, 0.0])
for s in m["samples"]:
    if s["kind"] == "gemm":
        a = agg[(s["dtype"], s["tokens_per_expert"])]
        a[0] += 2.0 * s["tokens_per_expert"] * s["n"] * s["k"]; a[1] += s["time_us"] * 1e-6; a[2] = s["peak_tflops"]
print(f"{'dtype':5} {'M':>6} {'TFLOP/s':>9} {'eff':>6}")
for (dt, mt), (f, t, peak) in sorted(agg.items()):
    print(f"{dt:5} {mt:6d} {f / t / 1e12:9.1f} {f / t / 1e12 / peak:6.3f}")
for s in m["samples"]:
    if s["kind"] == "overlap":
        print(f"overlap ({s['comm']}, M {s['tokens_per_expert']}): compute x{s['compute_overlapped_us'] / s['compute_alone_us']:.3f}, "
              f"copy x{s['comm_overlapped_us'] / s['comm_alone_us']:.3f}")
PY
echo "total $(( $(date +%s) - start )) s; results in ${out}"
