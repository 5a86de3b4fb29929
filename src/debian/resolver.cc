// The resolver (rules in resolver.h). It works in four passes over an index built once:
//
//   index      candidates per name (pins applied) and the providers of every virtual name
//   closure    a work list of dependency groups: unambiguous groups first, groups with a
//              choice deferred until nothing else is left, so choices see as much as possible
//   conflicts  Conflicts and Breaks among the chosen packages
//   order      strongly connected components of the dependency graph, placed topologically
//
// Every lookup is by name in ordered maps and every choice has a stated tie-break, so the
// result does not depend on hash order or on the order the index lists packages in.
#include "debian/resolver.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <queue>
#include <set>

#include "debian/relations.h"
#include "debian/version.h"

namespace bonsai::debian {
namespace {

using util::ErrorKind;
using util::fail;
using util::Result;
using util::Status;

struct Entry {  // one version of a name, for the target architecture
  const Package* pkg;
  Version version;
};

struct Candidate {
  const Package* pkg;
  bool pinned = false;
  RelationList provides;
  std::string provides_error;  // reported only if the package is chosen
};

struct Provider {  // "x provides name (= v)"
  size_t candidate;
  Relation provided;
};

struct Node {  // a chosen package
  size_t candidate;
  ChoiceReason reason;
  std::string needed_by, relation;
  std::vector<std::pair<size_t, bool>> deps;  // (node it needs, through Pre-Depends)
};

struct Group {  // one dependency group waiting to be met
  size_t owner;
  bool pre_depends;
  RelationGroup alternatives;
};

// How a group can be met: by choosing a candidate, or by an excluded package.
struct Option {
  std::optional<size_t> candidate;
  std::string excluded;
};

std::string label(const Package& p) { return p.name + " " + p.version; }

// Debian priorities, most important first; unknown ones last.
int priority_rank(std::string_view priority) {
  constexpr std::string_view kOrder[] = {"required", "important", "standard", "optional", "extra"};
  for (size_t i = 0; i < std::size(kOrder); ++i) {
    if (priority == kOrder[i]) return static_cast<int>(i);
  }
  return static_cast<int>(std::size(kOrder));
}

class Resolver {
 public:
  Resolver(std::span<const Package> available, const ResolveOptions& options)
      : available_(available), options_(options) {}

  Result<Resolution> run() {
    TRY(read_requests());
    TRY(build_index());
    TRY(add_roots());
    TRY(close());
    TRY(check_conflicts());
    return output();
  }

 private:
  // ---- index ------------------------------------------------------------------------------

  Status read_requests() {
    excluded_.insert(options_.excluded.begin(), options_.excluded.end());
    for (const std::string& request : options_.requested) {
      size_t eq = request.find('=');
      std::string name = request.substr(0, eq);
      if (name.empty()) {
        return fail(ErrorKind::kInvalidArgument, fmt::format("request \"{}\": no name", request));
      }
      if (excluded_.contains(name)) {
        return fail(ErrorKind::kInvalidArgument,
                    fmt::format("{} is both requested and excluded", name));
      }
      if (eq != std::string::npos) {
        Version v =
            TRY_CTX(parse_version(request.substr(eq + 1)), fmt::format("request \"{}\"", request));
        auto [it, fresh] = pins_.emplace(name, v);
        if (!fresh && compare_versions(it->second, v) != 0) {
          return fail(ErrorKind::kInvalidArgument,
                      fmt::format("{} is pinned to two versions", name));
        }
      }
      requested_.push_back(name);
    }
    return {};
  }

