// Cross-reference and graph checks of a process draft (see loader_internal.h).

#include <algorithm>
#include <cstdio>
#include <deque>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "engine/calls.h"
#include "engine/expr.h"
#include "engine/loader_internal.h"
#include "engine/utf8.h"

namespace reglament::loader_detail {

namespace {

constexpr int kUnreached = std::numeric_limits<int>::max();

int edit_distance(std::string_view a, std::string_view b) {
  std::vector<int> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = static_cast<int>(j);
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = static_cast<int>(i);
    for (size_t j = 1; j <= b.size(); ++j) {
      int subst = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, subst});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

void add(std::vector<Error>& problems, const Location& where, std::string message) {
  problems.push_back(make_error(ErrorCode::invalid, std::move(message), where));
}

// The step graph by index. Targets that name no step (reported elsewhere)
// and `end` are left out of `succ`.
struct Graph {
  std::map<std::string, size_t, std::less<>> index;
  std::vector<std::vector<size_t>> succ;
  std::vector<bool> to_end;  // has a direct edge to `end`

  std::optional<size_t> find(std::string_view id) const {
    auto it = index.find(id);
    if (it == index.end()) return std::nullopt;
    return it->second;
  }
};

std::vector<std::string> targets_of(const Next& n) {
  switch (n.kind) {
    case NextKind::end:
      return {"end"};
    case NextKind::step:
      return {n.target};
    case NextKind::choice: {
      std::vector<std::string> out;
      for (const auto& b : n.branches) out.push_back(b.target);
      return out;
    }
    case NextKind::parallel:
      return n.all;
  }
  return {};
}

Graph build_graph(const Process& p) {
  Graph g;
  for (size_t i = 0; i < p.steps.size(); ++i) g.index.emplace(p.steps[i].id, i);  // first wins
  g.succ.resize(p.steps.size());
  g.to_end.resize(p.steps.size(), false);
  for (size_t i = 0; i < p.steps.size(); ++i) {
    std::vector<std::string> targets = targets_of(p.steps[i].next);
    // An interrupting deadline (escalate: goto) is a way out of the step too.
    for (const auto& e : p.steps[i].escalate)
      if (e.kind == Escalation::Kind::go) targets.push_back(e.target);
    for (const auto& t : targets) {
      if (t == "end") {
        g.to_end[i] = true;
      } else if (auto j = g.find(t)) {
        g.succ[i].push_back(*j);
      }
    }
  }
  return g;
}

// Breadth-first distances from `from`, never expanding `blocked`.
std::vector<int> distances(const Graph& g, size_t from, std::optional<size_t> blocked) {
  std::vector<int> dist(g.succ.size(), kUnreached);
  std::deque<size_t> queue{from};
  dist[from] = 0;
  while (!queue.empty()) {
    size_t s = queue.front();
    queue.pop_front();
    if (blocked && s == *blocked) continue;
    for (size_t t : g.succ[s]) {
      if (dist[t] == kUnreached) {
        dist[t] = dist[s] + 1;
        queue.push_back(t);
      }
    }
  }
  return dist;
}

// For each parallel split, the step where all its branches first meet: the
// step reachable from every branch with the smallest longest distance (a
// `join: all` step wins a tie, then file order). Paths are not followed
// through the split itself, so a loop back to before the split does not make
// the branches "meet" in each other.
std::map<size_t, size_t> find_joins(ProcessDraft& d, const Graph& g, std::vector<Error>& problems) {
  Process& p = d.process;
  std::map<size_t, size_t> join_of;   // split -> join
  std::map<size_t, size_t> split_of;  // join -> first split that meets there
  for (size_t s = 0; s < p.steps.size(); ++s) {
    const Next& next = p.steps[s].next;
    if (next.kind != NextKind::parallel || next.all.size() < 2) continue;
    std::vector<size_t> branches;
    for (const auto& t : next.all) {
      if (auto j = g.find(t)) branches.push_back(*j);
    }
    if (branches.size() != next.all.size()) continue;  // an unknown target, reported already
    std::vector<int> longest(p.steps.size(), 0);
    for (size_t b : branches) {
      std::vector<int> dist = distances(g, b, s);
      for (size_t i = 0; i < dist.size(); ++i) longest[i] = std::max(longest[i], dist[i]);
    }
    std::optional<size_t> meet;
    for (size_t i = 0; i < p.steps.size(); ++i) {
      if (longest[i] == kUnreached) continue;
      if (!meet || longest[i] < longest[*meet] ||
          (longest[i] == longest[*meet] && p.steps[i].join && !p.steps[*meet].join)) {
        meet = i;
      }
    }
    const std::string& id = p.steps[s].id;
    if (!meet) {
      add(problems, d.steps[s].next_where,
          "the branches of the parallel split at step " + quote(id) + " never meet at one step");
      continue;
    }
    Step& join = p.steps[*meet];
    if (!join.join) {
      add(problems, d.steps[s].next_where,
          "the branches of the parallel split at step " + quote(id) + " first meet at step " +
              quote(join.id) + ", which is not marked join: all");
      continue;
    }
    if (auto it = split_of.find(*meet); it != split_of.end()) {
      add(problems, d.steps[*meet].join_where,
          "step " + quote(join.id) + " joins more than one parallel split (at steps " +
              quote(p.steps[it->second].id) + " and " + quote(id) + ")");
      continue;
    }
    split_of[*meet] = s;
    join_of[s] = *meet;
    join.join_count = static_cast<int>(next.all.size());
  }
  for (size_t i = 0; i < p.steps.size(); ++i) {
    if (p.steps[i].join && !split_of.count(i)) {
      add(problems, d.steps[i].join_where,
          "step " + quote(p.steps[i].id) +
              " is marked join: all, but no parallel split has its branches meet there");
    }
  }
  return join_of;
}

// Whether the engine goes on from `s` by itself, at once: a service step (a
// handler, or a call that does not wait for its child) with no timer before
// it. A person's task, a wait and a waiting call each stop the run.
bool runs_on_its_own(const Step& s) {
  return s.is_service() && !s.wait && !(s.call && s.call->wait);
}

// A loop made only of steps that run on their own would run for ever in one
// command (each round a few events, a child instance when it calls), so it is
// refused, however its conditions look: the engine cannot prove that one
// ends. Strongly connected components (Tarjan) of the graph of such steps,
// over `next:` edges that carry no wait; each loop is reported once, at its
// first step in file order, with the places of the others.
void check_service_loops(const ProcessDraft& d, const Graph& g, std::vector<Error>& problems) {
  const Process& p = d.process;
  const size_t n = p.steps.size();
  std::vector<std::vector<size_t>> succ(n);
  for (size_t i = 0; i < n; ++i) {
    if (!runs_on_its_own(p.steps[i])) continue;
    const Next& next = p.steps[i].next;
    std::vector<std::string> targets;
    if (next.kind == NextKind::choice) {
      for (const auto& b : next.branches)
        if (!b.wait) targets.push_back(b.target);
    } else {
      targets = targets_of(next);
    }
    for (const auto& t : targets)
      if (auto j = g.find(t); j && runs_on_its_own(p.steps[*j])) succ[i].push_back(*j);
  }
  // Iterative Tarjan: a process may have many steps, recursion is not needed.
  std::vector<int> index(n, -1), low(n, 0);
  std::vector<bool> on_stack(n, false);
  std::vector<size_t> stack;
  int counter = 0;
  for (size_t root = 0; root < n; ++root) {
    if (index[root] >= 0) continue;
    std::vector<std::pair<size_t, size_t>> work{{root, 0}};  // node, next successor to visit
    index[root] = low[root] = counter++;
    stack.push_back(root);
    on_stack[root] = true;
    while (!work.empty()) {
      auto& [v, k] = work.back();
      if (k < succ[v].size()) {
        size_t w = succ[v][k++];
        if (index[w] < 0) {
          index[w] = low[w] = counter++;
          stack.push_back(w);
          on_stack[w] = true;
          work.emplace_back(w, 0);
        } else if (on_stack[w]) {
          low[v] = std::min(low[v], index[w]);
        }
        continue;
      }
      const size_t done = v;
      work.pop_back();
      if (!work.empty()) low[work.back().first] = std::min(low[work.back().first], low[done]);
      if (low[done] != index[done]) continue;
      std::vector<size_t> component;
      for (size_t w = n; w != done;) {
        w = stack.back();
        stack.pop_back();
        on_stack[w] = false;
        component.push_back(w);
      }
      const bool self_loop =
          std::find(succ[done].begin(), succ[done].end(), done) != succ[done].end();
      if (component.size() < 2 && !self_loop) continue;
      std::sort(component.begin(), component.end());
      std::string steps, places;
      for (size_t c : component) {
        const Step& st = p.steps[c];
        steps += (steps.empty() ? "" : ", ") + quote(st.id);
        if (c != component.front())
          places += (places.empty() ? "" : ", ") + quote(st.id) + " at " + std::to_string(st.where.line) + ":" +
                    std::to_string(st.where.column);
      }
      add(problems, p.steps[component.front()].where,
          (component.size() == 1 ? "step " + steps + " goes back to itself: a loop"
                                 : "steps " + steps + " form a loop") +
              " of service steps only, with no person and no wait in it, so it could run for ever; "
              "put a person's task or a wait: in the loop" +
              (places.empty() ? std::string() : " (" + places + ")"));
    }
  }
}

// `new_definition`: the checks added after definitions were first deployed
// (loops of service steps) apply to what validate and deploy read, not to a
// stored definition reloaded for its running instances.
void check_graph(ProcessDraft& d, std::vector<Error>& problems, bool new_definition) {
  Process& p = d.process;
  if (p.steps.empty()) return;
  Graph g = build_graph(p);

  std::vector<std::string> ids;
  for (const auto& s : p.steps) ids.push_back(s.id);
  for (const auto& sd : d.steps) {
    for (const auto& t : sd.targets) {
      if (t.name != "end" && !g.find(t.name)) {
        // The step the target belongs to: the one whose draft holds it.
        const Step& from = p.steps[&sd - d.steps.data()];
        add(problems, t.where,
            "step " + quote(from.id) + " goes to unknown step " + quote(t.name) +
                did_you_mean(t.name, ids));
      }
    }
  }

  std::map<size_t, size_t> join_of = find_joins(d, g, problems);
  if (new_definition) check_service_loops(d, g, problems);

  std::vector<int> from_start = distances(g, 0, std::nullopt);
  for (size_t i = 0; i < p.steps.size(); ++i) {
    if (from_start[i] == kUnreached && g.find(p.steps[i].id) == i) {
      add(problems, p.steps[i].where,
          "step " + quote(p.steps[i].id) + " is unreachable from the first step " +
              quote(p.steps[0].id));
    }
  }

  // Which steps can reach `end`, by fixpoint. A parallel split ends only
  // through its join; a split whose join is unknown (reported above) counts
  // through any branch, so one mistake is not reported twice.
  std::vector<bool> ends(p.steps.size(), false);
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t i = 0; i < p.steps.size(); ++i) {
      if (ends[i]) continue;
      bool e = g.to_end[i];
      if (!e) {
        auto j = join_of.find(i);
        if (j != join_of.end()) {
          e = ends[j->second];
        } else {
          for (size_t t : g.succ[i]) e = e || ends[t];
        }
      }
      if (e) {
        ends[i] = true;
        changed = true;
      }
    }
  }
  for (size_t i = 0; i < p.steps.size(); ++i) {
    if (!ends[i] && from_start[i] != kUnreached) {
      add(problems, p.steps[i].where, "no end can be reached from step " + quote(p.steps[i].id));
    }
  }
}

