#include "cli/cmd_demo.h"

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <set>

#include <fmt/format.h>

#include "cli/cmd_deploy.h"
#include "cli/outcome.h"
#include "engine/runtime.h"

namespace reglament {

void setup_demo(CLI::App& app, Ctx& ctx) {
  auto opt = std::make_shared<DemoOptions>();
  CLI::App* sub = app.add_subcommand(
      "demo", "Deploy the bundled regulation and walk every process through each branch");
  sub->add_option("--processes", opt->processes,
                  "Bundle to deploy first (default: the bundled processes/)");
  sub->callback([&ctx, opt] { ctx.action = [&ctx, opt] { return run_demo(ctx, *opt); }; });
}

std::vector<DemoScenario> demo_scenarios() {
  return {
      {"incoming-request", "VIP", {{"vip", {"true"}}, {"reason", {"order"}}}},
      {"incoming-request", "обычный клиент", {{"vip", {"false"}}, {"reason", {"order"}}}},
      // A complaint by phone: 3.1 hands the customer to 3.4 (a new instance).
      {"incoming-request", "рекламация → 3.4", {{"vip", {"false"}}, {"reason", {"complaint"}}}},
      {"outbound-call", "заявка", {{"outcome", {"order"}}}},
      {"outbound-call", "отказ", {{"outcome", {"refusal"}}}},
      // 3.3.1 asks the client database: the first walk's customer is known
      // (3.1.10 recorded it), a customer nobody recorded is new.
      {"agent-notification", "клиент есть в БД", {}, 0},
      {"agent-notification", "новый клиент", {}},
      {"complaint", "обычная", {{"needs_legal", {"false"}}, {"resolved", {"false", "true"}}}},
      {"complaint", "юр. отдел", {{"needs_legal", {"true"}}, {"resolved", {"false", "true"}}}},
      // 3.5.6 checks the database: the walks above recorded customers without
      // a manager or a phone; the demo's 3.5.9 corrects them, so the second
      // review finds nothing.
      {"client-base-review", "несоответствия", {}},
      {"client-base-review", "без несоответствий", {}},
  };
}

namespace {

// Every user step of a walk costs one action; this stops a definition that
// would loop forever with the demo's values.
constexpr int kMaxActions = 200;
// The demo clock advances this much per action.
constexpr int64_t kStepSeconds = 5 * 60;

const char* const kClients[] = {
    "ООО «Ромашка»",     "АО «Северный ветер»", "ИП Соколов А. В.", "ООО «Вектор»",
    "ЗАО «Техснаб»",     "ООО «Альфа-Трейд»",   "АО «Уралмет»",     "ООО «Светлый дом»",
    "ООО «Балтпоставка»", "ИП Морозова Е. С.",
};

// Sample texts for the bundled forms' text fields; others get their title.
const std::map<std::string, std::string, std::less<>> kTexts = {
    {"contact_person", "Смирнов Алексей Викторович"},
    {"substance", "Поставка пришла с опозданием на два дня"},
    {"customer_demand", "Компенсировать стоимость доставки"},
    {"decision", "Компенсировать стоимость доставки"},
    {"measures", "Скидка 5% на следующую заявку"},
    {"responsible", "Петров О. И., менеджер"},
    {"refusal_reason", "Нет потребности в этом месяце"},
    {"contact_note", "Уточнить объем следующей заявки"},
    {"agent", "Волков И. П."},
};

// The state of one walk: its clock, its values and who it is for.
class Walk {
 public:
  Walk(const DemoScenario& scenario, std::string client, Moment clock)
      : scenario_(scenario), client_(std::move(client)), clock_(clock) {}

  // The next moment of the demo clock.
  std::string tick() {
    clock_.epoch += kStepSeconds;
    return format_moment(clock_);
  }
  Moment clock() const { return clock_; }
  // Moves the clock on to `epoch` (when an instance waits until then).
  std::string jump_to(int64_t epoch) {
    clock_.epoch = std::max(clock_.epoch + kStepSeconds, epoch);
    return format_moment(clock_);
  }

