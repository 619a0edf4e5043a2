// The audit: instants across offsets, the hash chain's diagnosis of each kind
// of tampering (engine/audit.h, on hand-made rows), seal digests, the past
// state and variable history; and verify_log / seal_log on a real store,
// edited through its own connection as a hand edit of the file would.
#include <SQLiteCpp/Database.h>
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "engine/audit.h"
#include "engine/core.h"
#include "engine/loader.h"
#include "engine/sha256.h"
#include "handlers/registry.h"
#include "storage/audit.h"
#include "storage/schema_internal.h"
#include "storage/sqlite_store.h"

namespace reglament {
namespace {

// ---- instants -------------------------------------------------------------------

TEST_CASE("utc_instant gives one fixed-width text per instant, whatever the offset") {
  CHECK(utc_instant("2026-11-23T15:04:05+03:00") == "2026-11-23T12:04:05.000Z");
  CHECK(utc_instant("2026-11-23T12:04:05Z") == "2026-11-23T12:04:05.000Z");
  CHECK(utc_instant("2026-11-23T07:04:05-05:00") == "2026-11-23T12:04:05.000Z");
  CHECK(utc_instant("2026-11-23T12:04Z") == "2026-11-23T12:04:00.000Z");
  CHECK(utc_instant("2026-11-23T12:04:05.5Z") == "2026-11-23T12:04:05.500Z");
  CHECK(utc_instant("2026-11-23T12:04:05.123456Z") == "2026-11-23T12:04:05.123Z");
  // across midnight and a year
  CHECK(utc_instant("2027-01-01T01:00:00+03:00") == "2026-12-31T22:00:00.000Z");
  CHECK(utc_instant("2024-02-29T23:30:00-01:00") == "2024-03-01T00:30:00.000Z");
  // every field zero-padded to its width, at the ends of the range
  CHECK(utc_instant("0099-03-01T00:00:07.09Z") == "0099-03-01T00:00:07.090Z");
  CHECK(utc_instant("0001-01-01T00:30:00+01:00") == "0000-12-31T23:30:00.000Z");
  CHECK(utc_instant("9999-12-31T23:59:59.999Z") == "9999-12-31T23:59:59.999Z");
  CHECK_FALSE(utc_instant("9999-12-31T23:59:59-00:01"));  // past year 9999 in UTC
  // so text order is time order: 10:00+03:00 is before 08:30Z
  CHECK(*utc_instant("2026-11-23T10:00:00+03:00") < *utc_instant("2026-11-23T08:30:00Z"));
  CHECK(*utc_instant("2026-11-23T12:04:05Z") < *utc_instant("2026-11-23T12:04:05.001Z"));
  // not timestamps
  CHECK_FALSE(utc_instant("2026-11-23T12:04:05"));  // no offset
  CHECK_FALSE(utc_instant("2026-02-30T12:00:00Z"));
  CHECK_FALSE(utc_instant("2026-11-23T24:00:00Z"));
  CHECK_FALSE(utc_instant("2026-11-23T12:00:00+3:00"));
  CHECK_FALSE(utc_instant("2026-11-23"));
  CHECK_FALSE(utc_instant("yesterday"));
  CHECK_FALSE(utc_instant(""));
}

// ---- the chain ---------------------------------------------------------------------

Event ev(EventType type, std::string at, std::string actor, std::string step, Json data) {
  Event e;
  e.type = type;
  e.at = std::move(at);
  e.actor = std::move(actor);
  e.step = std::move(step);
  e.data = std::move(data);
  return e;
}

Json task_data(const std::string& task) {
  Json d = Json::object();
  d["task"] = task;
  return d;
}

// Five events of instance "7", chained as the store writes them.
std::vector<LoggedEvent> chained() {
  std::vector<Event> events = {
      ev(EventType::instance_started, "2026-11-23T10:00:00+03:00", "ivanova", "", Json::object()),
      ev(EventType::task_created, "2026-11-23T10:00:00+03:00", "", "1", task_data("7.1")),
      ev(EventType::task_claimed, "2026-11-23T10:01:00+03:00", "ivanova", "1", task_data("7.1")),
      ev(EventType::task_unclaimed, "2026-11-23T10:02:00+03:00", "ivanova", "1", task_data("7.1")),
      ev(EventType::task_claimed, "2026-11-23T10:03:00+03:00", "petrov", "1", task_data("7.1")),
  };
  std::vector<LoggedEvent> rows;
  std::string prev;
  for (size_t i = 0; i < events.size(); ++i) {
    LoggedEvent r;
    r.seq = static_cast<int64_t>(i) + 1;
    r.hash = chain_hash(prev, "7", r.seq, events[i]);
    r.event = events[i];
    prev = r.hash;
    rows.push_back(std::move(r));
  }
  return rows;
}

void renumber(std::vector<LoggedEvent>& rows) {
  for (size_t i = 0; i < rows.size(); ++i) rows[i].seq = static_cast<int64_t>(i) + 1;
}

TEST_CASE("an intact chain has no break, and its hash depends on instance, position and content") {
  auto rows = chained();
  CHECK_FALSE(check_chain("7", rows, 5));
  CHECK_FALSE(check_chain("7", rows, std::nullopt));
  // the same events under another instance id do not verify
  auto other = check_chain("8", rows, 5);
  REQUIRE(other);
  CHECK(other->seq == 1);
  // the definition: sha256(prev \n instance \n seq \n encoding)
  CHECK(rows[1].hash == chain_hash(rows[0].hash, "7", 2, *rows[1].event));
  CHECK(rows[1].hash != chain_hash(rows[0].hash, "7", 3, *rows[1].event));
}

TEST_CASE("chain_hash hashes exactly prev, instance, seq and encode_event(e).dump(), for varied events") {
  // chain_hash writes the encoding itself rather than building it: the
  // bytes must stay those of the definition, or every stored chain breaks.
  Json nested = Json::object();
  nested["b"] = Json(1.5);
  nested["a"] = Json(JsonArray{Json("x"), Json(), Json(true), Json(int64_t{-7})});
  Json data = Json::object();
  data["comment"] = Json("кавычки \" и \\ и \n перевод \x01");
  data["nested"] = nested;
  std::vector<Event> events = {
      ev(EventType::instance_started, "2026-11-23T10:00:00+03:00", "", "", Json::object()),
      ev(EventType::task_completed, "2026-11-23T10:05:00+03:00", "petrov", "3.1.1", data),
      ev(EventType::service_failed, "не время", "сидорова \"админ\"", "шаг\t1", task_data("7.1")),
  };
  events[2].format = 1;
  std::string prev;
  for (size_t i = 0; i < events.size(); ++i) {
    const int64_t seq = static_cast<int64_t>(i) + 1;
    const std::string definition =
        sha256_hex(prev + "\n7\n" + std::to_string(seq) + "\n" + encode_event(events[i]).dump());
    CHECK(chain_hash(prev, "7", seq, events[i]) == definition);
    // as an append computes it, with the data's text it writes to its column
    CHECK(chain_hash(prev, "7", seq, events[i], events[i].data.dump()) == definition);
    prev = definition;
  }
}

TEST_CASE("a changed payload is located at its event, and the next event still links to its hash") {
  auto rows = chained();
  rows[2].event->actor = "orlov";
  auto b = check_chain("7", rows, 5);
  REQUIRE(b);
  CHECK(b->kind == AuditKind::changed);
  CHECK(b->seq == 3);
  CHECK(b->message ==
        "event 3 no longer matches its hash, which event 4 still links to: event 3 was changed (or "
        "event 2 rewritten with a recomputed hash)");
  // the last event changed has no successor to testify
  auto last = chained();
  last[4].event->at = "2026-11-23T09:00:00+03:00";
  auto bl = check_chain("7", last, 5);
  REQUIRE(bl);
  CHECK(bl->kind == AuditKind::changed);
  CHECK(bl->seq == 5);
}

TEST_CASE("a changed hash, or a row rewritten with a fresh hash, breaks at the row after it") {
  auto rows = chained();
  // given event 3 edited and its own hash recomputed, but not the later ones
  rows[2].event->actor = "orlov";
  rows[2].hash = chain_hash(rows[1].hash, "7", 3, *rows[2].event);
  auto b = check_chain("7", rows, 5);
  REQUIRE(b);
  CHECK(b->kind == AuditKind::changed);
  CHECK(b->seq == 4);
  CHECK(b->message.find("(or event 3 rewritten with a recomputed hash)") != std::string::npos);

  // given only the stored hash of event 3 changed, both links around it break
  auto hashed = chained();
  hashed[2].hash = std::string(64, 'e');
  auto bh = check_chain("7", hashed, 5);
  REQUIRE(bh);
  CHECK(bh->kind == AuditKind::changed);
  CHECK(bh->seq == 3);
  CHECK(bh->message ==
        "event 3 and event 4 no longer match their hashes: event 3 or its stored hash was changed (or "
        "event 2 rewritten with a recomputed hash)");
}

TEST_CASE("an unreadable row is a changed event") {
  auto rows = chained();
  rows[1].event.reset();
  rows[1].unreadable = "its data is not a JSON object";
  auto b = check_chain("7", rows, 5);
  REQUIRE(b);
  CHECK(b->kind == AuditKind::changed);
  CHECK(b->seq == 2);
  CHECK(b->message == "event 2 was changed: it can no longer be read (its data is not a JSON object)");
}

TEST_CASE("deleted events are missing, in the middle by the gap and at the end by the recorded count") {
  auto rows = chained();
  rows.erase(rows.begin() + 1, rows.begin() + 3);
  auto b = check_chain("7", rows, 5);
  REQUIRE(b);
  CHECK(b->kind == AuditKind::missing);
  CHECK(b->seq == 2);
  CHECK(b->message == "events 2 to 3 are missing: deleted from the log");

  auto tail = chained();
  tail.pop_back();
  auto bt = check_chain("7", tail, 5);
  REQUIRE(bt);
  CHECK(bt->kind == AuditKind::missing);
  CHECK(bt->seq == 5);
  // without a recorded count, a shortened log cannot be told from a short one
  CHECK_FALSE(check_chain("7", tail, std::nullopt));

  // every event gone
  auto none = check_chain("7", {}, 5);
  REQUIRE(none);
  CHECK(none->kind == AuditKind::missing);
  CHECK(none->seq == 1);
}

TEST_CASE("an inserted event is told apart from a changed one") {
  SUBCASE("slipped in between, later seqs shifted") {
    auto rows = chained();
    LoggedEvent fake;
    fake.event = ev(EventType::task_claimed, "2026-11-23T10:01:30+03:00", "orlov", "1", task_data("7.1"));
    fake.hash = "00";
    rows.insert(rows.begin() + 3, fake);
    renumber(rows);
    auto b = check_chain("7", rows, 6);
    REQUIRE(b);
    CHECK(b->kind == AuditKind::inserted);
    CHECK(b->seq == 4);
  }
  SUBCASE("appended past the recorded end") {
    auto rows = chained();
    LoggedEvent fake;
    fake.seq = 6;
    fake.event = ev(EventType::task_claimed, "2026-11-23T10:05:00+03:00", "orlov", "1", task_data("7.1"));
    fake.hash = "00";
    rows.push_back(fake);
    auto b = check_chain("7", rows, 5);
    REQUIRE(b);
    CHECK(b->kind == AuditKind::inserted);
    CHECK(b->seq == 6);
  }
  SUBCASE("appended with a correct hash, but not counted by the instance") {
    auto rows = chained();
    LoggedEvent extra;
    extra.seq = 6;
    extra.event = ev(EventType::task_unclaimed, "2026-11-23T10:05:00+03:00", "petrov", "1", task_data("7.1"));
    extra.hash = chain_hash(rows[4].hash, "7", 6, *extra.event);
    rows.push_back(extra);
    auto b = check_chain("7", rows, 5);
    REQUIRE(b);
    CHECK(b->kind == AuditKind::inserted);
    CHECK(b->seq == 6);
  }
  SUBCASE("a copy of another event") {
    auto rows = chained();
    LoggedEvent copy = rows[2];
    rows.insert(rows.begin() + 4, copy);
    renumber(rows);
    auto b = check_chain("7", rows, 6);
    REQUIRE(b);
    CHECK(b->kind == AuditKind::inserted);
    CHECK(b->seq == 5);
    CHECK(b->message == "event 5 was inserted: it is a copy of the event stored as seq 3");
  }
}

TEST_CASE("reordered events are located and say where they were written") {
  SUBCASE("two rows swapped") {
    auto rows = chained();
    std::swap(rows[1], rows[3]);
    renumber(rows);
    auto b = check_chain("7", rows, 5);
    REQUIRE(b);
    CHECK(b->kind == AuditKind::reordered);
    CHECK(b->seq == 2);
    CHECK(b->message == "event 2 was written as event 4: the rows were reordered");
  }
  SUBCASE("a row moved to a seq far away") {
    auto rows = chained();
    LoggedEvent moved = rows[2];
    moved.seq = 99;
    rows.erase(rows.begin() + 2);
    rows.push_back(moved);
    auto b = check_chain("7", rows, 5);
    REQUIRE(b);
    CHECK(b->kind == AuditKind::reordered);
    CHECK(b->seq == 3);
    CHECK(b->message == "event 3 is stored as seq 99: the rows were reordered");
  }
}

// ---- seals ----------------------------------------------------------------------

TEST_CASE("a seal digest covers every head and definition, in no particular order") {
  SealContent a;
  a.heads = {{"10", 4, "aa"}, {"2", 7, "bb"}};
  a.definitions = {{"complaint", 1, "cc"}, {"call", 2, "dd"}};
  SealContent b;
  b.heads = {{"2", 7, "bb"}, {"10", 4, "aa"}};
  b.definitions = {{"call", 2, "dd"}, {"complaint", 1, "cc"}};
  const std::string digest = seal_digest(a);
  CHECK(digest.size() == 64);
  CHECK(seal_digest(b) == digest);
  // any change shows
  SealContent c = a;
  c.heads[0].seq = 5;
  CHECK(seal_digest(c) != digest);
  c = a;
  c.heads[1].hash = "bc";
  CHECK(seal_digest(c) != digest);
  c = a;
  c.heads.pop_back();
  CHECK(seal_digest(c) != digest);
  c = a;
  c.definitions[0].hash = "cd";
  CHECK(seal_digest(c) != digest);
  // and the recorded form round-trips
  auto back = decode_seal(encode_seal(a));
  REQUIRE(back.ok());
  CHECK(seal_digest(*back) == digest);
  CHECK_FALSE(decode_seal(Json::object()).ok());
  CHECK_FALSE(decode_seal(*parse_json(R"({"instances":[{"instance":1}],"definitions":[]})")).ok());
}

TEST_CASE("a seal digest covers the last refusal; a seal without one keeps the digest it always had") {
  SealContent a;
  a.heads = {{"1", 3, "aa"}};
  a.definitions = {{"call", 1, "dd"}};
  // The text digested since seals exist: written down digests stay valid.
  CHECK(seal_digest(a) == sha256_hex("reglament seal 1\ninstance 1 3 aa\ndefinition call 1 dd\n"
                                     "instances 1 events 3\n"));
  SealContent b = a;
  b.refusals = SealedRefusals{2, "ee"};
  CHECK(seal_digest(b) == sha256_hex("reglament seal 1\ninstance 1 3 aa\ndefinition call 1 dd\n"
                                     "refusals 2 ee\ninstances 1 events 3\n"));
  SealContent c = b;
  c.refusals->seq = 1;
  CHECK(seal_digest(c) != seal_digest(b));
  auto back = decode_seal(encode_seal(b));
  REQUIRE(back.ok());
  REQUIRE(back->refusals.has_value());
  CHECK(seal_digest(*back) == seal_digest(b));
  CHECK_FALSE(decode_seal(*parse_json(R"({"instances":[],"definitions":[],"refusals":{"seq":"2"}})")).ok());
  auto old = decode_seal(encode_seal(a));
  REQUIRE(old.ok());
  CHECK_FALSE(old->refusals.has_value());
}

// ---- the past -------------------------------------------------------------------

std::vector<Event> values_log() {
  Json start = Json::object();
  start["process"] = "p";
  start["version"] = 1;
  start["variables"] = *parse_json(R"({"client":"ООО Ромашка","vip":false})");
  Json done1 = task_data("1.1");
  done1["values"] = *parse_json(R"({"vip":true,"note":"first"})");
  Json service = Json::object();
  service["job"] = "1.2";
  service["outputs"] = *parse_json(R"({"note":"second"})");
  service["messages"] = Json::array();
  return {
      ev(EventType::instance_started, "2026-11-23T10:00:00+03:00", "ivanova", "", start),
      ev(EventType::task_created, "2026-11-23T10:00:00+03:00", "", "a", task_data("1.1")),
      ev(EventType::task_completed, "2026-11-23T10:05:00+03:00", "petrov", "a", done1),
      ev(EventType::service_completed, "2026-11-23T07:10:00Z", "", "b", service),
  };
}

TEST_CASE("variable_changes lists every value each variable took, with the event that set it") {
  const auto changes = variable_changes(values_log());
  REQUIRE(changes.size() == 5);
  CHECK(changes[0].name == "client");
  CHECK(changes[1].name == "vip");
  CHECK(changes[1].value == Json(false));
  CHECK(changes[1].seq == 1);
  CHECK(changes[1].actor == "ivanova");
  CHECK(changes[2].name == "note");
  CHECK(changes[2].seq == 3);
  CHECK(changes[3].name == "vip");
  CHECK(changes[3].value == Json(true));
  CHECK(changes[3].step == "a");
  CHECK(changes[3].type == EventType::task_completed);
  CHECK(changes[4].name == "note");
  CHECK(changes[4].value == Json("second"));
  CHECK(changes[4].type == EventType::service_completed);
  CHECK(changes[4].actor.empty());

  // the source of each value at a moment is its last assignment until then
  auto at2 = variable_sources(values_log(), 2);
  REQUIRE(at2.size() == 2);
  CHECK(at2[1].name == "vip");
  CHECK(at2[1].seq == 1);
  auto at4 = variable_sources(values_log(), 4);
  REQUIRE(at4.size() == 3);
  CHECK(at4[0].name == "client");
  CHECK(at4[1].name == "note");
  CHECK(at4[1].seq == 4);
  CHECK(at4[2].name == "vip");
  CHECK(at4[2].seq == 3);
}

TEST_CASE("events_until counts the events at or before a moment, compared as instants") {
  const auto log = values_log();
  CHECK(events_until(log, "2026-11-23T06:59:59Z") == 0u);
  CHECK(events_until(log, "2026-11-23T10:00:00+03:00") == 2u);
  CHECK(events_until(log, "2026-11-23T07:04:59Z") == 2u);
  CHECK(events_until(log, "2026-11-23T10:05:00+03:00") == 3u);
  // event 4 was written in UTC: 07:10Z is 10:10+03:00
  CHECK(events_until(log, "2026-11-23T10:09:00+03:00") == 3u);
  CHECK(events_until(log, "2026-11-23T10:10:00+03:00") == 4u);
  CHECK_FALSE(events_until(log, "10:10"));
  // and state_after is the replay of that prefix
  CHECK(encode_state(state_after(log, 3)) ==
        encode_state(replay(std::vector<Event>(log.begin(), log.begin() + 3))));
  CHECK(state_after(log, 99).seq == 4);
}

// ---- verify_log and seal_log on a store --------------------------------------------

const char* kOrg = R"(roles:
  manager: {title: Менеджер}
  sales-center: {title: Центр продаж}
people:
  - login: ivanova
    name: Иванова Анна Петровна
    roles: [manager]
)";

const char* kProcess = R"(process: notice
title: Уведомление
section: "9.2"
owner: manager
variables:
  client: {type: text, required: true, title: Клиент}
steps:
  - id: "9.2.1"
    title: Уведомить Центр продаж
    actor: manager
    do: notify
    with: {to: sales-center, text: "Клиент: {client}"}
    next: "9.2.2"
  - id: "9.2.2"
    title: Проверить
    actor: manager
    next: end
)";

