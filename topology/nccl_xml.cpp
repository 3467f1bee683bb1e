#include "topology/nccl_xml.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <set>
#include <sstream>

#include <boost/property_tree/ptree.hpp>
#include <boost/property_tree/xml_parser.hpp>
#include <fmt/format.h>

#include "common/error.hpp"
#include "common/input_file.hpp"
#include "topology/xml_check.hpp"

namespace epsim {

namespace {

namespace pt = boost::property_tree;

constexpr double kPcieLatencyNs = 250.0, kNvlinkLatencyNs = 500.0, kIbLatencyNs = 600.0;
// NCCL topo.h SKL_QPI_BW: bandwidth between CPU sockets (UPI), GB/s.
constexpr double kInterCpuGBps = 10.0;
// NVLink, PCIe and inter-CPU links carry NCCL's modelled figures (nccl_nvlink_GBps: SM90 20.6 of 25
// GB/s per NVLink; nccl_pcie_GBps: width x lane / 80; SKL_QPI_BW), already effective: the
// communication models must not apply their efficiency again (issue 13, cause 6). NIC links carry
// <net speed>, the nominal line rate.
constexpr BandwidthBasis kNcclModelled = BandwidthBasis::effective;

// Property-tree bookkeeping children (<xmlattr>, <xmltext>, <xmlcomment>), not XML elements.
bool is_meta(const std::string& tag) { return !tag.empty() && tag.front() == '<'; }

enum class XKind { cpu, pcie_switch, gpu, nic };

struct XNvlink {
  std::string target;
  int count = 0;
  std::string tclass;
};

// One device of the node as read from the file.
struct XDev {
  XKind kind = XKind::cpu;
  int parent = -1;
  int depth = 0;
  double up_GBps = 0;  // PCIe link to the parent
  std::string busid;
  std::string label;   // cpu numaid or busid, for ids
  int sm = 0;
  double nic_GBps = 0;
  std::vector<XNvlink> nvlinks;
};

struct Reader {
  Reader(std::string f, const NcclImportOptions& o) : file(std::move(f)), options(o) {}
  std::string file;
  const NcclImportOptions& options;
  std::vector<XDev> devs;
  std::vector<std::string> warnings;
  bool any_gpu_element = false;
  bool warned_classless = false;
  int nics_without_speed = 0;
  // Values the file leaves out and the importer assumes: counted, then one warning each (assumption_warnings).
  int pcie_speed_assumed = 0, pcie_width_assumed = 0, nvlink_count_assumed = 0, pcie_slow = 0, net_speed_assumed = 0;
  std::string first_pcie_speed, first_pcie_width, first_nvlink_count, first_pcie_slow, first_net_speed;
  // A PCIe link below this (GB/s) is warned about: Gen1 x4 in NCCL's units is 0.75 (nccl_pcie_GBps).
  static constexpr double kSlowPcieGBps = 0.75;

  const pt::ptree* attrs(const pt::ptree& node) const {
    auto it = node.find("<xmlattr>");
    return it == node.not_found() ? nullptr : &it->second;
  }
  std::string attr(const pt::ptree& node, const char* name) const {
    const pt::ptree* a = attrs(node);
    return a ? a->get<std::string>(name, "") : std::string();
  }
  int int_attr(const pt::ptree& node, const std::string& element, const char* name, int fallback) const {
    std::string s = attr(node, name);
    if (s.empty()) return fallback;
    int value = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (ec != std::errc() || p != s.data() + s.size() || value < 0)
      throw InputError(file, "", fmt::format("<{}> attribute {}=\"{}\": expected a non-negative integer", element, name, s));
    return value;
  }
  void check_attrs(const pt::ptree& node, const std::string& element, std::initializer_list<const char*> known) {
    const pt::ptree* a = attrs(node);
    if (!a) return;
    for (const auto& attr : *a) {
      const std::string& key = attr.first;  // not a structured binding: clang 14 cannot capture those
      if (std::none_of(known.begin(), known.end(), [&](const char* k) { return key == k; }))
        warnings.push_back(fmt::format("{}: unknown attribute {}=\"{}\" on <{}> ignored", file, key, attr.second.data(), element));
    }
  }
  void unknown_element(const std::string& tag, const std::string& where) {
    warnings.push_back(fmt::format("{}: unknown element <{}> inside <{}> ignored", file, tag, where));
  }
  int add(XDev d) {
    if (d.parent >= 0) d.depth = devs[static_cast<std::size_t>(d.parent)].depth + 1;
    devs.push_back(std::move(d));
    return static_cast<int>(devs.size()) - 1;
  }