  // The value for a variable or field: the scenario's when it names it,
  // a generated valid one when the field is required, none otherwise.
  std::optional<std::string> value_for(const Field& f, const Person& who) {
    if (auto it = scenario_.values.find(f.name); it != scenario_.values.end() && !it->second.empty()) {
      size_t& n = used_[f.name];
      const auto& vs = it->second;
      return vs[std::min(n++, vs.size() - 1)];
    }
    if (!f.required) return std::nullopt;
    return generated(f, who);
  }

  JsonObject fill(const std::vector<Field>& fields, const Person& who) {
    JsonObject out;
    for (const Field& f : fields) {
      if (auto v = value_for(f, who)) out.emplace(f.name, Json(*v));
    }
    return out;
  }

 private:
  std::string generated(const Field& f, const Person& who) const {
    switch (f.type) {
      case ValueType::text:
        if (f.name == "client" || f.name == "company") return client_;
        if (f.name == "manager") return who.name;
        if (auto it = kTexts.find(f.name); it != kTexts.end()) return it->second;
        return f.title.empty() ? f.name : f.title;
      case ValueType::number:
        return "12";
      case ValueType::boolean:
        return "false";
      case ValueType::date: {
        // A week ahead: the dates the bundled forms ask for lie in the future.
        Moment later = clock_;
        later.epoch += 7 * 86400;
        return format_moment(later).substr(0, 10);
      }
      case ValueType::datetime:
        return format_moment(clock_);
      case ValueType::choice:
        return f.options.empty() ? "" : f.options.front();
    }
    return "";
  }

  const DemoScenario& scenario_;
  std::string client_;
  Moment clock_;
  std::map<std::string, size_t> used_;
};

// Someone holding one of `roles`, taking turns among them by `turn`.
const Person* pick_person(const Org& org, const std::vector<std::string>& roles, size_t turn) {
  std::vector<const Person*> able;
  for (const Person& p : org.people) {
    for (const auto& r : roles) {
      if (std::find(p.roles.begin(), p.roles.end(), r) != p.roles.end()) {
        able.push_back(&p);
        break;
      }
    }
  }
  if (able.empty()) return nullptr;
  return able[turn % able.size()];
}

// "3.2" before "3.10": sections compare number by number; an empty one last.
bool section_less(const std::string& a, const std::string& b) {
  if (a.empty() || b.empty()) return !a.empty() && b.empty();
  auto parts = [](const std::string& s) {
    std::vector<long> out;
    size_t i = 0;
    while (i < s.size()) {
      size_t j = s.find('.', i);
      if (j == std::string::npos) j = s.size();
      out.push_back(std::strtol(s.substr(i, j - i).c_str(), nullptr, 10));
      i = j + 1;
    }
    return out;
  };
  return parts(a) < parts(b);
}

struct WalkResult {
  std::string instance;
  std::string process;
  std::string branch;
  std::vector<std::string> completed;
  std::string status;  // the instance's, or "failed: <error>"
};

class Demo {
 public:
  Demo(Ctx& ctx, SqliteStore& store, Org org, Moment start)
      : ctx_(ctx), store_(store), runtime_(store, ctx.handlers()), org_(std::move(org)), clock_(start) {}

