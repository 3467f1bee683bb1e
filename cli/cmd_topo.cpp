// `epsim topo generate|import|show|validate|dot`.
#include <algorithm>
#include <fstream>
#include <cmath>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "cli/cli_checks.hpp"
#include "cli/commands.hpp"
#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "common/json_output.hpp"
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
  std::string network_kind = "infiniband";
  DgxClusterOptions dgx;
  std::vector<std::string> given;  // the generator flags given on the command line (kGeneratorFlags order)
  bool was_given(const std::string& flag) const { return std::find(given.begin(), given.end(), flag) != given.end(); }
};

// The generator's flags besides --out, and the presets that read each: the one table `topo generate`
// checks the command line against (a flag the chosen preset does not read is a usage error, never
// ignored) and the option help is written from.
const std::vector<std::string> kGeneratorFlags = {"--nodes", "--gpus-per-node", "--racks", "--spines", "--spine-radix",
                                                  "--cores", "--oversubscription", "--nic-GBps", "--nics-per-gpu",
                                                  "--network-kind"};
struct Preset {
  std::string kind;
  std::vector<std::string> flags;  // the flags it reads
};
const std::vector<Preset>& presets() {
  // dgx-*, fat-tree: every size and fabric figure; p5: 8 GPUs per instance, its NIC figures may be
  // overridden; nvl72: 72 GPUs and one ConnectX-7 per GPU per rack (datasheet), sized by racks;
  // dgx1-mesh: one fixed node without NICs.
  static const std::vector<std::string> dgx = {"--nodes", "--gpus-per-node", "--spines", "--spine-radix", "--cores",
                                               "--oversubscription", "--nic-GBps", "--nics-per-gpu", "--network-kind"};
  static const std::vector<Preset> table = {
      {"dgx-h100", dgx},
      {"dgx-h200", dgx},
      {"fat-tree", dgx},
      {"p5", {"--nodes", "--spines", "--spine-radix", "--cores", "--oversubscription", "--nic-GBps", "--nics-per-gpu",
              "--network-kind"}},
      {"nvl72", {"--racks", "--spines", "--spine-radix", "--cores", "--oversubscription"}},
      {"dgx1-mesh", {}},
  };
  return table;
}

// "(dgx-h100, dgx-h200, fat-tree, p5)": the presets that read `flag`, for its help text.
std::string presets_reading(const std::string& flag) {
  std::vector<std::string> kinds;
  for (const Preset& p : presets())
    if (std::find(p.flags.begin(), p.flags.end(), flag) != p.flags.end()) kinds.push_back(p.kind);
  return fmt::format("({})", fmt::join(kinds, ", "));
}

// Throws UsageError for an unknown preset, or a given flag the preset does not read (naming the flag,
// the preset and the flags it takes).
void check_preset_flags(const GenerateOptions& o) {
  auto it = std::find_if(presets().begin(), presets().end(), [&](const Preset& p) { return p.kind == o.kind; });
  if (it == presets().end()) {
    std::vector<std::string> kinds;
    for (const Preset& p : presets()) kinds.push_back(p.kind);
    throw UsageError(fmt::format("unknown topology kind '{}' (expected {})", o.kind, fmt::join(kinds, ", ")));
  }
  for (const std::string& flag : o.given)
    if (std::find(it->flags.begin(), it->flags.end(), flag) == it->flags.end())
      throw UsageError(fmt::format("{} does not apply to topo generate {}, which takes {}", flag, o.kind,
                                   it->flags.empty() ? std::string("no flag but --out (one fixed node)")
                                                     : fmt::format("{} (and --out)", fmt::join(it->flags, ", "))));
}