// Directory part of a source path, with a trailing '/', or "".
std::string directory_of(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? "" : path.substr(0, slash + 1);
}

std::string normalize_relative(std::string path) {
  while (path.rfind("./", 0) == 0) path.erase(0, 2);
  return path;
}

}  // namespace

std::string quote(std::string_view s) { return quote_for_message(s); }

std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates) {
  const std::string* best = nullptr;
  int best_distance = 3;
  for (const auto& c : candidates) {
    if (c == word) continue;
    // The distance is at least the difference in length: a long word is
    // not compared character by character with every short candidate.
    const size_t longer = std::max(c.size(), word.size()), shorter = std::min(c.size(), word.size());
    if (longer - shorter >= static_cast<size_t>(best_distance)) continue;
    int dist = edit_distance(word, c);
    if (dist < best_distance) {
      best = &c;
      best_distance = dist;
    }
  }
  if (best == nullptr) return "";
  return "; did you mean " + quote(*best) + "?";
}

std::string display_name(const SourceSet& sources, const std::string& path) {
  return sources.root.empty() ? path : sources.root + "/" + path;
}

std::optional<BadText> find_bad_text(std::string_view text) {
  // yaml-cpp would quietly convert UTF-16 and UTF-32; the stored text and
  // every column we report are UTF-8, so such a file is refused by name.
  if (text.rfind("\xFF\xFE", 0) == 0 || text.rfind("\xFE\xFF", 0) == 0) {
    return BadText{0, "the file is UTF-16 or UTF-32 (it starts with such a byte order mark); save it as UTF-8"};
  }
  char hex[16];
  for (size_t i = 0; i < text.size();) {
    const size_t at = i;
    const int32_t cp = next_code_point(text, i);
    if (cp < 0) {
      std::snprintf(hex, sizeof hex, "0x%02X", static_cast<unsigned char>(text[at]));
      return BadText{at, std::string("invalid UTF-8 (byte ") + hex + "); save the file as UTF-8"};
    }
    if (cp == 0) return BadText{at, "a NUL byte; save the file as UTF-8 text (is it UTF-16?)"};
    // A carriage return only ends a line (CR LF): alone, it sends a
    // terminal back to the start of the line to overwrite what was shown.
    const bool line_end = cp == '\r' && i < text.size() && text[i] == '\n';
    const bool control = (cp < 0x20 && cp != '\t' && cp != '\n' && !line_end) || cp == 0x7F ||
                         (cp >= 0x80 && cp <= 0x9F);
    if (control) {
      std::snprintf(hex, sizeof hex, "U+%04X", static_cast<unsigned>(cp));
      return BadText{at, std::string("a control character (") + hex +
                             "); only tab and line ends (LF or CR LF) may stand in a definition"};
    }
  }
  return std::nullopt;
}