  void read_gpu(const pt::ptree& node, XDev& gpu) {
    any_gpu_element = true;
    check_attrs(node, "gpu", {"dev", "sm", "rank", "gdr"});
    gpu.sm = int_attr(node, "gpu", "sm", 0);
    for (const auto& [tag, child] : node) {
      if (is_meta(tag)) continue;
      if (tag != "nvlink") {
        unknown_element(tag, "gpu");
        continue;
      }
      check_attrs(child, "nvlink", {"target", "count", "tclass"});
      XNvlink l{attr(child, "target"), int_attr(child, "nvlink", "count", 1), attr(child, "tclass")};
      if (attr(child, "count").empty() && nvlink_count_assumed++ == 0) first_nvlink_count = gpu.busid;
      if (l.count == 0) {
        warnings.push_back(fmt::format("{}: <nvlink target=\"{}\" count=\"0\"> of GPU {} dropped (no links)", file,
                                       l.target, gpu.busid));
        continue;
      }
      if (!l.target.empty() && l.target == gpu.busid) {
        warnings.push_back(fmt::format("{}: <nvlink target=\"{}\"> of GPU {} targets the GPU itself: dropped (a GPU "
                                       "does not send NVLink traffic to itself)",
                                       file, l.target, gpu.busid));
        continue;
      }
      gpu.nvlinks.push_back(std::move(l));
    }
  }

  // PCIe bandwidth of <pci> `node` to its parent, counting what NCCL's rules assume.
  double pcie_up_GBps(const pt::ptree& node, const std::string& busid) {
    const std::string speed = attr(node, "link_speed");
    const int width = int_attr(node, "pci", "link_width", 0);
    bool known = false;
    const double bw = nccl_pcie_GBps(speed, width, &known);
    if (!known && pcie_speed_assumed++ == 0) first_pcie_speed = busid;
    if (width <= 0 && pcie_width_assumed++ == 0) first_pcie_width = busid;
    // Below Gen1 x4 (0.75 GB/s in NCCL's units): a hypervisor's virtual bridge reports 2.5 GT/s x1.
    if (bw < kSlowPcieGBps && pcie_slow++ == 0) first_pcie_slow = fmt::format("{}: {} x{} = {:.4g} GB/s", busid, speed, width, bw);
    return bw;
  }

  // One warning per kind of assumed value (how many, the first one).
  void assumption_warnings() {
    if (pcie_speed_assumed > 0)
      warnings.push_back(fmt::format("{}: {} <pci> without a known link_speed (first {}) taken at NCCL's fallback of "
                                     "Gen3 (60 per lane: 12 GB/s at x16)",
                                     file, pcie_speed_assumed, first_pcie_speed));
    if (pcie_width_assumed > 0)
      warnings.push_back(fmt::format("{}: {} <pci> with link_width 0 or none (first {}) taken as x16 (NCCL's rule)", file,
                                     pcie_width_assumed, first_pcie_width));
    if (pcie_slow > 0)
      warnings.push_back(fmt::format("{}: {} <pci> links slower than {} GB/s (first {}), kept as the file says (a "
                                     "virtual bridge's figure?); routes cross a CPU only where no path avoids it",
                                     file, pcie_slow, kSlowPcieGBps, first_pcie_slow));
    if (net_speed_assumed > 0)
      warnings.push_back(fmt::format("{}: {} <net> without a speed (first {}) taken at {} GB/s", file, net_speed_assumed,
                                     first_net_speed, options.default_nic_GBps));
    if (nvlink_count_assumed > 0)
      warnings.push_back(fmt::format("{}: {} <nvlink> without count (first of GPU {}) taken as 1 link", file,
                                     nvlink_count_assumed, first_nvlink_count));
  }

