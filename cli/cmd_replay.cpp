#include "cli/cmd_replay.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <memory>

#include "cli/cmd_history.h"
#include "cli/cmd_show.h"
#include "engine/audit.h"

namespace reglament {

void setup_replay(CLI::App& app, Ctx& ctx) {
  auto opt = std::make_shared<ReplayOptions>();
  CLI::App* sub =
      app.add_subcommand("replay", "Show an instance as it was at a past moment, from its events alone");
  sub->add_option("instance", opt->instance, "Instance id, e.g. 12")->required();
  CLI::Option* at = sub->add_option("--at", opt->at, "The moment: ISO-8601, or a date (its midnight)");
  CLI::Option* upto = sub->add_option("--upto", opt->upto, "The state after this many events (1 = just started)");
  at->excludes(upto);
  sub->callback([&ctx, opt, upto] {
    opt->upto_given = upto->count() > 0;
    ctx.action = [&ctx, opt] { return run_replay(ctx, *opt); };
  });
}

namespace {

// The claim each open, claimed task holds after the first `n` events: the
// TaskClaimed event that gave it.
std::map<std::string, size_t> claims(const std::vector<Event>& events, size_t n, const InstanceState& s) {
  std::map<std::string, size_t> last;
  for (size_t i = 0; i < n; ++i) {
    if (events[i].type == EventType::task_claimed) last[events[i].data.str("task")] = i;
  }
  std::map<std::string, size_t> out;
  for (const Task* t : s.open_tasks()) {
    auto it = last.find(t->id);
    if (!t->claimed_by.empty() && it != last.end()) out.emplace(t->id, it->second);
  }
  return out;
}

std::string by(const std::string& actor) { return actor.empty() ? std::string("the engine") : actor; }

}  // namespace

int run_replay(Ctx& ctx, const ReplayOptions& opt) {
  auto at = time_bound(ctx, "--at", opt.at);
  if (!at) return fail(at.error());
  ctx.subject = opt.instance;
  auto store = ctx.store();
  if (!store) return fail(store.error());
  auto events = (*store)->events(opt.instance);
  if (!events) return fail(events.error());
  if (events->empty()) {
    return fail(ErrorCode::not_found, fmt::format("no instance \"{}\"; see reglament instances", opt.instance));
  }
  if (auto st = check_see_instance(ctx, events->front()); !st.ok()) return fail(st.error());
  const size_t total = events->size();
  size_t n = total;
  if (opt.upto_given) {
    if (opt.upto < 1 || static_cast<size_t>(opt.upto) > total) {
      return fail(ErrorCode::invalid,
                  fmt::format("instance {} has {} events; --upto must be 1 to {}", opt.instance, total, total));
    }
    n = static_cast<size_t>(opt.upto);
  } else if (!at->empty()) {
    std::optional<size_t> until = events_until(*events, *at);
    if (!until) return fail(ErrorCode::invalid, fmt::format("--at \"{}\" is not a time", opt.at));
    if (*until == 0) {
      return fail(ErrorCode::not_found, fmt::format("instance {} did not exist yet at {}; it was started at {}",
                                                    opt.instance, opt.at, events->front().at));
    }
    n = *until;
  }

  const InstanceState s = state_after(*events, n);
  const std::vector<VariableChange> sources = variable_sources(*events, n);
  const std::map<std::string, size_t> held = claims(*events, n, s);
  DefinitionCache defs(**store);
  auto def = defs.get(s.process, s.version);
  const Process* p = def ? *def : nullptr;
  const Event& last = (*events)[n - 1];

  if (ctx.json) {
    Json j = instance_json(s, p);
    Json as_of = Json::object();
    as_of["seq"] = static_cast<int64_t>(n);
    as_of["at"] = last.at;
    as_of["of"] = static_cast<int64_t>(total);
    j["as_of"] = std::move(as_of);
    Json set_by = Json::object();
    for (const VariableChange& c : sources) {
      Json v = Json::object();
      v["seq"] = c.seq;
      v["at"] = c.at;
      v["actor"] = nullable(c.actor);
      v["step"] = nullable(c.step);
      v["type"] = std::string(to_string(c.type));
      set_by[c.name] = std::move(v);
    }
    j["variables_set_by"] = std::move(set_by);
    Json claimed = Json::object();
    for (const auto& [task, i] : held) {
      Json c = Json::object();
      c["claimed_by"] = (*events)[i].actor;
      c["seq"] = static_cast<int64_t>(i) + 1;
      c["at"] = (*events)[i].at;
      claimed[task] = std::move(c);
    }
    j["claims"] = std::move(claimed);
    print_json(j);
    return kExitOk;
  }

  std::string title = p != nullptr ? " — " + p->title : "";
  print_line(fmt::format("instance {}: {} v{}{}", s.id, s.process, s.version, title));
  std::vector<std::pair<std::string, std::string>> rows = {
      {"as of", fmt::format("event {} of {}, {}", n, total, last.at)},
      {"status", s.status},
      {"started", s.started_at + (s.started_by.empty() ? "" : " by " + s.started_by)},
  };
  if (!s.ended_at.empty()) rows.push_back({"ended", s.ended_at});
  rows.push_back({"current", s.current.empty() ? "—" : step_labels(p, s.current)});
  rows.push_back({"completed", s.completed.empty() ? "—" : join_strings(s.completed, ", ")});
  int width = 0;
  for (const auto& [k, v] : rows) width = std::max(width, display_width(k));
  for (const auto& [k, v] : rows) print_line(k + std::string(width - display_width(k) + 2, ' ') + v);

  print_line("open tasks:");
  const auto open = s.open_tasks();
  if (open.empty()) print_line("  —");
  for (const Task* t : open) {
    std::string claim = "unclaimed";
    if (auto it = held.find(t->id); it != held.end()) {
      claim =
          fmt::format("held by {} since {} (event {})", t->claimed_by, (*events)[it->second].at, it->second + 1);
    }
    print_line(fmt::format("  {}  {}  [{}]  {}", t->id, truncate_display(step_label(p, t->step), kTitleWidth),
                           join_strings(t->roles, ", "), claim));
  }

  print_line("variables:");
  if (sources.empty()) print_line("  —");
  TextTable vars({"variable", "value", "set by event", "at", "by"});
  vars.set_max_width(1, 40);
  for (const VariableChange& c : sources) {
    auto value = s.variables.find(c.name);
    vars.add({c.name, value != s.variables.end() ? value_text(value->second) : value_text(c.value),
              std::to_string(c.seq), c.at, by(c.actor)});
  }
  if (!sources.empty()) {
    std::string text = vars.render();
    size_t start = 0;
    while (start < text.size()) {
      size_t end = text.find('\n', start);
      if (end == std::string::npos) end = text.size();
      print_line("  " + text.substr(start, end - start));
      start = end + 1;
    }
  }
  return kExitOk;
}

}  // namespace reglament
