#include "topology/topology_dot.hpp"

#include <boost/graph/filtered_graph.hpp>
#include <boost/graph/graphviz.hpp>
#include <fmt/format.h>

namespace epsim {

namespace {

bool has_reverse(const Topology& topo, int li) {
  const Link& l = topo.link(li);
  for (int r : topo.out_links(l.dst))
    if (topo.link(r).dst == l.src && topo.link(r).kind == l.kind) return true;
  return false;
}

// Drawing tier, top to bottom: core, spine, leaf, NIC, PCIe/CPU, GPU, NVSwitch.
int tier(DeviceKind kind) {
  switch (kind) {
    case DeviceKind::core: return 0;
    case DeviceKind::spine: return 1;
    case DeviceKind::leaf: return 2;
    case DeviceKind::nic: return 3;
    case DeviceKind::pcie_switch: case DeviceKind::cpu: return 4;
    case DeviceKind::gpu: return 5;
    case DeviceKind::nvswitch: return 6;
  }
  return 4;
}

}  // namespace

void write_topology_dot(std::ostream& out, const Topology& topo) {
  using Graph = Topology::Graph;
  const Graph& g = topo.graph();
  auto index = boost::get(boost::edge_index, g);
  // Keep one direction of each cable: the one pointing down the tiers (so `dot` ranks them).
  auto keep = [&](const Graph::edge_descriptor& e) {
    int li = boost::get(index, e);
    const Link& l = topo.link(li);
    int ts = tier(topo.device(l.src).kind), td = tier(topo.device(l.dst).kind);
    return ts < td || (ts == td && l.src < l.dst) || !has_reverse(topo, li);
  };
  boost::filtered_graph<Graph, std::function<bool(const Graph::edge_descriptor&)>> view(g, keep);
  auto vertex_writer = [&](std::ostream& os, std::size_t v) {
    const Device& d = topo.device(static_cast<int>(v));
    const char* shape = "box";
    const char* color = "white";
    switch (d.kind) {
      case DeviceKind::gpu: shape = "box"; color = "palegreen"; break;
      case DeviceKind::nvswitch: shape = "hexagon"; color = "lightblue"; break;
      case DeviceKind::nic: shape = "ellipse"; color = "khaki"; break;
      case DeviceKind::leaf: case DeviceKind::spine: case DeviceKind::core: shape = "diamond"; color = "lightsalmon"; break;
      default: shape = "octagon"; color = "lightgrey"; break;
    }
    os << fmt::format("[label=\"{}\", shape={}, style=filled, fillcolor={}]", d.id, shape, color);
  };
  auto edge_writer = [&](std::ostream& os, const Graph::edge_descriptor& e) {
    int li = boost::get(index, e);
    const Link& l = topo.link(li);
    os << fmt::format("[label=\"{} {:g}\", dir={}]", to_string(l.kind), l.bandwidth_GBps,
                      has_reverse(topo, li) ? "none" : "forward");
  };
  auto graph_writer = [&](std::ostream& os) {
    os << fmt::format("label=\"{}\";\nrankdir=TB;\nnewrank=true;\nfontsize=10;\nnode [fontsize=9];\nedge [fontsize=7];\n",
                      topo.name);
    // One cluster per host; fabric tiers on one rank each.
    for (int h = 0; h < topo.num_hosts(); ++h) {
      os << fmt::format("subgraph cluster_{} {{ label=\"{}\"; style=rounded;", h, topo.hosts()[static_cast<std::size_t>(h)]);
      for (int v = 0; v < topo.num_devices(); ++v)
        if (topo.device(v).host == h) os << ' ' << v << ';';
      os << " }\n";
    }
    for (DeviceKind k : {DeviceKind::core, DeviceKind::spine, DeviceKind::leaf}) {
      os << "{ rank=same;";
      for (int v = 0; v < topo.num_devices(); ++v)
        if (topo.device(v).kind == k && topo.device(v).host < 0) os << ' ' << v << ';';
      os << " }\n";
    }
  };
  boost::write_graphviz(out, view, vertex_writer, edge_writer, graph_writer);
}

}  // namespace epsim
