// Loader tests. Bundles are built in memory (SourceSet with root "b"), so
// every problem is located as "b/<file>:line:column". Line numbers in the
// fixtures count from the first line of each raw string.

#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "engine/loader.h"
#include "handlers/registry.h"

using namespace reglament;

namespace {

const char* kOrg = R"(roles:
  manager: {title: Менеджер}
  deputy-director: {title: Заместитель директора}
  legal: {title: Юрист}
  sales-center: {title: Центр продаж}
people:
  - login: ivanova
    name: Иванова Анна Петровна
    roles: [manager]
  - login: sidorova
    name: Сидорова Елена
    roles: [deputy-director, legal]
)";

const char* kRequestForm = R"(form: request
title: Заявка (форма 7.3)
fields:
  - name: company
    title: Наименование компании
    required: true
  - name: volume
    type: number
    required: true
  - name: delivery
    type: choice
    options: [pickup, delivery]
    default: pickup
)";

const char* kControlForm = R"(form: control
title: Контроль
fields:
  - name: resolved
    type: bool
    required: true
)";

const char* kScript = "# Скрипт входящего звонка\n\nЗдравствуйте!\n";

// A valid process using every kind of element.
const char* kSample = R"(process: sample
title: Образец
section: "9.1"
owner: deputy-director
variables:
  client: {type: text, required: true, title: Клиент}
  vip: {type: bool, default: false}
steps:
  - id: a
    title: Первый
    actor: manager
    instructions: scripts/call.md
    next:
      - if: vip
        goto: b
      - else: c
  - id: b
    title: Заявка
    actor: manager
    form: request
    next: d
  - id: c
    title: Обычный
    actor: [manager, deputy-director]
    sign: all
    next: d
  - id: d
    title: Уведомить
    actor: manager
    do: notify
    with: {to: sales-center, text: "Заявка: {client}"}
    next: {all: [e, f]}
  - id: e
    title: Ветка E
    actor: manager
    next: g
  - id: f
    title: Ветка F
    actor: legal
    next: g
  - id: g
    title: Сводка
    actor: deputy-director
    join: all
    form: control
    next:
      - if: resolved
        goto: end
      - else: g
)";

// Knows `notify` (needs `to` and `text`) and `set` (outputs its keys).
class FakeHandlers : public HandlerCatalog {
 public:
  bool has(std::string_view name) const override { return name == "notify" || name == "set"; }
  std::vector<std::string> names() const override { return {"notify", "set"}; }
  std::vector<std::string> check(std::string_view name, const Json& with) const override {
    std::vector<std::string> out;
    if (name == "notify") {
      for (const char* k : {"to", "text"}) {
        if (!with.has(k)) out.push_back(std::string("notify needs \"") + k + "\"");
      }
    }
    return out;
  }
  std::vector<std::string> outputs(std::string_view name, const Json& with) const override {
    std::vector<std::string> out;
    if (name == "set" && with.is_object()) {
      for (const auto& [k, v] : with.as_object()) out.push_back(k);
    }
    return out;
  }
};

const FakeHandlers kHandlers;

SourceSet base_sources() {
  SourceSet s;
  s.root = "b";
  s.files["org.yaml"] = kOrg;
  s.files["forms/request.yaml"] = kRequestForm;
  s.files["forms/control.yaml"] = kControlForm;
  s.files["scripts/call.md"] = kScript;
  return s;
}

// The base bundle plus `p.yaml` holding `process`.
SourceSet with_process(const std::string& process) {
  SourceSet s = base_sources();
  s.files["p.yaml"] = process;
  return s;
}

LoadReport load(const SourceSet& s) { return load_bundle(s, &kHandlers); }
LoadReport load_one(const std::string& process) { return load(with_process(process)); }

std::string listing(const LoadReport& r) {
  std::string out;
  for (const auto& e : r.problems) out += e.str() + "\n";
  return out;
}

// True when some problem sits at `place` ("b/p.yaml:3:5") and its message
// contains `text`.
bool has_problem(const LoadReport& r, const std::string& place, const std::string& text) {
  for (const auto& e : r.problems) {
    if (e.where.str() == place && e.message.find(text) != std::string::npos) return true;
  }
  return false;
}

#define CHECK_PROBLEM(report, place, text)                                   \
  do {                                                                       \
    INFO("problems:\n" << listing(report));                                  \
    CHECK(has_problem((report), (place), (text)));                           \
  } while (0)

// A minimal process around `steps` (which start at line 5).
std::string process_with_steps(const std::string& steps) {
  return "process: p\ntitle: T\nowner: manager\nsteps:\n" + steps;
}

}  // namespace

// ---- A valid bundle ----------------------------------------------------------