// Throws UsageError for a fabric flag given for a fabric tier the generated cluster does not have:
// --spines and --oversubscription without a spine tier (one host), --cores without a core tier.
void check_fabric_flags(const GenerateOptions& o, const Topology& topo) {
  bool spine = false, core = false;
  for (int d = 0; d < topo.num_devices(); ++d) {
    spine = spine || topo.device(d).kind == DeviceKind::spine;
    core = core || topo.device(d).kind == DeviceKind::core;
  }
  for (const char* flag : {"--spines", "--oversubscription"})
    if (o.was_given(flag) && !spine)
      throw UsageError(fmt::format("{} does not apply: this {} cluster has one host, so no spine tier", flag, o.kind));
  if (o.was_given("--cores") && !core)
    throw UsageError(fmt::format("--cores does not apply: this {} cluster has no core tier (one is built only when "
                                 "its leaves exceed half of --spine-radix, {} now)",
                                 o.kind, o.dgx.spine_radix == 0 ? std::string("unlimited") : std::to_string(o.dgx.spine_radix)));
}

// --network-kind: the scale-out link kinds.
LinkKind parse_network_kind(const std::string& name) {
  std::optional<LinkKind> kind = parse_link_kind(name);
  if (!kind || !is_network_link(*kind))
    throw UsageError(fmt::format("--network-kind must be infiniband or ethernet (RoCE, AWS EFA), got '{}'", name));
  return *kind;
}

// Write a generated or imported topology, but only one that `topo validate` accepts: the JSON is read
// back by the topology reader and validated before it is written.
void write_topology(const Topology& topo, const std::string& out, const std::string& source) {
  const Json doc = topology_to_json(topo);
  std::vector<std::string> warnings;
  try {
    warnings = validate_topology(topology_from_json(doc, out), out);
  } catch (const InputError& e) {
    throw InputError(fmt::format("the topology built from {} fails its own validation, so {} is not written: {}",
                                 source, out, e.what()));
  }
  for (const auto& w : warnings) fmt::print(stderr, "warning: {}\n", w);
  write_file_atomic(out, json_output_text(doc, 1, "the topology"));
  fmt::print("wrote {}: {} hosts, {} GPUs, {} devices, {} directed links\n", out, topo.num_hosts(), topo.num_gpus(),
             topo.num_devices(), topo.num_links());
}

void run_generate(const GenerateOptions& o) {
  check_preset_flags(o);
  check_writable(o.out);
  DgxClusterOptions dgx = o.dgx;
  if (dgx.nodes < 1 || dgx.nodes > kMaxGeneratedNodes)
    throw UsageError(fmt::format("--nodes must be in [1, {}], got {}", kMaxGeneratedNodes, dgx.nodes));
  if (dgx.gpus_per_node < 1 || dgx.gpus_per_node > kMaxGeneratedGpusPerNode)
    throw UsageError(fmt::format("--gpus-per-node must be in [1, {}], got {}", kMaxGeneratedGpusPerNode, dgx.gpus_per_node));
  if (!(dgx.oversubscription >= 1.0 && std::isfinite(dgx.oversubscription)))
    throw UsageError("--oversubscription must be finite and >= 1");
  if (dgx.spines < 1 || dgx.spines > 4096) throw UsageError(fmt::format("--spines must be in [1, 4096], got {}", dgx.spines));
  if (!(dgx.nic_GBps > 0 && std::isfinite(dgx.nic_GBps)))
    throw UsageError(fmt::format("--nic-GBps must be finite and > 0, got {}", dgx.nic_GBps));
  if (std::string why = link_range_error(dgx.nic_GBps, 0.0); !why.empty()) throw UsageError("--nic-GBps: " + why);
  if (dgx.cores < 1 || dgx.cores > 4096) throw UsageError(fmt::format("--cores must be in [1, 4096], got {}", dgx.cores));
  if (dgx.oversubscription > 1000)
    throw UsageError(fmt::format("--oversubscription must be at most 1000 (leaf up-links of 1/1000 of the down-links), "
                                 "got {}", dgx.oversubscription));
  if (dgx.spine_radix < 0 || dgx.spine_radix == 1) throw UsageError("--spine-radix must be 0 (unlimited) or >= 2");
  if (dgx.nics_per_gpu < 1 || dgx.nics_per_gpu > kMaxNicsPerGpu)
    throw UsageError(fmt::format("--nics-per-gpu must be in [1, {}], got {}", kMaxNicsPerGpu, dgx.nics_per_gpu));
  dgx.network_kind = parse_network_kind(o.network_kind);
  Topology topo;
  if (o.kind == "p5") {
    // The preset's NIC figures unless the command line gives its own.
    DgxClusterOptions p5 = aws_p5_options(dgx.nodes);
    if (o.was_given("--nics-per-gpu")) p5.nics_per_gpu = dgx.nics_per_gpu;
    if (o.was_given("--nic-GBps")) p5.nic_GBps = dgx.nic_GBps;
    if (o.was_given("--network-kind")) p5.network_kind = dgx.network_kind;
    p5.oversubscription = dgx.oversubscription;
    p5.spine_radix = dgx.spine_radix;
    p5.spines = dgx.spines;
    p5.cores = dgx.cores;
    topo = generate_dgx_cluster(p5);
  } else if (o.kind == "dgx-h100" || o.kind == "dgx-h200" || o.kind == "fat-tree") {
    if (o.kind == "dgx-h200") dgx.gpu_model = "h200";
    if (o.kind == "fat-tree") dgx.fabric = FabricKind::fat_tree;
    topo = generate_dgx_cluster(dgx);
  } else if (o.kind == "nvl72") {
    if (o.racks < 1 || o.racks > 256) throw UsageError(fmt::format("--racks must be in [1, 256], got {}", o.racks));
    DgxClusterOptions n = nvl72_options(o.racks);
    n.oversubscription = dgx.oversubscription;
    n.spine_radix = dgx.spine_radix;
    n.spines = dgx.spines;
    n.cores = dgx.cores;
    topo = generate_dgx_cluster(n);
  } else if (o.kind == "dgx1-mesh") {
    topo = generate_dgx1_mesh();
  }
  check_fabric_flags(o, topo);
  write_topology(topo, o.out, "the generator " + o.kind);
}