struct Fixture {
  Fixture() {
    auto opened = SqliteStore::open(":memory:");
    REQUIRE(opened.ok());
    store = std::move(opened).value();
    static const std::unique_ptr<Registry> handlers = builtin_handlers();
    SourceSet s;
    s.files["org.yaml"] = kOrg;
    s.files["notice.yaml"] = kProcess;
    LoadReport report = load_bundle(s, handlers.get());
    for (const Error& e : report.problems) MESSAGE(e.str());
    REQUIRE(report.ok());
    REQUIRE(store->deploy(report.bundle, "2026-11-01T09:00:00+03:00").ok());
    auto d = store->definition("notice", 1);
    REQUIRE(d.ok());
    def = *d;
  }

  // Appends `events` as instance `id` from scratch, with the projections of
  // their replay.
  void append(const std::vector<Event>& events) {
    InstanceState st = replay(events);
    Status s = store->append(def, st, 0, events);
    if (!s.ok()) MESSAGE(s.error().str());
    REQUIRE(s.ok());
  }

  Event started(const std::string& id) {
    Json d = Json::object();
    d["instance"] = id;
    d["process"] = "notice";
    d["version"] = 1;
    d["hash"] = def.hash;
    d["variables"] = *parse_json(R"({"client":"ООО Ромашка"})");
    return ev(EventType::instance_started, "2026-11-23T10:00:00+03:00", "ivanova", "", d);
  }

