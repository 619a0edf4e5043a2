// For every bundled process and branch: the state built live, command by
// command, equals the state rebuilt by replaying the stored events, and the
// projections the inbox reads agree with it.
#include <doctest/doctest.h>

#include <map>

#include "engine/loader.h"
#include "engine/runtime.h"
#include "handlers/registry.h"
#include "storage/sqlite_store.h"

using namespace reglament;

namespace {

const std::string kAt = "2026-11-23T10:00:00+03:00";

// A required field's value as a person would type it.
std::string sample_value(const Field& f) {
  switch (f.type) {
    case ValueType::number: return "7";
    case ValueType::boolean: return "false";
    case ValueType::date: return "2026-12-01";
    case ValueType::datetime: return "2026-11-23T10:30:00+03:00";
    case ValueType::choice: return f.options.at(0);
    case ValueType::text: return "текст";
  }
  return "";
}

struct Bundled {
  std::unique_ptr<SqliteStore> store;
  std::unique_ptr<Registry> handlers = builtin_handlers();
  Org org;

  Bundled() {
    auto sources = read_sources({REGLAMENT_SOURCE_DIR "/processes"});
    REQUIRE(sources.ok());
    LoadReport report = load_bundle(*sources, handlers.get());
    REQUIRE(report.ok());
    auto opened = SqliteStore::open(":memory:");
    REQUIRE(opened.ok());
    store = std::move(*opened);
    store->set_handlers(handlers.get());
    REQUIRE(store->deploy(report.bundle, kAt).ok());
    org = report.bundle.org;
  }

  std::string person_for(const std::vector<std::string>& roles) const {
    for (const auto& p : org.people)
      for (const auto& r : roles)
        if (org.has_role(p.login, r)) return p.login;
    return {};
  }

  // After every command: live == replay(log), and the projections agree.
  void check(const Outcome& live) {
    auto events = store->events(live.state.id);
    REQUIRE(events.ok());
    InstanceState replayed = replay(*events);
    CHECK(replayed == live.state);
    CHECK(encode_state(replayed).dump() == encode_state(live.state).dump());
    auto rows = store->instances(std::nullopt, std::nullopt);
    REQUIRE(rows.ok());
    bool found = false;
    for (const auto& row : *rows)
      if (row.instance == live.state.id) {
        found = true;
        CHECK(row.status == replayed.status);
        CHECK(row.current == replayed.current);
      }
    CHECK(found);
    std::vector<std::string> roles;
    for (const auto& r : org.roles) roles.push_back(r.key);
    auto inbox = store->inbox(roles);
    REQUIRE(inbox.ok());
    size_t projected = 0;
    for (const auto& row : *inbox)
      if (row.instance == live.state.id) ++projected;
    CHECK(projected == replayed.open_tasks().size());
  }

  // Works the instance to its end with `values` deciding the branches.
  InstanceState walk(const std::string& process, JsonObject vars, const std::map<std::string, std::string>& values) {
    Runtime rt(*store, *handlers);
    auto started = rt.start(process, std::move(vars), "ivanova", kAt);
    REQUIRE_MESSAGE(started.ok(), started.error().message);
    check(*started);
    InstanceState state = started->state;
    auto def = store->definition(process, 0);
    REQUIRE(def.ok());
    std::map<std::string, int> visits;
    std::string at = kAt;  // moves on when the instance waits (3.4.10's re-check)
    for (int guard = 0; state.status == "active" && guard < 100; ++guard) {
      auto open = state.open_tasks();
      if (open.empty() && !state.open_timers().empty()) {
        at = state.open_timers().front()->due;
        auto fired = rt.execute(Command{state.id, "", at, FireTimers{}});
        REQUIRE_MESSAGE(fired.ok(), fired.error().message);
        REQUIRE(!fired->events.empty());
        check(*fired);
        state = fired->state;
        continue;
      }
      REQUIRE(!open.empty());
      const Task& task = *open.front();
      const Step* step = def->process->step(task.step);
      REQUIRE(step != nullptr);
      JsonObject given;
      if (step->form)
        for (const auto& f : step->form->fields) {
          if (auto it = values.find(f.name); it != values.end()) {
            // a loop's condition: false on the first visit, then true
            given[f.name] = Json(f.name == "resolved" && visits[task.step] == 0 ? "false" : it->second);
          } else if (f.required) {
            given[f.name] = Json(sample_value(f));
          }
        }
      ++visits[task.step];
      auto done = rt.execute(Command{"", person_for(task.roles), at, CompleteTask{task.id, given}});
      REQUIRE_MESSAGE(done.ok(), done.error().message);
      check(*done);
      state = done->state;
    }
    CHECK(state.status == "completed");
    return state;
  }
};

JsonObject client(bool vip = false) {
  JsonObject v{{"client", Json("ООО «Ромашка»")}};
  if (vip) v["vip"] = Json(true);
  return v;
}

}  // namespace

TEST_CASE("every bundled process, on every branch, replays to the state built live") {
  Bundled b;
  // 3.5.6 checks the client database itself: empty, it has no discrepancies.
  CHECK(b.walk("client-base-review", client(), {}).completed.size() == 7);
  CHECK(b.walk("incoming-request", client(true), {{"reason", "order"}}).completed.size() == 8);
  CHECK(b.walk("incoming-request", client(), {}).completed.size() == 7);
  CHECK(b.walk("outbound-call", client(), {{"outcome", "order"}}).completed.size() == 7);
  CHECK(b.walk("outbound-call", client(), {{"outcome", "refusal"}}).completed.size() == 6);
  CHECK(b.walk("agent-notification", client(), {{"known", "true"}}).completed.size() == 6);
  CHECK(b.walk("agent-notification", client(), {{"known", "false"}}).completed.size() == 6);
  CHECK(b.walk("complaint", client(), {{"needs_legal", "false"}, {"resolved", "true"}}).completed.size() == 11);
  CHECK(b.walk("complaint", client(), {{"needs_legal", "true"}, {"resolved", "true"}}).completed.size() == 11);
  // The walks above recorded ООО «Ромашка» without a responsible manager: 3.5.7–3.5.9 follow.
  const InstanceState review = b.walk("client-base-review", client(), {});
  CHECK(review.completed.size() == 10);
  CHECK(review.variables.at("discrepancies") == Json(true));
}
