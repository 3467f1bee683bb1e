#include "model/trace.hpp"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <limits>

#include <fmt/format.h>

#include "common/error.hpp"

namespace epsim {

const TraceLayer* Trace::find_layer(int layer) const {
  for (const TraceLayer& l : layers)
    if (l.layer == layer) return &l;
  return nullptr;
}

namespace {

// Integer array with every element in [lo, hi]; the cursor names the bad element.
std::vector<int> read_int_array(const JsonCursor& c, int lo, int hi, const char* what) {
  std::size_t n = c.array_size();
  std::vector<int> out(n);
  for (std::size_t i = 0; i < n; ++i) {
    const Json& v = c.node()[i];
    if (v.is_number_integer()) {
      auto x = v.get<std::int64_t>();
      if (x >= lo && x <= hi) {
        out[i] = static_cast<int>(x);
        continue;
      }
    }
    c.at(i).fail(fmt::format("{} must be an integer in [{}, {}]", what, lo, hi));
  }
  return out;
}

}  // namespace

namespace {
// num_experts, top_k and num_ranks of a trace against the model and EP size.
void check_trace_header(const Trace& trace, const MoeModel& model, int ep) {
  if (trace.num_experts != model.num_experts)
    throw InputError(trace.file, "/num_experts",
                     fmt::format("{} routed experts as in the model ({}), got {}", model.num_experts, model.name,
                                 trace.num_experts));
  if (trace.top_k != model.top_k)
    throw InputError(trace.file, "/top_k",
                     fmt::format("top_k {} as in the model ({}), got {}", model.top_k, model.name, trace.top_k));
  if (trace.num_ranks != ep)
    throw InputError(trace.file, "/num_ranks", fmt::format("{} EP ranks (the planned EP size), got {}", ep, trace.num_ranks));
}
}  // namespace

Trace trace_from_json(const Json& doc, const std::string& file, const MoeModel* model, int ep) {
  JsonCursor root(doc, file);
  root.require_object();
  std::string schema = root.at("schema").as_string();
  if (schema != kTraceSchema) root.at("schema").fail(fmt::format("schema \"{}\"", kTraceSchema));
  Trace t;
  t.file = file;
  t.num_experts = static_cast<int>(root.at("num_experts").as_int(1, 1 << 20));
  t.top_k = static_cast<int>(root.at("top_k").as_int(1, t.num_experts));
  t.num_ranks = static_cast<int>(root.at("num_ranks").as_int(1, 1 << 20));
  if (model) check_trace_header(t, *model, ep);  // before the layers: their ids are checked against these
  JsonCursor layers = root.at("layers");
  std::size_t n = layers.array_size();
  // No layer routes no token: plan --trace "optimized" on nothing (mean 0 nodes per token, exit 0).
  if (n == 0) layers.fail("at least one layer (a trace of no tokens)");
  int previous = -1;
  for (std::size_t i = 0; i < n; ++i) {
    JsonCursor lc = layers.at(i);
    lc.require_object();
    TraceLayer l;
    l.layer = static_cast<int>(lc.at("layer").as_int(0, std::numeric_limits<int>::max()));
    if (l.layer <= previous)
      lc.at("layer").fail(fmt::format("layer indices ascending and distinct (previous {})", previous));
    previous = l.layer;
    l.source = read_int_array(lc.at("source"), 0, t.num_ranks - 1, "a source EP rank");
    l.experts = read_int_array(lc.at("experts"), 0, t.num_experts - 1, "an expert id");
    std::size_t k = static_cast<std::size_t>(t.top_k);
    if (l.experts.size() != l.source.size() * k)
      lc.at("experts").fail(fmt::format("{} x {} = {} expert ids (top_k per token), got {}", l.source.size(), k,
                                        l.source.size() * k, l.experts.size()));
    for (std::size_t tok = 0; tok < l.source.size(); ++tok) {
      for (std::size_t a = 0; a < k; ++a)
        for (std::size_t b = 0; b < a; ++b)
          if (l.experts[tok * k + a] == l.experts[tok * k + b])
            lc.at("experts").at(tok * k + a).fail(fmt::format("token {}: distinct experts (expert {} appears twice)",
                                                              tok, l.experts[tok * k + a]));
    }
    t.layers.push_back(std::move(l));
  }
  return t;
}

Trace load_trace(const std::filesystem::path& path, const MoeModel* model, int ep) {
  return trace_from_json(read_json_file(path), path.string(), model, ep);
}

Json trace_to_json(const Trace& trace) {
  Json out = Json::object();
  out["schema"] = kTraceSchema;
  out["num_experts"] = trace.num_experts;
  out["top_k"] = trace.top_k;
  out["num_ranks"] = trace.num_ranks;
  Json layers = Json::array();
  for (const TraceLayer& l : trace.layers) {
    Json j = Json::object();
    j["layer"] = l.layer;
    j["source"] = l.source;
    j["experts"] = l.experts;
    layers.push_back(std::move(j));
  }
  out["layers"] = std::move(layers);
  return out;
}

std::string trace_to_json_text(const Trace& trace) {
  std::size_t ids = 0;
  for (const TraceLayer& l : trace.layers) ids += l.source.size() + l.experts.size();
  std::string out;
  out.reserve(ids * 4 + 128);
  auto ints = [&out](const std::vector<int>& v) {
    out.push_back('[');
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (i > 0) out.push_back(',');
      fmt::format_to(std::back_inserter(out), "{}", v[i]);
    }
    out.push_back(']');
  };
  // nlohmann::json keeps object keys sorted: layers, num_experts, num_ranks, schema, top_k; and per
  // layer experts, layer, source.
  out += "{\"layers\":[";
  for (std::size_t i = 0; i < trace.layers.size(); ++i) {
    const TraceLayer& l = trace.layers[i];
    if (i > 0) out.push_back(',');
    out += "{\"experts\":";
    ints(l.experts);
    fmt::format_to(std::back_inserter(out), ",\"layer\":{},\"source\":", l.layer);
    ints(l.source);
    out.push_back('}');
  }
  fmt::format_to(std::back_inserter(out), "],\"num_experts\":{},\"num_ranks\":{},\"schema\":\"{}\",\"top_k\":{}}}",
                 trace.num_experts, trace.num_ranks, kTraceSchema, trace.top_k);
  return out;
}