  Event scheduled(const std::string& job) {
    Json d = Json::object();
    d["job"] = job;
    d["handler"] = "notify";
    return ev(EventType::service_scheduled, "2026-11-23T10:00:00+03:00", "", "9.2.1", d);
  }

  // Instance 1: its notify job failed once and is still open.
  // Instance 2: its notify job sent one message.
  void two_instances() {
    Json failed = Json::object();
    failed["job"] = "1.1";
    failed["error"] = "the mail server is down";
    failed["attempt"] = 1;
    append({started("1"), scheduled("1.1"),
            ev(EventType::service_failed, "2026-11-23T10:01:00+03:00", "", "9.2.1", failed)});
    Json sent = Json::object();
    sent["job"] = "2.1";
    sent["outputs"] = Json::object();
    sent["messages"] = *parse_json(R"([{"to":"sales-center","text":"Клиент: ООО Ромашка"}])");
    append({started("2"), scheduled("2.1"),
            ev(EventType::service_completed, "2026-11-23T10:01:00+03:00", "", "9.2.1", sent)});
  }

  void sql(const std::string& text) { storage_internal::connection(*store).exec(text); }

  AuditReport verify(const VerifyOptions& opt = {}) {
    auto r = verify_log(*store, opt);
    if (!r) MESSAGE(r.error().str());
    REQUIRE(r.ok());
    return *r;
  }