TEST_CASE("a valid bundle loads with its org, forms and processes") {
  LoadReport r = load_one(kSample);
  INFO(listing(r));
  REQUIRE(r.ok());
  const Bundle& b = r.bundle;
  CHECK(b.org.roles.size() == 4);
  CHECK(b.org.has_role("sidorova", "legal"));
  CHECK(b.org_source == kOrg);
  REQUIRE(b.forms.size() == 2);
  CHECK(b.forms.at("request").fields.size() == 3);
  CHECK(b.forms.at("request").fields[2].default_value == Json("pickup"));
  REQUIRE(b.processes.size() == 1);

  const Process& p = *b.processes[0].process;
  CHECK(p.key == "sample");
  CHECK(p.title == "Образец");
  CHECK(p.section == "9.1");
  CHECK(p.owner == "deputy-director");
  CHECK(p.file == "b/p.yaml");
  REQUIRE(p.variables.size() == 2);
  CHECK(p.variables[0].required);
  CHECK(p.variables[0].title == "Клиент");
  CHECK(p.variables[1].type == ValueType::boolean);
  CHECK(p.variables[1].default_value == Json(false));
  REQUIRE(p.steps.size() == 7);
  CHECK(p.start().id == "a");

  const Step& a = *p.step("a");
  CHECK(a.instructions_path == "scripts/call.md");
  CHECK(a.instructions == kScript);
  CHECK(a.where.str() == "b/p.yaml:9:5");
  REQUIRE(a.next.kind == NextKind::choice);
  REQUIRE(a.next.branches.size() == 2);
  REQUIRE(a.next.branches[0].condition.has_value());
  CHECK(a.next.branches[0].condition->text() == "vip");
  CHECK(a.next.branches[0].target == "b");
  CHECK_FALSE(a.next.branches[1].condition.has_value());
  CHECK(a.next.branches[1].target == "c");

  const Step& b_step = *p.step("b");
  REQUIRE(b_step.form.has_value());
  CHECK(b_step.form->key == "request");
  CHECK(b_step.form->field("volume")->type == ValueType::number);
  CHECK(b_step.next.kind == NextKind::step);
  CHECK(b_step.next.target == "d");

  const Step& c = *p.step("c");
  CHECK(c.actors == std::vector<std::string>{"manager", "deputy-director"});
  CHECK(c.sign == Sign::all);

  const Step& d = *p.step("d");
  CHECK(d.is_service());
  CHECK(d.handler == "notify");
  CHECK(d.with.str("to") == "sales-center");
  CHECK(d.with.str("text") == "Заявка: {client}");
  REQUIRE(d.next.kind == NextKind::parallel);
  CHECK(d.next.all == std::vector<std::string>{"e", "f"});

  const Step& g = *p.step("g");
  CHECK(g.join);
  CHECK(g.join_count == 2);
  CHECK_FALSE(p.step("e")->join);

  // The process carries the sources it was compiled from, and only those.
  const SourceSet& used = b.processes[0].sources;
  CHECK(used.root == "b");
  std::vector<std::string> keys;
  for (const auto& [k, v] : used.files) keys.push_back(k);
  CHECK(keys == std::vector<std::string>{"forms/control.yaml", "forms/request.yaml", "p.yaml",
                                         "scripts/call.md"});
  CHECK(b.processes[0].hash.size() == 64);
}

TEST_CASE("`with:` keeps every scalar as text and nested values as objects and arrays") {
  std::string p = process_with_steps(R"(  - id: a
    title: A
    actor: manager
    do: set
    with: {count: 5, flag: true, list: [1, x], nested: {k: v}}
    next: end
)");
  LoadReport r = load_one(p);
  INFO(listing(r));
  REQUIRE(r.ok());
  const Json& with = r.bundle.processes[0].process->steps[0].with;
  CHECK(with.get("count") == Json("5"));
  CHECK(with.get("flag") == Json("true"));
  CHECK(with.get("list") == Json(JsonArray{Json("1"), Json("x")}));
  CHECK(with.get("nested").str("k") == "v");
}

TEST_CASE("the hash is stable and changes when a form the process uses changes") {
  LoadReport first = load_one(kSample);
  LoadReport second = load_one(kSample);
  REQUIRE(first.ok());
  REQUIRE(second.ok());
  const std::string hash = first.bundle.processes[0].hash;
  CHECK(hash == second.bundle.processes[0].hash);

  SourceSet changed = with_process(kSample);
  changed.files["forms/control.yaml"] = std::string(kControlForm) + "    title: Устранено\n";
  LoadReport third = load(changed);
  INFO(listing(third));
  REQUIRE(third.ok());
  CHECK(third.bundle.processes[0].hash != hash);

  // A form the process does not use does not count.
  SourceSet unrelated = with_process(kSample);
  unrelated.files["forms/other.yaml"] = "form: other\ntitle: O\nfields:\n  - name: x\n";
  LoadReport fourth = load(unrelated);
  REQUIRE(fourth.ok());
  CHECK(fourth.bundle.processes[0].hash == hash);
}

TEST_CASE("a process reloaded from its stored sources has the same hash and steps") {
  LoadReport r = load_one(kSample);
  REQUIRE(r.ok());
  const LoadedProcess& deployed = r.bundle.processes[0];
  auto again = load_process(deployed.sources, r.bundle.org, &kHandlers);
  REQUIRE_MESSAGE(again.ok(), again.error().str());
  CHECK(again->hash == deployed.hash);
  CHECK(again->sources.files == deployed.sources.files);
  const Process& a = *deployed.process;
  const Process& b = *again->process;
  REQUIRE(a.steps.size() == b.steps.size());
  for (size_t i = 0; i < a.steps.size(); ++i) {
    CHECK(a.steps[i].id == b.steps[i].id);
    CHECK(a.steps[i].title == b.steps[i].title);
    CHECK(a.steps[i].actors == b.steps[i].actors);
    CHECK(a.steps[i].next.kind == b.steps[i].next.kind);
    CHECK(a.steps[i].next.all == b.steps[i].next.all);
    CHECK(a.steps[i].with == b.steps[i].with);
    CHECK(a.steps[i].join_count == b.steps[i].join_count);
    CHECK(a.steps[i].instructions == b.steps[i].instructions);
    CHECK(a.steps[i].form.has_value() == b.steps[i].form.has_value());
  }
}

TEST_CASE("load_process rejects sources without exactly one process, and checks roles against the org") {
  SourceSet none = base_sources();
  none.files.erase("org.yaml");
  auto r0 = load_process(none, Org{}, nullptr);
  REQUIRE_FALSE(r0.ok());
  CHECK(r0.error().message.find("expected exactly one") != std::string::npos);

  LoadReport full = load_one(kSample);
  REQUIRE(full.ok());
  Org small;
  small.roles = {{"manager", "Менеджер"}};
  auto r1 = load_process(full.bundle.processes[0].sources, small, &kHandlers);
  REQUIRE_FALSE(r1.ok());
  CHECK(r1.error().code == ErrorCode::invalid);
  CHECK(r1.error().where.str() == "b/p.yaml:4:8");
  CHECK(r1.error().message.find("unknown role \"deputy-director\"") == 0);
  CHECK(r1.error().message.find("more problems") != std::string::npos);
}

