#include "sweep/sweep_csv.hpp"

#include <fmt/format.h>

#include "sweep/metric_catalog.hpp"
#include "sweep/sweep_spec.hpp"

namespace epsim {

std::string csv_escape(std::string_view field) {
  if (field.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(field);
  std::string out = "\"";
  for (char c : field) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

std::string sweep_csv(const Json& manifest, const std::map<std::size_t, Json>& records) {
  std::vector<std::string> axes;
  for (const Json& a : manifest.at("axes")) axes.push_back(a.at("name").get<std::string>());
  std::string out = "index";
  for (const std::string& a : axes) {
    out += ',';
    out += csv_escape(a);
  }
  out += ",status,skipped_reason";
  for (const MetricInfo& m : metric_catalog()) {
    out += ',';
    out += m.name;
  }
  out += "\n";
  for (const auto& [index, r] : records) {
    out += fmt::format("{}", index);
    const Json& ax = r.at("axes");
    for (const std::string& a : axes) {
      out += ',';
      out += csv_escape(ax.contains(a) ? json_label(ax.at(a)) : "");
    }
    const std::string reason = r.at("skipped_reason").get<std::string>();
    out += reason.empty() ? ",ok," : ",skipped,";
    out += csv_escape(reason);
    const Json& metrics = r.at("metrics");
    for (const MetricInfo& m : metric_catalog()) {
      out += ",";
      auto it = metrics.find(std::string(m.name));
      if (it != metrics.end() && reason.empty()) out += csv_escape(json_label(*it));
    }
    out += "\n";
  }
  return out;
}

}  // namespace epsim
