#pragma once
// The cluster as a directed multigraph of devices and links (Boost.Graph adjacency_list with the
// device and link indices as bundled properties), behind a small interface. Bandwidth is per
// direction in GB/s (1e9 bytes/s); a bidirectional cable is two directed links.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <boost/graph/adjacency_list.hpp>

namespace epsim {

/// Kinds of device. Switch-like kinds (nvswitch, pcie_switch, cpu, leaf, spine, core) and NICs only
/// forward traffic; GPUs are the only endpoints.
enum class DeviceKind { gpu, nvswitch, pcie_switch, cpu, nic, leaf, spine, core };
/// Kinds of link; infiniband and ethernet are the scale-out ("network") kinds.
enum class LinkKind { nvlink, pcie, infiniband, ethernet };

/// What a link's bandwidth_GBps is: the datasheet (nominal) rate, to which the communication models
/// apply their per-kind efficiency (comm/exchange_cost.hpp, comm/collectives.hpp), or a rate that is
/// already effective (NCCL's topology model: the NCCL XML importer writes NCCL's 20.6 GB/s per SM90
/// NVLink and width x lane / 80 per PCIe link), used as is. Topology JSON: "bandwidth_basis".
enum class BandwidthBasis { nominal, effective };

std::string_view to_string(DeviceKind kind);
std::string_view to_string(LinkKind kind);
std::string_view to_string(BandwidthBasis basis);
/// Parse "nominal" or "effective"; std::nullopt otherwise.
std::optional<BandwidthBasis> parse_bandwidth_basis(std::string_view name);
/// Parse a kind name ("gpu", "nvswitch", ...); std::nullopt when unknown.
std::optional<DeviceKind> parse_device_kind(std::string_view name);
std::optional<LinkKind> parse_link_kind(std::string_view name);

/// One device. host: index into Topology::hosts() or -1 (fabric switches); rail: rail index of a GPU
/// or NIC (the leaf it attaches to in a rail-optimized fabric), -1 when not applicable.
struct Device {
  std::string id;
  DeviceKind kind = DeviceKind::gpu;
  int host = -1;
  int rail = -1;
  std::string model;  ///< e.g. "h100" for GPUs; free text, may be empty
};

/// One directed link src -> dst (device indices). bandwidth_GBps > 0 and finite, latency_ns >= 0.
struct Link {
  int src = -1;
  int dst = -1;
  LinkKind kind = LinkKind::nvlink;
  double bandwidth_GBps = 0;
  double latency_ns = 0;
  BandwidthBasis basis = BandwidthBasis::nominal;  ///< whether the models' efficiencies still apply
};

/// A cluster topology. Devices and links are addressed by dense indices in insertion order; GPUs also
/// have a dense GPU rank (0..num_gpus-1) in insertion order. Not thread-safe for mutation; const
/// access is safe from many threads.
class Topology {
 public:
  using Graph = boost::adjacency_list<boost::vecS, boost::vecS, boost::bidirectionalS,
                                      boost::no_property, boost::property<boost::edge_index_t, int>>;

  std::string name;

  /// Add a host (node) and return its index. Throws std::invalid_argument on a duplicate id.
  int add_host(const std::string& id);
  /// Add a device and return its index. Throws std::invalid_argument on a duplicate id or a host
  /// index out of range.
  int add_device(Device device);
  /// Add a directed link and return its index. Throws std::invalid_argument on unknown endpoints.
  /// Bandwidth/latency are validated by validate_topology(), not here.
  int add_link(const Link& link);
  /// Add the two directed links a <-> b with the same properties; returns the index of a -> b
  /// (b -> a is that index + 1).
  int add_bidirectional(int a, int b, LinkKind kind, double bandwidth_GBps, double latency_ns,
                        BandwidthBasis basis = BandwidthBasis::nominal);

  int num_devices() const { return static_cast<int>(devices_.size()); }
  int num_links() const { return static_cast<int>(links_.size()); }
  int num_gpus() const { return static_cast<int>(gpus_.size()); }
  int num_hosts() const { return static_cast<int>(hosts_.size()); }

  const Device& device(int index) const { return devices_.at(static_cast<std::size_t>(index)); }
  const Link& link(int index) const { return links_.at(static_cast<std::size_t>(index)); }
  const std::vector<Device>& devices() const { return devices_; }
  const std::vector<Link>& links() const { return links_; }
  const std::vector<std::string>& hosts() const { return hosts_; }

  /// Device index of GPU rank g (0 <= g < num_gpus()).
  int gpu_device(int gpu_rank) const { return gpus_.at(static_cast<std::size_t>(gpu_rank)); }
  /// Host index of GPU rank g (-1 if the GPU has no host).
  int gpu_host(int gpu_rank) const { return device(gpu_device(gpu_rank)).host; }

  std::optional<int> find_device(std::string_view id) const;
  std::optional<int> find_host(std::string_view id) const;

  /// Indices of the links leaving / entering a device.
  const std::vector<int>& out_links(int device_index) const { return out_.at(static_cast<std::size_t>(device_index)); }
  const std::vector<int>& in_links(int device_index) const { return in_.at(static_cast<std::size_t>(device_index)); }

  /// Human-readable name of a link: "src_id->dst_id".
  std::string link_name(int link_index) const;

  /// The Boost.Graph view (vertex = device index, edge_index = link index), for graph algorithms and
  /// writers.
  const Graph& graph() const { return graph_; }

 private:
  std::vector<Device> devices_;
  std::vector<Link> links_;
  std::vector<std::string> hosts_;
  std::vector<int> gpus_;
  std::vector<std::vector<int>> out_;
  std::vector<std::vector<int>> in_;
  std::unordered_map<std::string, int> device_by_id_;
  std::unordered_map<std::string, int> host_by_id_;
  Graph graph_;
};

/// True for the scale-out link kinds (InfiniBand, Ethernet).
inline bool is_network_link(LinkKind kind) { return kind == LinkKind::infiniband || kind == LinkKind::ethernet; }

}  // namespace epsim