struct ImportOptions {
  std::string file, out, fabric = "rail-optimized", network_kind = "infiniband";
  NcclImportOptions nccl;
};

void run_import(const ImportOptions& o) {
  check_output_paths({{"file", o.file}}, {{"--out", o.out}});
  check_writable(o.out);
  NcclImportOptions nccl = o.nccl;
  try {
    nccl.fabric = parse_fabric(o.fabric);
  } catch (const std::invalid_argument& e) {
    throw UsageError(fmt::format("--fabric: {}", e.what()));
  }
  if (nccl.nodes < 1 || nccl.nodes > 4096) throw UsageError(fmt::format("--nodes must be in [1, 4096], got {}", nccl.nodes));
  nccl.network_kind = parse_network_kind(o.network_kind);
  if (std::string why = link_range_error(nccl.default_nic_GBps, 0.0); !why.empty()) throw UsageError("--nic-GBps: " + why);
  NcclImport imported = import_nccl_xml(o.file, nccl);
  if (imported.skeleton) fmt::print("{} is a PCIe skeleton (no <gpu>/<nvlink>): GPUs filled as {}\n", o.file, nccl.gpu_model);
  for (const auto& w : imported.warnings) fmt::print(stderr, "warning: {}\n", w);
  write_topology(imported.topology, o.out, o.file);
}

