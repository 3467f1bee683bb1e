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

}  // namespace

void write_topology_dot(std::ostream& out, const Topology& topo) {
  using Graph = Topology::Graph;
  const Graph& g = topo.graph();
  auto index = boost::get(boost::edge_index, g);
  // Keep one direction of each cable.
  auto keep = [&](const Graph::edge_descriptor& e) {
    int li = boost::get(index, e);
    const Link& l = topo.link(li);
    return l.src < l.dst || !has_reverse(topo, li);
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
    os << fmt::format("label=\"{}\";\nrankdir=TB;\nfontsize=10;\nnode [fontsize=9];\nedge [fontsize=7];\n", topo.name);
  };
  boost::write_graphviz(out, view, vertex_writer, edge_writer, graph_writer);
}

}  // namespace epsim