  WalkResult walk(const DemoScenario& scenario, const Process& process, size_t index) {
    WalkResult res{"", process.key, scenario.branch, {}, "failed"};
    Walk w(scenario, kClients[scenario.client.value_or(index) % std::size(kClients)], clock_);
    const Person* starter = pick_person(org_, process.start().actors, index);
    if (starter == nullptr) return failed(res, "nobody holds the roles of the first step");

    JsonObject vars = w.fill(process.variables, *starter);
    auto out = runtime_.start(process.key, std::move(vars), starter->login, w.tick());
    if (!out) return failed(res, out.error().str());
    res.instance = out->state.id;
    say(fmt::format("#{} started {} v{} ({}) — {}", res.instance, process.key, out->state.version,
                    scenario.branch, starter->login));
    report_services(*out, process);
    InstanceState state = std::move(out->state);

    for (int actions = 0; state.status == "active"; ++actions) {
      auto open = state.open_tasks();
      if (open.empty() && !state.open_timers().empty()) {
        // The instance sleeps (a wait): the demo's clock jumps to its end,
        // as a worker's would, and the wait ends.
        const Timer& wait = *state.open_timers().front();
        say(fmt::format("#{} waits until {} — {}", res.instance, short_time(wait.due), step_label(&process, wait.step)));
        auto woke = runtime_.execute(Command{state.id, "", w.jump_to(wait.due_epoch), FireTimers{}});
        if (!woke) return failed(res, fmt::format("the wait of {}: {}", wait.step, woke.error().str()), state);
        report_services(*woke, process);
        state = std::move(woke->state);
        continue;
      }
      if (open.empty()) return failed(res, "the instance is active but has no open task", state);
      if (actions >= kMaxActions) return failed(res, "too many steps; the walk loops", state);
      const Task& task = *open.front();
      const Person* who = pick_person(org_, task.roles, index + static_cast<size_t>(actions));
      if (who == nullptr) return failed(res, fmt::format("nobody holds the roles of task {}", task.id), state);
      const Step* step = process.step(task.step);
      JsonObject values;
      if (step != nullptr && step->form) values = w.fill(step->form->fields, *who);

      std::string task_id = task.id;
      std::string step_id = task.step;
      Command cmd{"", who->login, w.tick(), CompleteTask{task_id, std::move(values)}};
      auto done = runtime_.execute(std::move(cmd));
      if (!done) return failed(res, fmt::format("task {}: {}", task_id, done.error().str()), state);
      say(fmt::format("#{} {} — {}", res.instance, step_label(&process, step_id), who->login));
      if (step_id == "3.5.9") {
        // «Контролировать исправление недостатков»: the demo's manager corrects them.
        if (Status st = correct_deficiencies(state, who->login, w.clock()); !st.ok())
          return failed(res, "correcting the client database: " + st.error().str(), state);
      }
      report_services(*done, process);
      state = std::move(done->state);
    }
    // The next walk starts where this one ended.
    clock_ = w.clock();
    res.completed = state.completed;
    res.status = state.status;
    return res;
  }

 private:
  WalkResult failed(WalkResult res, const std::string& why, const InstanceState& state = {}) {
    res.completed = state.completed;
    res.status = "failed";
    std::cerr << fmt::format("reglament: demo {} ({}){}: {}\n", res.process, res.branch,
                             res.instance.empty() ? "" : " #" + res.instance, why);
    return res;
  }

  void report_services(const Outcome& out, const Process& process) {
    for (const ServiceRun& r : service_runs(out)) {
      if (r.ok) {
        say(fmt::format("#{} {} — {}", r.instance, step_label(&process, r.step), r.handler));
      } else {
        say(fmt::format("#{} {} — {} failed: {}", r.instance, step_label(&process, r.step), r.handler,
                        r.error));
      }
    }
    for (const std::string& line : linked_lines(out)) say(fmt::format("#{} {}", out.state.id, line));
  }

  // Gives every customer 3.5.6 found a problem with what it lacks: a
  // responsible manager, a contact person and phone, a planned contact not
  // in the past. One transaction, logged as `who`'s.
  Status correct_deficiencies(const InstanceState& state, const std::string& who, const Moment& now) {
    auto problems = state.variables.find("problems");
    if (problems == state.variables.end() || !problems->second.is_array()) return {};
    auto clients = store_.clients().clients();
    if (!clients.ok()) return clients.error();
    const std::string today = format_moment(now).substr(0, 10);
    std::vector<Json> records;
    std::set<int64_t> seen;
    for (const Json& p : problems->second.as_array()) {
      const int64_t id = p.integer("client_id");
      if (!seen.insert(id).second) continue;
      for (const Client& c : *clients) {
        if (c.id != id) continue;
        Json r = Json::object();
        r["op"] = "client.update";
        r["client"] = c.id;
        if (c.manager.empty()) r["manager"] = who;
        if (c.contact.empty()) r["contact"] = "Смирнов Алексей Викторович";
        if (c.phone.empty()) r["phone"] = fmt::format("+7 495 100-{:02}-{:02}", c.id / 100 % 100, c.id % 100);
        if (!c.next_contact.empty() && c.next_contact < today) r["next_contact"] = "";
        if (r.as_object().size() > 2) records.push_back(std::move(r));
      }
    }
    if (records.empty()) return {};
    auto done = store_.record_clients(records, format_moment(now), who);
    if (!done.ok()) return done.error();
    say(fmt::format("#{} {} client record(s) corrected by {}", state.id, records.size(), who));
    return {};
  }