void check_trace_matches(const Trace& trace, const MoeModel& model, int ep) {
  check_trace_header(trace, model, ep);
  for (std::size_t i = 0; i < trace.layers.size(); ++i) {
    int l = trace.layers[i].layer;
    if (l >= model.num_layers || !model.is_moe_layer(l))
      throw InputError(trace.file, fmt::format("/layers/{}/layer", i),
                       fmt::format("a MoE layer of the model ({}), got layer {}", model.name, l));
  }
}

ExpertLoads PerSourceLoads::total() const {
  ExpertLoads out;
  out.source = source;
  out.count.resize(count.size());
  for (std::size_t l = 0; l < count.size(); ++l) {
    std::size_t width = count[l].empty() ? 0 : count[l].front().size();
    out.count[l].assign(width, 0.0);
    for (const auto& row : count[l])
      for (std::size_t e = 0; e < width; ++e) out.count[l][e] += row[e];
  }
  return out;
}

PerSourceLoads per_source_loads_from_json(const Json& doc, const std::string& file) {
  JsonCursor root(doc, file);
  root.require_object();
  JsonCursor layers = root.at("per_source_count");
  std::size_t num_layers = layers.array_size();
  if (num_layers == 0) layers.fail("at least one layer");
  PerSourceLoads out;
  out.source = file;
  out.count.resize(num_layers);
  std::size_t ranks = 0, width = 0;
  for (std::size_t l = 0; l < num_layers; ++l) {
    JsonCursor lc = layers.at(l);
    std::size_t r = lc.array_size();
    if (r == 0) lc.fail(fmt::format("layer {}: at least one source rank", l));
    if (l == 0) ranks = r;
    else if (r != ranks) lc.fail(fmt::format("layer {} has {} source ranks but layer 0 has {}", l, r, ranks));
    out.count[l].resize(r);
    for (std::size_t s = 0; s < r; ++s) {
      JsonCursor row = lc.at(s);
      std::size_t n = row.array_size();
      if (n == 0) row.fail("at least one expert");
      if (l == 0 && s == 0) width = n;
      else if (n != width)
        row.fail(fmt::format("layer {} rank {} has {} experts but layer 0 rank 0 has {} (ragged rows)", l, s, n, width));
      auto& dst = out.count[l][s];
      dst.resize(n);
      for (std::size_t e = 0; e < n; ++e) dst[e] = read_token_count(row, e);
    }
  }
  return out;
}

ExpertLoads expert_loads_any_from_json(const Json& doc, const std::string& file) {
  JsonCursor root(doc, file);
  root.require_object();
  if (root.has("logical_count") && root.has("per_source_count"))
    root.at("per_source_count")
        .fail("either \"logical_count\" or \"per_source_count\", not both (one would be ignored)");
  if (root.has("logical_count")) return expert_loads_from_json(doc, file);
  if (root.has("per_source_count")) return per_source_loads_from_json(doc, file).total();
  throw InputError(root.file(), "/logical_count",
                   "required field is missing (expected \"logical_count\": [layer][expert], or \"per_source_count\": "
                   "[layer][rank][expert])");
}

ExpertLoads load_expert_loads_any(const std::filesystem::path& path) {
  return expert_loads_any_from_json(read_json_file(path), path.string());
}

PerSourceLoads trace_per_source_loads(const Trace& trace, int num_layers) {
  PerSourceLoads out;
  out.source = trace.file;
  out.count.assign(static_cast<std::size_t>(num_layers),
                   std::vector<std::vector<double>>(static_cast<std::size_t>(trace.num_ranks),
                                                    std::vector<double>(static_cast<std::size_t>(trace.num_experts), 0.0)));
  for (const TraceLayer& l : trace.layers) {
    if (l.layer >= num_layers) continue;
    auto& layer = out.count[static_cast<std::size_t>(l.layer)];
    for (int i = 0; i < l.num_tokens(); ++i)
      for (int e : l.token_experts(i, trace.top_k))
        layer[static_cast<std::size_t>(l.source[static_cast<std::size_t>(i)])][static_cast<std::size_t>(e)] += 1;
  }
  return out;
}

Json per_source_loads_to_json(const PerSourceLoads& loads) { return Json{{"per_source_count", loads.count}}; }

}  // namespace epsim