TEST_CASE("load_org reads roles and people, and reports the first problem with its place") {
  auto org = load_org("org.yaml", kOrg);
  REQUIRE(org.ok());
  CHECK(org->people.size() == 2);
  CHECK(org->person("ivanova")->name == "Иванова Анна Петровна");
  CHECK(org->role("manager")->title == "Менеджер");

  auto bad = load_org("x/org.yaml", "roles:\n  manager: {title: M}\npeople:\n  - login: a\n    name: A\n    roles: [mangr]\n");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().where.str() == "x/org.yaml:6:13");
  CHECK(bad.error().message == "unknown role \"mangr\"; did you mean \"manager\"?");

  auto form = load_org("f.yaml", kControlForm);
  REQUIRE_FALSE(form.ok());
  CHECK(form.error().message.find("not an org file") != std::string::npos);
}

// ---- Every class of problem, with its place ----------------------------------

TEST_CASE("a YAML syntax error is reported at its line and column") {
  LoadReport r = load_one("process: p\ntitle: [unclosed, list\nowner: manager\n");
  REQUIRE(r.problems.size() == 1);
  CHECK(r.problems[0].code == ErrorCode::invalid);
  CHECK(r.problems[0].message.find("YAML syntax error") == 0);
  CHECK(r.problems[0].where.file == "b/p.yaml");
  CHECK(r.problems[0].where.line == 3);
  CHECK(r.problems[0].where.column >= 1);
}

