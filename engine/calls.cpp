#include "engine/calls.h"

#include <algorithm>
#include <map>
#include <set>

#include "engine/utf8.h"

namespace reglament {

namespace {

// The processes reachable from the roots through calls, by key, with the
// keys each one calls (those the lookup knows).
struct CallGraph {
  std::map<std::string, const Process*, std::less<>> nodes;
  std::map<std::string, std::vector<std::string>, std::less<>> succ;
};

const Process* known(const CallGraph& g, const ProcessLookup& lookup, std::string_view key) {
  if (auto it = g.nodes.find(key); it != g.nodes.end()) return it->second;
  return lookup(key);
}

CallGraph reachable(const std::vector<const Process*>& roots, const ProcessLookup& lookup) {
  CallGraph g;
  std::vector<const Process*> todo;
  for (const Process* p : roots)
    if (p != nullptr && g.nodes.emplace(p->key, p).second) todo.push_back(p);
  while (!todo.empty()) {
    const Process* p = todo.back();
    todo.pop_back();
    auto& out = g.succ[p->key];
    for (const auto& step : p->steps) {
      if (!step.call) continue;
      const Process* child = known(g, lookup, step.call->process);
      if (child == nullptr) continue;
      if (std::find(out.begin(), out.end(), child->key) == out.end()) out.push_back(child->key);
      if (g.nodes.emplace(child->key, child).second) todo.push_back(child);
    }
  }
  return g;
}

}  // namespace

std::vector<CallCycle> find_call_cycles(const std::vector<const Process*>& roots, const ProcessLookup& lookup) {
  CallGraph g = reachable(roots, lookup);
  // Tarjan's strongly connected components, iteratively; the graph is small
  // (the processes of a bundle), but a definition decides its shape.
  std::map<std::string, int, std::less<>> index, low;
  std::set<std::string, std::less<>> on_stack;
  std::vector<std::string> stack;
  std::vector<CallCycle> cycles;
  int counter = 0;
  for (const auto& [root, unused] : g.nodes) {
    if (index.count(root)) continue;
    std::vector<std::pair<std::string, size_t>> work{{root, 0}};
    index[root] = low[root] = counter++;
    stack.push_back(root);
    on_stack.insert(root);
    while (!work.empty()) {
      const std::string v = work.back().first;
      size_t& k = work.back().second;
      const auto& next = g.succ[v];
      if (k < next.size()) {
        const std::string w = next[k++];
        if (!index.count(w)) {
          index[w] = low[w] = counter++;
          stack.push_back(w);
          on_stack.insert(w);
          work.emplace_back(w, 0);
        } else if (on_stack.count(w)) {
          low[v] = std::min(low[v], index[w]);
        }
        continue;
      }
      work.pop_back();
      if (!work.empty()) low[work.back().first] = std::min(low[work.back().first], low[v]);
      if (low[v] != index[v]) continue;
      std::set<std::string> component;
      for (std::string w; w != v;) {
        w = stack.back();
        stack.pop_back();
        on_stack.erase(w);
        component.insert(w);
      }
      const bool self = std::find(next.begin(), next.end(), v) != next.end();
      if (component.size() < 2 && !self) continue;
      CallCycle c;
      c.processes.assign(component.begin(), component.end());
      for (const auto& key : c.processes) {
        const Process* p = g.nodes.at(key);
        for (const auto& step : p->steps)
          if (step.call && component.count(step.call->process)) c.calls.emplace_back(p, &step);
      }
      cycles.push_back(std::move(c));
    }
  }
  return cycles;
}

int call_depth(const Process& root, const ProcessLookup& lookup) {
  CallGraph g = reachable({&root}, lookup);
  // Longest path in a graph without cycles, memoised; the depth of the
  // search is bounded by the number of processes.
  std::map<std::string, int, std::less<>> depth;
  std::function<int(const std::string&)> of = [&](const std::string& key) {
    if (auto it = depth.find(key); it != depth.end()) return it->second;
    depth[key] = kMaxCallDepth + 1;  // a cycle after all: as deep as can be
    int d = 0;
    for (const auto& child : g.succ[key]) d = std::max(d, std::min(of(child) + 1, kMaxCallDepth + 1));
    return depth[key] = d;
  };
  return of(root.key);
}

bool reaches_call_at_once(const Process& process) {
  if (process.steps.empty()) return false;
  std::set<const Step*> seen;
  std::vector<const Step*> todo{&process.steps.front()};
  while (!todo.empty()) {
    const Step* s = todo.back();
    todo.pop_back();
    if (!seen.insert(s).second || s->wait) continue;
    if (s->call) return true;
    if (!s->is_service()) continue;  // a person's task (on_enter included) stops the run
    std::vector<std::string> targets;
    switch (s->next.kind) {
      case NextKind::end:
        break;
      case NextKind::step:
        targets.push_back(s->next.target);
        break;
      case NextKind::choice:
        for (const auto& b : s->next.branches)
          if (!b.wait) targets.push_back(b.target);
        break;
      case NextKind::parallel:
        targets = s->next.all;
        break;
    }
    for (const auto& t : targets)
      if (const Step* next = process.step(t)) todo.push_back(next);
  }
  return false;
}

std::string describe_calls(const CallCycle& cycle) {
  std::string out;
  for (const auto& [p, step] : cycle.calls) {
    if (!out.empty()) out += ", ";
    const std::string place = step->call->where.str();
    out += (place.empty() ? std::string() : place + " ") + "step " + quote_for_message(step->id) + " of " +
           quote_for_message(p->key) + " calls " + quote_for_message(step->call->process);
  }
  return out;
}

}  // namespace reglament