  Status build_index() {
    for (const Package& p : available_) {
      if (p.architecture != options_.architecture && p.architecture != "all") {
        other_arch_[p.name].insert(p.architecture);
        continue;
      }
      auto v = parse_version(p.version);
      if (!v) return corrupt(p, v.error());
      versions_[p.name].push_back({&p, std::move(*v)});
    }
    for (auto& [name, entries] : versions_) {
      std::stable_sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
        return compare_versions(a.version, b.version) > 0;
      });
      const Entry* chosen = &entries.front();
      auto pin = pins_.find(name);
      if (pin != pins_.end()) {
        chosen = nullptr;
        for (const Entry& e : entries) {
          if (!chosen && compare_versions(e.version, pin->second) == 0) chosen = &e;
        }
        if (!chosen) {
          return fail(ErrorKind::kNotFound,
                      fmt::format("requested {}={}: no such version for {}; available: {}", name,
                                  pin->second.to_string(), options_.architecture,
                                  available_versions(name)));
        }
      }
      Candidate c{chosen->pkg, pin != pins_.end(), {}, {}};
      if (auto provides = parse_relations("Provides", c.pkg->provides)) {
        c.provides = std::move(*provides);
      } else {
        c.provides_error = provides.error().message();
      }
      candidate_of_[name] = candidates_.size();
      candidates_.push_back(std::move(c));
    }
    for (const auto& [name, index] : candidate_of_) {  // in name order, so providers are too
      for (const RelationGroup& group : candidates_[index].provides) {
        for (const Relation& r : group) providers_[r.name].push_back({index, r});
      }
    }
    // Providers in order of preference: Essential, then by Priority, then by name (as apt's
    // pkgPrioSortList), so "awk" means mawk (required) rather than gawk (optional).
    for (auto& [name, list] : providers_) {
      std::ranges::stable_sort(list, std::less<>(), [&](const Provider& p) {
        const Package& pkg = *candidates_[p.candidate].pkg;
        return std::pair(!pkg.essential, priority_rank(pkg.priority));
      });
    }
    for (const auto& [name, pin] : pins_) {
      if (!versions_.contains(name)) return not_found(name);
    }
    return {};
  }

  std::string where(const Package& p) const {
    return fmt::format("package {} ({})", label(p), p.suite.empty() ? "no suite" : p.suite);
  }

  // Malformed index data: kCorrupt naming the package.
  std::unexpected<util::Error> corrupt(const Package& p, const util::Error& e) const {
    return fail(ErrorKind::kCorrupt, fmt::format("{}: {}", where(p), e.message()));
  }

  Result<RelationList> relations_of(const Package& p, std::string_view field,
                                    const std::string& text) const {
    auto list = parse_relations(field, text);
    if (!list) return corrupt(p, list.error());
    return list;
  }

  // "libfoo 2.0, 1.5 (pinned)", "provided by x 1.0", or "libfoo: none".
  std::string available_versions(const std::string& name) const {
    std::string out;
    if (auto it = versions_.find(name); it != versions_.end()) {
      out = name;
      const Candidate* c = nullptr;
      if (auto ci = candidate_of_.find(name); ci != candidate_of_.end())
        c = &candidates_[ci->second];
      for (size_t i = 0; i < it->second.size(); ++i) {
        const Entry& e = it->second[i];
        out += fmt::format("{}{}{}", i ? ", " : " ", e.pkg->version,
                           c && c->pinned && e.pkg == c->pkg ? " (pinned)" : "");
      }
    }
    if (auto it = providers_.find(name); it != providers_.end()) {
      for (const Provider& p : it->second) {
        out += fmt::format("{}provided by {}", out.empty() ? "" : ", ",
                           label(*candidates_[p.candidate].pkg));
        if (p.provided.op != VersionOp::kNone) out += " as " + p.provided.to_string();
      }
    }
    return out.empty() ? name + ": none" : out;
  }

  Status not_found(const std::string& name) const {
    std::string also;
    if (auto it = other_arch_.find(name); it != other_arch_.end()) {
      also = " (only for " + fmt::format("{}", fmt::join(it->second, ", ")) + ")";
    }
    return fail(ErrorKind::kNotFound, fmt::format("requested package {}: not found for {}{}", name,
                                                  options_.architecture, also));
  }

  // ---- closure ----------------------------------------------------------------------------