  std::unique_ptr<SqliteStore> store;
  Deployed def;
};

std::string messages(const AuditReport& r) {
  std::string out;
  for (const AuditFinding& f : r.findings) out += std::string(to_string(f.kind)) + ": " + f.message + "\n";
  return out;
}

TEST_CASE("verify_log finds nothing wrong in a log written by the store") {
  Fixture fx;
  fx.two_instances();
  AuditReport r = fx.verify();
  CHECK_MESSAGE(r.ok(), messages(r));
  CHECK(r.instances == 2);
  CHECK(r.events == 6);
  AuditReport one = fx.verify({"2", ""});
  CHECK(one.ok());
  CHECK(one.instances == 1);
  auto unknown = verify_log(*fx.store, {"5", ""});
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.error().code == ErrorCode::not_found);
}

TEST_CASE("verify_log compares open jobs and the outbox with the events") {
  Fixture fx;
  fx.two_instances();
  SUBCASE("a job's attempts reset") {
    fx.sql("UPDATE jobs SET attempts = 0, last_error = NULL WHERE job = '1.1'");
    AuditReport r = fx.verify();
    CHECK(messages(r) ==
          "projection: job 1.1: jobs.attempts is \"0\", but the events say \"1\"\n"
          "projection: job 1.1: jobs.last_error is empty, but the events say \"the mail server is down\"\n");
  }
  SUBCASE("a job row removed") {
    fx.sql("DELETE FROM jobs");
    CHECK(messages(fx.verify()) ==
          "projection: job 1.1 (step 9.2.1) is open by the events, but jobs has no row for it\n");
  }
  SUBCASE("a sent message removed from the outbox, another added") {
    fx.sql("UPDATE outbox SET to_addr = 'director'");
    AuditReport r = fx.verify();
    REQUIRE(r.findings.size() == 2);
    CHECK(r.findings[0].instance == "2");
    CHECK(r.findings[0].seq == 3);
    CHECK(r.findings[0].message == "the message to sales-center written by event 3 is missing from the outbox");
    CHECK(r.findings[1].message == "the outbox holds a message to director for event 3 that no event wrote");
  }
  SUBCASE("the instance row's variables and status") {
    fx.sql("UPDATE instances SET vars_json = '{\"client\":\"ООО Лютик\"}', status = 'completed' WHERE id = '1'");
    CHECK(messages(fx.verify()) ==
          "projection: instance 1: instances.status is \"completed\", but the events say \"active\"\n"
          "projection: instance 1: instances.vars_json differs from the events in [client]\n");
  }
  SUBCASE("the derived at_utc column") {
    fx.sql(
        "DROP TRIGGER events_append_only_update; UPDATE events SET at_utc = '2020-01-01T00:00:00.000Z' "
        "WHERE instance = '2' AND seq = 2");
    AuditReport r = fx.verify();
    REQUIRE(r.findings.size() == 2);
    CHECK(r.findings[0].kind == AuditKind::protection);
    CHECK(r.findings[1].kind == AuditKind::projection);
    CHECK(r.findings[1].seq == 2);
  }
}

