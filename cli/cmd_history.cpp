#include "cli/cmd_history.h"

#include "storage/refusals.h"

#include <fmt/format.h>

#include <algorithm>
#include <memory>

#include "cli/csv.h"
#include "engine/audit.h"
#include "engine/time.h"

namespace reglament {

void add_format_option(CLI::App* sub, std::string& format) {
  sub->add_option("--format", format, "Output: table (default), json (same as --json) or csv")
      ->check(CLI::IsMember({"table", "json", "csv"}));
}

void setup_history(CLI::App& app, Ctx& ctx) {
  auto opt = std::make_shared<HistoryOptions>();
  CLI::App* sub =
      app.add_subcommand("history", "Show every event of an instance, or every value of its variables");
  sub->add_option("instance", opt->instance, "Instance id, e.g. 12")->required();
  add_format_option(sub, opt->format);
  sub->add_option("--actor", opt->actor, "Only events by this login");
  sub->add_option("--step", opt->step, "Only events about this step id, e.g. 3.1.2");
  sub->add_option("--since", opt->since, "Only events at or after this time (ISO-8601, or a date)");
  sub->add_option("--until", opt->until, "Only events before this time (ISO-8601, or a date)");
  sub->add_flag("--variables", opt->variables, "List every value each variable took, with the event that set it");
  sub->callback([&ctx, opt] { ctx.action = [&ctx, opt] { return run_history(ctx, *opt); }; });
}

namespace {

// "a=1, b=text" for an object of values.
std::string assignments(const Json& obj) {
  if (!obj.is_object()) return obj.is_null() ? "" : obj.dump();
  std::vector<std::string> parts;
  for (const auto& [k, v] : obj.as_object()) parts.push_back(k + "=" + value_text(v));
  return join_strings(parts, ", ");
}

std::vector<std::string> strings_of(const Json& arr) {
  std::vector<std::string> out;
  if (!arr.is_array()) return out;
  for (const Json& v : arr.as_array()) out.push_back(value_text(v));
  return out;
}

std::string with_detail(std::string head, const std::string& detail) {
  return detail.empty() ? head : head + ": " + detail;
}

}  // namespace

std::string event_summary(const Event& e) {
  const Json& d = e.data;
  switch (e.type) {
    case EventType::instance_started: {
      std::string head = fmt::format("{} v{}", d.str("process"), d.integer("version"));
      if (!d.str("scheduled_for").empty()) head += " (scheduled for " + d.str("scheduled_for") + ")";
      if (d.get("parent").is_object())
        head += fmt::format(" (started by instance {}, job {})", d.get("parent").str("instance"),
                            d.get("parent").str("job"));
      return with_detail(head, assignments(d.get("variables")));
    }
    case EventType::task_created: {
      std::string out = fmt::format("task {} for {}", d.str("task"), join_strings(strings_of(d.get("roles")), ", "));
      if (!d.str("priority").empty()) out += ", priority " + d.str("priority");
      if (!d.str("due").empty()) out += ", due " + d.str("due");
      return out;
    }
    case EventType::timer_started:
      return fmt::format("waits until {} (timer {})", d.str("due"), d.str("timer"));
    case EventType::timer_fired:
      return fmt::format("timer {} fired (due {})", d.str("timer"), d.str("due"));
    case EventType::deadline_passed: {
      std::string head = fmt::format("task {} was due {}", d.str("task"), d.str("due"));
      std::vector<std::string> parts;
      for (const Json& m : outbox_messages(e)) {
        parts.push_back(fmt::format("to {}: {}", m.str("to"), m.str("text")));
      }
      return with_detail(head, join_strings(parts, "; "));
    }
    case EventType::task_reassigned:
      return fmt::format("task {} to {}", d.str("task"), join_strings(strings_of(d.get("roles")), ", "));
    case EventType::task_priority_changed:
      return fmt::format("task {} priority {}", d.str("task"), d.str("priority"));
    case EventType::task_cancelled:
      return "task " + d.str("task");
    case EventType::task_claimed:
    case EventType::task_unclaimed:
      return "task " + d.str("task");
    case EventType::task_completed: {
      std::string head = "task " + d.str("task");
      if (!d.str("role").empty()) head += " as " + d.str("role");
      return with_detail(head, assignments(d.get("values")));
    }
    case EventType::step_completed: {
      std::string next = join_strings(strings_of(d.get("next")), ", ");
      std::string out = "→ " + (next.empty() ? std::string("(waits)") : next);
      if (d.get("branch").is_string()) out += " (" + d.str("branch") + ")";
      return out;
    }
    case EventType::join_waiting:
      return fmt::format("{} of {} branches arrived", d.integer("arrived"), d.integer("expected"));
    case EventType::service_scheduled:
      return fmt::format("job {} ({})", d.str("job"), d.str("handler"));
    case EventType::service_completed: {
      std::string head = "job " + d.str("job");
      std::vector<std::string> parts;
      std::string outputs = assignments(d.get("outputs"));
      if (!outputs.empty()) parts.push_back(outputs);
      for (const Json& m : outbox_messages(e)) {
        parts.push_back(fmt::format("to {}: {}", m.str("to"), m.str("text")));
      }
      if (d.get("records").is_array())
        parts.push_back(fmt::format("{} client database record(s)", d.get("records").as_array().size()));
      if (d.get("starts").is_array()) {
        std::vector<std::string> procs;
        for (const Json& st : d.get("starts").as_array()) procs.push_back(st.str("process"));
        parts.push_back("starts " + join_strings(procs, ", ") + (d.integer("awaiting") > 0 ? " and waits" : ""));
      }
      return with_detail(head, join_strings(parts, "; "));
    }
    case EventType::service_failed: {
      std::string out = fmt::format("job {} attempt {}: {}", d.str("job"), d.integer("attempt"), d.str("error"));
      if (!d.str("retry_at").empty()) out += "; retry at " + d.str("retry_at");
      if (d.get("incident").is_bool() && d.get("incident").as_bool()) out += "; out of retries: incident " + d.str("job");
      return out;
    }
    case EventType::incident_retried:
      return "incident " + d.str("job") + " retried";
    case EventType::service_skipped:
      return fmt::format("job {} skipped: {}", d.str("job"), d.str("reason"));
    case EventType::child_returned:
      return with_detail(fmt::format("instance {} ended (job {})", d.str("child"), d.str("job")),
                         assignments(d.get("outputs")));
    case EventType::instance_completed:
      return "";
  }
  return d.dump();
}

// ---- Shared output helpers ---------------------------------------------------

Result<OutputFormat> output_format(const Ctx& ctx, const std::string& format) {
  if (format.empty()) return ctx.json ? OutputFormat::json : OutputFormat::table;
  OutputFormat f;
  if (format == "table") {
    f = OutputFormat::table;
  } else if (format == "json") {
    f = OutputFormat::json;
  } else if (format == "csv") {
    f = OutputFormat::csv;
  } else {
    return make_error(ErrorCode::invalid, fmt::format("--format \"{}\" is not one of table, json, csv", format));
  }
  if (ctx.json && f != OutputFormat::json) {
    return make_error(ErrorCode::invalid, fmt::format("--json and --format {} contradict each other", format));
  }
  return f;
}

Result<std::string> time_bound(const Ctx& ctx, std::string_view option, const std::string& text) {
  if (text.empty()) return text;
  if (utc_instant(text)) return text;
  // A date or a local time: read in the offset --now is written in.
  int offset = 0;
  if (Result<Moment> now = parse_moment(ctx.now)) offset = now->offset_minutes;
  Result<Moment> m = parse_moment(text, offset);
  if (!m) {
    return make_error(ErrorCode::invalid,
                      fmt::format("{} \"{}\" is not a time: {}", option, text, m.error().message));
  }
  return format_moment(*m);
}

bool in_period(const std::string& at, const std::string& from, const std::string& to) {
  std::optional<std::string> t = utc_instant(at);
  if (!t) return from.empty() && to.empty();
  if (!from.empty() && *t < utc_instant(from).value_or("")) return false;
  if (!to.empty() && !(*t < utc_instant(to).value_or(""))) return false;
  return true;
}

Json event_json(const StoredEvent& r) {
  Json j = Json::object();
  j["seq"] = r.seq;
  j["at"] = r.event.at;
  j["actor"] = nullable(r.event.actor);
  j["type"] = std::string(to_string(r.event.type));
  j["step"] = nullable(r.event.step);
  j["data"] = r.event.data;
  j["format"] = r.event.format;
  return j;
}

// ---- history ------------------------------------------------------------------

namespace {

struct Filter {
  std::string actor, step, since, until;