std::optional<BadText> find_control(std::string_view text, bool multi_line) {
  for (size_t i = 0; i < text.size();) {
    const size_t at = i;
    const int32_t cp = next_code_point(text, i);
    if (cp < 0) continue;  // not decoded text: the raw-text check reports it
    const bool allowed = multi_line && (cp == '\t' || cp == '\n');
    if (!allowed && (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F))) {
      char hex[16];
      std::snprintf(hex, sizeof hex, "U+%04X", static_cast<unsigned>(cp));
      return BadText{at, std::string("a control character (") + hex + ")"};
    }
  }
  return std::nullopt;
}

std::set<std::string> validate_process(ProcessDraft& d, const ValidateContext& ctx,
                                       std::vector<Error>& problems) {
  Process& p = d.process;
  std::set<std::string> used;

  std::vector<std::string> role_keys;
  if (ctx.org != nullptr) {
    for (const auto& r : ctx.org->roles) role_keys.push_back(r.key);
  }
  auto check_role = [&](const Ref& r) {
    if (ctx.org == nullptr || r.name.empty() || ctx.org->role(r.name) != nullptr) return;
    add(problems, r.where, "unknown role " + quote(r.name) + did_you_mean(r.name, role_keys));
  };
  check_role(d.owner);

  std::vector<std::string> form_keys;
  for (const auto& [k, f] : *ctx.forms) form_keys.push_back(k);
  std::vector<std::string> handler_names;
  if (ctx.handlers != nullptr) handler_names = ctx.handlers->names();

  // Every variable that may be set at some point: start variables, the
  // fields of the forms steps show, and what service steps output.
  std::set<std::string> set_vars;
  for (const auto& v : p.variables) set_vars.insert(v.name);
  bool outputs_unknown = false;  // a handler's step, and no catalog to ask what it sets

  std::vector<std::string> window_names;
  if (ctx.calendar != nullptr) {
    for (const auto& [name, w] : ctx.calendar->windows) window_names.push_back(name);
  }
  auto check_window = [&](const Ref& w) {
    if (ctx.calendar == nullptr || ctx.calendar->window(w.name) != nullptr) return;
    add(problems, w.where,
        "unknown window " + quote(w.name) +
            (window_names.empty() ? std::string("; the calendar defines no windows (see calendar.yaml)")
                                  : " of the calendar" + did_you_mean(w.name, window_names)));
  };
  for (const auto& w : d.windows) check_window(w);

  for (size_t i = 0; i < p.steps.size(); ++i) {
    Step& step = p.steps[i];
    StepDraft& sd = d.steps[i];
    for (const auto& a : sd.actors) check_role(a);
    for (const auto& a : sd.escalation_roles) check_role(a);
    for (const auto& w : sd.windows) check_window(w);

    if (!sd.form.name.empty()) {
      auto it = ctx.forms->find(sd.form.name);
      if (it == ctx.forms->end()) {
        add(problems, sd.form.where,
            "unknown form " + quote(sd.form.name) + did_you_mean(sd.form.name, form_keys));
      } else {
        step.form = it->second;
        for (const auto& f : it->second.fields) set_vars.insert(f.name);
        auto path = ctx.form_paths->find(sd.form.name);
        if (path != ctx.form_paths->end()) used.insert(path->second);
      }
    }

    if (!sd.instructions.name.empty()) {
      // Relative to the bundle root; when the sources have no common root
      // (several directories given), relative to the process file's folder.
      const auto& files = ctx.sources->files;
      std::string path = normalize_relative(sd.instructions.name);
      auto it = files.find(path);
      if (it == files.end()) it = files.find(directory_of(d.path) + path);
      if (it == files.end()) {
        add(problems, sd.instructions.where,
            "instructions file " + quote(sd.instructions.name) + " does not exist");
      } else if (auto bad = ctx.check_text ? find_bad_text(it->second) : std::nullopt) {
        const auto line = 1 + std::count(it->second.begin(), it->second.begin() + bad->offset, '\n');
        add(problems, sd.instructions.where,
            "instructions file " + quote(sd.instructions.name) + ", line " + std::to_string(line) + ": " +
                bad->message);
      } else {
        step.instructions = it->second;
        used.insert(it->first);
      }
    }

    if (step.call) {
      for (const auto& o : step.call->outputs) set_vars.insert(o);
    }
    if (!step.handler.empty()) {
      Location at = sd.with_where.line > 0 ? sd.with_where : sd.handler.where;
      if (ctx.handlers == nullptr) {
        // Without a catalog a handler's outputs are unknown: a read that
        // nothing else sets is not reported, rather than reported falsely.
        outputs_unknown = true;
      } else if (!ctx.handlers->has(step.handler)) {
        add(problems, sd.handler.where,
            "unknown handler " + quote(step.handler) + did_you_mean(step.handler, handler_names));
      } else {
        for (const auto& m : ctx.handlers->check(step.handler, step.with)) {
          add(problems, at, "step " + quote(step.id) + ": " + m);
        }
        for (const auto& o : ctx.handlers->outputs(step.handler, step.with)) set_vars.insert(o);
      }
    }
  }

  // The type of every variable that may be set, for wait/deadline moments.
  std::map<std::string, ValueType> types;
  for (const auto& v : p.variables) types.emplace(v.name, v.type);
  for (const auto& step : p.steps)
    if (step.form)
      for (const auto& f : step.form->fields) types.emplace(f.name, f.type);

  std::vector<std::string> set_list(set_vars.begin(), set_vars.end());
  auto check_read = [&](const Read& r) {
    std::string what = !r.kind.empty() ? r.kind : r.in_template ? "template" : "condition";
    if (!set_vars.count(r.name)) {
      if (outputs_unknown) return;
      add(problems, r.where,
          what + " reads variable " + quote(r.name) + ", which is never set" + did_you_mean(r.name, set_list));
      return;
    }
    if (!r.moment) return;
    auto t = types.find(r.name);
    if (t != types.end() && t->second != ValueType::date && t->second != ValueType::datetime) {
      add(problems, r.where,
          what + " reads variable " + quote(r.name) + " as a moment, but it is " +
              std::string(to_string(t->second)) + ", not date or datetime");
    }
  };
  for (const auto& r : d.reads) check_read(r);
  for (const auto& sd : d.steps)
    for (const auto& r : sd.reads) check_read(r);

  check_graph(d, problems, ctx.check_text);
  return used;
}

}  // namespace reglament::loader_detail

