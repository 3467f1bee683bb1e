#include "model/gpu_spec.hpp"

#include <algorithm>
#include <array>
#include <cctype>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common/error.hpp"

namespace epsim {
namespace {

// Sources:
// H100 SXM5: NVIDIA H100 Tensor Core GPU datasheet (2023): 989 TFLOP/s BF16 and 1979 TFLOP/s FP8 dense
//   (the datasheet's 1979/3958 figures are "with sparsity"), 3.35 TB/s HBM3, 80 GB, NVLink 900 GB/s
//   bidirectional = 450 GB/s per direction (18 NVLink 4 links x 25 GB/s); 132 SMs (NVIDIA Hopper
//   architecture whitepaper, H100 SXM5 configuration).
// H200 SXM: NVIDIA H200 datasheet (2024): same GH100 compute as H100 SXM, 141 GB HBM3e at 4.8 TB/s.
// H800 SXM: export variant of H100 SXM with the same tensor-core peak (DeepSeek-V3 technical report,
//   section 3.1, and DeepGEMM README measure against it); NVLink reduced to 400 GB/s bidirectional,
//   200 GB/s per direction nominal.
// B200 (HGX B200 per-GPU figures, NVIDIA DGX B200 / HGX datasheet 2024): 2.25 PFLOP/s dense BF16 and
//   4.5 PFLOP/s dense FP8 (the 4.5/9 PFLOP/s headline figures are sparse), 8 TB/s HBM3e, 180 GB usable
//   in DGX B200 (192 GB physical on the package; we use 180 GB, what DGX B200 exposes), 148 SMs
//   (NVIDIA Blackwell architecture technical brief), NVLink 5: 1.8 TB/s bidirectional = 900 GB/s per
//   direction.
const std::array<GpuSpec, 4> kSpecs = {{
    {"H100", 989.0, 1979.0, 3.35, 80.0, 132, 450.0},
    {"H200", 989.0, 1979.0, 4.8, 141.0, 132, 450.0},
    {"H800", 989.0, 1979.0, 3.35, 80.0, 132, 200.0},
    {"B200", 2250.0, 4500.0, 8.0, 180.0, 148, 900.0},
}};

std::string upper(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return out;
}

}  // namespace

std::vector<std::string> known_gpu_names() {
  std::vector<std::string> names;
  for (const auto& s : kSpecs) names.push_back(s.name);
  return names;
}

GpuSpec gpu_spec(std::string_view name) {
  std::string key = upper(name);
  // Accept the form-factor suffixes people write ("H100-SXM", "H100_SXM5", "H200 SXM").
  for (std::string_view suffix : {"-SXM5", "_SXM5", " SXM5", "-SXM", "_SXM", " SXM"}) {
    if (key.size() > suffix.size() && key.ends_with(suffix)) {
      key.resize(key.size() - suffix.size());
      break;
    }
  }
  for (const auto& s : kSpecs)
    if (s.name == key) return s;
  throw InputError(fmt::format("unknown GPU '{}': expected one of {}", name, fmt::join(known_gpu_names(), ", ")));
}

}  // namespace epsim