  Status add_roots() {
    for (const std::string& name : requested_) {
      if (auto it = candidate_of_.find(name); it != candidate_of_.end()) {
        TRY(choose(it->second, ChoiceReason::kRequested, "", ""));
        continue;
      }
      // A virtual name: fine when exactly one package provides it.
      std::set<size_t> providers;
      if (auto it = providers_.find(name); it != providers_.end()) {
        for (const Provider& p : it->second) {
          if (!excluded_.contains(candidates_[p.candidate].pkg->name)) {
            providers.insert(p.candidate);
          }
        }
      }
      if (providers.empty()) return not_found(name);
      if (providers.size() > 1) {
        return fail(ErrorKind::kInvalidArgument,
                    fmt::format("requested package {} is virtual; request one of: {}", name,
                                available_versions(name)));
      }
      TRY(choose(*providers.begin(), ChoiceReason::kRequested, "", ""));
    }
    for (const auto& [name, index] : candidate_of_) {
      const Package& p = *candidates_[index].pkg;
      bool essential = options_.include_essential && p.essential;
      bool priority =
          std::ranges::find(options_.priorities, p.priority) != options_.priorities.end();
      if (!essential && !priority) continue;
      std::string why = essential ? "essential" : "priority " + p.priority;
      if (excluded_.contains(name)) {
        excluded_needs_.push_back({name, why, ""});
        continue;
      }
      TRY(choose(index, essential ? ChoiceReason::kEssential : ChoiceReason::kPriority, "", ""));
    }
    return {};
  }

  // Adds a candidate to the chosen set (once) and queues its dependency groups.
  Result<size_t> choose(size_t candidate, ChoiceReason reason, std::string needed_by,
                        std::string relation) {
    if (auto it = node_of_.find(candidate); it != node_of_.end()) return it->second;
    const Candidate& c = candidates_[candidate];
    if (!c.provides_error.empty()) {
      return fail(ErrorKind::kCorrupt, fmt::format("{}: {}", where(*c.pkg), c.provides_error));
    }
    size_t id = nodes_.size();
    nodes_.push_back({candidate, reason, std::move(needed_by), std::move(relation), {}});
    node_of_[candidate] = id;
    for (bool pre : {true, false}) {
      std::string_view field = pre ? "Pre-Depends" : "Depends";
      RelationList list =
          TRY(relations_of(*c.pkg, field, pre ? c.pkg->pre_depends : c.pkg->depends));
      for (RelationGroup& g : list) ready_.push_back({id, pre, std::move(g)});
    }
    return id;
  }

  Status close() {
    while (!ready_.empty() || !deferred_.empty()) {
      bool from_ready = !ready_.empty();
      Group g = std::move(from_ready ? ready_.front() : deferred_.front());
      (from_ready ? ready_ : deferred_).pop_front();
      TRY(meet(std::move(g), /*may_choose=*/!from_ready));
    }
    return {};
  }

  // Meets one group, or defers it when it offers a choice and `may_choose` is false.
  Status meet(Group g, bool may_choose) {
    std::erase_if(g.alternatives,
                  [&](const Relation& r) { return !r.applies_to(options_.architecture); });
    if (g.alternatives.empty()) return {};
    for (const Relation& r : g.alternatives) {
      if (std::optional<size_t> node = chosen_satisfier(r)) {
        if (*node != g.owner) nodes_[g.owner].deps.push_back({*node, g.pre_depends});
        return {};
      }
    }
    std::vector<Option> options = options_for(g.alternatives);
    if (options.empty()) return unsatisfiable(g);
    if (options.size() > 1 && !may_choose) {
      deferred_.push_back(std::move(g));
      return {};
    }
    const Option& o = options.front();
    const Package& owner = *candidates_[nodes_[g.owner].candidate].pkg;
    std::string relation =
        fmt::format("{}: {}", g.pre_depends ? "Pre-Depends" : "Depends", to_string(g.alternatives));
    if (!o.candidate) {
      excluded_needs_.push_back({o.excluded, label(owner), relation});
      return {};
    }
    size_t node = TRY(choose(*o.candidate, ChoiceReason::kDependency, label(owner), relation));
    nodes_[g.owner].deps.push_back({node, g.pre_depends});
    return {};
  }

  // dpkg's archsatisfied for a single architecture (see resolver.h).
  bool arch_ok(const Relation& r, const Package& p, bool conflict) const {
    const std::string& q = r.arch_qualifier;
    if (q.empty() || q == "native" || q == options_.architecture) return true;
    if (q == "any") return conflict || p.multi_arch == "allowed";
    return false;
  }

