// `epsim schema`: the fields of an input format from its parameter table (pointer, type, unit,
// default, meaning), as text, Markdown (what docs/formats.md embeds) or JSON.
#include <memory>
#include <string>

#include <fmt/format.h>

#include "cli/commands.hpp"
#include "common/json_output.hpp"
#include "common/param_table.hpp"
#include "sim/scenario/scenario_params.hpp"
#include "sweep/axis_catalog.hpp"

namespace epsim::cli {

namespace {

struct SchemaOptions {
  bool json = false;
  bool markdown = false;
};

std::string axes_markdown() {
  std::string out = "| axis | writes | values |\n|---|---|---|\n";
  for (const AxisInfo& a : named_axes()) {
    const std::string writes = a.kind == AxisKind::field ? fmt::format("`{}`", a.field->pointer)
                               : a.kind == AxisKind::ep  ? "`/parallel/dp`, `/parallel/ep`"
                                                         : "`/parallel/{tp,pp,expert_tp,dp,ep}`";
    const std::string values = a.kind == AxisKind::field ? param_type_text(*a.field) : a.help;
    out += fmt::format("| `{}` | {} | {} |\n", a.name, writes, values);
  }
  return out;
}

}  // namespace

void add_schema_commands(CLI::App& app) {
  auto o = std::make_shared<SchemaOptions>();
  CLI::App* schema = app.add_subcommand("schema", "List the fields of an input format (from its parameter table)");
  schema->require_subcommand(1);
  CLI::App* scenario = schema->add_subcommand("scenario", "the scenario format (epsim.scenario/1) read by simulate and sweep");
  CLI::App* axes = schema->add_subcommand("sweep-axes", "the named axes of a sweep spec (any scenario field's pointer is one too)");
  for (CLI::App* c : {scenario, axes}) {
    auto* json = c->add_flag("--json", o->json, "print JSON");
    c->add_flag("--markdown", o->markdown, "print the Markdown table of docs/formats.md / docs/sweep.md")->excludes(json);
  }
  scenario->callback([o] {
    const ParamTable t = scenario_params();
    if (o->json) fmt::print("{}", json_output_text(param_table_json(t), 1, "the schema"));
    else if (o->markdown) fmt::print("{}", param_table_markdown(t));
    else fmt::print("{}", param_table_text(t));
  });
  axes->callback([o] {
    if (o->json) {
      Json out = Json::array();
      for (const AxisInfo& a : named_axes())
        out.push_back({{"axis", a.name}, {"field", a.field->pointer}, {"meaning", a.help}});
      fmt::print("{}", json_output_text(out, 1, "the schema"));
    } else if (o->markdown) {
      fmt::print("{}", axes_markdown());
    } else {
      for (const AxisInfo& a : named_axes()) fmt::print("{:<18} {}\n", a.name, a.help);
    }
  });
}

}  // namespace epsim::cli
