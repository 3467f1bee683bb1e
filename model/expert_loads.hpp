#pragma once
// Expert loads: routed-token counts per layer and expert.
#include <filesystem>
#include <string>
#include <vector>

#include "common/json_input.hpp"
#include "model/moe_model.hpp"

namespace epsim {

/// count[layer][expert] = tokens routed to the expert in that layer (token-expert pairs), over the
/// whole measurement window; all finite and >= 0. Layers are the model's layer indices (dense layers
/// are all zero in SGLang's files).
struct ExpertLoads {
  std::string source;  ///< the file it came from (for messages)
  std::vector<std::vector<double>> count;

  int num_layers() const { return static_cast<int>(count.size()); }
  int num_experts() const { return count.empty() ? 0 : static_cast<int>(count.front().size()); }
};

/// Element i of the array at `row`: a whole token count in [0, limits::kMaxTokenCount] (an integer, or
/// a number with no fraction such as 3.0). Throws InputError at the element otherwise.
double read_token_count(const JsonCursor& row, std::size_t i);

/// Parse SGLang's expert-distribution format {"logical_count": [layer][expert]}. Throws InputError
/// naming the file and pointer for: missing key, a non-array, ragged rows, negative, fractional or
/// non-finite counts, no layers.
ExpertLoads expert_loads_from_json(const Json& doc, const std::string& file);
ExpertLoads load_expert_loads(const std::filesystem::path& path);

/// Check loads against a model: same number of layers and experts per layer (naming the first layer
/// that disagrees). Throws InputError.
void check_loads_match_model(const ExpertLoads& loads, const MoeModel& model);

}  // namespace epsim
