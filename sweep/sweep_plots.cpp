#include "sweep/sweep_plots.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include <fmt/format.h>

#include "common/atomic_file.hpp"
#include "sweep/sweep_spec.hpp"

namespace epsim {

namespace fs = std::filesystem;

namespace {

struct Question {
  const char* file;       ///< base name of the .dat/.gp/.png
  const char* evaluator;  ///< drawn for sweeps of this evaluator
  const char* metric;     ///< metric_catalog() name
  double scale;           ///< metric x scale = plotted value
  bool relative;          ///< plot value / value at the series' smallest EP (scaling efficiency)
  const char* title;
  const char* ylabel;
};

constexpr Question kQuestions[] = {
    {"alltoall_vs_ep", "plan", "alltoall_us", 1e-3, false, "All-to-all time per iteration vs EP",
     "dispatch + combine, summed over MoE layers (ms)"},
    {"gpu_tokens_vs_ep", "plan", "gpu_imbalance", 1.0, false, "GPU load imbalance vs EP",
     "max / mean GPU tokens (mean over layers)"},
    {"busiest_link_util_vs_ep", "plan", "busiest_link_util", 1.0, false, "Busiest link utilization vs EP",
     "busiest link bytes / (bandwidth x all-to-all time)"},
    {"throughput_vs_ep", "simulate", "tokens_per_s_per_gpu", 1.0, false, "Throughput per GPU vs EP (prefill: prompt tokens, decode: new tokens)",
     "tokens/s per GPU"},
    {"latency_vs_ep", "simulate", "latency_ms", 1.0, false, "Latency vs EP (TTFT for prefill, TPOT for decode)",
     "TTFT or TPOT (ms)"},
    {"scaling_efficiency_vs_ep", "simulate", "tokens_per_s_per_gpu", 1.0, true,
     "Scaling efficiency vs linear (1 = linear)", "tok/s per GPU / that at min EP"},
    {"exposed_comm_vs_ep", "simulate", "exposed_comm_share", 100.0, false, "Communication not hidden behind compute vs EP",
     "exposed comm (% of iteration)"},
    {"bottleneck_link_util_vs_ep", "simulate", "busiest_link_util", 100.0, false, "Bottleneck (most utilized) link: busy time / iteration time vs EP",
     "busiest link busy (% of iteration)"},
};

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string gp_quote(const std::string& s) {  // gnuplot single-quoted string
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

}  // namespace

std::vector<std::string> write_sweep_plots(const fs::path& out, const Json& manifest,
                                           const std::map<std::size_t, Json>& records) {
  std::vector<std::string> warnings;
  std::vector<std::string> axes;
  bool has_ep = false;
  for (const Json& a : manifest.at("axes")) {
    std::string name = a.at("name").get<std::string>();
    if (name == "ep") has_ep = a.at("values").size() >= 2;
    axes.push_back(name);
  }
  if (!has_ep) {
    warnings.emplace_back("no plots: they need an \"ep\" axis with at least two values");
    return warnings;
  }
  // Axes that split panels: every axis with several values except ep and placement.
  std::vector<std::string> panel_axes;
  for (const Json& a : manifest.at("axes")) {
    std::string name = a.at("name").get<std::string>();
    if (name != "ep" && name != "placement" && a.at("values").size() > 1) panel_axes.push_back(name);
  }
  std::vector<double> ep_values;
  for (const Json& a : manifest.at("axes"))
    if (a.at("name") == "ep")
      for (const Json& v : a.at("values")) ep_values.push_back(v.get<double>());
  std::sort(ep_values.begin(), ep_values.end());

  const fs::path dir = out / "plots";
  fs::create_directories(dir);
  const bool have_gnuplot = std::system("command -v gnuplot >/dev/null 2>&1") == 0;
  if (!have_gnuplot) warnings.emplace_back("gnuplot not found: wrote the .dat and .gp files of the plots, no PNG");

  const std::string evaluator = manifest.contains("evaluator") ? manifest.at("evaluator").get<std::string>() : "plan";
  for (const Question& q : kQuestions) {
    if (evaluator != q.evaluator) continue;
    // panel label -> series label -> (ep, value) points; both in first-seen (= index) order.
    std::vector<std::string> panels;
    std::vector<std::vector<std::string>> series;  // per panel
    std::map<std::pair<std::string, std::string>, std::vector<std::pair<double, double>>> data;
    for (const auto& [index, r] : records) {
      const Json& m = r.at("metrics");
      if (!r.at("skipped_reason").get<std::string>().empty() || !m.contains(q.metric) || !m[q.metric].is_number())
        continue;
      const Json& ax = r.at("axes");
      std::vector<std::string> parts;
      for (const std::string& a : panel_axes) parts.push_back(a + "=" + json_label(ax.at(a)));
      std::string panel = parts.empty() ? "" : fmt::format("{}", fmt::join(parts, ", "));
      std::string s = ax.contains("placement") ? json_label(ax.at("placement")) : std::string(q.metric);
      auto pit = std::find(panels.begin(), panels.end(), panel);
      if (pit == panels.end()) {
        panels.push_back(panel);
        series.emplace_back();
        pit = panels.end() - 1;
      }
      auto& sl = series[static_cast<std::size_t>(pit - panels.begin())];
      if (std::find(sl.begin(), sl.end(), s) == sl.end()) sl.push_back(s);
      data[{panel, s}].emplace_back(ax.at("ep").get<double>(), m[q.metric].get<double>() * q.scale);
    }
    if (panels.empty()) continue;
    constexpr std::size_t kMaxPanels = 16;
    if (panels.size() > kMaxPanels) {
      warnings.push_back(fmt::format("{}: {} panels, drawing the first {}", q.file, panels.size(), kMaxPanels));
      panels.resize(kMaxPanels);
    }
    std::string dat;
    int block = 0;
    const std::size_t cols = static_cast<std::size_t>(std::ceil(std::sqrt(static_cast<double>(panels.size()))));
    const std::size_t rows = (panels.size() + cols - 1) / cols;
    std::string xtics;
    for (double e : ep_values) xtics += fmt::format("{}{}", xtics.empty() ? "" : ", ", e);
    std::string gp = fmt::format(
        "# {} (written by epsim sweep; run: gnuplot {}.gp)\n"
        "set terminal pngcairo size {},{} noenhanced font ',9'\n"
        "set output {}\n"
        "set multiplot layout {},{} title {}\n"
        "set logscale x 2\nset xrange [{}:{}]\nset xtics ({})\nset grid\nset key below horizontal\n"
        "set xlabel 'EP size (GPUs)'\nset ylabel {}\n",
        q.title, q.file, 560 * cols, 360 * rows + 40, gp_quote(std::string(q.file) + ".png.tmp"), rows, cols,
        gp_quote(q.title), ep_values.front() / 1.25, ep_values.back() * 1.25, xtics, gp_quote(q.ylabel));
    for (std::size_t p = 0; p < panels.size(); ++p) {
      std::vector<std::string> terms;
      for (const std::string& s : series[p]) {
        auto pts = data[{panels[p], s}];
        std::stable_sort(pts.begin(), pts.end(), [](auto& a, auto& b) { return a.first < b.first; });
        if (q.relative && !pts.empty()) {
          const double first = pts.front().second;
          for (auto& pt : pts) pt.second = first != 0 ? pt.second / first : 0.0;
        }
        dat += fmt::format("# panel \"{}\" series \"{}\"\n", panels[p], s);
        for (auto& [x, y] : pts) dat += fmt::format("{} {}\n", x, y);
        dat += "\n\n";
        terms.push_back(fmt::format("{} index {} using 1:2 with linespoints title {}", gp_quote(std::string(q.file) + ".dat"),
                                    block++, gp_quote(s)));
      }
      gp += fmt::format("set title {}\nplot {}\n", gp_quote(panels[p]), fmt::join(terms, ", \\\n     "));
    }
    gp += "unset multiplot\n";
    write_file_atomic(dir / (std::string(q.file) + ".dat"), dat);
    write_file_atomic(dir / (std::string(q.file) + ".gp"), gp);
    if (!have_gnuplot) continue;
    fs::path tmp = dir / (std::string(q.file) + ".png.tmp");
    std::string cmd = fmt::format("cd {} && gnuplot {} >/dev/null 2>&1", shell_quote(dir.string()),
                                  shell_quote(std::string(q.file) + ".gp"));
    std::error_code ec;
    if (std::system(cmd.c_str()) != 0 || !fs::exists(tmp, ec)) {
      warnings.push_back(fmt::format("gnuplot failed on {}; the .dat and .gp files are there", (dir / q.file).string()));
      fs::remove(tmp, ec);
      continue;
    }
    fs::rename(tmp, dir / (std::string(q.file) + ".png"), ec);
    if (ec) warnings.push_back(fmt::format("could not rename {}: {}", tmp.string(), ec.message()));
  }
  return warnings;
}

}  // namespace epsim