TEST_CASE("a duplicate key in a mapping is reported at its second occurrence") {
  LoadReport r = load_one(process_with_steps(R"(  - id: a
    title: A
    actor: manager
    title: B
    next: end
)"));
  CHECK_PROBLEM(r, "b/p.yaml:8:5", "duplicate key \"title\"; it is already set at line 6");
}

TEST_CASE("an unknown key is reported with the closest known key") {
  LoadReport r = load_one(process_with_steps(R"(  - id: "3.1.2"
    title: A
    actor: manager
    nxt: end
)"));
  CHECK_PROBLEM(r, "b/p.yaml:8:5", "unknown key \"nxt\" in step \"3.1.2\"; did you mean \"next\"?");
  LoadReport far = load_one(process_with_steps(R"(  - id: a
    title: A
    actor: manager
    colour: red
    next: end
)"));
  CHECK_PROBLEM(far, "b/p.yaml:8:5", "unknown key \"colour\" in step \"a\"");
  CHECK(far.problems[0].message.find("did you mean") == std::string::npos);
}

TEST_CASE("a value of the wrong type is reported where it is written") {
  LoadReport r = load_one(process_with_steps(R"(  - id: a
    title: [a]
    actor: {role: manager}
    next: end
)"));
  CHECK_PROBLEM(r, "b/p.yaml:6:12", "title of step \"a\" must be text");
  CHECK_PROBLEM(r, "b/p.yaml:7:12", "actor of step \"a\" must be a role or a list of roles");
  LoadReport steps = load_one("process: p\ntitle: T\nowner: manager\nsteps: {a: 1}\n");
  CHECK_PROBLEM(steps, "b/p.yaml:4:8", "steps of process \"p\" must be a list");
  LoadReport flag = load_one(R"(process: p
title: T
owner: manager
variables:
  vip: {type: bool, required: often}
steps:
  - {id: a, title: A, actor: manager, next: end}
)");
  CHECK_PROBLEM(flag, "b/p.yaml:5:31", "required of variable \"vip\" of process \"p\" must be true or false");
}

TEST_CASE("missing required keys are reported at the mapping that lacks them") {
  LoadReport r = load_one(R"(process: p
title: T
steps:
  - id: a
    actor: manager
)");
  CHECK_PROBLEM(r, "b/p.yaml:1:1", "missing required key \"owner\" in process \"p\"");
  CHECK_PROBLEM(r, "b/p.yaml:4:5", "missing required key \"title\" in step \"a\"");
  CHECK_PROBLEM(r, "b/p.yaml:4:5", "missing required key \"next\" in step \"a\"");
  LoadReport no_id = load_one(process_with_steps("  - title: A\n    actor: manager\n    next: end\n"));
  CHECK_PROBLEM(no_id, "b/p.yaml:5:5", "missing required key \"id\" in step #1 of process \"p\"");
}

TEST_CASE("a duplicate step id is reported at the second step") {
  LoadReport r = load_one(process_with_steps(R"(  - id: a
    title: A
    actor: manager
    next: end
  - id: a
    title: B
    actor: manager
    next: end
)"));
  CHECK_PROBLEM(r, "b/p.yaml:9:5", "duplicate step id \"a\" in process \"p\"");
}

TEST_CASE("next, goto, else and all to an unknown step are reported at the target") {
  LoadReport r = load_one(process_with_steps(R"(  - id: "3.1.4"
    title: A
    actor: manager
    next: "3.1.44"
  - id: b
    title: B
    actor: manager
    next:
      - if: "true"
        goto: nowhere
      - else: "3.1.5"
  - id: c
    title: C
    actor: manager
    next: {all: [b, ghost]}
)"));
  CHECK_PROBLEM(r, "b/p.yaml:8:11", "step \"3.1.4\" goes to unknown step \"3.1.44\"");
  CHECK_PROBLEM(r, "b/p.yaml:14:15", "step \"b\" goes to unknown step \"nowhere\"");
  CHECK_PROBLEM(r, "b/p.yaml:15:15", "step \"b\" goes to unknown step \"3.1.5\"; did you mean \"3.1.4\"?");
  CHECK_PROBLEM(r, "b/p.yaml:19:21", "step \"c\" goes to unknown step \"ghost\"");
}

TEST_CASE("a step that cannot be reached from the first step is reported") {
  LoadReport r = load_one(R"(process: p
title: T
owner: manager
steps:
  - id: "3.5.1"
    title: A
    actor: manager
    next: end
  - id: "3.5.9"
    title: B
    actor: manager
    next: end
)");
  CHECK_PROBLEM(r, "b/p.yaml:9:5", "step \"3.5.9\" is unreachable from the first step \"3.5.1\"");
  CHECK(r.problems.size() == 1);
}

TEST_CASE("a step from which no end can be reached is reported") {
  LoadReport r = load_one(R"(process: p
title: T
owner: manager
variables:
  resolved: {type: bool}
steps:
  - id: "3.4.9"
    title: A
    actor: manager
    next: "3.4.10"
  - id: "3.4.10"
    title: B
    actor: manager
    next:
      - if: resolved
        goto: "3.4.10"
      - else: "3.4.9"
)");
  CHECK_PROBLEM(r, "b/p.yaml:7:5", "no end can be reached from step \"3.4.9\"");
  CHECK_PROBLEM(r, "b/p.yaml:11:5", "no end can be reached from step \"3.4.10\"");
  CHECK(r.problems.size() == 2);
}

TEST_CASE("a parallel split reaches the end only through its join") {
  // Branch b can end on its own, but the join g loops forever.
  LoadReport r = load_one(R"(process: p
title: T
owner: manager
variables:
  x: {type: bool}
steps:
  - id: a
    title: A
    actor: manager
    next: {all: [b, c]}
  - id: b
    title: B
    actor: manager
    next:
      - if: x
        goto: end
      - else: g
  - id: c
    title: C
    actor: manager
    next: g
  - id: g
    title: G
    actor: manager
    join: all
    next: g
)");
  CHECK_PROBLEM(r, "b/p.yaml:7:5", "no end can be reached from step \"a\"");
  CHECK_PROBLEM(r, "b/p.yaml:22:5", "no end can be reached from step \"g\"");
  CHECK_FALSE(has_problem(r, "b/p.yaml:11:5", "no end"));
}

TEST_CASE("a parallel split whose branches first meet at a step without join: all is reported") {
  LoadReport r = load_one(process_with_steps(R"(  - id: "3.5.1"
    title: A
    actor: manager
    next: {all: [b, c]}
  - id: b
    title: B
    actor: manager
    next: d
  - id: c
    title: C
    actor: manager
    next: d
  - id: d
    title: D
    actor: manager
    next: end
)"));
  CHECK_PROBLEM(r, "b/p.yaml:8:11",
                "the branches of the parallel split at step \"3.5.1\" first meet at step \"d\", which is not "
                "marked join: all");
}

TEST_CASE("a parallel split whose branches never meet is reported") {
  LoadReport r = load_one(process_with_steps(R"(  - id: a
    title: A
    actor: manager
    next: {all: [b, c]}
  - id: b
    title: B
    actor: manager
    next: end
  - id: c
    title: C
    actor: manager
    next: end
)"));
  CHECK_PROBLEM(r, "b/p.yaml:8:11", "the branches of the parallel split at step \"a\" never meet at one step");
}

TEST_CASE("a join: all step that no parallel split meets at is reported") {
  LoadReport r = load_one(process_with_steps(R"(  - id: a
    title: A
    actor: manager
    next: j
  - id: j
    title: J
    actor: manager
    join: all
    next: end
)"));
  CHECK_PROBLEM(r, "b/p.yaml:12:11",
                "step \"j\" is marked join: all, but no parallel split has its branches meet there");
  LoadReport bad_value = load_one(process_with_steps(R"(  - id: a
    title: A
    actor: manager
    join: any
    next: end
)"));
  CHECK_PROBLEM(bad_value, "b/p.yaml:8:11", "join of step \"a\" must be all");
}

TEST_CASE("a parallel split needs at least two distinct branches") {
  LoadReport r = load_one(process_with_steps(R"(  - id: a
    title: A
    actor: manager
    next: {all: [b]}
  - id: b
    title: B
    actor: manager
    next: end
)"));
  CHECK_PROBLEM(r, "b/p.yaml:8:17", "the parallel split of step \"a\" needs at least two branches");
  LoadReport twice = load_one(process_with_steps(R"(  - id: a
    title: A
    actor: manager
    next: {all: [b, b]}
  - id: b
    title: B
    actor: manager
    next: end
)"));
  CHECK_PROBLEM(twice, "b/p.yaml:8:21", "the parallel split of step \"a\" lists step \"b\" twice");
}

TEST_CASE("an exclusive choice needs exactly one else, as its last branch") {
  LoadReport none = load_one(process_with_steps(R"(  - id: a
    title: A
    actor: manager
    next:
      - if: "true"
        goto: end
)"));
  CHECK_PROBLEM(none, "b/p.yaml:9:7", "the exclusive choice of step \"a\" has no else branch");
  LoadReport early = load_one(process_with_steps(R"(  - id: a
    title: A
    actor: manager
    next:
      - else: end
      - if: "true"
        goto: end
)"));
  CHECK_PROBLEM(early, "b/p.yaml:9:9", "the else branch of step \"a\" must be the last one");
  LoadReport twice = load_one(process_with_steps(R"(  - id: a
    title: A
    actor: manager
    next:
      - else: end
      - else: end
)"));
  CHECK_PROBLEM(twice, "b/p.yaml:10:9", "step \"a\" has more than one else branch");
}

TEST_CASE("unknown roles are reported for actors, owners and people") {
  LoadReport r = load_one(R"(process: p
title: T
owner: deputy
steps:
  - id: a
    title: A
    actor: [manager, manger]
    next: end
)");
  CHECK_PROBLEM(r, "b/p.yaml:3:8", "unknown role \"deputy\"");
  CHECK_PROBLEM(r, "b/p.yaml:7:22", "unknown role \"manger\"; did you mean \"manager\"?");

  SourceSet s = with_process(kSample);
  s.files["org.yaml"] = std::string(kOrg) + "  - login: petrov\n    name: Петров\n    roles: [director]\n";
  LoadReport people = load(s);
  CHECK_PROBLEM(people, "b/org.yaml:15:13", "unknown role \"director\"");
}

TEST_CASE("an unknown form is reported with the closest form key") {
  LoadReport r = load_one(process_with_steps(R"(  - id: a
    title: A
    actor: manager
    form: reqest
    next: end
)"));
  CHECK_PROBLEM(r, "b/p.yaml:8:11", "unknown form \"reqest\"; did you mean \"request\"?");
}

TEST_CASE("unknown handlers and the handler's own parameter problems are reported") {
  const std::string text = process_with_steps(R"(  - id: a
    title: A
    actor: manager
    do: notfy
    next: b
  - id: b
    title: B
    actor: manager
    do: notify
    with: {text: "Привет"}
    next: end
)");
  LoadReport r = load_one(text);
  CHECK_PROBLEM(r, "b/p.yaml:8:9", "unknown handler \"notfy\"; did you mean \"notify\"?");
  CHECK_PROBLEM(r, "b/p.yaml:14:11", "step \"b\": notify needs \"to\"");
  // Without a catalog, handler names are not checked.
  LoadReport unchecked = load_bundle(with_process(text), nullptr);
  INFO(listing(unchecked));
  CHECK(unchecked.ok());
}

TEST_CASE("a missing instructions file is reported at the path") {
  LoadReport r = load_one(process_with_steps(R"(  - id: a
    title: A
    actor: manager
    instructions: scripts/nope.md
    next: end
)"));
  CHECK_PROBLEM(r, "b/p.yaml:8:19", "instructions file \"scripts/nope.md\" does not exist");
}

TEST_CASE("with: without do: is reported") {
  LoadReport r = load_one(process_with_steps(R"(  - id: a
    title: A
    actor: manager
    with: {to: legal}
    next: end
)"));
  CHECK_PROBLEM(r, "b/p.yaml:8:5", "step \"a\" has with: but no do:");
}

TEST_CASE("a form on a service step is reported") {
  LoadReport r = load_one(process_with_steps(R"(  - id: a
    title: A
    actor: manager
    do: notify
    with: {to: legal, text: x}
    form: request
    next: end
)"));
  CHECK_PROBLEM(r, "b/p.yaml:10:5", "step \"a\" is a service step (do: notify) and cannot have a form");
}

TEST_CASE("sign must be any or all") {
  LoadReport r = load_one(process_with_steps(R"(  - id: a
    title: A
    actor: [manager, legal]
    sign: both
    next: end
)"));
  CHECK_PROBLEM(r, "b/p.yaml:8:11", "sign of step \"a\" must be any or all");
}

TEST_CASE("an expression syntax error points at the offending character in the file") {
  LoadReport plain = load_one(R"yaml(process: p
title: T
owner: manager
variables:
  vip: {type: bool}
  client: {type: text}
steps:
  - id: a
    title: A
    actor: manager
    next:
      - if: vip and and client
        goto: end
      - if: "vip or )"
        goto: end
      - else: end
)yaml");
  INFO(listing(plain));
  REQUIRE(plain.problems.size() == 2);
  // "      - if: " is 12 characters; the second "and" starts 8 bytes in.
  CHECK(plain.problems[0].where.str() == "b/p.yaml:12:21");
  CHECK(plain.problems[0].message.find("in the condition of step \"a\": ") == 0);
  // Quoted: one more for the opening quote; ")" is 7 bytes in.
  CHECK(plain.problems[1].where.str() == "b/p.yaml:14:21");
}

TEST_CASE("a branch whose condition does not parse still has its target checked") {
  LoadReport r = load_one(process_with_steps(R"(  - id: a
    title: A
    actor: manager
    next:
      - if: "x =="
        goto: bb
      - else: end
  - id: b
    title: B
    actor: manager
    with: [x]
    next: end
)"));
  CHECK_PROBLEM(r, "b/p.yaml:9:18", "in the condition of step \"a\": expected a value after");
  CHECK_PROBLEM(r, "b/p.yaml:10:15", "step \"a\" goes to unknown step \"bb\"; did you mean \"b\"?");
  CHECK_PROBLEM(r, "b/p.yaml:15:11", "with of step \"b\" must be a mapping");
}

TEST_CASE("a condition reading a variable that is never set is reported at the name") {
  LoadReport r = load_one(R"(process: p
title: T
owner: manager
variables:
  vip: {type: bool}
  client: {type: text}
steps:
  - id: a
    title: A
    actor: manager
    next:
      - if: client == "x" and vipp
        goto: b
      - else: b
  - id: b
    title: B
    actor: manager
    form: control
    next:
      - if: resolved and amount > 5
        goto: end
      - else: c
  - id: c
    title: C
    actor: manager
    do: set
    with: {amount: "1"}
    next: end
)");
  REQUIRE(r.problems.size() == 1);
  CHECK_PROBLEM(r, "b/p.yaml:12:31", "condition reads variable \"vipp\", which is never set; did you mean \"vip\"?");
}

TEST_CASE("a template reading a variable that is never set is reported at the name") {
  LoadReport r = load_one(process_with_steps(R"(  - id: a
    title: A
    actor: manager
    do: notify
    with: {to: legal, text: "Заявка: {clientt}"}
    next: end
)"));
  // `    with: {to: legal, text: "` is 29 characters; "Заявка: {" is 9 more.
  CHECK_PROBLEM(r, "b/p.yaml:9:39", "template reads variable \"clientt\", which is never set");
}

TEST_CASE("defaults that do not match the type are reported") {
  LoadReport r = load_one(R"(process: p
title: T
owner: manager
variables:
  vip: {type: bool, default: maybe}
  when: {type: date, default: 31.12.2026}
  reason: {type: choice, options: [a, b], default: c}
steps:
  - {id: a, title: A, actor: manager, next: end}
)");
  CHECK_PROBLEM(r, "b/p.yaml:5:30", "default of field \"vip\" must be true or false");
  CHECK_PROBLEM(r, "b/p.yaml:6:31",
                "default of field \"when\" must be a date (YYYY-MM-DD), got \"31.12.2026\"");
  CHECK_PROBLEM(r, "b/p.yaml:7:52", "default of field \"reason\" must be one of: a, b");
}

TEST_CASE("a choice without options, and options on a non-choice, are reported") {
  SourceSet s = with_process(kSample);
  s.files["forms/bad.yaml"] = R"(form: bad
title: Плохая
fields:
  - name: reason
    type: choice
  - name: note
    options: [x]
  - name: 1st
  - name: amount
    type: nubmer
)";
  LoadReport r = load(s);
  CHECK_PROBLEM(r, "b/forms/bad.yaml:4:5", "field \"reason\" of form \"bad\" is a choice and needs options");
  CHECK_PROBLEM(r, "b/forms/bad.yaml:7:5", "field \"note\" of form \"bad\" has options but is not a choice");
  CHECK_PROBLEM(r, "b/forms/bad.yaml:8:5", "must start with a letter");
  CHECK_PROBLEM(r, "b/forms/bad.yaml:10:11", "unknown type \"nubmer\" of field \"amount\" of form \"bad\"; did you mean \"number\"?");
}

TEST_CASE("duplicate process keys, form keys and logins are reported") {
  SourceSet s = with_process(kSample);
  s.files["q.yaml"] = kSample;
  s.files["forms/request2.yaml"] = kRequestForm;
  s.files["org.yaml"] = std::string(kOrg) + "  - login: ivanova\n    name: Другая\n    roles: [legal]\n";
  LoadReport r = load(s);
  CHECK_PROBLEM(r, "b/q.yaml:1:1", "duplicate process \"sample\"; it is already defined in b/p.yaml");
  CHECK_PROBLEM(r, "b/forms/request2.yaml:1:7", "duplicate form \"request\"; it is already defined in b/forms/request.yaml");
  CHECK_PROBLEM(r, "b/org.yaml:13:12", "duplicate login \"ivanova\"");
}

TEST_CASE("a YAML file with none of the top-level keys is reported") {
  SourceSet s = with_process(kSample);
  s.files["notes.yaml"] = "proces: x\ntitle: y\n";
  LoadReport r = load(s);
  CHECK_PROBLEM(r, "b/notes.yaml:1:1", "none of the top-level keys process:, form:, roles:, indicators: or calendar:; did you mean \"process\"?");
  // Markdown and other files are text, not definitions.
  SourceSet md = with_process(kSample);
  md.files["README.md"] = "process: no\n";
  CHECK(load(md).ok());
}

TEST_CASE("a bundle with processes but no org.yaml reports that roles cannot be checked") {
  SourceSet s = with_process(kSample);
  s.files.erase("org.yaml");
  LoadReport r = load(s);
  REQUIRE(r.problems.size() == 1);
  CHECK(r.problems[0].message == "no org.yaml in the bundle: roles cannot be checked");
}

TEST_CASE("deeply nested YAML is refused") {
  std::string deep = "process: p\ntitle: ";
  for (int i = 0; i < 80; ++i) deep += "[";
  for (int i = 0; i < 80; ++i) deep += "]";
  deep += "\n";
  LoadReport r = load_one(deep);
  REQUIRE_FALSE(r.ok());
  CHECK(r.problems[0].message.find("nested more than 64 levels") != std::string::npos);
}

TEST_CASE("a file with three different problems reports all three, sorted by place") {
  LoadReport r = load_one(R"(process: p
title: T
owner: manager
steps:
  - id: a
    title: A
    actor: manger
    nxt: b
    next: b
  - id: b
    title: B
    actor: manager
    sign: sometimes
    next: end
)");
  INFO(listing(r));
  REQUIRE(r.problems.size() == 3);
  CHECK(r.problems[0].where.str() == "b/p.yaml:7:12");
  CHECK(r.problems[0].message.find("unknown role \"manger\"") == 0);
  CHECK(r.problems[1].where.str() == "b/p.yaml:8:5");
  CHECK(r.problems[1].message.find("unknown key \"nxt\"") == 0);
  CHECK(r.problems[2].where.str() == "b/p.yaml:13:11");
  CHECK(r.problems[2].message.find("sign of step \"b\"") == 0);
  // A process whose file has problems is not handed out.
  CHECK(r.bundle.processes.empty());
}

// ---- Reading from disk ---------------------------------------------------------

TEST_CASE("read_sources reports a missing path as not found") {
  auto r = read_sources({"/definitely/not/here"});
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == ErrorCode::not_found);
  CHECK(r.error().message == "no such file or directory: /definitely/not/here");
}

TEST_CASE("read_sources reads a directory tree and a single file with its context") {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / "reglament-test-loader-sources";
  fs::remove_all(dir);
  fs::create_directories(dir / "forms");
  fs::create_directories(dir / "scripts");
  fs::create_directories(dir / ".hidden");
  auto write = [](const fs::path& p, const std::string& text) { std::ofstream(p, std::ios::binary) << text; };
  write(dir / "org.yaml", kOrg);
  write(dir / "p.yaml", kSample);
  write(dir / "forms/request.yaml", kRequestForm);
  write(dir / "forms/control.yaml", kControlForm);
  write(dir / "scripts/call.md", kScript);
  write(dir / "scripts/extra.html", "<p>x</p>");
  write(dir / "notes.bin", "ignored");
  write(dir / ".hidden/x.yaml", "ignored: true");

  auto all = read_sources({dir.string() + "/"});
  REQUIRE(all.ok());
  CHECK(all->root == dir.generic_string());
  std::vector<std::string> keys;
  for (const auto& [k, v] : all->files) keys.push_back(k);
  CHECK(keys == std::vector<std::string>{"forms/control.yaml", "forms/request.yaml", "org.yaml", "p.yaml",
                                         "scripts/call.md", "scripts/extra.html"});
  CHECK(all->files.at("p.yaml") == kSample);
  LoadReport r = load_bundle(*all, &kHandlers);
  INFO(listing(r));
  CHECK(r.ok());

  write(dir / "q.yaml", "process: q\n");
  auto one = read_sources({(dir / "p.yaml").string()});
  REQUIRE(one.ok());
  CHECK(one->files.count("p.yaml") == 1);
  CHECK(one->files.count("q.yaml") == 0);
  CHECK(one->files.count("org.yaml") == 1);
  CHECK(one->files.count("forms/request.yaml") == 1);
  CHECK(one->files.count("scripts/call.md") == 1);
  LoadReport single = load_bundle(*one, &kHandlers);
  INFO(listing(single));
  CHECK(single.ok());
  fs::remove_all(dir);
}

TEST_CASE("the bundled regulation loads without problems: 5 processes, the regulation's 49 steps") {
  auto sources = read_sources({REGLAMENT_SOURCE_DIR "/processes"});
  REQUIRE_MESSAGE(sources.ok(), sources.error().str());
  auto builtin = builtin_handlers();
  LoadReport r = load_bundle(*sources, builtin.get());
  INFO(listing(r));
  CHECK(r.ok());
  CHECK(r.bundle.processes.size() == 5);
  size_t steps = 0;
  std::vector<std::string> links;
  for (const auto& p : r.bundle.processes) {
    for (const auto& s : p.process->steps) {
      if (s.id.rfind(p.process->section + ".", 0) == 0) {
        ++steps;
      } else {
        links.push_back(p.process->key + "/" + s.id);
        CHECK_MESSAGE(s.call.has_value(), s.id << " is not one of the regulation's steps, nor a call");
      }
    }
  }
  CHECK(steps == 49);
  // The one step the regulation implies but does not number: 3.1 hands a complaint to 3.4.
  CHECK(links == std::vector<std::string>{"incoming-request/complaint"});
  CHECK(r.bundle.org.person("ivanova") != nullptr);
  // Every process reloads from its own stored sources to the same hash.
  for (const auto& p : r.bundle.processes) {
    auto again = load_process(p.sources, r.bundle.org, builtin.get());
    REQUIRE_MESSAGE(again.ok(), again.error().str());
    CHECK(again->hash == p.hash);
  }
}

// ---- Time: deadlines, escalation, waits, priority, schedules, the calendar ----

namespace {

const char* kCalendar = R"(calendar:
  timezone: "+03:00"
  windows:
    calling: {from: "09:00", to: "12:00"}
)";

SourceSet with_calendar(const std::string& process) {
  SourceSet s = with_process(process);
  s.files["calendar.yaml"] = kCalendar;
  return s;
}

}  // namespace

TEST_CASE("time keys load into the model") {
  LoadReport r = load(with_calendar(R"(process: p
title: T
owner: manager
variables:
  client: {type: text}
  call_on: {type: date}
  vip: {type: bool, default: false}
priority:
  - if: vip
    then: high
  - else: normal
start: {every: week, on: fri, window: calling}
steps:
  - id: a
    title: A
    actor: manager
    wait: {until: call_on, window: calling}
    deadline: {within: 8h, calendar: working}
    escalate:
      - notify: deputy-director
        text: "Просрочено {task} ({title}) у {client}, срок {due}"
      - reassign: deputy-director
      - priority: urgent
      - goto: b
    next:
      - if: vip
        goto: b
      - else: a
        wait: 1 working day
  - id: b
    title: B
    actor: manager
    priority: low
    deadline: {at: call_on}
    next: end
)"));
  INFO(listing(r));
  REQUIRE(r.ok());
  const Process& p = *r.bundle.processes.at(0).process;
  REQUIRE(p.schedule);
  CHECK(p.schedule->every == Schedule::Every::week);
  CHECK(p.schedule->weekday == 5);
  CHECK(p.schedule->window == "calling");
  REQUIRE(p.priority.size() == 2);
  CHECK(p.priority[0].level == Priority::high);
  const Step& a = p.steps[0];
  REQUIRE(a.wait);
  CHECK(a.wait->until == "call_on");
  REQUIRE(a.deadline);
  CHECK(a.deadline->span->unit == Span::Unit::working_seconds);
  CHECK(a.deadline->span->amount == 8 * 3600);
  REQUIRE(a.escalate.size() == 4);
  CHECK(a.escalate[3].kind == Escalation::Kind::go);
  CHECK(a.next.branches[1].wait->span->unit == Span::Unit::working_days);
  CHECK(p.steps[1].priority.at(0).level == Priority::low);
  CHECK(p.steps[1].deadline->at == "call_on");
  CHECK(r.bundle.calendar.window("calling") != nullptr);
  CHECK(r.bundle.calendar_source == kCalendar);
}

TEST_CASE("time keys are checked, each problem at its place") {
  LoadReport r = load(with_calendar(R"(process: p
title: T
owner: manager
variables:
  client: {type: text, required: true}
  n: {type: number}
start: {every: fortnight, at: "25:00"}
steps:
  - id: a
    title: A
    actor: manager
    wait: {until: n, window: evening}
    deadline: soon
    escalate:
      - notify: boss
      - priority: critical
      - goto: nowhere
      - {}
    next: end
  - id: b
    title: B
    actor: manager
    do: notify
    with: {to: manager, text: x}
    deadline: 1h
    escalate: [{reassign: manager}]
    next: end
  - id: c
    title: C
    actor: manager
    escalate: [{notify: manager}]
    next: a
)"));
  CHECK_PROBLEM(r, "b/p.yaml:7:16", "every of start of process \"p\" must be day, working day or week");
  CHECK_PROBLEM(r, "b/p.yaml:7:31", "at of start of process \"p\" must be a local time HH:MM");
  CHECK_PROBLEM(r, "b/p.yaml:7:8", "must give the required variable \"client\" under variables:");
  CHECK_PROBLEM(r, "b/p.yaml:12:19", "wait reads variable \"n\" as a moment, but it is number");
  CHECK_PROBLEM(r, "b/p.yaml:12:30", "unknown window \"evening\" of the calendar");
  CHECK_PROBLEM(r, "b/p.yaml:13:15", "deadline of step \"a\":");
  CHECK_PROBLEM(r, "b/p.yaml:15:17", "unknown role \"boss\"");
  CHECK_PROBLEM(r, "b/p.yaml:16:19", "must be low, normal, high or urgent");
  CHECK_PROBLEM(r, "b/p.yaml:17:15", "goes to unknown step \"nowhere\"");
  CHECK_PROBLEM(r, "b/p.yaml:18:9", "must have exactly one of notify:, reassign:, priority: or goto:");
  CHECK_PROBLEM(r, "b/p.yaml:25:5", "is a service step (do: notify) and cannot have a deadline");
  CHECK_PROBLEM(r, "b/p.yaml:31:5", "has escalate: but no deadline: to trigger it");
}

TEST_CASE("a window named without a calendar file says so") {
  LoadReport r = load_one(process_with_steps(R"(  - id: a
    title: A
    actor: manager
    wait: {window: calling}
    next: end
)"));
  CHECK_PROBLEM(r, "b/p.yaml:8:20", "unknown window \"calling\"; the calendar defines no windows");
}

TEST_CASE("a calendar file with problems is reported with its places") {
  SourceSet s = with_process(process_with_steps("  - {id: a, title: A, actor: manager, next: end}\n"));
  s.files["calendar.yaml"] = "calendar:\n  timezone: Mars/Olympus\n  working_hours: {from: \"18:00\", to: \"09:00\"}\n";
  LoadReport r = load(s);
  CHECK_PROBLEM(r, "b/calendar.yaml:2:13", "Mars/Olympus");
  CHECK(r.problems.size() >= 2);
}

// ---- retry, on_enter, call ----------------------------------------------------

TEST_CASE("retry, on_enter and call load into the step") {
  std::string p = process_with_steps(R"(  - id: a
    title: A
    actor: manager
    on_enter: {do: notify, with: {to: manager, text: "hi"}, retry: 0}
    next: b
  - id: b
    title: B
    actor: manager
    do: notify
    with: {to: manager, text: "x"}
    retry: {max: 5, backoff: 30s}
    next: c
  - id: c
    title: C
    actor: manager
    call: {process: q, wait: true, outputs: [answer]}
    next: end
)");
  LoadReport r = load_one(p);
  INFO(listing(r));
  REQUIRE(r.ok());
  const Process& proc = *r.bundle.processes[0].process;
  const Step& a = *proc.step("a");
  CHECK(a.on_enter);
  CHECK_FALSE(a.is_service());
  CHECK(a.handler == "notify");
  CHECK(a.retry.max == 0);
  const Step& b = *proc.step("b");
  CHECK(b.is_service());
  CHECK(b.retry.max == 5);
  CHECK(b.retry.backoff_seconds == 30);
  const Step& c = *proc.step("c");
  REQUIRE(c.call.has_value());
  CHECK(c.is_service());
  CHECK(c.call->process == "q");
  CHECK(c.call->wait);
  CHECK(c.call->outputs == std::vector<std::string>{"answer"});
  // The default: three retries a minute apart, doubling.
  CHECK(Step{}.retry.max == 3);
  CHECK(Step{}.retry.backoff_seconds == 60);
}

TEST_CASE("bad retry, on_enter and call are reported where they are written") {
  std::string p = process_with_steps(R"(  - id: a
    title: A
    actor: manager
    retry: 2
    next: b
  - id: b
    title: B
    actor: manager
    do: notify
    with: {to: manager, text: "x"}
    retry: {max: many, backoff: soon}
    on_enter: {do: notify}
    next: c
  - id: c
    title: C
    actor: manager
    call: {process: p, outputs: [answer]}
    form: request
    next: end
)");
  LoadReport r = load_one(p);
  CHECK_PROBLEM(r, "b/p.yaml:8:5", "has retry: but no do: to retry");
  CHECK_PROBLEM(r, "b/p.yaml:15:18", "must be a number of retries from 0 to 100");
  CHECK_PROBLEM(r, "b/p.yaml:15:33", "backoff of retry of step");
  CHECK_PROBLEM(r, "b/p.yaml:16:5", "is a service step; on_enter: belongs to a person's step");
  CHECK_PROBLEM(r, "b/p.yaml:21:24", "has outputs: but does not wait:");
  CHECK_PROBLEM(r, "b/p.yaml:21:5", "calls a process and cannot have a form");
}

TEST_CASE("a call names a process of the bundle and gives exactly its variables") {
  SourceSet s = base_sources();
  s.files["parent.yaml"] = R"(process: parent
title: P
owner: manager
variables:
  client: {type: text}
steps:
  - id: a
    title: A
    actor: manager
    call: child
    with: {client: "{client}", colour: red}
    next: b
  - id: b
    title: B
    actor: manager
    call: chlid
    next: end
)";
  s.files["child.yaml"] = R"(process: child
title: C
owner: manager
variables:
  client: {type: text, required: true}
  size: {type: number, required: true}
steps:
  - id: x
    title: X
    actor: manager
    next: end
)";
  LoadReport r = load(s);
  CHECK_PROBLEM(r, "b/parent.yaml:10:11", "gives variable \"colour\", which process \"child\" does not have");
  CHECK_PROBLEM(r, "b/parent.yaml:10:11", "without its required variable \"size\"");
  CHECK_PROBLEM(r, "b/parent.yaml:16:11", "calls process \"chlid\", which is not in the bundle; did you mean \"child\"?");
}
