#include "topology/topology_json.hpp"

#include <fmt/format.h>

#include "common/error.hpp"
#include "common/limits.hpp"
#include "topology/validate.hpp"

namespace epsim {

namespace {

// Size caps (docs/limits.md) checked before anything is built.
std::size_t capped_size(const JsonCursor& array, std::int64_t cap, const char* what) {
  std::size_t n = array.array_size();
  if (n > static_cast<std::size_t>(cap))
    array.fail(fmt::format("at most {} {} (found {}; see docs/limits.md)", cap, what, n));
  return n;
}

void check_schema(const JsonCursor& root) {
  if (!root.has("schema")) return;  // version 1 is assumed when absent
  std::string schema = root.at("schema").as_string();
  if (schema != kTopologySchema)
    root.at("schema").fail(fmt::format("expected \"{}\", found \"{}\"", kTopologySchema, schema));
}

void read_hosts(const JsonCursor& root, Topology& topo) {
  if (!root.has("hosts")) return;
  JsonCursor hosts = root.at("hosts");
  std::size_t n = capped_size(hosts, limits::kMaxDevices, "hosts");
  for (std::size_t i = 0; i < n; ++i) {
    JsonCursor h = hosts.at(i);
    if (h.node().is_object()) h.reject_unknown_keys({"id"});
    std::string id = h.node().is_object() ? h.at("id").as_string() : h.as_string();
    if (id.empty()) h.fail("expected a non-empty host id");
    if (topo.find_host(id)) h.fail(fmt::format("duplicate host id \"{}\"", id));
    topo.add_host(id);
  }
}

void read_devices(const JsonCursor& root, Topology& topo) {
  JsonCursor devices = root.at("devices");
  std::size_t n = capped_size(devices, limits::kMaxDevices, "devices");
  for (std::size_t i = 0; i < n; ++i) {
    JsonCursor d = devices.at(i);
    d.reject_unknown_keys({"id", "kind", "host", "rail", "model"});
    Device dev;
    dev.id = d.at("id").as_string();
    if (dev.id.empty()) d.at("id").fail("expected a non-empty device id");
    if (topo.find_device(dev.id)) d.at("id").fail(fmt::format("duplicate device id \"{}\"", dev.id));
    std::string kind = d.at("kind").as_string();
    auto parsed = parse_device_kind(kind);
    if (!parsed)
      d.at("kind").fail(fmt::format(
          "unknown device kind \"{}\" (expected gpu, nvswitch, pcie_switch, cpu, nic, leaf, spine or core)", kind));
    dev.kind = *parsed;
    if (d.has("host")) {
      std::string host = d.at("host").as_string();
      if (host.empty()) d.at("host").fail("expected a non-empty host id");
      auto h = topo.find_host(host);
      if (!h) h = topo.add_host(host);  // hosts may be declared implicitly by their devices
      dev.host = *h;
    }
    dev.rail = static_cast<int>(d.int_or("rail", -1, -1, 1 << 20));
    dev.model = d.string_or("model", "");
    topo.add_device(std::move(dev));
  }
}

void read_links(const JsonCursor& root, Topology& topo) {
  JsonCursor links = root.at("links");
  std::size_t n = capped_size(links, limits::kMaxLinks / 2, "links");
  for (std::size_t i = 0; i < n; ++i) {
    JsonCursor l = links.at(i);
    l.reject_unknown_keys({"src", "dst", "kind", "bandwidth_GBps", "latency_ns", "bidirectional", "bandwidth_basis"});
    auto endpoint = [&](const char* key) {
      std::string id = l.at(key).as_string();
      auto dev = topo.find_device(id);
      if (!dev) l.at(key).fail(fmt::format("link names unknown device \"{}\"", id));
      return *dev;
    };
    int src = endpoint("src");
    int dst = endpoint("dst");
    if (src == dst) l.fail("a link must join two different devices");
    std::string kind = l.at("kind").as_string();
    auto parsed = parse_link_kind(kind);
    if (!parsed) l.at("kind").fail(fmt::format("unknown link kind \"{}\" (expected nvlink, pcie, infiniband or ethernet)", kind));
    double bandwidth = l.at("bandwidth_GBps").as_positive();
    if (std::string why = link_range_error(bandwidth, 0.0); !why.empty()) l.at("bandwidth_GBps").fail(why);
    double latency = l.has("latency_ns") ? l.at("latency_ns").as_non_negative() : 0.0;
    if (std::string why = link_range_error(1.0, latency); !why.empty()) l.at("latency_ns").fail(why);
    BandwidthBasis basis = BandwidthBasis::nominal;
    if (l.has("bandwidth_basis")) {
      const std::string b = l.at("bandwidth_basis").as_string();
      auto parsed_basis = parse_bandwidth_basis(b);
      if (!parsed_basis) l.at("bandwidth_basis").fail(fmt::format("\"nominal\" or \"effective\", found \"{}\"", b));
      basis = *parsed_basis;
    }
    bool bidirectional = l.bool_or("bidirectional", true);
    if (bidirectional)
      topo.add_bidirectional(src, dst, *parsed, bandwidth, latency, basis);
    else
      topo.add_link(Link{src, dst, *parsed, bandwidth, latency, basis});
  }
}

}  // namespace

Topology topology_from_json(const Json& doc, const std::string& file) {
  JsonCursor root(doc, file);
  check_schema(root);  // first: another format's file is named by its schema, not its first field
  root.reject_unknown_keys({"schema", "name", "hosts", "devices", "links"});
  Topology topo;
  topo.name = root.string_or("name", "");
  read_hosts(root, topo);
  read_devices(root, topo);
  read_links(root, topo);
  return topo;
}

Topology load_topology(const std::filesystem::path& path) {
  Json doc = read_json_file(path);
  Topology topo = topology_from_json(doc, path.string());
  validate_topology(topo, path.string());
  return topo;
}

Json topology_to_json(const Topology& topology) {
  Json out = Json::object();
  out["schema"] = kTopologySchema;
  out["name"] = topology.name;
  out["hosts"] = topology.hosts();
  Json devices = Json::array();
  for (const Device& d : topology.devices()) {
    Json j = {{"id", d.id}, {"kind", std::string(to_string(d.kind))}};
    if (d.host >= 0) j["host"] = topology.hosts()[static_cast<std::size_t>(d.host)];
    if (d.rail >= 0) j["rail"] = d.rail;
    if (!d.model.empty()) j["model"] = d.model;
    devices.push_back(std::move(j));
  }
  out["devices"] = std::move(devices);
  Json links = Json::array();
  const auto& ls = topology.links();
  for (std::size_t i = 0; i < ls.size(); ++i) {
    const Link& l = ls[i];
    bool pair = i + 1 < ls.size() && ls[i + 1].src == l.dst && ls[i + 1].dst == l.src &&
                ls[i + 1].kind == l.kind && ls[i + 1].bandwidth_GBps == l.bandwidth_GBps &&
                ls[i + 1].latency_ns == l.latency_ns && ls[i + 1].basis == l.basis;
    Json j = {{"src", topology.device(l.src).id},
              {"dst", topology.device(l.dst).id},
              {"kind", std::string(to_string(l.kind))},
              {"bandwidth_GBps", l.bandwidth_GBps},
              {"latency_ns", l.latency_ns},
              {"bidirectional", pair}};
    if (l.basis != BandwidthBasis::nominal) j["bandwidth_basis"] = std::string(to_string(l.basis));
    links.push_back(std::move(j));
    if (pair) ++i;
  }
  out["links"] = std::move(links);
  return out;
}

}  // namespace epsim
