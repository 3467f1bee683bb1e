#include "placement/trace_objective.hpp"

#include <algorithm>
#include <numeric>

#include <fmt/format.h>

#include "common/error.hpp"
#include "comm/trace_traffic.hpp"

namespace epsim {

TraceLayerState::TraceLayerState(const TraceObjectiveInput& input, const LayerPlacement& placement, int num_experts,
                                 ObjectiveKind kind, double link_norm_s)
    : in_(input),
      topo_(&input.routes->topology()),
      E_(num_experts),
      k_(input.top_k),
      ep_(placement.num_gpus),
      H_(std::max(1, input.routes->topology().num_hosts())),
      kind_(kind),
      link_norm_s_(link_norm_s > 0 ? link_norm_s : 1.0),
      placement_(placement) {
  const TraceLayer& L = *in_.layer;
  const int T = L.num_tokens();
  if (ep_ < 1 || ep_ > topo_->num_gpus())
    throw InputError(fmt::format("trace objective: EP {} outside the topology's {} GPUs", ep_, topo_->num_gpus()));
  host_of_rank_.resize(static_cast<std::size_t>(topo_->num_gpus()));
  for (int g = 0; g < topo_->num_gpus(); ++g) host_of_rank_[static_cast<std::size_t>(g)] = topo_->gpu_host(g);
  // Pair ids in a dense table up to 4M (16 MB) (source rank, GPU) cells, else in a hash map.
  if (static_cast<std::int64_t>(ep_) * topo_->num_gpus() <= (std::int64_t{1} << 22))
    dense_pairs_.assign(static_cast<std::size_t>(ep_) * static_cast<std::size_t>(topo_->num_gpus()), -1);
  peer_cache_.assign(static_cast<std::size_t>(ep_) * static_cast<std::size_t>(H_), -2);
  expert_gpus_.resize(static_cast<std::size_t>(E_));
  for (int e = 0; e < E_; ++e) set_expert_gpus(e);
  // CSR of tokens per expert.
  token_offset_.assign(static_cast<std::size_t>(E_) + 1, 0);
  for (int t = 0; t < T; ++t) {
    const int src = L.source[static_cast<std::size_t>(t)];
    if (src < 0 || src >= ep_)
      throw InputError(fmt::format("trace layer {}: token {} comes from rank {} but EP is {}", L.layer, t, src, ep_));
    for (int e : L.token_experts(t, k_)) {
      if (e < 0 || e >= E_ || expert_gpus_[static_cast<std::size_t>(e)].empty())
        throw InputError(fmt::format("trace layer {}: token {} uses expert {} that the placement does not hold",
                                     L.layer, t, e));
      token_offset_[static_cast<std::size_t>(e) + 1] += 1;
    }
  }
  std::partial_sum(token_offset_.begin(), token_offset_.end(), token_offset_.begin());
  token_list_.resize(static_cast<std::size_t>(token_offset_.back()));
  std::vector<int> fill(token_offset_.begin(), token_offset_.end() - 1);
  for (int t = 0; t < T; ++t)
    for (int e : L.token_experts(t, k_)) token_list_[static_cast<std::size_t>(fill[static_cast<std::size_t>(e)]++)] = t;
  // Links.
  const int nl = topo_->num_links();
  link_bytes_.assign(static_cast<std::size_t>(nl), 0.0);
  inv_bw_.resize(static_cast<std::size_t>(nl));
  cross_link_.resize(static_cast<std::size_t>(nl));
  for (int l = 0; l < nl; ++l) {
    const Link& link = topo_->link(l);
    inv_bw_[static_cast<std::size_t>(l)] = 1.0 / (link.bandwidth_GBps * 1e9);
    int hs = topo_->device(link.src).host, hd = topo_->device(link.dst).host;
    cross_link_[static_cast<std::size_t>(l)] = hs >= 0 && hs != hd;
  }
  gpu_tokens_.assign(static_cast<std::size_t>(ep_), 0.0);
  stamp_.assign(static_cast<std::size_t>(T), 0);
  serving_.resize(static_cast<std::size_t>(T) * static_cast<std::size_t>(k_));
  for (int t = 0; t < T; ++t) {
    auto ex = L.token_experts(t, k_);
    for (int j = 0; j < k_; ++j)
      serving_[static_cast<std::size_t>(t) * k_ + j] =
          serving_rank(expert_gpus_[static_cast<std::size_t>(ex[j])], L.source[static_cast<std::size_t>(t)], t, *topo_);
    add_token(t, +1);
  }
  apply_pair_deltas(+1);
  undo_pairs_.clear();
}

void TraceLayerState::set_expert_gpus(int e) {
  auto& v = expert_gpus_[static_cast<std::size_t>(e)];
  v.clear();
  const int S = placement_.slots_per_gpu;
  for (std::size_t p = 0; p < placement_.slot_expert.size(); ++p)
    if (placement_.slot_expert[p] == e) v.push_back(static_cast<int>(p) / S);
  v.erase(std::unique(v.begin(), v.end()), v.end());  // slots are in rank order, so v is sorted
}

int TraceLayerState::pair_id(int s, int d) {
  const std::int64_t key = static_cast<std::int64_t>(s) * topo_->num_gpus() + d;
  int* slot = nullptr;
  if (!dense_pairs_.empty()) {
    slot = &dense_pairs_[static_cast<std::size_t>(key)];
    if (*slot >= 0) return *slot;
  } else {
    auto it = pair_index_.find(key);
    if (it != pair_index_.end()) return it->second;
  }
  const int id = static_cast<int>(pair_rows_.size());
  if (slot) *slot = id;
  else pair_index_.emplace(key, id);
  {
    hops_.clear();
    in_.routes->append_route(s, d, scratch_, hops_);
    LinkRow row;
    row.reserve(hops_.size());
    for (const RouteHop& h : hops_) row.emplace_back(h.link, h.fraction);
    pair_rows_.push_back(std::move(row));
    pair_delta_.push_back(0.0);
  }
  return id;
}

void TraceLayerState::add_token(int t, double sign) {
  const int src = in_.layer->source[static_cast<std::size_t>(t)];
  const int shost = host_of_rank_[static_cast<std::size_t>(src)];
  const int* srv = &serving_[static_cast<std::size_t>(t) * k_];
  scratch_dst_.assign(srv, srv + k_);
  for (int g : scratch_dst_) gpu_tokens_[static_cast<std::size_t>(g)] += sign;
  std::sort(scratch_dst_.begin(), scratch_dst_.end());
  scratch_dst_.erase(std::unique(scratch_dst_.begin(), scratch_dst_.end()), scratch_dst_.end());
  auto bump = [&](int s, int d) {
    int id = pair_id(s, d);
    if (pair_delta_[static_cast<std::size_t>(id)] == 0.0) touched_pairs_.push_back(id);
    pair_delta_[static_cast<std::size_t>(id)] += sign;
  };
  scratch_hosts_.clear();
  const bool nf = in_.delivery == TokenDelivery::node_forwarding;
  for (int g : scratch_dst_) {
    if (g == src) continue;
    const int h = host_of_rank_[static_cast<std::size_t>(g)];
    int peer = -1;
    if (nf && h >= 0 && h != shost) {
      int& c = peer_cache_[static_cast<std::size_t>(src) * static_cast<std::size_t>(H_) + static_cast<std::size_t>(h)];
      if (c == -2) c = in_.routes->rail_peer(src, h);
      peer = c;
    }
    if (peer < 0) {
      bump(src, g);
      continue;
    }
    if (std::find(scratch_hosts_.begin(), scratch_hosts_.end(), h) == scratch_hosts_.end()) {
      scratch_hosts_.push_back(h);
      bump(src, peer);
    }
    if (g != peer) bump(peer, g);
  }
  if (in_.max_nodes_per_token > 0) {
    int n = nodes_of_token(t);
    if (n > in_.max_nodes_per_token) excess_ += sign * (n - in_.max_nodes_per_token);
  }
}

int TraceLayerState::nodes_of_token(int t) const {
  const int* srv = &serving_[static_cast<std::size_t>(t) * k_];
  int n = 0;
  for (int j = 0; j < k_; ++j) {
    const int h = host_of_rank_[static_cast<std::size_t>(srv[j])];
    bool seen = false;
    for (int i = 0; i < j && !seen; ++i) seen = host_of_rank_[static_cast<std::size_t>(srv[i])] == h;
    n += !seen;
  }
  return n;
}

void TraceLayerState::apply_pair_deltas(double sign) {
  for (int id : touched_pairs_) {
    double d = pair_delta_[static_cast<std::size_t>(id)];
    pair_delta_[static_cast<std::size_t>(id)] = 0.0;
    if (d == 0.0) continue;
    undo_pairs_.emplace_back(id, d);
    const double b = sign * d * in_.bytes_per_token;
    for (const auto& [l, f] : pair_rows_[static_cast<std::size_t>(id)]) {
      link_bytes_[static_cast<std::size_t>(l)] += b * f;
      if (cross_link_[static_cast<std::size_t>(l)]) cross_bytes_ += b * f;
    }
  }
  touched_pairs_.clear();
}

void TraceLayerState::change_slots(const std::vector<std::pair<int, int>>& slot_expert) {
  undo_slots_.clear();
  undo_experts_.clear();
  undo_tokens_.clear();
  undo_serving_.clear();
  undo_pairs_.clear();
  undo_gpu_.clear();
  undo_excess_ = excess_;
  for (const auto& [slot, e] : slot_expert) {
    int old = placement_.slot_expert[static_cast<std::size_t>(slot)];
    undo_slots_.emplace_back(slot, old);
    for (int x : {old, e})
      if (x >= 0 && std::find(undo_experts_.begin(), undo_experts_.end(), x) == undo_experts_.end())
        undo_experts_.push_back(x);
  }
  if (++epoch_ == 0) {
    std::fill(stamp_.begin(), stamp_.end(), 0);
    epoch_ = 1;
  }
  for (int e : undo_experts_)
    for (int i = token_offset_[static_cast<std::size_t>(e)]; i < token_offset_[static_cast<std::size_t>(e) + 1]; ++i) {
      int t = token_list_[static_cast<std::size_t>(i)];
      if (stamp_[static_cast<std::size_t>(t)] == epoch_) continue;
      stamp_[static_cast<std::size_t>(t)] = epoch_;
      undo_tokens_.push_back(t);
    }
  std::vector<double> before(gpu_tokens_);
  for (int t : undo_tokens_) {
    const int* srv = &serving_[static_cast<std::size_t>(t) * k_];
    undo_serving_.insert(undo_serving_.end(), srv, srv + k_);
  }
  for (const auto& [slot, e] : slot_expert) placement_.slot_expert[static_cast<std::size_t>(slot)] = e;
  for (int e : undo_experts_) set_expert_gpus(e);
  const TraceLayer& L = *in_.layer;
  for (std::size_t i = 0; i < undo_tokens_.size(); ++i) {
    const int t = undo_tokens_[i];
    auto ex = L.token_experts(t, k_);
    int* srv = &serving_[static_cast<std::size_t>(t) * k_];
    for (int j = 0; j < k_; ++j) {
      const int e = ex[static_cast<std::size_t>(j)];
      if (std::find(undo_experts_.begin(), undo_experts_.end(), e) == undo_experts_.end()) continue;
      const auto& gpus = expert_gpus_[static_cast<std::size_t>(e)];
      if (gpus.empty()) throw std::logic_error("trace objective: a move removed an expert's last replica");
      srv[j] = serving_rank(gpus, L.source[static_cast<std::size_t>(t)], t, *topo_);
    }
    token_delta(t, &undo_serving_[i * static_cast<std::size_t>(k_)], srv);
  }
  for (int g = 0; g < ep_; ++g)
    if (gpu_tokens_[static_cast<std::size_t>(g)] != before[static_cast<std::size_t>(g)])
      undo_gpu_.emplace_back(g, before[static_cast<std::size_t>(g)]);
  apply_pair_deltas(+1);
}

// The change of one token's copies when its serving GPUs go from old_srv to new_srv (k each):
// add_token(t, -1) with old_srv followed by add_token(t, +1) with new_srv, computed from the
// positions that changed only. A destination GPU is dropped (added) when no position of the new
// (old) serving holds it; a node-forwarding host copy (source -> rail peer) is dropped (added)
// when no destination of the new (old) set lies on that host.
void TraceLayerState::token_delta(int t, const int* old_srv, const int* new_srv) {
  bool changed = false;
  for (int j = 0; j < k_ && !changed; ++j) changed = old_srv[j] != new_srv[j];
  if (!changed) return;
  const int src = in_.layer->source[static_cast<std::size_t>(t)];
  const int shost = host_of_rank_[static_cast<std::size_t>(src)];
  const bool nf = in_.delivery == TokenDelivery::node_forwarding;
  int excess_before = 0;
  if (in_.max_nodes_per_token > 0) excess_before = std::max(0, nodes_of(old_srv) - in_.max_nodes_per_token);
  auto holds = [&](const int* srv, int g) {
    for (int j = 0; j < k_; ++j)
      if (srv[j] == g) return true;
    return false;
  };
  // Does the set `srv` hold a destination (not the source) on host h that is reached through h's
  // rail peer? Only asked for forwarded hosts (nf, h != shost, peer >= 0).
  auto host_needed = [&](const int* srv, int h) {
    for (int j = 0; j < k_; ++j)
      if (srv[j] != src && host_of_rank_[static_cast<std::size_t>(srv[j])] == h) return true;
    return false;
  };
  auto bump = [&](int s, int d, double sign) {
    int id = pair_id(s, d);
    if (pair_delta_[static_cast<std::size_t>(id)] == 0.0) touched_pairs_.push_back(id);
    pair_delta_[static_cast<std::size_t>(id)] += sign;
  };
  auto peer_of = [&](int h) {
    if (!nf || h < 0 || h == shost) return -1;
    int& c = peer_cache_[static_cast<std::size_t>(src) * static_cast<std::size_t>(H_) + static_cast<std::size_t>(h)];
    if (c == -2) c = in_.routes->rail_peer(src, h);
    return c;
  };
  // One destination g leaving (sign -1) or joining (+1): its own pair (direct, or the forwarding
  // leg from its host's rail peer); host copies are settled per host below.
  auto move_dest = [&](int g, double sign) {
    if (g == src) return;
    const int h = host_of_rank_[static_cast<std::size_t>(g)];
    const int peer = peer_of(h);
    if (peer < 0) bump(src, g, sign);
    else if (g != peer) bump(peer, g, sign);
  };
  for (int j = 0; j < k_; ++j) {
    if (old_srv[j] == new_srv[j]) continue;
    gpu_tokens_[static_cast<std::size_t>(old_srv[j])] -= 1;
    gpu_tokens_[static_cast<std::size_t>(new_srv[j])] += 1;
  }
  // Distinct destinations dropped and added (each counted once: first position holding it).
  for (int j = 0; j < k_; ++j) {
    const int g = old_srv[j];
    bool first = true;
    for (int i = 0; i < j && first; ++i) first = old_srv[i] != g;
    if (first && !holds(new_srv, g)) move_dest(g, -1);
  }
  for (int j = 0; j < k_; ++j) {
    const int g = new_srv[j];
    bool first = true;
    for (int i = 0; i < j && first; ++i) first = new_srv[i] != g;
    if (first && !holds(old_srv, g)) move_dest(g, +1);
  }
  // Host copies (source -> rail peer of host h): once per forwarded host that the old or the new
  // set reaches; only hosts of changed positions can differ.
  scratch_hosts_.clear();
  for (int j = 0; j < k_; ++j) {
    if (old_srv[j] == new_srv[j]) continue;
    for (int g : {old_srv[j], new_srv[j]}) {
      const int h = host_of_rank_[static_cast<std::size_t>(g)];
      if (std::find(scratch_hosts_.begin(), scratch_hosts_.end(), h) != scratch_hosts_.end()) continue;
      scratch_hosts_.push_back(h);
      const int peer = peer_of(h);
      if (peer < 0) continue;
      const bool before = host_needed(old_srv, h), after = host_needed(new_srv, h);
      if (before != after) bump(src, peer, after ? +1.0 : -1.0);
    }
  }
  if (in_.max_nodes_per_token > 0)
    excess_ += std::max(0, nodes_of(new_srv) - in_.max_nodes_per_token) - excess_before;
}

int TraceLayerState::nodes_of(const int* srv) const {
  int n = 0;
  for (int j = 0; j < k_; ++j) {
    const int h = host_of_rank_[static_cast<std::size_t>(srv[j])];
    bool seen = false;
    for (int i = 0; i < j && !seen; ++i) seen = host_of_rank_[static_cast<std::size_t>(srv[i])] == h;
    n += !seen;
  }
  return n;
}

void TraceLayerState::revert() {
  for (const auto& [id, d] : undo_pairs_) {
    const double b = d * in_.bytes_per_token;
    for (const auto& [l, f] : pair_rows_[static_cast<std::size_t>(id)]) {
      link_bytes_[static_cast<std::size_t>(l)] -= b * f;
      if (cross_link_[static_cast<std::size_t>(l)]) cross_bytes_ -= b * f;
    }
  }
  undo_pairs_.clear();
  for (const auto& [g, v] : undo_gpu_) gpu_tokens_[static_cast<std::size_t>(g)] = v;
  undo_gpu_.clear();
  excess_ = undo_excess_;
  for (std::size_t i = 0; i < undo_tokens_.size(); ++i)
    std::copy_n(undo_serving_.begin() + static_cast<std::ptrdiff_t>(i * k_), k_,
                serving_.begin() + static_cast<std::ptrdiff_t>(static_cast<std::size_t>(undo_tokens_[i]) * k_));
  undo_tokens_.clear();
  for (auto it = undo_slots_.rbegin(); it != undo_slots_.rend(); ++it)
    placement_.slot_expert[static_cast<std::size_t>(it->first)] = it->second;
  undo_slots_.clear();
  for (int e : undo_experts_) set_expert_gpus(e);
  undo_experts_.clear();
}

double TraceLayerState::bottleneck_s() const {
  double m = 0;
  for (std::size_t l = 0; l < link_bytes_.size(); ++l) m = std::max(m, link_bytes_[l] * inv_bw_[l]);
  return m;
}

int TraceLayerState::bottleneck_link() const {
  int best = -1;
  double m = 0;
  for (std::size_t l = 0; l < link_bytes_.size(); ++l)
    if (link_bytes_[l] * inv_bw_[l] > m) m = link_bytes_[l] * inv_bw_[l], best = static_cast<int>(l);
  return best;
}

double TraceLayerState::cross_node_bytes() const { return std::max(0.0, cross_bytes_); }

double TraceLayerState::max_gpu_tokens() const { return *std::max_element(gpu_tokens_.begin(), gpu_tokens_.end()); }

double TraceLayerState::mean_gpu_tokens() const {
  return std::accumulate(gpu_tokens_.begin(), gpu_tokens_.end(), 0.0) / static_cast<double>(gpu_tokens_.size());
}

ObjectiveValue TraceLayerState::value() const {
  const double t = bottleneck_s();
  switch (kind_) {
    case ObjectiveKind::link: return {t, cross_node_bytes(), excess_};
    case ObjectiveKind::gpu: return {max_gpu_tokens(), t, excess_};
    case ObjectiveKind::balanced: {
      double mean = mean_gpu_tokens();
      return {std::max(t / link_norm_s_, mean > 0 ? max_gpu_tokens() / mean : 1.0), cross_node_bytes(), excess_};
    }
  }
  return {t, cross_node_bytes(), excess_};
}

ObjectiveValue trace_objective(const TraceObjectiveInput& input, const LayerPlacement& placement, int num_experts,
                               ObjectiveKind kind, double link_norm_s) {
  return TraceLayerState(input, placement, num_experts, kind, link_norm_s).value();
}

}  // namespace epsim