  void read_nics(const pt::ptree& nic, int parent, double up_GBps, const std::string& busid) {
    check_attrs(nic, "nic", {});
    int nets = 0;
    for (const auto& [tag, child] : nic) {
      if (is_meta(tag)) continue;
      if (tag != "net") {
        unknown_element(tag, "nic");
        continue;
      }
      check_attrs(child, "net", {"name", "dev", "speed", "port", "latency", "guid", "maxconn", "gdr", "coll", "keep"});
      int mbps = int_attr(child, "net", "speed", 0);
      XDev d{XKind::nic, parent, 0, up_GBps, busid, attr(child, "name"), 0, 0, {}};
      d.nic_GBps = mbps > 0 ? mbps / 8000.0 : options.default_nic_GBps;
      if (mbps <= 0 && net_speed_assumed++ == 0) first_net_speed = d.label;
      add(d);
      ++nets;
    }
    if (nets == 0) {
      add(XDev{XKind::nic, parent, 0, up_GBps, busid, busid, 0, options.default_nic_GBps, {}});
      warnings.push_back(fmt::format("{}: <nic> of {} has no <net speed>: taking {} GB/s", file,
                                     busid.empty() ? std::string("a CPU") : busid, options.default_nic_GBps));
    }
  }

  void read_pci(const pt::ptree& node, int parent) {
    check_attrs(node, "pci", {"busid", "class", "link_speed", "link_width", "vendor", "device", "subsystem_vendor",
                              "subsystem_device", "max_link_speed", "max_link_width"});
    const std::string busid = attr(node, "busid");
    const std::string cls = attr(node, "class");
    const double up = pcie_up_GBps(node, busid);
    bool has_children = false;
    for (const auto& [tag, child] : node) has_children |= tag == "pci" || tag == "gpu" || tag == "nic";
    for (const auto& [tag, child] : node)
      if (tag == "nic") return read_nics(child, parent, up, busid);
    if (cls.rfind("0x03", 0) == 0 || node.count("gpu")) {
      XDev gpu{XKind::gpu, parent, 0, up, busid, busid, 0, 0, {}};
      for (const auto& [tag, child] : node) {
        if (tag == "gpu") read_gpu(child, gpu);
        else if (!is_meta(tag)) unknown_element(tag, "pci");
      }
      add(gpu);
      return;
    }
    if (cls.rfind("0x02", 0) == 0 || (cls.empty() && !has_children)) {
      if (cls.empty() && !warned_classless) {
        warnings.push_back(fmt::format("{}: <pci> leaves without class (first {}) taken as NICs", file, busid));
        warned_classless = true;
      }
      add(XDev{XKind::nic, parent, 0, up, busid, busid, 0, options.default_nic_GBps, {}});
      if (nics_without_speed++ == 0)
        warnings.push_back(fmt::format("{}: NICs without <net speed> (first {}) taken at {} GB/s", file, busid,
                                       options.default_nic_GBps));
      return;
    }
    int self = add(XDev{XKind::pcie_switch, parent, 0, up, busid, busid, 0, 0, {}});
    read_children(node, self, "pci");
  }

  void read_children(const pt::ptree& node, int self, const std::string& where) {
    for (const auto& [tag, child] : node) {
      if (is_meta(tag)) continue;
      if (tag == "pci") read_pci(child, self);
      else if (tag == "nic") read_nics(child, self, 0, "");
      else unknown_element(tag, where);
    }
  }

