#include "cli/cmd_graph.h"

#include <map>
#include <memory>

#include <fmt/format.h>

namespace reglament {

void setup_graph(CLI::App& app, Ctx& ctx) {
  auto opt = std::make_shared<GraphOptions>();
  CLI::App* sub = app.add_subcommand("graph", "Draw a deployed process as a Mermaid or DOT diagram");
  sub->add_option("process", opt->process, "Process key, e.g. incoming-request")->required();
  sub->add_option("--version", opt->version, "Deployed version (default: the latest)")
      ->check(at_least(0));
  sub->add_option("--format", opt->format, "mermaid (default) or dot")
      ->check(CLI::IsMember({"mermaid", "dot"}));
  sub->callback([&ctx, opt] { ctx.action = [&ctx, opt] { return run_graph(ctx, *opt); }; });
}

namespace {

// One edge of the diagram; `to` is a step id or "end".
struct Edge {
  std::string from;
  std::string to;
  std::string label;
  bool parallel = false;
};

std::vector<Edge> edges_of(const Process& p) {
  std::vector<Edge> edges;
  for (const Step& s : p.steps) {
    switch (s.next.kind) {
      case NextKind::end:
        edges.push_back({s.id, "end", "", false});
        break;
      case NextKind::step:
        edges.push_back({s.id, s.next.target, "", false});
        break;
      case NextKind::choice:
        for (const Branch& b : s.next.branches) {
          edges.push_back({s.id, b.target, b.condition ? b.condition->text() : "else", false});
        }
        break;
      case NextKind::parallel:
        for (const auto& t : s.next.all) edges.push_back({s.id, t, "", true});
        break;
    }
  }
  return edges;
}

// Mermaid labels go inside "..."; quotes and angle brackets become entities.
std::string mermaid_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '"': out += "#quot;"; break;
      case '<': out += "#lt;"; break;
      case '>': out += "#gt;"; break;
      case '\n': out += ' '; break;
      default: out += c;
    }
  }
  return out;
}

std::string dot_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace

std::string mermaid_graph(const Process& p, int version) {
  // Node ids by position: step ids contain dots, which Mermaid does not take.
  std::map<std::string, std::string> ids{{"end", "finish"}};
  for (size_t i = 0; i < p.steps.size(); ++i) ids[p.steps[i].id] = fmt::format("s{}", i + 1);
  auto id = [&](const std::string& step) {
    auto it = ids.find(step);
    return it != ids.end() ? it->second : "unknown_" + step;
  };

  std::string out = "flowchart TD\n";
  out += fmt::format("  %% {} v{}: {}\n", p.key, version, mermaid_escape(p.title));
  out += "  start((start))\n";
  for (const Step& s : p.steps) {
    std::string label = mermaid_escape(s.id + " " + s.title);
    if (s.is_service()) {
      out += fmt::format("  {}[[\"{}\"]]\n", id(s.id), label);
    } else {
      out += fmt::format("  {}[\"{}\"]\n", id(s.id), label);
    }
  }
  out += "  finish((end))\n";
  if (!p.steps.empty()) out += fmt::format("  start --> {}\n", id(p.steps.front().id));
  for (const Edge& e : edges_of(p)) {
    std::string arrow = e.parallel ? "==>" : "-->";
    if (e.label.empty()) {
      out += fmt::format("  {} {} {}\n", id(e.from), arrow, id(e.to));
    } else {
      out += fmt::format("  {} {}|\"{}\"| {}\n", id(e.from), arrow, mermaid_escape(e.label), id(e.to));
    }
  }
  return out;
}

std::string dot_graph(const Process& p, int version) {
  std::string out = fmt::format("digraph \"{}\" {{\n", dot_escape(p.key));
  out += fmt::format("  label=\"{} v{}: {}\";\n  labelloc=t;\n", dot_escape(p.key), version,
                     dot_escape(p.title));
  out += "  node [fontname=\"Helvetica\"];\n  edge [fontname=\"Helvetica\", fontsize=10];\n";
  out += "  \"start\" [shape=circle, label=\"start\"];\n";
  for (const Step& s : p.steps) {
    std::string shape = s.is_service() ? "shape=component" : "shape=box, style=rounded";
    out += fmt::format("  \"{}\" [{}, label=\"{}\"];\n", dot_escape(s.id), shape,
                       dot_escape(s.id + " " + s.title));
  }
  out += "  \"end\" [shape=doublecircle, label=\"end\"];\n";
  if (!p.steps.empty()) out += fmt::format("  \"start\" -> \"{}\";\n", dot_escape(p.steps.front().id));
  for (const Edge& e : edges_of(p)) {
    std::string attrs;
    if (!e.label.empty()) attrs = fmt::format("label=\"{}\"", dot_escape(e.label));
    if (e.parallel) attrs += attrs.empty() ? "style=bold" : ", style=bold";
    out += fmt::format("  \"{}\" -> \"{}\"{};\n", dot_escape(e.from), dot_escape(e.to),
                       attrs.empty() ? "" : " [" + attrs + "]");
  }
  out += "}\n";
  return out;
}

int run_graph(Ctx& ctx, const GraphOptions& opt) {
  auto store = ctx.store();
  if (!store) return fail(store.error());
  if (Status st = check_person(ctx); !st.ok()) return fail(st.error());
  auto def = (*store)->definition(opt.process, opt.version);
  if (!def) return fail(def.error());
  const Process& p = *def->process;
  print_text(opt.format == "dot" ? dot_graph(p, def->version) : mermaid_graph(p, def->version));
  return kExitOk;
}

}  // namespace reglament
