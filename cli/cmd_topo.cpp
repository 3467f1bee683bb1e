// `epsim topo generate|import|show|validate|dot`.
#include <fstream>
#include <cmath>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>

#include <fmt/format.h>

#include "cli/commands.hpp"
#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "common/names.hpp"
#include "topology/generators.hpp"
#include "topology/nccl_xml.hpp"
#include "topology/topology_dot.hpp"
#include "topology/topology_json.hpp"
#include "topology/topology_summary.hpp"
#include "topology/validate.hpp"

namespace epsim::cli {

namespace {

struct GenerateOptions {
  std::string kind;
  std::string out;
  int racks = 1;
  DgxClusterOptions dgx;
};

void write_topology(const Topology& topo, const std::string& out) {
  for (const auto& w : validate_topology(topo, out)) fmt::print(stderr, "warning: {}\n", w);
  write_file_atomic(out, topology_to_json(topo).dump(1) + "\n");
  fmt::print("wrote {}: {} hosts, {} GPUs, {} devices, {} directed links\n", out, topo.num_hosts(), topo.num_gpus(),
             topo.num_devices(), topo.num_links());
}

void run_generate(const GenerateOptions& o) {
  check_writable(o.out);
  DgxClusterOptions dgx = o.dgx;
  if (dgx.nodes < 1 || dgx.nodes > 4096) throw UsageError(fmt::format("--nodes must be in [1, 4096], got {}", dgx.nodes));
  if (!(dgx.oversubscription >= 1.0 && std::isfinite(dgx.oversubscription)))
    throw UsageError("--oversubscription must be finite and >= 1");
  if (dgx.spines < 1 || dgx.spines > 4096) throw UsageError(fmt::format("--spines must be in [1, 4096], got {}", dgx.spines));
  if (!(dgx.nic_GBps > 0 && std::isfinite(dgx.nic_GBps)))
    throw UsageError(fmt::format("--nic-GBps must be finite and > 0, got {}", dgx.nic_GBps));
  if (dgx.spine_radix < 0 || dgx.spine_radix == 1) throw UsageError("--spine-radix must be 0 (unlimited) or >= 2");
  Topology topo;
  if (o.kind == "dgx-h100" || o.kind == "dgx-h200" || o.kind == "fat-tree") {
    if (o.kind == "dgx-h200") dgx.gpu_model = "h200";
    if (o.kind == "fat-tree") dgx.fabric = FabricKind::fat_tree;
    topo = generate_dgx_cluster(dgx);
  } else if (o.kind == "nvl72") {
    if (o.racks < 1 || o.racks > 256) throw UsageError(fmt::format("--racks must be in [1, 256], got {}", o.racks));
    DgxClusterOptions n = nvl72_options(o.racks);
    n.oversubscription = dgx.oversubscription;
    n.spine_radix = dgx.spine_radix;
    topo = generate_dgx_cluster(n);
  } else if (o.kind == "dgx1-mesh") {
    topo = generate_dgx1_mesh();
  } else {
    throw UsageError(fmt::format("unknown topology kind '{}' (expected dgx-h100, dgx-h200, fat-tree, nvl72 or dgx1-mesh)", o.kind));
  }
  write_topology(topo, o.out);
}

struct ImportOptions {
  std::string file, out, fabric = "rail-optimized";
  NcclImportOptions nccl;
};

void run_import(const ImportOptions& o) {
  check_writable(o.out);
  NcclImportOptions nccl = o.nccl;
  try {
    nccl.fabric = parse_fabric(o.fabric);
  } catch (const std::invalid_argument& e) {
    throw UsageError(fmt::format("--fabric: {}", e.what()));
  }
  if (nccl.nodes < 1 || nccl.nodes > 4096) throw UsageError(fmt::format("--nodes must be in [1, 4096], got {}", nccl.nodes));
  NcclImport imported = import_nccl_xml(o.file, nccl);
  if (imported.skeleton) fmt::print("{} is a PCIe skeleton (no <gpu>/<nvlink>): GPUs filled as {}\n", o.file, nccl.gpu_model);
  for (const auto& w : imported.warnings) fmt::print(stderr, "warning: {}\n", w);
  write_topology(imported.topology, o.out);
}

void run_show(const std::string& file) {
  Topology topo = load_topology(file);
  TopologySummary s = summarize_topology(topo);
  fmt::print("topology {} ({})\n", topo.name, file);
  fmt::print("  hosts {}, GPUs {} ({} per host), rails {}, devices {}, directed links {}\n", s.hosts, s.gpus,
             s.gpus_per_host, s.rails, s.devices, s.links);
  fmt::print("  per-GPU injection ({}): NVLink {:.1f} GB/s, PCIe {:.1f} GB/s, network {:.1f} GB/s\n",
             topo.device(topo.gpu_device(0)).id, s.gpu_nvlink_GBps, s.gpu_pcie_GBps, s.gpu_network_GBps);
  if (s.hosts > 1)
    fmt::print("  bisection bandwidth (estimate) {:.1f} GB/s; NIC->leaf {:.1f} GB/s, leaf up-links {:.1f} GB/s, "
               "oversubscription {}\n",
               s.bisection_GBps, s.nic_to_leaf_GBps, s.leaf_up_GBps,
               s.oversubscription > 0 ? fmt::format("{:.2f}:1", s.oversubscription) : std::string("n/a (no spine tier)"));
}

void run_validate(const std::string& file) {
  Topology topo = load_topology(file);
  auto warnings = validate_topology(topo, file);
  for (const auto& w : warnings) fmt::print(stderr, "warning: {}\n", w);
  fmt::print("{}: valid ({} GPUs on {} hosts)\n", file, topo.num_gpus(), topo.num_hosts());
}

void run_dot(const std::string& file, const std::string& out) {
  if (!out.empty()) check_writable(out);
  Topology topo = load_topology(file);
  std::ostringstream dot;
  write_topology_dot(dot, topo);
  if (out.empty()) fmt::print("{}", dot.str());
  else write_file_atomic(out, dot.str());
}

}  // namespace

void add_topo_commands(CLI::App& app) {
  CLI::App* topo = app.add_subcommand("topo", "Generate, import, inspect, validate and draw cluster topologies");
  topo->require_subcommand(1);

  auto gen = std::make_shared<GenerateOptions>();
  CLI::App* g = topo->add_subcommand("generate", "Write a generated cluster topology (JSON)");
  g->add_option("kind", gen->kind, "dgx-h100, dgx-h200, fat-tree, nvl72 or dgx1-mesh")->required();
  g->add_option("--nodes", gen->dgx.nodes, "number of 8-GPU nodes (dgx-*, fat-tree)")->capture_default_str();
  g->add_option("--racks", gen->racks, "number of GB200 NVL72 racks (nvl72)")->capture_default_str();
  g->add_option("--out", gen->out, "output topology JSON")->required();
  g->add_option("--spines", gen->dgx.spines, "spine switches (per spine group)")->capture_default_str();
  g->add_option("--spine-radix", gen->dgx.spine_radix, "ports per spine; a core tier joins spine groups when leaves exceed radix/2 (0 = unlimited)")
      ->capture_default_str();
  g->add_option("--cores", gen->dgx.cores, "core switches when a core tier is built")->capture_default_str();
  g->add_option("--oversubscription", gen->dgx.oversubscription, "leaf down:up bandwidth ratio (>= 1)")->capture_default_str();
  g->add_option("--nic-GBps", gen->dgx.nic_GBps, "NIC bandwidth per direction, GB/s")->capture_default_str();
  g->callback([gen] { run_generate(*gen); });

  auto imp = std::make_shared<ImportOptions>();
  CLI::App* i = topo->add_subcommand("import", "Build a cluster from an NCCL topology XML node description");
  i->add_option("file", imp->file, "NCCL topology XML (NCCL_TOPO_FILE / NCCL_TOPO_DUMP_FILE format)")->required();
  i->add_option("--nodes", imp->nccl.nodes, "identical nodes")->required();
  i->add_option("--fabric", imp->fabric, names_text(fabric_names()))->capture_default_str();
  i->add_option("--gpu", imp->nccl.gpu_model, "GPU model for PCIe skeletons: h100, h200, a100, b200");
  i->add_option("--nic-GBps", imp->nccl.default_nic_GBps, "NIC bandwidth when the file gives none, GB/s")->capture_default_str();
  i->add_option("--out", imp->out, "output topology JSON")->required();
  i->callback([imp] { run_import(*imp); });

  auto show_file = std::make_shared<std::string>();
  CLI::App* s = topo->add_subcommand("show", "Summarize a topology file");
  s->add_option("file", *show_file, "topology JSON")->required();
  s->callback([show_file] { run_show(*show_file); });

  auto validate_file = std::make_shared<std::string>();
  CLI::App* v = topo->add_subcommand("validate", "Check a topology file");
  v->add_option("file", *validate_file, "topology JSON")->required();
  v->callback([validate_file] { run_validate(*validate_file); });

  auto dot_args = std::make_shared<std::pair<std::string, std::string>>();
  CLI::App* d = topo->add_subcommand("dot", "Write a topology as Graphviz DOT (render with dot -Tpng)");
  d->add_option("file", dot_args->first, "topology JSON")->required();
  d->add_option("--out", dot_args->second, "output DOT file (default: stdout)");
  d->callback([dot_args] { run_dot(dot_args->first, dot_args->second); });
}

}  // namespace epsim::cli
