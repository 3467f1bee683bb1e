#include "sweep/axis_catalog.hpp"

#include <algorithm>
#include <regex>

#include "sim/scenario/scenario_params.hpp"

namespace epsim {

namespace {

int index_of(ParamTable table, const ParamSpec* spec) { return static_cast<int>(spec - table.data()); }

// "tp<T>xpp<P>" with T, P >= 1 (at most 4 digits each); false otherwise.
bool parse_layout(const std::string& s, int& tp, int& pp) {
  static const std::regex re("tp([1-9][0-9]{0,3})xpp([1-9][0-9]{0,3})");
  std::smatch m;
  if (!std::regex_match(s, m, re)) return false;
  tp = std::stoi(m[1].str());
  pp = std::stoi(m[2].str());
  return true;
}

AxisInfo shorthand(AxisKind kind) {
  const ParamTable table = scenario_params();
  AxisInfo a;
  a.kind = kind;
  if (kind == AxisKind::ep) {
    a.name = "ep";
    a.field = find_param(table, "/parallel/ep");
    a.help = "EP size E: /parallel/dp = /parallel/ep = E (attention data-parallel, one EP rank per GPU)";
  } else {
    a.name = "layout";
    // After the ep axis in the product: a baseline's dp = ep = 1 overrides it (grid.hpp skips
    // baselines at other EP sizes).
    a.field = find_param(table, "/parallel/expert_tp");
    a.help = "\"ep\" (the base's layout) or a TP x PP baseline without EP such as \"tp8xpp2\" "
             "(/parallel/tp = 8, /parallel/pp = 2, /parallel/expert_tp = 8, /parallel/dp = /parallel/ep = 1)";
  }
  a.order = index_of(table, a.field);
  return a;
}

}  // namespace

bool find_axis(const std::string& key, AxisInfo& out) {
  const ParamTable table = scenario_params();
  if (key == "ep") {
    out = shorthand(AxisKind::ep);
    return true;
  }
  if (key == "layout") {
    out = shorthand(AxisKind::layout);
    return true;
  }
  const ParamSpec* f = !key.empty() && key.front() == '/' ? find_param(table, key) : find_param_alias(table, key);
  if (!f || f->type == ParamType::constant) return false;
  out = AxisInfo{key, AxisKind::field, f, index_of(table, f), f->meaning};
  return true;
}

std::vector<AxisInfo> named_axes() {
  std::vector<AxisInfo> out = {shorthand(AxisKind::ep), shorthand(AxisKind::layout)};
  const ParamTable table = scenario_params();
  for (const ParamSpec& f : table)
    if (!f.alias.empty()) out.push_back(AxisInfo{f.alias, AxisKind::field, &f, index_of(table, &f), f.meaning});
  std::stable_sort(out.begin(), out.end(), [](const AxisInfo& a, const AxisInfo& b) { return a.order < b.order; });
  return out;
}

void check_axis_value(const AxisInfo& axis, const JsonCursor& at) {
  switch (axis.kind) {
    case AxisKind::field: check_param_value(*axis.field, at); return;
    case AxisKind::ep: check_param_value(*axis.field, at); return;
    case AxisKind::layout: {
      int tp = 0, pp = 0;
      const std::string s = at.as_string();
      if (s != "ep" && !parse_layout(s, tp, pp)) at.fail("\"ep\" or a baseline \"tp<T>xpp<P>\" such as \"tp8xpp2\"");
      return;
    }
  }
}

std::vector<std::pair<std::string, Json>> axis_writes(const AxisInfo& axis, const Json& value) {
  switch (axis.kind) {
    case AxisKind::field: return {{axis.field->pointer, value}};
    case AxisKind::ep: return {{"/parallel/dp", value}, {"/parallel/ep", value}};
    case AxisKind::layout: {
      int tp = 0, pp = 0;
      if (!value.is_string() || !parse_layout(value.get<std::string>(), tp, pp)) return {};  // "ep": the base's
      return {{"/parallel/tp", tp}, {"/parallel/pp", pp}, {"/parallel/expert_tp", tp}, {"/parallel/dp", 1}, {"/parallel/ep", 1}};
    }
  }
  return {};
}

}  // namespace epsim
