// Test support for the core: processes built in code (no loader needed) and
// an in-memory EventStore, so core and runtime tests stay pure and fast.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "engine/core.h"
#include "engine/store.h"

namespace reglament::testing {

inline Step user_step(std::string id, std::vector<std::string> actors, Next next) {
  Step s;
  s.id = std::move(id);
  s.title = "Шаг " + s.id;
  s.actors = std::move(actors);
  s.next = std::move(next);
  return s;
}

inline Next go(std::string target) {
  Next n;
  n.kind = target == "end" ? NextKind::end : NextKind::step;
  n.target = std::move(target);
  return n;
}

inline Next choice(const std::string& condition, std::string then, std::string otherwise) {
  Next n;
  n.kind = NextKind::choice;
  Branch b;
  b.condition = *parse_expr(condition);
  b.target = std::move(then);
  n.branches.push_back(std::move(b));
  Branch e;
  e.target = std::move(otherwise);
  n.branches.push_back(std::move(e));
  return n;
}

inline Next all(std::vector<std::string> targets) {
  Next n;
  n.kind = NextKind::parallel;
  n.all = std::move(targets);
  return n;
}

inline Field field(std::string name, ValueType type, bool required) {
  Field f;
  f.name = std::move(name);
  f.type = type;
  f.required = required;
  return f;
}

inline Org org() {
  Org o;
  o.roles = {{"manager", "Менеджер"}, {"deputy-director", "Зам. директора"}, {"legal", "Юрист"},
             {"director", "Директор"}, {"sales-center", "Центр продаж"}};
  o.people = {{"ivanova", "Иванова", {"manager"}, {}},
              {"petrov", "Петров", {"manager"}, {}},
              {"sidorova", "Сидорова", {"deputy-director"}, {}},
              {"kuznetsov", "Кузнецов", {"legal"}, {}},
              {"orlov", "Орлов", {"director"}, {}}};
  return o;
}

// A small process with every kind of element:
//   a (form: vip bool) -> vip ? b : c;  b -> d (notify)  -> e;  c -> e;
//   e -> all[f, g];  f -> h;  g -> h (join);  h (sign all: deputy, legal) -> i
//   i (form: resolved) -> resolved ? end : i (loop)
inline std::shared_ptr<Process> sample_process() {
  auto p = std::make_shared<Process>();
  p->key = "sample";
  p->title = "Образец";
  p->owner = "deputy-director";
  p->variables = {field("client", ValueType::text, true), field("vip", ValueType::boolean, false)};
  p->variables[1].default_value = Json(false);
  Step a = user_step("a", {"manager"}, choice("vip", "b", "c"));
  Step b = user_step("b", {"manager"}, go("d"));
  Step c = user_step("c", {"manager"}, go("e"));
  Step d = user_step("d", {"manager"}, go("e"));
  d.handler = "notify";
  d.with = Json::object();
  d.with["to"] = Json("sales-center");
  d.with["text"] = Json("VIP: {client}");
  Step e = user_step("e", {"manager"}, all({"f", "g"}));
  Step f = user_step("f", {"manager"}, go("h"));
  Step g = user_step("g", {"manager"}, go("h"));
  Step h = user_step("h", {"deputy-director", "legal"}, go("i"));
  h.sign = Sign::all;
  h.join = true;
  h.join_count = 2;
  Step i = user_step("i", {"manager"}, choice("resolved", "end", "i"));
  Form form;
  form.key = "control";
  form.fields = {field("resolved", ValueType::boolean, true)};
  i.form = form;
  p->steps = {a, b, c, d, e, f, g, h, i};
  return p;
}

// An EventStore in memory, with the same conflict rule as SQLite's.
class MemoryStore : public EventStore {
 public:
  explicit MemoryStore(std::shared_ptr<const Process> p) : org_(testing::org()) { defs_[p->key] = {p, 1, "hash-1"}; }

  Result<std::vector<Event>> events(const std::string& instance) override { return log_[instance]; }
  Result<Deployed> definition(const std::string& process, int version) override {
    auto it = defs_.find(process);
    if (it == defs_.end()) return make_error(ErrorCode::not_found, "no process \"" + process + "\" is deployed");
    return it->second;
  }
  Result<Org> org() override { return org_; }
  Result<std::string> next_instance_id() override { return std::to_string(log_.size() + 1); }
  Status append(const Deployed&, const InstanceState& after, int64_t expected_seq,
                const std::vector<Event>& events) override {
    if (fail_appends_for.count(after.id)) return make_error(ErrorCode::internal, "the disk is full");
    auto& log = log_[after.id];
    if (static_cast<int64_t>(log.size()) != expected_seq)
      return make_error(ErrorCode::conflict, "instance changed by someone else");
    log.insert(log.end(), events.begin(), events.end());
    states_[after.id] = after;
    ++appends;
    return {};
  }
  Result<std::vector<std::string>> instances_with_pending_jobs() override {
    std::vector<std::string> out;
    for (const auto& [id, s] : states_)
      if (!s.open_jobs().empty()) out.push_back(id);
    return out;
  }

  // Group commit: the log as it was at begin_batch, restored when the batch
  // rolls back or its commit fails (fail_next_commit).
  Status begin_batch() override {
    if (in_batch) return make_error(ErrorCode::internal, "a batch was begun inside another batch");
    in_batch = true;
    saved_log_ = log_;
    saved_states_ = states_;
    ++batches_begun;
    return {};
  }
  Status commit_batch() override {
    in_batch = false;
    if (fail_next_commit) {
      fail_next_commit = false;
      log_ = saved_log_;
      states_ = saved_states_;
      return make_error(ErrorCode::internal, "the disk is full");
    }
    ++batches_committed;
    return {};
  }
  void rollback_batch() override {
    in_batch = false;
    log_ = saved_log_;
    states_ = saved_states_;
  }

  std::map<std::string, std::vector<Event>> log_;
  std::map<std::string, InstanceState> states_;  // what append was given: the live state
  std::map<std::string, Deployed> defs_;
  Org org_;
  int appends = 0;
  bool in_batch = false;
  int batches_begun = 0;
  int batches_committed = 0;
  bool fail_next_commit = false;            // the next commit_batch fails and rolls back
  std::set<std::string> fail_appends_for;  // instances whose appends fail
  std::map<std::string, std::vector<Event>> saved_log_;
  std::map<std::string, InstanceState> saved_states_;
};

}  // namespace reglament::testing