namespace reglament {

std::vector<Error> check_call_nesting(const std::vector<const Process*>& processes, const ProcessLookup& others) {
  std::map<std::string, const Process*, std::less<>> own;
  for (const Process* p : processes) own.emplace(p->key, p);
  ProcessLookup lookup = [&](std::string_view key) -> const Process* {
    if (auto it = own.find(key); it != own.end()) return it->second;
    return others ? others(key) : nullptr;
  };
  std::vector<Error> problems;
  auto cycles = find_call_cycles(processes, lookup);
  for (const auto& c : cycles) {
    const Step* first = nullptr;
    std::vector<std::string> deployed;
    for (const auto& [p, step] : c.calls) {
      auto it = own.find(p->key);
      const bool in_bundle = it != own.end() && it->second == p;
      if (in_bundle && first == nullptr) first = step;
      if (!in_bundle && std::find(deployed.begin(), deployed.end(), p->key) == deployed.end())
        deployed.push_back(p->key);
    }
    if (first == nullptr) continue;  // among deployed processes only: not this bundle's doing
    std::string keys;
    for (const auto& k : c.processes) keys += (keys.empty() ? "" : ", ") + loader_detail::quote(k);
    std::string also;
    for (const auto& k : deployed) also += (also.empty() ? "" : ", ") + loader_detail::quote(k);
    problems.push_back(make_error(
        ErrorCode::invalid,
        (c.processes.size() == 1 ? "process " + keys + " calls itself"
                                 : "processes " + keys + " call each other in a cycle") +
            (also.empty() ? std::string() : " (with the deployed " + also + ")") +
            ", which would start instances without end: " + describe_calls(c),
        first->call->where));
  }
  if (!cycles.empty()) return problems;  // a depth is not a number then
  for (const Process* p : processes) {
    if (call_depth(*p, lookup) <= kMaxCallDepth) continue;
    const Step* first = nullptr;
    for (const auto& step : p->steps)
      if (step.call && first == nullptr) first = &step;
    problems.push_back(make_error(ErrorCode::invalid,
                                  "process " + loader_detail::quote(p->key) + " nests calls more than " +
                                      std::to_string(kMaxCallDepth) + " deep",
                                  first->call->where));
  }
  return problems;
}

}  // namespace reglament
