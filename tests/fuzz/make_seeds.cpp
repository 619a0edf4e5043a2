// Writes seed corpora for the fuzz targets from the bundled regulation:
//   OUT/expr/    every branch and priority condition, every text template
//                (`with:` strings, escalation messages)
//   OUT/form/    every choice option, default, duration and span written in
//                the definitions, and the values the walks below type
//   OUT/events/  event logs (encode_event arrays) of instances of every
//                bundled process, walked by the core itself: tasks completed
//                with generated form values, service steps answered (some
//                failing), timers fired
// Usage: make_seeds OUT   (scripts/run.sh fuzz runs it; nothing it writes is
// committed). The loader's seeds are the YAML files themselves, copied by
// tests/fuzz/collect_seeds.sh.

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "engine/core.h"
#include "engine/loader.h"
#include "engine/time.h"

using namespace reglament;
namespace fs = std::filesystem;

namespace {

class Writer {
 public:
  explicit Writer(fs::path dir) : dir_(std::move(dir)) { fs::create_directories(dir_); }
  void add(const std::string& text) {
    if (!seen_.insert(text).second) return;
    std::ofstream(dir_ / ("seed-" + std::to_string(seen_.size())), std::ios::binary) << text;
  }
  size_t size() const { return seen_.size(); }

 private:
  fs::path dir_;
  std::set<std::string> seen_;
};

void strings_in(const Json& j, Writer& out) {
  if (j.is_string()) out.add(j.as_string());
  if (j.is_array())
    for (const Json& v : j.as_array()) strings_in(v, out);
  if (j.is_object())
    for (const auto& [k, v] : j.as_object()) strings_in(v, out);
}

// A value of the field's type; `variant` picks among choices and booleans.
Json value_for(const Field& f, size_t variant) {
  switch (f.type) {
    case ValueType::text: return Json(variant % 2 ? "ООО «Ромашка»" : "Иванов И. И., +7 (495) 123-45-67");
    case ValueType::number: return variant % 2 ? Json(int64_t{150000}) : Json(2.5);
    case ValueType::boolean: return Json(variant % 2 == 0);
    case ValueType::date: return Json("2026-12-0" + std::to_string(1 + variant % 9));
    case ValueType::datetime: return Json("2026-12-01T1" + std::to_string(variant % 10) + ":30:00+03:00");
    case ValueType::choice:
      return f.options.empty() ? Json() : Json(f.options[variant % f.options.size()]);
  }
  return Json();
}

void definitions(const Bundle& b, Writer& expr, Writer& form) {
  for (const auto& lp : b.processes) {
    const Process& p = *lp.process;
    for (const auto& r : p.priority)
      if (r.condition) expr.add(r.condition->text());
    for (const Field& v : p.variables)
      if (v.default_value) form.add(v.default_value->is_string() ? v.default_value->as_string()
                                                                 : v.default_value->dump());
    for (const Step& s : p.steps) {
      for (const auto& br : s.next.branches) {
        if (br.condition) expr.add(br.condition->text());
        if (br.wait && br.wait->span) form.add(br.wait->span->text);
      }
      for (const auto& r : s.priority)
        if (r.condition) expr.add(r.condition->text());
      strings_in(s.with, expr);
      for (const auto& e : s.escalate)
        if (!e.text.empty()) expr.add(e.text);
      if (s.deadline && s.deadline->span) form.add(s.deadline->span->text);
      if (s.wait && s.wait->span) form.add(s.wait->span->text);
      if (s.form)
        for (const Field& f : s.form->fields)
          for (const std::string& o : f.options) form.add(o);
    }
  }
  for (const char* v : {"да", "нет", "yes", "false", "-12.5e3", "2026-02-29", "2028-02-29T23:59:59.999+14:00",
                        "PT1H30M", "P1DT12H", "1w", "8 working hours", "3 working days", "30 working minutes"})
    form.add(v);
}

// Walks one instance of `lp` through the core and returns its log.
std::vector<Event> walk(const LoadedProcess& lp, const Bundle& b, size_t variant) {
  const Process& p = *lp.process;
  const Context ctx{p, 1, lp.hash, b.org, &b.calendar};
  std::string owner;
  for (const Person& person : b.org.people)
    if (owner.empty() && b.org.has_role(person.login, p.owner)) owner = person.login;
  int64_t now = 1795773600 + static_cast<int64_t>(variant) * 3600;  // 2026-11-27T10:00Z and after
  auto at = [&] { return format_moment(Moment{now, 180}); };

  std::vector<Event> log;
  InstanceState s;
  auto run = [&](const Command& cmd) {
    Result<std::vector<Event>> events = decide(ctx, s, cmd);
    if (!events) return false;
    for (const Event& e : *events) {
      apply(s, e);
      log.push_back(e);
    }
    return !events->empty();
  };
  JsonObject vars;
  for (const Field& v : p.variables) vars[v.name] = value_for(v, variant);
  if (!run(Command{"1", owner, at(), StartInstance{vars}})) return log;
  for (int round = 0; round < 80 && s.status == "active"; ++round) {
    now += 3600;
    bool moved = false;
    for (const Job* j : s.open_jobs()) {
      if (j->incident || moved) continue;
      RecordServiceResult r;
      r.job = j->id;
      r.ok = (round + variant) % 5 != 3;
      if (!r.ok) r.error = "сервис недоступен";
      moved = run(Command{s.id, "", at(), r});
    }
    for (const Task* t : s.open_tasks()) {
      if (moved) break;
      const Step* step = p.step(t->step);
      CompleteTask c{t->id, {}};
      if (step != nullptr && step->form)
        for (const Field& f : step->form->fields) c.values[f.name] = value_for(f, variant + round);
      for (const Person& person : b.org.people) {
        if (!may_act_on(b.org, person.login, *t).ok()) continue;
        if (round % 3 == 0) run(Command{s.id, person.login, at(), ClaimTask{t->id}});
        moved = run(Command{s.id, person.login, at(), c});
        break;
      }
    }
    if (!moved) {
      now += 3 * 86400;  // let waits and deadlines fall due
      moved = run(Command{s.id, "", at(), FireTimers{}});
    }
    if (!moved) {
      for (const Job* j : s.open_jobs())
        if (j->incident && !moved) moved = run(Command{s.id, owner, at(), RetryJob{j->id}});
    }
    if (!moved) break;
  }
  return log;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_seeds OUT_DIR\n");
    return 2;
  }
  const fs::path out = argv[1];
  Result<SourceSet> sources = read_sources({REGLAMENT_SOURCE_DIR "/processes"});
  if (!sources) {
    std::fprintf(stderr, "make_seeds: %s\n", sources.error().str().c_str());
    return 1;
  }
  const LoadReport report = load_bundle(*sources, nullptr);
  Writer expr(out / "expr"), form(out / "form"), events(out / "events");
  definitions(report.bundle, expr, form);
  for (const auto& lp : report.bundle.processes) {
    for (size_t variant = 0; variant < 4; ++variant) {
      const std::vector<Event> log = walk(lp, report.bundle, variant);
      JsonArray rows;
      for (const Event& e : log) {
        rows.push_back(encode_event(e));
        strings_in(e.data, form);
      }
      events.add(Json(rows).dump());
      // One event alone, and the log without its first half.
      if (!rows.empty()) events.add(rows.back().dump());
      if (rows.size() > 2) events.add(Json(JsonArray(rows.begin() + rows.size() / 2, rows.end())).dump());
    }
  }
  std::printf("make_seeds: %zu conditions and templates, %zu values, %zu event logs\n", expr.size(), form.size(),
              events.size());
  return 0;
}