  bool keeps(const Event& e) const {
    if (!actor.empty() && e.actor != actor) return false;
    if (!step.empty() && e.step != step) return false;
    return in_period(e.at, since, until);
  }
};

int print_events(OutputFormat format, const std::vector<StoredEvent>& rows) {
  if (format == OutputFormat::json) {
    Json out = Json::array();
    for (const StoredEvent& r : rows) out.push_back(event_json(r));
    print_json(out);
    return kExitOk;
  }
  if (format == OutputFormat::csv) {
    std::string out = csv_record({"seq", "at", "actor", "type", "step", "data", "format"});
    for (const StoredEvent& r : rows) {
      out += csv_record({std::to_string(r.seq), r.event.at, r.event.actor, std::string(to_string(r.event.type)),
                         r.event.step, r.event.data.dump(), std::to_string(r.event.format)});
    }
    print_text(out);
    return kExitOk;
  }
  if (rows.empty()) {
    print_line("no events");
    return kExitOk;
  }
  TextTable t({"seq", "at", "actor", "type", "step", "data"});
  t.set_max_width(5, 72);
  for (const StoredEvent& r : rows) {
    t.add({std::to_string(r.seq), r.event.at, r.event.actor.empty() ? "—" : r.event.actor,
           std::string(to_string(r.event.type)), r.event.step.empty() ? "—" : r.event.step,
           event_summary(r.event)});
  }
  print_text(t.render());
  return kExitOk;
}

int print_variables(OutputFormat format, const std::vector<VariableChange>& changes) {
  if (format == OutputFormat::json) {
    Json out = Json::array();
    for (const VariableChange& c : changes) {
      Json j = Json::object();
      j["variable"] = c.name;
      j["value"] = c.value;
      j["seq"] = c.seq;
      j["at"] = c.at;
      j["actor"] = nullable(c.actor);
      j["step"] = nullable(c.step);
      j["type"] = std::string(to_string(c.type));
      out.push_back(std::move(j));
    }
    print_json(out);
    return kExitOk;
  }
  if (format == OutputFormat::csv) {
    // `value` as people read it, `value_json` exactly (types included).
    std::string out = csv_record({"variable", "seq", "at", "actor", "step", "type", "value", "value_json"});
    for (const VariableChange& c : changes) {
      out += csv_record({c.name, std::to_string(c.seq), c.at, c.actor, c.step, std::string(to_string(c.type)),
                         value_text(c.value), c.value.dump()});
    }
    print_text(out);
    return kExitOk;
  }
  if (changes.empty()) {
    print_line("no variables were set");
    return kExitOk;
  }
  TextTable t({"variable", "value", "seq", "at", "actor", "step"});
  t.set_max_width(1, 48);
  for (const VariableChange& c : changes) {
    t.add({c.name, value_text(c.value), std::to_string(c.seq), c.at, c.actor.empty() ? "—" : c.actor,
           c.step.empty() ? "—" : c.step});
  }
  print_text(t.render());
  return kExitOk;
}

}  // namespace

int run_history(Ctx& ctx, const HistoryOptions& opt) {
  auto format = output_format(ctx, opt.format);
  if (!format) return fail(format.error());
  Filter filter{opt.actor, opt.step, "", ""};
  auto since = time_bound(ctx, "--since", opt.since);
  if (!since) return fail(since.error());
  auto until = time_bound(ctx, "--until", opt.until);
  if (!until) return fail(until.error());
  filter.since = *since;
  filter.until = *until;

  ctx.subject = opt.instance;
  auto store = ctx.store();
  if (!store) return fail(store.error());
  auto rows = (*store)->history(opt.instance);
  if (!rows) return fail(rows.error());
  if (rows->empty()) {
    return fail(ErrorCode::not_found, fmt::format("no instance \"{}\"; see reglament instances", opt.instance));
  }
  if (auto st = check_see_instance(ctx, rows->front().event); !st.ok()) return fail(st.error());

  if (opt.variables) {
    std::vector<Event> events;
    for (const StoredEvent& r : *rows) events.push_back(r.event);
    std::vector<VariableChange> changes;
    for (VariableChange& c : variable_changes(events)) {
      const Event& e = events[static_cast<size_t>(c.seq - 1)];
      if (filter.keeps(e)) changes.push_back(std::move(c));
    }
    // Grouped by variable, each one's values in the order they were set.
    std::stable_sort(changes.begin(), changes.end(),
                     [](const VariableChange& a, const VariableChange& b) { return a.name < b.name; });
    return print_variables(*format, changes);
  }

  std::vector<StoredEvent> kept;
  for (StoredEvent& r : *rows) {
    if (filter.keeps(r.event)) kept.push_back(std::move(r));
  }
  const int code = print_events(*format, kept);
  if (code != kExitOk || *format != OutputFormat::table) return code;
  // The links both ways, by instance id (the events name the processes).
  auto links = (*store)->links(opt.instance);
  if (!links) return fail(links.error());
  for (const LinkRow& l : *links) {
    if (l.parent == opt.instance) {
      print_line(l.child.empty()
                     ? fmt::format("job {} is to start a {} instance (pending: `reglament tick` starts it)", l.job, l.process)
                     : fmt::format("job {} started instance {} ({}){}", l.job, l.child, l.process,
                                   l.wait ? (l.returned ? ", which has returned" : ", and waits for it") : ""));
    } else {
      print_line(fmt::format("started by instance {} (job {})", l.parent, l.job));
    }
  }
  // Refused attempts on it (`refusals ID --json` for scripts).
  auto refused = refusals(**store, opt.instance);
  if (!refused) return fail(refused.error());
  for (const Refusal& r : *refused)
    print_line(fmt::format("refused at {}: {} (OS account {}) tried `reglament {}`: {}", short_time(r.at), r.actor,
                           r.os_login, r.command, r.reason));
  return kExitOk;
}

}  // namespace reglament
