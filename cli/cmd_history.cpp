#include "cli/cmd_history.h"

#include <memory>

#include <fmt/format.h>

namespace reglament {

void setup_history(CLI::App& app, Ctx& ctx) {
  auto opt = std::make_shared<HistoryOptions>();
  CLI::App* sub = app.add_subcommand("history", "Show every event of an instance");
  sub->add_option("instance", opt->instance, "Instance id, e.g. 12")->required();
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
    case EventType::instance_started:
      return with_detail(fmt::format("{} v{}", d.str("process"), d.integer("version")),
                         assignments(d.get("variables")));
    case EventType::task_created:
      return fmt::format("task {} for {}", d.str("task"), join_strings(strings_of(d.get("roles")), ", "));
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
      for (const Json& m : d.get("messages").is_array() ? d.get("messages").as_array() : JsonArray{}) {
        parts.push_back(fmt::format("to {}: {}", m.str("to"), m.str("text")));
      }
      return with_detail(head, join_strings(parts, "; "));
    }
    case EventType::service_failed:
      return fmt::format("job {} attempt {}: {}", d.str("job"), d.integer("attempt"), d.str("error"));
    case EventType::instance_completed:
      return "";
  }
  return d.dump();
}

int run_history(Ctx& ctx, const HistoryOptions& opt) {
  auto store = ctx.store();
  if (!store) return fail(store.error());
  auto rows = (*store)->history(opt.instance);
  if (!rows) return fail(rows.error());
  if (rows->empty()) {
    return fail(ErrorCode::not_found,
                fmt::format("no instance \"{}\"; see reglament instances", opt.instance));
  }
  if (ctx.json) {
    Json out = Json::array();
    for (const StoredEvent& r : *rows) {
      Json j = Json::object();
      j["seq"] = r.seq;
      j["at"] = r.event.at;
      j["actor"] = nullable(r.event.actor);
      j["type"] = std::string(to_string(r.event.type));
      j["step"] = nullable(r.event.step);
      j["data"] = r.event.data;
      j["format"] = r.event.format;
      out.push_back(std::move(j));
    }
    print_json(out);
    return kExitOk;
  }
  TextTable t({"seq", "at", "actor", "type", "step", "data"});
  t.set_max_width(5, 72);
  for (const StoredEvent& r : *rows) {
    t.add({std::to_string(r.seq), r.event.at, r.event.actor.empty() ? "—" : r.event.actor,
           std::string(to_string(r.event.type)), r.event.step.empty() ? "—" : r.event.step,
           event_summary(r.event)});
  }
  print_text(t.render());
  return kExitOk;
}

}  // namespace reglament
