#pragma once
// Import of NCCL topology XML (the format of NCCL_TOPO_FILE / NCCL_TOPO_DUMP_FILE) as a cluster of
// identical nodes joined by a generated InfiniBand fabric.
//
// Unit conversions follow NCCL (src/graph/topo.cc, topo.h, xml.cc):
//   NIC:    <net speed="S"> in Mb/s -> S / 8000 GB/s (400000 -> 50 GB/s)
//   PCIe:   link_width x lane rate / 80 GB/s, lane rate by generation (NCCL kvDictPciGen):
//           2.5 GT/s 15, 5 GT/s 30, 8 GT/s 60, 16 GT/s 120, 32 GT/s 240, 64 GT/s 480; width 0 is
//           taken as 16, a missing or unknown speed as 60 (NCCL's fallback). Gen5 x16 = 48 GB/s.
//   NVLink: <nvlink count="c"> x per-link bandwidth of the GPU generation (NCCL topo.h, 2.19+):
//           sm60 18.0, sm70 20.0, sm80 20.0, sm86 12.0, sm90 20.6, sm100 40.1 GB/s per link.
// NVLink, PCIe and CPU-CPU figures are NCCL's effective ones (SM90: 20.6 of 25 GB/s nominal), so those
// links are marked BandwidthBasis::effective and no model applies its efficiency to them again; NIC
// links carry the nominal line rate (BandwidthBasis::nominal).
// Structure: <cpu> -> cpu device, <pci> with children or a bridge class (0x0604..) -> pcie_switch,
// <pci class=0x03..> or a <gpu> -> GPU, <pci class=0x02..> or <nic>/<net> -> NIC (one per <net>).
// NVLinks whose target is an NVSwitch (tclass 0x0680..) join one aggregated "nvswitch" device per
// node (as the generators do); NVLinks whose target is a GPU join the two GPUs directly.
// PCIe skeletons (no <gpu>, NCCL fills GPUs at run time) need the GPU model: leaf <pci> of GPU class
// become GPUs, class-less leaves become NICs, a switch with NICs and no GPU gets one GPU, and each
// GPU gets the NVSwitch bandwidth of the model (links x per-link bandwidth above).
#include <filesystem>
#include <string>
#include <vector>

#include "topology/generators.hpp"
#include "topology/topology.hpp"

namespace epsim {

/// Options of import_nccl_xml.
struct NcclImportOptions {
  int nodes = 1;                                  ///< identical nodes to instantiate (>= 1)
  FabricKind fabric = FabricKind::rail_optimized;  ///< how NICs join the leaves
  std::string gpu_model;                          ///< "h100", "h200", "a100", "b200"; required for skeletons
  double default_nic_GBps = 50.0;                 ///< NIC bandwidth when <net speed> is absent (400 Gb/s)
  /// Kind of the NIC-leaf and fabric links: infiniband or ethernet (RoCE, AWS EFA: the NCCL XML does
  /// not say which; aws_p5_48xlarge.xml is EFA).
  LinkKind network_kind = LinkKind::infiniband;
};

/// A topology with what the importer noticed on the way.
struct NcclImport {
  Topology topology;
  std::vector<std::string> warnings;  ///< unknown elements/attributes, shared NICs, defaults taken
  bool skeleton = false;              ///< the file had no <gpu> elements
};

/// Per-link NVLink bandwidth (GB/s per direction) for a CUDA SM version (NCCL topo.h table above);
/// 0 when unknown.
double nccl_nvlink_GBps(int sm);
/// PCIe bandwidth (GB/s) of a link_speed string ("32.0 GT/s PCIe") and width, as NCCL computes it;
/// *speed_known (when given) says whether the speed was one of the table's or NCCL's fallback was taken.
double nccl_pcie_GBps(const std::string& link_speed, int width, bool* speed_known = nullptr);

/// Parse `path` and build `options.nodes` copies of the node plus the fabric. Throws InputError
/// naming the file for malformed XML (a closing tag that does not match, nesting deeper than
/// limits::kMaxXmlDepth: topology/xml_check.hpp), a root other than <system>, a non-numeric attribute
/// NCCL reads as a number (naming element and attribute), no GPU, a <gpu> without sm (or sm="0")
/// when no GPU model is given, NVLinks on a GPU whose sm has none (< 60), or a skeleton without
/// options.gpu_model (or an unknown model), or a network_kind that is not infiniband or ethernet.
/// Warns (NcclImport::warnings) on every value it assumes (PCIe speed or width, NVLink count, NIC
/// speed, a GPU's sm) and on what it drops: an <nvlink> with count 0, one that targets its own GPU,
/// one whose target is neither an NVSwitch nor a GPU of the file. GPU models come from sm (90 h100,
/// 80 a100, 100 b200, 70 v100, 60 p100); a given GPU model of the same sm names the variant (h200),
/// one of another sm is overruled by the file (warned).
NcclImport import_nccl_xml(const std::filesystem::path& path, const NcclImportOptions& options);

}  // namespace epsim
