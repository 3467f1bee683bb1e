#include "placement/plan_reader.hpp"

#include <fmt/format.h>

#include "comm/exchange_kernel.hpp"
#include "common/limits.hpp"
#include "common/names.hpp"
#include "placement/plan_json.hpp"

namespace epsim {

PlanFileSettings read_plan_settings(const JsonCursor& root) {
  if (root.at("schema").as_string() != kPlanSchema) root.at("schema").fail(fmt::format("\"{}\"", kPlanSchema));
  JsonCursor settings = root.at("settings");
  PlanFileSettings out;
  out.ep = static_cast<int>(settings.at("ep").as_int(1, 1 << 20));
  out.slots_per_gpu = static_cast<int>(settings.at("slots_per_gpu").as_int(1, 1 << 20));
  if (settings.has("tokens_per_gpu")) {
    out.tokens_per_gpu = settings.at("tokens_per_gpu").as_non_negative();
    // The planner's range (placement/plan.cpp): a larger count is the file's error, not a flag's.
    if (out.tokens_per_gpu > limits::kMaxTokenCount)
      settings.at("tokens_per_gpu").fail(fmt::format("a token count in [0, {:g}]", limits::kMaxTokenCount));
  }
  if (settings.has("dispatch_bytes_per_token"))
    out.dispatch_bytes_per_token = settings.at("dispatch_bytes_per_token").as_positive();
  if (settings.has("combine_bytes_per_token"))
    out.combine_bytes_per_token = settings.at("combine_bytes_per_token").as_positive();
  if (settings.has("exchange_kernel")) {
    out.exchange_kernel = settings.at("exchange_kernel").as_string();
    bool known = false;
    std::vector<std::string> names;
    for (std::string_view k : exchange_kernel_names()) {
      known = known || k == out.exchange_kernel;
      names.emplace_back(k);
    }
    if (!known) settings.at("exchange_kernel").fail("an exchange kernel: " + names_text(names));
  }
  if (settings.has("calibration")) {
    // {"file": path, "fnv1a64": 16 hex digits}: written by `epsim plan` with a calibration.
    JsonCursor c = settings.at("calibration");
    c.reject_unknown_keys({"file", "fnv1a64"});
    out.calibration_file = c.at("file").as_string();
    if (out.calibration_file.empty()) c.at("file").fail("the path of a calibration.json");
    out.calibration_fnv1a64 = c.at("fnv1a64").as_string();
    const bool hex = out.calibration_fnv1a64.size() == 16 &&
                     out.calibration_fnv1a64.find_first_not_of("0123456789abcdef") == std::string::npos;
    if (!hex) c.at("fnv1a64").fail("16 lower-case hex digits (the FNV-1a 64-bit hash of the calibration file)");
  }
  if (settings.has("replica_choice")) {
    const std::string name = settings.at("replica_choice").as_string();
    bool known = false;
    for (std::size_t i = 0; i < replica_choice_names().size(); ++i)
      if (replica_choice_names()[i] == name) {
        out.replica_choice = static_cast<ReplicaChoice>(i);
        known = true;
      }
    if (!known) settings.at("replica_choice").fail("a replica choice: " + names_text(replica_choice_names()));
  }
  return out;
}

PlanFile read_plan_file(const std::filesystem::path& path, const MoeModel& m, int expected_ep,
                        const std::string& expected_ep_what) {
  Json doc = read_json_file(path);
  JsonCursor root(doc, path.string());
  const PlanFileSettings s = read_plan_settings(root);
  JsonCursor settings = root.at("settings");
  PlanFile out;
  out.ep = s.ep;
  if (expected_ep > 0 && out.ep != expected_ep)
    settings.at("ep").fail(expected_ep_what.empty() ? fmt::format("EP {}", expected_ep) : expected_ep_what);
  out.slots_per_gpu = s.slots_per_gpu;
  const long long slots = static_cast<long long>(out.ep) * out.slots_per_gpu;
  if (slots < m.num_experts)
    settings.at("slots_per_gpu").fail(fmt::format("ep x slots_per_gpu >= the model's {} experts", m.num_experts));
  out.redundant = static_cast<int>(slots - m.num_experts);
  out.tokens_per_gpu = s.tokens_per_gpu;
  out.dispatch_bytes_per_token = s.dispatch_bytes_per_token;
  out.combine_bytes_per_token = s.combine_bytes_per_token;
  out.exchange_kernel = s.exchange_kernel;
  out.calibration_file = s.calibration_file;
  out.calibration_fnv1a64 = s.calibration_fnv1a64;
  out.replica_choice = s.replica_choice;
  if (settings.has("num_experts") && settings.at("num_experts").as_int(1, 1 << 20) != m.num_experts)
    settings.at("num_experts").fail(fmt::format("the model's {} experts", m.num_experts));
  out.layers.assign(static_cast<std::size_t>(m.num_layers), LayerPlacement{});
  JsonCursor layers = root.at("layers");
  for (std::size_t i = 0; i < layers.array_size(); ++i) {
    JsonCursor l = layers.at(i);
    int layer = static_cast<int>(l.at("layer").as_int(0, m.num_layers - 1));
    if (!m.is_moe_layer(layer)) l.at("layer").fail("a MoE layer of the model");
    if (!out.layers[static_cast<std::size_t>(layer)].slot_expert.empty())
      l.at("layer").fail(fmt::format("a layer not listed before (layer {} appears twice)", layer));
    JsonCursor se = l.at("slot_expert");
    if (se.array_size() != static_cast<std::size_t>(slots))
      se.fail(fmt::format("{} slots (ep x slots_per_gpu)", slots));
    LayerPlacement p;
    p.num_gpus = out.ep;
    p.slots_per_gpu = out.slots_per_gpu;
    for (std::size_t k = 0; k < se.array_size(); ++k)
      p.slot_expert.push_back(static_cast<int>(se.at(k).as_int(-1, m.num_experts - 1)));
    check_placement(p, m.num_experts, fmt::format("{} /layers/{}", path.string(), i));
    out.layers[static_cast<std::size_t>(layer)] = std::move(p);
  }
  for (int layer = 0; layer < m.num_layers; ++layer)
    if (m.is_moe_layer(layer) && out.layers[static_cast<std::size_t>(layer)].slot_expert.empty())
      layers.fail(fmt::format("an entry for MoE layer {}", layer));
  return out;
}

}  // namespace epsim