  void read_system(const pt::ptree& system) {
    check_attrs(system, "system", {"version"});
    for (const auto& [tag, child] : system) {
      if (is_meta(tag)) continue;
      if (tag != "cpu") {
        unknown_element(tag, "system");
        continue;
      }
      check_attrs(child, "cpu", {"numaid", "host_hash", "affinity", "arch", "vendor", "familyid", "modelid"});
      std::string numa = attr(child, "numaid");
      int self = add(XDev{XKind::cpu, -1, 0, 0, "", numa.empty() ? std::to_string(devs.size()) : numa, 0, 0, {}});
      read_children(child, self, "cpu");
    }
  }
};

// PCIe hops between two devices of the node tree (sockets joined by one extra hop).
int tree_distance(const std::vector<XDev>& devs, int a, int b) {
  std::vector<int> up_a;
  for (int x = a; x >= 0; x = devs[static_cast<std::size_t>(x)].parent) up_a.push_back(x);
  int steps_b = 0;
  for (int y = b; y >= 0; y = devs[static_cast<std::size_t>(y)].parent, ++steps_b) {
    auto it = std::find(up_a.begin(), up_a.end(), y);
    if (it != up_a.end()) return static_cast<int>(it - up_a.begin()) + steps_b;
  }
  return static_cast<int>(up_a.size()) + steps_b + 1;
}

// Skeleton GPU model -> (NVLink links per GPU, SM) for the NCCL per-link table.
bool skeleton_model(const std::string& model, int& links, int& sm) {
  if (model == "h100" || model == "h200" || model == "h800") { links = 18; sm = 90; return true; }
  if (model == "a100" || model == "a800") { links = 12; sm = 80; return true; }
  if (model == "b200" || model == "gb200") { links = 18; sm = 100; return true; }
  return false;
}

// GPU model a compute capability (sm x 10) names, for labels: the first of its family.
std::string model_of_sm(int sm) {
  switch (sm) {
    case 100: return "b200";
    case 90: return "h100";
    case 80: return "a100";
    case 70: return "v100";
    case 60: return "p100";
    default: return fmt::format("sm{}", sm);
  }
}

// The GPU model label of every GPU (indexed like r.devs; empty for other devices), from its sm
// attribute. A GPU without sm takes the given model's sm (warned) or is refused; a given model of
// another family than the file's sm is overruled by the file (warned once); NVLinks on a GPU whose sm
// has none (< 60) are refused.
std::vector<std::string> gpu_models(Reader& r, const NcclImportOptions& o, const std::string& file) {
  std::vector<std::string> labels(r.devs.size());
  if (!r.any_gpu_element) return labels;  // a skeleton: every GPU is the given model
  int model_links = 0, model_sm = 0;
  const bool model_known = !o.gpu_model.empty() && skeleton_model(o.gpu_model, model_links, model_sm);
  bool warned_missing = false, warned_mismatch = false, warned_unknown_sm = false;
  for (std::size_t i = 0; i < r.devs.size(); ++i) {
    XDev& x = r.devs[i];
    if (x.kind != XKind::gpu) continue;
    if (x.sm <= 0) {
      if (!model_known)
        throw InputError(file, "", fmt::format("<gpu> of <pci busid=\"{}\"> has sm \"0\" or none: expected the GPU's "
                                               "compute capability x 10 as NCCL writes it (90 = H100/H200, 80 = A100, "
                                               "100 = B200), or a GPU model given with the file",
                                               x.busid));
      x.sm = model_sm;
      if (!warned_missing)
        r.warnings.push_back(fmt::format("{}: GPUs without sm (first {}) taken as {} (sm {})", file, x.busid,
                                         o.gpu_model, model_sm));
      warned_missing = true;
    }
    if (!x.nvlinks.empty() && nccl_nvlink_GBps(x.sm) <= 0)
      throw InputError(file, "", fmt::format("<gpu> of <pci busid=\"{}\"> has NVLinks but sm {}: NVLink needs sm >= 60 "
                                             "(P100 and later)",
                                             x.busid, x.sm));
    if (o.gpu_model.empty() || (model_known && model_sm == x.sm)) {
      labels[i] = o.gpu_model.empty() ? model_of_sm(x.sm) : o.gpu_model;
    } else {
      labels[i] = model_of_sm(x.sm);
      if (!warned_mismatch)
        r.warnings.push_back(fmt::format("{}: the GPU model {} does not match sm {} of GPU {} in the file: GPUs labelled "
                                         "{} as the file says",
                                         file, o.gpu_model, x.sm, x.busid, labels[i]));
      warned_mismatch = true;
    }
    if (labels[i].rfind("sm", 0) == 0 && !warned_unknown_sm) {
      r.warnings.push_back(fmt::format("{}: GPU {} has sm {}, no GPU model epsim has figures for (90 h100, 80 a100, 100 "
                                       "b200, 70 v100, 60 p100): labelled {}, NVLink at NCCL's figure for that sm ({} "
                                       "GB/s per link); simulate's compute takes the scenario's gpu",
                                       file, x.busid, x.sm, labels[i], nccl_nvlink_GBps(x.sm)));
      warned_unknown_sm = true;
    }
  }
  return labels;
}

}  // namespace

double nccl_nvlink_GBps(int sm) {
  if (sm >= 100) return 40.1;
  if (sm == 86) return 12.0;
  if (sm >= 90) return 20.6;
  if (sm >= 70) return 20.0;
  if (sm >= 60) return 18.0;
  return 0.0;
}

double nccl_pcie_GBps(const std::string& link_speed, int width, bool* speed_known) {
  double gts = 0;
  auto [p, ec] = std::from_chars(link_speed.data(), link_speed.data() + link_speed.size(), gts);
  (void)p;
  int lane = 60;  // NCCL's fallback (Gen3) when the speed is missing or unknown
  if (speed_known) *speed_known = false;
  if (ec == std::errc()) {
    static constexpr std::pair<double, int> kTable[] = {{2.5, 15}, {5, 30}, {8, 60}, {16, 120}, {32, 240}, {64, 480}};
    for (auto [rate, value] : kTable)
      if (std::abs(gts - rate) < 1e-6) {
        lane = value;
        if (speed_known) *speed_known = true;
      }
  }
  return (width <= 0 ? 16 : width) * lane / 80.0;
}

NcclImport import_nccl_xml(const std::filesystem::path& path, const NcclImportOptions& options) {
  const std::string file = path.string();
  if (options.nodes < 1) throw SettingError("nodes", std::to_string(options.nodes), ">= 1");
  if (!is_network_link(options.network_kind))
    throw SettingError("network_kind", std::string(to_string(options.network_kind)), "infiniband or ethernet");
  pt::ptree tree;
  try {
    const std::string bytes = read_input_file(path);
    check_xml_text(bytes, file);
    std::istringstream text(bytes);
    pt::read_xml(text, tree, pt::xml_parser::no_concat_text);
  } catch (const pt::xml_parser_error& e) {
    throw InputError(file, "", fmt::format("well-formed NCCL topology XML ({} at line {})", e.message(), e.line()));
  }
  auto root = tree.find("system");
  if (root == tree.not_found()) throw InputError(file, "", "a <system> root element (NCCL topology XML)");
  Reader r(file, options);
  r.read_system(root->second);
  r.assumption_warnings();
  const std::vector<std::string> labels = gpu_models(r, options, file);

  NcclImport out;
  out.skeleton = !r.any_gpu_element;
  int sk_links = 0, sk_sm = 0;
  if (out.skeleton) {
    if (options.gpu_model.empty())
      throw SettingError("gpu", "(not given)",
                         file + " is a PCIe skeleton without <gpu> elements: the GPU model h100, h200, a100 or b200",
                         true);
    if (!skeleton_model(options.gpu_model, sk_links, sk_sm))
      throw InputError(file, "", fmt::format("a known GPU model for the skeleton (h100, h200, a100, b200), got \"{}\"", options.gpu_model));
    r.warnings.push_back(fmt::format("{}: PCIe skeleton (no <gpu>/<nvlink>): GPUs filled as {} with {} NVLinks x {} GB/s via NVSwitch",
                                     file, options.gpu_model, sk_links, nccl_nvlink_GBps(sk_sm)));
    // A switch with NICs and no GPU below it gets one GPU (AWS p5: 1 GPU + 4 NICs per switch).
    const std::size_t n = r.devs.size();
    for (std::size_t i = 0; i < n; ++i) {
      if (r.devs[i].kind != XKind::pcie_switch) continue;
      bool nic = false, gpu = false;
      double up = 0;
      for (const XDev& d : r.devs)
        if (d.parent == static_cast<int>(i)) {
          nic |= d.kind == XKind::nic;
          gpu |= d.kind == XKind::gpu || d.kind == XKind::pcie_switch;
          up = std::max(up, d.up_GBps);
        }
      if (nic && !gpu) r.add(XDev{XKind::gpu, static_cast<int>(i), 0, up, "", r.devs[i].busid + "-gpu", 0, 0, {}});
    }
  }
  std::vector<int> gpus, nics;
  for (std::size_t i = 0; i < r.devs.size(); ++i) {
    if (r.devs[i].kind == XKind::gpu) gpus.push_back(static_cast<int>(i));
    if (r.devs[i].kind == XKind::nic) nics.push_back(static_cast<int>(i));
  }
  if (gpus.empty()) throw InputError(file, "", "at least one GPU (<gpu> or <pci class=\"0x03....\">)");

  // Rails: each GPU takes the nearest NIC not yet taken; when all nearest are taken it shares one.
  std::vector<int> gpu_nic(gpus.size(), -1), nic_owner(nics.size(), -1);
  for (std::size_t g = 0; g < gpus.size(); ++g) {
    int best = -1, best_d = 1 << 30, best_free = -1;
    for (std::size_t k = 0; k < nics.size(); ++k) {
      int d = tree_distance(r.devs, gpus[g], nics[k]);
      if (d < best_d) { best_d = d; best = static_cast<int>(k); best_free = -1; }
      if (d == best_d && best_free < 0 && nic_owner[k] < 0) best_free = static_cast<int>(k);
    }
    int pick = best_free >= 0 ? best_free : best;
    gpu_nic[g] = pick;
    if (pick >= 0 && nic_owner[static_cast<std::size_t>(pick)] < 0) nic_owner[static_cast<std::size_t>(pick)] = static_cast<int>(g);
  }
  for (std::size_t g = 0; g < gpus.size(); ++g) {
    int k = gpu_nic[g];
    if (k < 0 || nic_owner[static_cast<std::size_t>(k)] == static_cast<int>(g)) continue;
    auto unused = std::find(nic_owner.begin(), nic_owner.end(), -1);
    if (unused != nic_owner.end())
      r.warnings.push_back(fmt::format("{}: GPU {} shares NIC {} with GPU {} while NIC {} is unused", file,
                                       r.devs[static_cast<std::size_t>(gpus[g])].label,
                                       r.devs[static_cast<std::size_t>(nics[static_cast<std::size_t>(k)])].label,
                                       r.devs[static_cast<std::size_t>(gpus[static_cast<std::size_t>(nic_owner[static_cast<std::size_t>(k)])])].label,
                                       r.devs[static_cast<std::size_t>(nics[static_cast<std::size_t>(unused - nic_owner.begin())])].label));
  }

  // Device ids come from <cpu numaid> and <pci busid>: each must be unique (a dump that repeats one
  // would alias two devices).
  {
    std::set<std::string> seen;
    for (const XDev& x : r.devs) {
      if (x.kind == XKind::nic) continue;  // the ports of one multi-port NIC share its busid
      const bool cpu = x.kind == XKind::cpu;
      const std::string& key = cpu ? x.label : x.busid;
      // An empty key counts too for CPUs and switches: two switches without a busid (CPUs without a
      // numaid) would both be named node<N>/pci (node<N>/cpu). GPUs are named by their index; the GPUs a
      // PCIe skeleton implies (AWS p5's file lists none) have no busid.
      if (key.empty() && x.kind == XKind::gpu) continue;
      if (!seen.insert((cpu ? "cpu:" : "pci:") + key).second) {
        if (key.empty())
          throw InputError(file, "", fmt::format("two <{}> elements without {}: every <cpu numaid> and <pci busid> of a "
                                                 "switch or GPU must be given and unique in an NCCL topology dump",
                                                 cpu ? "cpu" : "pci", cpu ? "numaid" : "busid"));
        throw InputError(file, "", fmt::format("<{} {}=\"{}\"> appears twice: every <cpu numaid> and <pci busid> of a "
                                               "switch or GPU must be unique in an NCCL topology dump", cpu ? "cpu" : "pci",
                                               cpu ? "numaid" : "busid", key));
      }
    }
  }

  // Instantiate the nodes.
  Topology& topo = out.topology;
  topo.name = path.stem().string() + fmt::format("-{}node", options.nodes);
  std::map<std::string, int> gpu_by_busid;
  for (std::size_t g = 0; g < gpus.size(); ++g) gpu_by_busid[r.devs[static_cast<std::size_t>(gpus[g])].busid] = static_cast<int>(g);
  const int rails = static_cast<int>(nics.size());
  std::vector<std::vector<int>> node_nics(static_cast<std::size_t>(options.nodes));
  std::set<std::string> warned_targets;
  for (int n = 0; n < options.nodes; ++n) {
    int host = topo.add_host(fmt::format("node{}", n));
    std::vector<int> index(r.devs.size(), -1);
    int gi = 0, ni = 0;
    std::vector<int> cpus;
    for (std::size_t i = 0; i < r.devs.size(); ++i) {
      const XDev& x = r.devs[i];
      Device d;
      d.host = host;
      switch (x.kind) {
        case XKind::cpu: d.kind = DeviceKind::cpu; d.id = fmt::format("node{}/cpu{}", n, x.label); break;
        case XKind::pcie_switch: d.kind = DeviceKind::pcie_switch; d.id = fmt::format("node{}/pci{}", n, x.busid); break;
        case XKind::gpu: {
          auto g = static_cast<std::size_t>(std::find(gpus.begin(), gpus.end(), static_cast<int>(i)) - gpus.begin());
          d.kind = DeviceKind::gpu;
          d.id = fmt::format("node{}/gpu{}", n, gi++);
          d.rail = gpu_nic[g];
          d.model = out.skeleton ? options.gpu_model : labels[i];
          break;
        }
        case XKind::nic: d.kind = DeviceKind::nic; d.rail = ni; d.id = fmt::format("node{}/nic{}", n, ni++); break;
      }
      index[i] = topo.add_device(d);
      if (x.kind == XKind::cpu) cpus.push_back(index[i]);
      if (x.kind == XKind::nic) node_nics[static_cast<std::size_t>(n)].push_back(index[i]);
      if (x.parent >= 0)
        topo.add_bidirectional(index[i], index[static_cast<std::size_t>(x.parent)], LinkKind::pcie,
                               x.up_GBps > 0 ? x.up_GBps : nccl_pcie_GBps("", 16), kPcieLatencyNs, kNcclModelled);
    }
    for (std::size_t a = 0; a < cpus.size(); ++a)
      for (std::size_t b = a + 1; b < cpus.size(); ++b)
        topo.add_bidirectional(cpus[a], cpus[b], LinkKind::pcie, kInterCpuGBps, kPcieLatencyNs, kNcclModelled);
    // NVLink: aggregated NVSwitch, or direct GPU-GPU links.
    int nvswitch = -1;
    for (std::size_t g = 0; g < gpus.size(); ++g) {
      const XDev& x = r.devs[static_cast<std::size_t>(gpus[g])];
      const int gdev = index[static_cast<std::size_t>(gpus[g])];
      double to_switch = out.skeleton ? sk_links * nccl_nvlink_GBps(sk_sm) : 0.0;
      for (const XNvlink& l : x.nvlinks) {
        double bw = l.count * nccl_nvlink_GBps(x.sm);
        if (l.tclass.rfind("0x0680", 0) == 0) {
          to_switch += bw;
        } else if (auto it = gpu_by_busid.find(l.target); it != gpu_by_busid.end() && l.tclass.rfind("0x03", 0) == 0) {
          topo.add_link(Link{gdev, index[static_cast<std::size_t>(gpus[static_cast<std::size_t>(it->second)])],
                             LinkKind::nvlink, bw, kNvlinkLatencyNs, kNcclModelled});
        } else if (n == 0 && warned_targets.insert(l.target).second) {
          r.warnings.push_back(fmt::format("{}: <nvlink target=\"{}\" tclass=\"{}\"> of GPU {} ignored (not an NVSwitch or a GPU)",
                                           file, l.target, l.tclass, x.label));
        }
      }
      if (n == 0 && !x.nvlinks.empty() && to_switch <= 0 &&
          std::none_of(x.nvlinks.begin(), x.nvlinks.end(), [&](const XNvlink& l) {
            return gpu_by_busid.count(l.target) > 0 && l.tclass.rfind("0x03", 0) == 0;
          }))
        r.warnings.push_back(fmt::format("{}: GPU {} keeps none of its <nvlink>: its traffic inside the node goes over PCIe",
                                         file, x.label));
      if (to_switch > 0) {
        if (nvswitch < 0)
          nvswitch = topo.add_device(Device{fmt::format("node{}/nvswitch", n), DeviceKind::nvswitch, host, -1, ""});
        topo.add_bidirectional(gdev, nvswitch, LinkKind::nvlink, to_switch, kNvlinkLatencyNs, kNcclModelled);
      }
    }
  }
  if (options.nodes > 1) {
    if (rails == 0) throw InputError(file, "", "at least one NIC (<nic>/<net> or <pci class=\"0x02....\">) for a multi-node cluster");
    // One leaf per rail (rail-optimized) or NICs spread node-major over the leaves (fat tree);
    // `spines` spines, each leaf's up-links equal to its down-links (non-blocking).
    const int spines = std::min(8, rails);
    std::vector<int> leaf(static_cast<std::size_t>(rails)), spine(static_cast<std::size_t>(spines));
    for (int k = 0; k < rails; ++k)
      leaf[static_cast<std::size_t>(k)] = topo.add_device(Device{fmt::format("leaf{}", k), DeviceKind::leaf, -1,
                                                                 options.fabric == FabricKind::rail_optimized ? k : -1, ""});
    for (int s = 0; s < spines; ++s)
      spine[static_cast<std::size_t>(s)] = topo.add_device(Device{fmt::format("spine{}", s), DeviceKind::spine, -1, -1, ""});
    std::vector<double> down(static_cast<std::size_t>(rails), 0.0);
    for (int n = 0; n < options.nodes; ++n)
      for (int k = 0; k < rails; ++k) {
        int l = options.fabric == FabricKind::rail_optimized ? k : (n * rails + k) / options.nodes;
        double bw = r.devs[static_cast<std::size_t>(nics[static_cast<std::size_t>(k)])].nic_GBps;
        topo.add_bidirectional(node_nics[static_cast<std::size_t>(n)][static_cast<std::size_t>(k)],
                               leaf[static_cast<std::size_t>(l)], options.network_kind, bw, kIbLatencyNs);
        down[static_cast<std::size_t>(l)] += bw;
      }
    for (int k = 0; k < rails; ++k)
      for (int s = 0; s < spines; ++s)
        if (down[static_cast<std::size_t>(k)] > 0)
          topo.add_bidirectional(leaf[static_cast<std::size_t>(k)], spine[static_cast<std::size_t>(s)], options.network_kind,
                                 down[static_cast<std::size_t>(k)] / spines, kIbLatencyNs);
  }
  out.warnings = std::move(r.warnings);
  return out;
}

}  // namespace epsim