  // Whether `p` (a real package or a provider) meets relation `r`.
  bool real_meets(const Relation& r, size_t candidate, bool conflict = false) const {
    const Package& p = *candidates_[candidate].pkg;
    return arch_ok(r, p, conflict) && satisfies(r, p.version);
  }
  bool provider_meets(const Relation& r, const Provider& p, bool conflict = false) const {
    if (!arch_ok(r, *candidates_[p.candidate].pkg, conflict)) return false;
    if (r.op == VersionOp::kNone) return true;
    return p.provided.op == VersionOp::kEqual && satisfies(r, p.provided.version);
  }

  std::optional<size_t> chosen_satisfier(const Relation& r) const {
    if (auto c = candidate_of_.find(r.name); c != candidate_of_.end()) {
      auto n = node_of_.find(c->second);
      if (n != node_of_.end() && real_meets(r, c->second)) return n->second;
    }
    if (auto it = providers_.find(r.name); it != providers_.end()) {
      for (const Provider& p : it->second) {
        auto n = node_of_.find(p.candidate);
        if (n != node_of_.end() && provider_meets(r, p)) return n->second;
      }
    }
    return std::nullopt;
  }

  std::vector<Option> options_for(const RelationGroup& alternatives) const {
    std::vector<Option> out;
    for (const Relation& r : alternatives) {
      if (excluded_.contains(r.name)) {
        out.push_back({std::nullopt, r.name});
        continue;
      }
      std::vector<Option> mine;
      std::string excluded_provider;
      auto c = candidate_of_.find(r.name);
      if (c != candidate_of_.end() && real_meets(r, c->second)) mine.push_back({c->second, ""});
      if (auto it = providers_.find(r.name); it != providers_.end()) {
        for (const Provider& p : it->second) {
          if (!provider_meets(r, p)) continue;
          const std::string& name = candidates_[p.candidate].pkg->name;
          if (!excluded_.contains(name)) {
            mine.push_back({p.candidate, ""});
          } else if (excluded_provider.empty()) {
            excluded_provider = name;
          }
        }
      }
      if (mine.empty() && !excluded_provider.empty())
        mine.push_back({std::nullopt, excluded_provider});
      for (Option& o : mine) {
        bool seen = std::ranges::any_of(out, [&](const Option& x) {
          return x.candidate == o.candidate && x.excluded == o.excluded;
        });
        if (!seen) out.push_back(std::move(o));
      }
    }
    return out;
  }

  Status unsatisfiable(const Group& g) const {
    std::vector<std::string> names, seen;
    for (const Relation& r : g.alternatives) {
      if (std::ranges::find(seen, r.name) != seen.end()) continue;
      seen.push_back(r.name);
      std::string text = available_versions(r.name);
      auto c = candidate_of_.find(r.name);
      if (r.arch_qualifier == "any" && c != candidate_of_.end() &&
          candidates_[c->second].pkg->multi_arch != "allowed") {
        text += " (not Multi-Arch: allowed, as :any needs)";
      }
      names.push_back(std::move(text));
    }
    const Package& owner = *candidates_[nodes_[g.owner].candidate].pkg;
    return fail(ErrorKind::kNotFound,
                fmt::format("{} needed by {}: no candidate; available: {}",
                            to_string(g.alternatives), label(owner), fmt::join(names, "; ")));
  }

  // ---- conflicts --------------------------------------------------------------------------

  Status check_conflicts() const {
    std::vector<std::string> problems;
    for (const auto& [candidate, node] : node_of_) {
      const Package& p = *candidates_[candidate].pkg;
      for (std::string_view field : {"Conflicts", "Breaks"}) {
        const std::string& text = field == "Conflicts" ? p.conflicts : p.breaks;
        RelationList list = TRY(relations_of(p, field, text));
        std::string_view verb = field == "Conflicts" ? "conflicts with" : "breaks";
        for (const RelationGroup& g : list) {
          for (const Relation& r : g) {
            if (!r.applies_to(options_.architecture)) continue;
            for (const auto& [other, via] : conflicting(r, candidate)) {
              problems.push_back(fmt::format("{} {} {} ({}: {}{})", label(p), verb,
                                             label(*candidates_[other].pkg), field, r.to_string(),
                                             via ? ", provided by it" : ""));
            }
          }
        }
      }
    }
    if (problems.empty()) return {};
    std::ranges::sort(problems);
    return fail(ErrorKind::kConflict, fmt::format("{}", fmt::join(problems, "; ")));
  }

