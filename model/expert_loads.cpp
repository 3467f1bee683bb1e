#include "model/expert_loads.hpp"

#include <cmath>

#include <fmt/format.h>

#include "common/error.hpp"
#include "common/limits.hpp"

namespace epsim {

ExpertLoads expert_loads_from_json(const Json& doc, const std::string& file) {
  JsonCursor root(doc, file);
  root.require_object();
  JsonCursor layers = root.at("logical_count");
  std::size_t num_layers = layers.array_size();
  if (num_layers == 0) layers.fail("expected at least one layer");
  if (num_layers > static_cast<std::size_t>(limits::kMaxLayers))
    layers.fail(fmt::format("at most {} layers (found {}; see docs/limits.md)", limits::kMaxLayers, num_layers));
  ExpertLoads loads;
  loads.source = file;
  loads.count.resize(num_layers);
  std::size_t width = 0;
  for (std::size_t l = 0; l < num_layers; ++l) {
    JsonCursor row = layers.at(l);
    std::size_t n = row.array_size();
    if (n == 0) row.fail(fmt::format("layer {}: expected at least one expert", l));
    if (n > static_cast<std::size_t>(limits::kMaxExperts) ||
        n * num_layers > static_cast<std::size_t>(limits::kMaxLoadCounts))
      row.fail(fmt::format("at most {} experts per layer and {} counts in all (found {} layers x {} experts; see "
                           "docs/limits.md)", limits::kMaxExperts, limits::kMaxLoadCounts, num_layers, n));
    if (l == 0) width = n;
    else if (n != width) row.fail(fmt::format("layer {} has {} experts but layer 0 has {} (ragged rows)", l, n, width));
    auto& out = loads.count[l];
    out.resize(n);
    for (std::size_t e = 0; e < n; ++e) out[e] = read_token_count(row, e);
  }
  return loads;
}

double read_token_count(const JsonCursor& row, std::size_t i) {
  const Json& v = row.node()[i];
  if (v.is_number_unsigned() && v.get<std::uint64_t>() <= static_cast<std::uint64_t>(limits::kMaxTokenCount))
    return static_cast<double>(v.get<std::uint64_t>());  // fast path: a whole count in range
  JsonCursor c = row.at(i);
  const double x = c.as_non_negative();
  if (x > limits::kMaxTokenCount)
    c.fail(fmt::format("a token count <= {:g} (see docs/limits.md), found {:g}", limits::kMaxTokenCount, x));
  if (x != std::floor(x)) c.fail(fmt::format("a whole token count (loads count tokens), found {:g}", x));
  return x;
}

ExpertLoads load_expert_loads(const std::filesystem::path& path) {
  return expert_loads_from_json(read_json_file(path), path.string());
}

void check_loads_match_model(const ExpertLoads& loads, const MoeModel& model) {
  if (loads.num_layers() != model.num_layers)
    throw InputError(loads.source, "/logical_count",
                     fmt::format("has {} layers but the model ({}) has {} (num_hidden_layers)", loads.num_layers(),
                                 model.name, model.num_layers));
  for (int l = 0; l < loads.num_layers(); ++l) {
    auto n = static_cast<int>(loads.count[static_cast<std::size_t>(l)].size());
    if (n != model.num_experts)
      throw InputError(loads.source, fmt::format("/logical_count/{}", l),
                       fmt::format("layer {} has {} experts but the model ({}) has {} routed experts", l, n,
                                   model.name, model.num_experts));
  }
}

}  // namespace epsim
