// `epsim topo generate|show|validate`.
#include <cmath>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "cli/commands.hpp"
#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "topology/generators.hpp"
#include "topology/topology_json.hpp"
#include "topology/validate.hpp"

namespace epsim::cli {

namespace {

struct GenerateOptions {
  std::string kind;
  std::string out;
  DgxClusterOptions dgx;
};

void run_generate(const GenerateOptions& o) {
  check_writable(o.out);
  DgxClusterOptions dgx = o.dgx;
  if (o.kind == "dgx-h100") {
    dgx.gpu_model = "h100";
  } else if (o.kind == "dgx-h200") {
    dgx.gpu_model = "h200";
  } else {
    throw UsageError(fmt::format("unknown topology kind '{}' (expected dgx-h100 or dgx-h200)", o.kind));
  }
  if (dgx.nodes < 1 || dgx.nodes > 4096) throw UsageError(fmt::format("--nodes must be in [1, 4096], got {}", dgx.nodes));
  if (!(dgx.oversubscription >= 1.0 && std::isfinite(dgx.oversubscription)))
    throw UsageError("--oversubscription must be finite and >= 1");
  if (dgx.spines < 1 || dgx.spines > 4096) throw UsageError(fmt::format("--spines must be in [1, 4096], got {}", dgx.spines));
  if (!(dgx.nic_GBps > 0 && std::isfinite(dgx.nic_GBps)))
    throw UsageError(fmt::format("--nic-GBps must be finite and > 0, got {}", dgx.nic_GBps));
  Topology topo = generate_dgx_cluster(dgx);
  validate_topology(topo, o.out);
  write_file_atomic(o.out, topology_to_json(topo).dump(1) + "\n");
  fmt::print("wrote {}: {} nodes, {} GPUs, {} devices, {} directed links\n", o.out, topo.num_hosts(), topo.num_gpus(),
             topo.num_devices(), topo.num_links());
}

void run_show(const std::string& file) {
  Topology topo = load_topology(file);
  fmt::print("topology {} ({})\n", topo.name, file);
  fmt::print("  hosts {}, GPUs {}, devices {}, directed links {}\n", topo.num_hosts(), topo.num_gpus(),
             topo.num_devices(), topo.num_links());
  int rails = 0;
  for (const Device& d : topo.devices())
    if (d.kind == DeviceKind::gpu) rails = std::max(rails, d.rail + 1);
  fmt::print("  rails {}\n", rails);
  // Per-GPU injection bandwidth by link kind (sum of out-links of GPU 0, which generators make uniform).
  double nvlink = 0, pcie = 0, network = 0;
  int g0 = topo.gpu_device(0);
  for (int li : topo.out_links(g0)) {
    const Link& l = topo.link(li);
    if (l.kind == LinkKind::nvlink) nvlink += l.bandwidth_GBps;
    else if (l.kind == LinkKind::pcie) pcie += l.bandwidth_GBps;
    else network += l.bandwidth_GBps;
  }
  fmt::print("  GPU {} egress: NVLink {:.1f} GB/s, PCIe {:.1f} GB/s, network {:.1f} GB/s\n", topo.device(g0).id, nvlink,
             pcie, network);
}

void run_validate(const std::string& file) {
  Topology topo = load_topology(file);
  auto warnings = validate_topology(topo, file);
  for (const auto& w : warnings) fmt::print(stderr, "warning: {}\n", w);
  fmt::print("{}: valid ({} GPUs on {} hosts)\n", file, topo.num_gpus(), topo.num_hosts());
}

}  // namespace

void add_topo_commands(CLI::App& app) {
  CLI::App* topo = app.add_subcommand("topo", "Generate, inspect and validate cluster topologies");
  topo->require_subcommand(1);

  auto gen = std::make_shared<GenerateOptions>();
  CLI::App* g = topo->add_subcommand("generate", "Write a generated cluster topology (JSON)");
  g->add_option("kind", gen->kind, "dgx-h100 or dgx-h200")->required();
  g->add_option("--nodes", gen->dgx.nodes, "number of DGX nodes (8 GPUs each)")->required();
  g->add_option("--out", gen->out, "output topology JSON")->required();
  g->add_option("--spines", gen->dgx.spines, "spine switches")->capture_default_str();
  g->add_option("--oversubscription", gen->dgx.oversubscription, "leaf down:up bandwidth ratio (>= 1)")->capture_default_str();
  g->add_option("--nic-GBps", gen->dgx.nic_GBps, "NIC bandwidth per direction, GB/s")->capture_default_str();
  g->callback([gen] { run_generate(*gen); });

  auto show_file = std::make_shared<std::string>();
  CLI::App* s = topo->add_subcommand("show", "Summarize a topology file");
  s->add_option("file", *show_file, "topology JSON")->required();
  s->callback([show_file] { run_show(*show_file); });

  auto validate_file = std::make_shared<std::string>();
  CLI::App* v = topo->add_subcommand("validate", "Check a topology file");
  v->add_option("file", *validate_file, "topology JSON")->required();
  v->callback([validate_file] { run_validate(*validate_file); });
}

}  // namespace epsim::cli