  // The chosen packages other than `self` that relation `r` hits: (candidate, through Provides).
  std::vector<std::pair<size_t, bool>> conflicting(const Relation& r, size_t self) const {
    std::vector<std::pair<size_t, bool>> out;
    auto c = candidate_of_.find(r.name);
    if (c != candidate_of_.end() && c->second != self && node_of_.contains(c->second) &&
        real_meets(r, c->second, /*conflict=*/true)) {
      out.push_back({c->second, false});
    }
    if (auto it = providers_.find(r.name); it != providers_.end()) {
      for (const Provider& p : it->second) {
        if (p.candidate == self || !node_of_.contains(p.candidate)) continue;
        if (!provider_meets(r, p, /*conflict=*/true)) continue;
        if (std::ranges::find(out, std::pair{p.candidate, false}) == out.end()) {
          out.push_back({p.candidate, true});
        }
      }
    }
    return out;
  }

  // ---- order ------------------------------------------------------------------------------

  // Tarjan's strongly connected components over "node -> what it needs". Components come out
  // dependencies first (a component is emitted after every component it reaches).
  std::vector<std::vector<size_t>> components() const {
    size_t n = nodes_.size(), counter = 0;
    std::vector<size_t> index(n, SIZE_MAX), low(n, 0);
    std::vector<bool> on_stack(n, false);
    std::vector<size_t> stack;
    std::vector<std::vector<size_t>> out;
    std::function<void(size_t)> visit = [&](size_t v) {
      index[v] = low[v] = counter++;
      stack.push_back(v);
      on_stack[v] = true;
      for (auto [w, pre] : nodes_[v].deps) {
        if (index[w] == SIZE_MAX) {
          visit(w);
          low[v] = std::min(low[v], low[w]);
        } else if (on_stack[w]) {
          low[v] = std::min(low[v], index[w]);
        }
      }
      if (low[v] != index[v]) return;
      std::vector<size_t> component;
      size_t w;
      do {
        w = stack.back();
        stack.pop_back();
        on_stack[w] = false;
        component.push_back(w);
      } while (w != v);
      out.push_back(std::move(component));
    };
    for (size_t v = 0; v < n; ++v) {
      if (index[v] == SIZE_MAX) visit(v);
    }
    return out;
  }

  const std::string& name_of(size_t node) const {
    return candidates_[nodes_[node].candidate].pkg->name;
  }

  // Kahn's algorithm, lowest name first among the ready. With `members` a cycle: when nothing is
  // ready, the lowest-named node whose unmet needs are all plain Depends goes next (else the
  // lowest-named node), which breaks the cycle at a Depends edge when it can.
  std::vector<size_t> kahn(const std::vector<size_t>& members,
                           const std::vector<std::vector<std::pair<size_t, bool>>>& needs) const {
    auto by_name = [&](size_t a, size_t b) { return name_of(a) > name_of(b); };
    std::map<size_t, size_t> unmet;
    std::map<size_t, std::vector<size_t>> needed_by;
    for (size_t m : members) {
      unmet[m] = needs[m].size();
      for (auto [dep, pre] : needs[m]) needed_by[dep].push_back(m);
    }
    std::priority_queue<size_t, std::vector<size_t>, decltype(by_name)> ready(by_name);
    for (size_t m : members) {
      if (unmet[m] == 0) ready.push(m);
    }
    std::vector<size_t> out;
    std::set<size_t> placed;
    while (out.size() < members.size()) {
      if (ready.empty()) ready.push(break_cycle(members, needs, placed));
      size_t m = ready.top();
      ready.pop();
      if (!placed.insert(m).second) continue;
      out.push_back(m);
      for (size_t d : needed_by[m]) {
        if (--unmet[d] == 0 && !placed.contains(d)) ready.push(d);
      }
    }
    return out;
  }

