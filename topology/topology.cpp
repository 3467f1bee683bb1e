#include "topology/topology.hpp"

#include <array>
#include <stdexcept>

namespace epsim {

namespace {
constexpr std::array<std::string_view, 8> kDeviceKindNames = {"gpu", "nvswitch", "pcie_switch", "cpu",
                                                              "nic", "leaf",     "spine",       "core"};
constexpr std::array<std::string_view, 4> kLinkKindNames = {"nvlink", "pcie", "infiniband", "ethernet"};
}  // namespace

std::string_view to_string(DeviceKind kind) { return kDeviceKindNames.at(static_cast<std::size_t>(kind)); }
std::string_view to_string(LinkKind kind) { return kLinkKindNames.at(static_cast<std::size_t>(kind)); }

std::optional<DeviceKind> parse_device_kind(std::string_view name) {
  for (std::size_t i = 0; i < kDeviceKindNames.size(); ++i)
    if (kDeviceKindNames[i] == name) return static_cast<DeviceKind>(i);
  return std::nullopt;
}

std::optional<LinkKind> parse_link_kind(std::string_view name) {
  for (std::size_t i = 0; i < kLinkKindNames.size(); ++i)
    if (kLinkKindNames[i] == name) return static_cast<LinkKind>(i);
  return std::nullopt;
}

std::string_view to_string(BandwidthBasis basis) { return basis == BandwidthBasis::effective ? "effective" : "nominal"; }

std::optional<BandwidthBasis> parse_bandwidth_basis(std::string_view name) {
  if (name == "nominal") return BandwidthBasis::nominal;
  if (name == "effective") return BandwidthBasis::effective;
  return std::nullopt;
}

int Topology::add_host(const std::string& id) {
  if (host_by_id_.count(id)) throw std::invalid_argument("duplicate host id '" + id + "'");
  int index = static_cast<int>(hosts_.size());
  hosts_.push_back(id);
  host_by_id_.emplace(id, index);
  return index;
}

int Topology::add_device(Device device) {
  if (device_by_id_.count(device.id)) throw std::invalid_argument("duplicate device id '" + device.id + "'");
  if (device.host < -1 || device.host >= num_hosts())
    throw std::invalid_argument("device '" + device.id + "' names a host index out of range");
  int index = static_cast<int>(devices_.size());
  device_by_id_.emplace(device.id, index);
  if (device.kind == DeviceKind::gpu) gpus_.push_back(index);
  devices_.push_back(std::move(device));
  out_.emplace_back();
  in_.emplace_back();
  boost::add_vertex(graph_);
  return index;
}

int Topology::add_link(const Link& link) {
  if (link.src < 0 || link.src >= num_devices() || link.dst < 0 || link.dst >= num_devices())
    throw std::invalid_argument("link endpoint out of range");
  int index = static_cast<int>(links_.size());
  links_.push_back(link);
  out_[static_cast<std::size_t>(link.src)].push_back(index);
  in_[static_cast<std::size_t>(link.dst)].push_back(index);
  boost::add_edge(static_cast<std::size_t>(link.src), static_cast<std::size_t>(link.dst), index, graph_);
  return index;
}

int Topology::add_bidirectional(int a, int b, LinkKind kind, double bandwidth_GBps, double latency_ns,
                                BandwidthBasis basis) {
  int forward = add_link(Link{a, b, kind, bandwidth_GBps, latency_ns, basis});
  add_link(Link{b, a, kind, bandwidth_GBps, latency_ns, basis});
  return forward;
}

std::optional<int> Topology::find_device(std::string_view id) const {
  auto it = device_by_id_.find(std::string(id));
  if (it == device_by_id_.end()) return std::nullopt;
  return it->second;
}

std::optional<int> Topology::find_host(std::string_view id) const {
  auto it = host_by_id_.find(std::string(id));
  if (it == host_by_id_.end()) return std::nullopt;
  return it->second;
}

std::string Topology::link_name(int link_index) const {
  const Link& l = link(link_index);
  return device(l.src).id + "->" + device(l.dst).id;
}

}  // namespace epsim