TEST_CASE("verify_log checks definitions against their hash and instances against their definition") {
  Fixture fx;
  fx.two_instances();
  SUBCASE("the stored files edited") {
    fx.sql("UPDATE definitions SET sources_json = replace(sources_json, 'Проверить', 'Не проверять')");
    AuditReport r = fx.verify();
    REQUIRE(r.findings.size() == 1);
    CHECK(r.findings[0].kind == AuditKind::definition);
    CHECK(r.findings[0].message ==
          "process \"notice\" version 1 was changed after it was deployed: its stored files no longer match its "
          "hash");
  }
  SUBCASE("the files and their hash replaced together") {
    fx.sql("UPDATE definitions SET sources_json = '{}', hash = '" + sha256_hex("{}") + "'");
    AuditReport r = fx.verify();
    REQUIRE(r.findings.size() == 3);
    // the deployment record still holds the hash deployed
    CHECK(r.findings[0].kind == AuditKind::definition);
    CHECK(r.findings[0].instance.empty());
    CHECK(r.findings[0].message.find("process \"notice\" version 1 is not the one deployed") != std::string::npos);
    r.findings.erase(r.findings.begin());
    CHECK(r.findings[0].kind == AuditKind::definition);
    CHECK(r.findings[0].instance == "1");
    CHECK(r.findings[0].message.find("was started on process \"notice\" version 1 with hash") !=
          std::string::npos);
  }
}