  void say(const std::string& line) {
    if (!ctx_.json) print_line(line);
  }

  Ctx& ctx_;
  SqliteStore& store_;
  Runtime runtime_;
  Org org_;
  Moment clock_;
};

}  // namespace

int run_demo(Ctx& ctx, const DemoOptions& opt) {
  auto start = parse_moment(ctx.now);
  if (!start) return fail(start.error());
  std::string bundle = opt.processes.empty() ? std::string(REGLAMENT_PROCESSES_DIR) : opt.processes;
  bool printed = false;
  // The demo completes tasks in everyone's name: only where the org says
  // --as is taken as typed (identity: asserted), never on an os-login org.
  auto changes = deploy_paths(ctx, {bundle}, &printed, DeployPolicy{false, /*asserted_only=*/true});
  if (!changes) return printed ? exit_code(changes.error().code) : fail(changes.error());
  if (!ctx.json) {
    for (const DeployChange& c : *changes) print_line("deployed " + describe_change(c));
  }
  auto store = ctx.store();
  if (!store) return fail(store.error());
  auto org = (*store)->org();
  if (!org) return fail(org.error());

  Demo demo(ctx, **store, *org, *start);
  std::vector<DemoScenario> scenarios = demo_scenarios();
  std::vector<WalkResult> results;
  // Walk the processes in the regulation's order (3.1, 3.2, ...).
  std::vector<Deployed> defs;
  for (const DeployChange& c : *changes) {
    auto def = (*store)->definition(c.process, c.version);
    if (!def) return fail(def.error());
    defs.push_back(std::move(*def));
  }
  std::stable_sort(defs.begin(), defs.end(), [](const Deployed& a, const Deployed& b) {
    return section_less(a.process->section, b.process->section);
  });
  size_t index = 0;
  for (const Deployed& def : defs) {
    const Process& p = *def.process;
    std::vector<DemoScenario> mine;
    for (const auto& s : scenarios) {
      if (s.process == p.key) mine.push_back(s);
    }
    // A process the demo has no branches for is walked once with generated values.
    if (mine.empty()) mine.push_back({p.key, "default", {}});
    for (const auto& s : mine) results.push_back(demo.walk(s, p, index++));
  }

  bool all_completed = std::all_of(results.begin(), results.end(),
                                   [](const WalkResult& r) { return r.status == "completed"; });
  if (ctx.json) {
    Json out = Json::array();
    for (const WalkResult& r : results) {
      Json j = Json::object();
      j["instance"] = nullable(r.instance);
      j["process"] = r.process;
      j["branch"] = r.branch;
      j["steps"] = static_cast<int64_t>(r.completed.size());
      j["completed"] = string_array(r.completed);
      j["status"] = r.status;
      out.push_back(std::move(j));
    }
    print_json(out);
  } else {
    print_line("");
    TextTable t({"instance", "process", "branch", "steps", "status"});
    for (const WalkResult& r : results) {
      t.add({r.instance.empty() ? "—" : r.instance, r.process, r.branch, std::to_string(r.completed.size()),
             r.status});
    }
    print_text(t.render());
  }
  if (!all_completed) {
    return fail(ErrorCode::internal, "the demo did not complete every instance");
  }
  return kExitOk;
}

}  // namespace reglament