void run_show(const std::string& file) {
  Topology topo = load_topology(file);
  TopologySummary s = summarize_topology(topo);
  fmt::print("topology {} ({})\n", topo.name, file);
  fmt::print("  hosts {}, GPUs {} ({} per host), NICs per GPU {:g}, rails {}, devices {}, directed links {}\n", s.hosts,
             s.gpus, s.gpus_per_host, s.nics_per_gpu, s.rails, s.devices, s.links);
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
  check_output_paths({{"file", file}}, {{"--out", out}});
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
  g->add_option("kind", gen->kind, "dgx-h100, dgx-h200, fat-tree, p5 (AWS p5.48xlarge: 4 x 100G EFA per GPU), nvl72 or dgx1-mesh")
      ->required();
  g->add_option("--out", gen->out, "output topology JSON")->required()->check(non_empty_path());
  // Each generator flag's help ends with the presets that read it (presets()).
  auto help = [](const std::string& flag, const std::string& text) { return text + " " + presets_reading(flag); };
  g->add_option("--nodes", gen->dgx.nodes, help("--nodes", "number of nodes"))->capture_default_str();
  g->add_option("--gpus-per-node", gen->dgx.gpus_per_node, help("--gpus-per-node", "GPUs (and rails) per node"))
      ->capture_default_str();
  g->add_option("--racks", gen->racks, help("--racks", "number of GB200 NVL72 racks"))->capture_default_str();
  g->add_option("--spines", gen->dgx.spines, help("--spines", "spine switches (per spine group); needs 2+ hosts"))
      ->capture_default_str();
  g->add_option("--spine-radix", gen->dgx.spine_radix,
                help("--spine-radix", "ports per spine; a core tier joins spine groups when leaves exceed radix/2 (0 = unlimited)"))
      ->capture_default_str();
  g->add_option("--cores", gen->dgx.cores, help("--cores", "core switches; only where a core tier is built (--spine-radix)"))
      ->capture_default_str();
  g->add_option("--oversubscription", gen->dgx.oversubscription,
                help("--oversubscription", "leaf down:up bandwidth ratio (>= 1); needs 2+ hosts"))
      ->capture_default_str();
  g->add_option("--nic-GBps", gen->dgx.nic_GBps, help("--nic-GBps", "bandwidth of each NIC per direction, GB/s (p5: 12.5)"))
      ->capture_default_str();
  g->add_option("--nics-per-gpu", gen->dgx.nics_per_gpu,
                help("--nics-per-gpu", "NICs per GPU, behind one PCIe switch when > 1; a GPU's bytes split evenly over them (p5: 4)"))
      ->capture_default_str();
  g->add_option("--network-kind", gen->network_kind,
                help("--network-kind", "kind of NIC and fabric links: infiniband, or ethernet (RoCE, AWS EFA; p5: ethernet)"))
      ->capture_default_str();
  g->callback([gen, g] {
    gen->given.clear();
    for (const std::string& flag : kGeneratorFlags)
      if (g->count(flag) > 0) gen->given.push_back(flag);
    run_generate(*gen);
  });

  auto imp = std::make_shared<ImportOptions>();
  CLI::App* i = topo->add_subcommand("import", "Build a cluster from an NCCL topology XML node description");
  i->add_option("file", imp->file, "NCCL topology XML (NCCL_TOPO_FILE / NCCL_TOPO_DUMP_FILE format)")
      ->required()
      ->check(non_empty_path());
  i->add_option("--nodes", imp->nccl.nodes, "identical nodes")->required();
  i->add_option("--fabric", imp->fabric, names_text(fabric_names()))->capture_default_str();
  i->add_option("--gpu", imp->nccl.gpu_model, "GPU model for PCIe skeletons: h100, h200, a100, b200");
  i->add_option("--nic-GBps", imp->nccl.default_nic_GBps, "NIC bandwidth when the file gives none, GB/s")
      ->capture_default_str()
      ->check(finite_positive());
  i->add_option("--network-kind", imp->network_kind, "kind of NIC and fabric links: infiniband, or ethernet (RoCE, AWS EFA)")
      ->capture_default_str();
  i->add_option("--out", imp->out, "output topology JSON")->required()->check(non_empty_path());
  i->callback([imp] { run_import(*imp); });

  auto show_file = std::make_shared<std::string>();
  CLI::App* s = topo->add_subcommand("show", "Summarize a topology file");
  s->add_option("file", *show_file, "topology JSON")->required()->check(non_empty_path());
  s->callback([show_file] { run_show(*show_file); });

  auto validate_file = std::make_shared<std::string>();
  CLI::App* v = topo->add_subcommand("validate", "Check a topology file");
  v->add_option("file", *validate_file, "topology JSON")->required()->check(non_empty_path());
  v->callback([validate_file] { run_validate(*validate_file); });

  auto dot_args = std::make_shared<std::pair<std::string, std::string>>();
  CLI::App* d = topo->add_subcommand("dot", "Write a topology as Graphviz DOT (render with dot -Tpng)");
  d->add_option("file", dot_args->first, "topology JSON")->required()->check(non_empty_path());
  d->add_option("--out", dot_args->second, "output DOT file (default: stdout)")->check(non_empty_path());
  d->callback([dot_args] { run_dot(dot_args->first, dot_args->second); });
}

}  // namespace epsim::cli