TEST_CASE("seal_log records a seal that verify_log then holds the log to") {
  Fixture fx;
  fx.two_instances();
  auto seal = seal_log(*fx.store, "2026-11-24T09:00:00+03:00");
  REQUIRE(seal.ok());
  CHECK(seal->instances == 2);
  CHECK(seal->events == 6);
  CHECK(seal->at == "2026-11-24T09:00:00+03:00");
  AuditReport r = fx.verify({"", seal->digest});
  CHECK(r.ok());
  REQUIRE(r.seal);
  CHECK(r.seal->digest == seal->digest);
  // the log may grow after the seal
  fx.append({fx.started("3"), fx.scheduled("3.1")});
  AuditReport grown = fx.verify({"", seal->digest});
  CHECK_MESSAGE(grown.ok(), messages(grown));
  CHECK(grown.instances == 3);
  auto seals = recorded_seals(*fx.store);
  REQUIRE(seals.ok());
  REQUIRE(seals->size() == 1);
  CHECK((*seals)[0].digest == seal->digest);
  // a malformed digest is invalid input, an unknown one a finding
  CHECK(verify_log(*fx.store, {"", "xyz"}).error().code == ErrorCode::invalid);
  AuditReport unknown = fx.verify({"", "0123456789abcdef"});
  REQUIRE(unknown.findings.size() == 1);
  CHECK(unknown.findings[0].kind == AuditKind::seal);
  // and a log that does not verify is not sealed
  fx.sql("UPDATE jobs SET attempts = 5");
  auto refused = seal_log(*fx.store, "2026-11-24T10:00:00+03:00");
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().code == ErrorCode::integrity);
  CHECK(recorded_seals(*fx.store)->size() == 1);
}

TEST_CASE("the append-only triggers are checked present and unaltered, and unknown ones are named") {
  Fixture fx;
  fx.two_instances();
  fx.sql(
      "DROP TRIGGER seals_append_only_delete;"
      "DROP TRIGGER events_append_only_update;"
      "CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events BEGIN SELECT 1; END;"
      "CREATE TRIGGER quiet AFTER INSERT ON events BEGIN SELECT 1; END;");
  AuditReport r = fx.verify();
  CHECK(messages(r) ==
        "protection: the trigger events_append_only_update was altered\n"
        "protection: the trigger seals_append_only_delete is missing: the table it guards could be edited without "
        "a trace\n"
        "protection: an unknown trigger quiet is defined on table events\n");
}

}  // namespace
}  // namespace reglament