  size_t break_cycle(const std::vector<size_t>& members,
                     const std::vector<std::vector<std::pair<size_t, bool>>>& needs,
                     const std::set<size_t>& placed) const {
    std::optional<size_t> best, best_soft;
    for (size_t m : members) {
      if (placed.contains(m)) continue;
      bool soft = std::ranges::none_of(needs[m], [&](const std::pair<size_t, bool>& e) {
        return e.second && !placed.contains(e.first);
      });
      if (!best || name_of(m) < name_of(*best)) best = m;
      if (soft && (!best_soft || name_of(m) < name_of(*best_soft))) best_soft = m;
    }
    return best_soft ? *best_soft : *best;
  }

  std::vector<size_t> install_order() const {
    std::vector<std::vector<size_t>> comps = components();
    std::vector<size_t> comp_of(nodes_.size());
    for (size_t i = 0; i < comps.size(); ++i) {
      for (size_t v : comps[i]) comp_of[v] = i;
    }
    // Components as nodes: a component needs the components its members need. Each is named
    // by its lowest member, so Kahn's tie-break by name applies to them too.
    std::vector<size_t> rep(comps.size());
    std::vector<std::vector<std::pair<size_t, bool>>> comp_needs(nodes_.size());
    std::vector<std::vector<std::pair<size_t, bool>>> inner(nodes_.size());
    for (size_t i = 0; i < comps.size(); ++i) {
      rep[i] = *std::ranges::min_element(
          comps[i], [&](size_t a, size_t b) { return name_of(a) < name_of(b); });
    }
    for (size_t v = 0; v < nodes_.size(); ++v) {
      std::set<size_t> seen;
      for (auto [w, pre] : nodes_[v].deps) {
        if (comp_of[w] == comp_of[v]) {
          inner[v].push_back({w, pre});
        } else if (seen.insert(comp_of[w]).second) {
          comp_needs[rep[comp_of[v]]].push_back({rep[comp_of[w]], pre});
        }
      }
    }
    // Deduplicate the component edges gathered from several members.
    for (auto& needs : comp_needs) {
      std::ranges::sort(needs);
      needs.erase(std::unique(needs.begin(), needs.end(),
                              [](auto& a, auto& b) { return a.first == b.first; }),
                  needs.end());
    }
    std::vector<size_t> out;
    for (size_t r : kahn(rep, comp_needs)) {
      const std::vector<size_t>& members = comps[comp_of[r]];
      for (size_t v : members.size() == 1 ? members : kahn(members, inner)) out.push_back(v);
    }
    return out;
  }

  Resolution output() const {
    Resolution res;
    for (size_t v : install_order()) {
      const Node& n = nodes_[v];
      res.packages.push_back({*candidates_[n.candidate].pkg, n.reason, n.needed_by, n.relation});
    }
    res.excluded = excluded_needs_;
    return res;
  }

  std::span<const Package> available_;
  const ResolveOptions& options_;
  std::set<std::string> excluded_;
  std::map<std::string, Version> pins_;
  std::vector<std::string> requested_;

  std::map<std::string, std::vector<Entry>> versions_;  // newest first
  std::map<std::string, std::set<std::string>> other_arch_;
  std::vector<Candidate> candidates_;
  std::map<std::string, size_t> candidate_of_;
  std::map<std::string, std::vector<Provider>> providers_;

  std::vector<Node> nodes_;
  std::map<size_t, size_t> node_of_;  // candidate -> node
  std::deque<Group> ready_, deferred_;
  std::vector<ExcludedDependency> excluded_needs_;
};

}  // namespace

std::string ResolvedPackage::why() const {
  switch (reason) {
    case ChoiceReason::kRequested:
      return "requested";
    case ChoiceReason::kEssential:
      return "essential";
    case ChoiceReason::kPriority:
      return "priority " + package.priority;
    case ChoiceReason::kDependency:
      return fmt::format("dependency of {} ({})", needed_by, relation);
  }
  return "";
}

Result<Resolution> resolve(std::span<const Package> available, const ResolveOptions& options) {
  return Resolver(available, options).run();
}

}  // namespace bonsai::debian
