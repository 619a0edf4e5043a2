// The client database on SQLite (storage/crm.h): every record op, every
// refusal, the client log, the ClientBook reads and the ABC volumes; and the
// same through SqliteStore (record_clients, clients(), abc_volumes).
#include <doctest/doctest.h>

#include <algorithm>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>

#include "engine/crm.h"
#include "engine/json.h"
#include "engine/names.h"
#include "storage/crm.h"
#include "storage/schema_internal.h"
#include "storage/sqlite_store.h"

namespace reglament {
namespace {

Json rec(const std::string& text) {
  auto j = parse_json(text);
  REQUIRE_MESSAGE(j.ok(), text);
  return *j;
}

// A bare in-memory database holding the client tables only.
struct Db {
  SQLite::Database db{":memory:", SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE};
  CrmContext ctx{"2026-11-23T10:00:00+03:00", "ivanova", "", ""};
  CrmStatements sql{db};

  Db() {
    db.exec("PRAGMA foreign_keys=ON");
    db.exec(kCrmSchema);
    create_client_keys(db);
  }

  Result<int64_t> apply(const std::string& text) { return apply_crm_record(sql, rec(text), ctx); }
  int64_t ok(const std::string& text) {
    Result<int64_t> r = apply(text);
    REQUIRE_MESSAGE(r.ok(), text << ": " << (r.ok() ? "" : r.error().message));
    return *r;
  }
  int64_t count(const std::string& table) {
    return db.execAndGet("SELECT count(*) FROM " + table).getInt64();
  }
  // Every row of every table, as text: "nothing changed" is this being equal.
  std::string snapshot() {
    std::string out;
    for (const char* t : {"clients", "contacts", "requests", "complaints", "items", "report_entries", "client_log"}) {
      SQLite::Statement q(db, std::string("SELECT * FROM ") + t + " ORDER BY 1");
      while (q.executeStep()) {
        out += t;
        for (int i = 0; i < q.getColumnCount(); ++i) out += "|" + (q.getColumn(i).isNull() ? "NULL" : q.getColumn(i).getString());
        out += "\n";
      }
    }
    return out;
  }
  // The refusal of `text`: its code, with nothing written.
  Error refused(const std::string& text) {
    const std::string before = snapshot();
    Result<int64_t> r = apply(text);
    REQUIRE_MESSAGE(!r.ok(), text << " was accepted");
    CHECK(snapshot() == before);
    return r.error();
  }
};

TEST_CASE("client.add writes a client with its keys, and the log row that says who and when") {
  Db d;
  const int64_t id = d.ok(R"({"op":"client.add","company":"ООО «Ромашка»","contact":"Петров Пётр",
      "phone":"+7 (495) 123-45-67","email":"info@romashka.ru","regular_since":"2024-03-01","vip":true,
      "manager":"ivanova","next_contact":"2026-12-01","notes":"любит звонки утром"})");
  CHECK(id == 1);
  SqliteClientBook book(d.db);
  auto c = book.client(id);
  REQUIRE(c.ok());
  REQUIRE(c->has_value());
  const Client& cl = **c;
  CHECK(cl.company == "ООО «Ромашка»");
  CHECK(cl.contact == "Петров Пётр");
  CHECK(cl.phone == "+7 (495) 123-45-67");
  CHECK(cl.email == "info@romashka.ru");
  CHECK(cl.regular_since == "2024-03-01");
  CHECK(cl.vip);
  CHECK(cl.manager == "ivanova");
  CHECK(cl.next_contact == "2026-12-01");
  CHECK(cl.notes == "любит звонки утром");
  CHECK(cl.abc_class.empty());
  CHECK(cl.created_at == d.ctx.at);
  CHECK(cl.updated_at == d.ctx.at);
  CHECK(d.db.execAndGet("SELECT company_key FROM clients").getString() == "ромашка");
  CHECK(d.db.execAndGet("SELECT phone_key FROM clients").getString() == "74951234567");

  SQLite::Statement log(d.db, "SELECT seq, at, actor, instance, step, record, row_id FROM client_log");
  REQUIRE(log.executeStep());
  CHECK(log.getColumn(1).getString() == d.ctx.at);
  CHECK(log.getColumn(2).getString() == "ivanova");
  CHECK(log.getColumn(3).isNull());
  CHECK(log.getColumn(4).isNull());
  auto logged = parse_json(log.getColumn(5).getString());
  REQUIRE(logged.ok());
  CHECK(logged->str("op") == "client.add");
  CHECK(logged->str("company") == "ООО «Ромашка»");
  CHECK(log.getColumn(6).getInt64() == id);
  CHECK_FALSE(log.executeStep());
}

TEST_CASE("every op writes its row and exactly one client_log row") {
  Db d;
  d.ctx = CrmContext{"2026-11-23T11:00:00+03:00", "", "12", "3.1.10"};
  int64_t log = 0;
  auto step = [&](const std::string& text) {
    const int64_t id = d.ok(text);
    ++log;
    CHECK(d.count("client_log") == log);
    CHECK(d.db.execAndGet("SELECT row_id FROM client_log ORDER BY seq DESC LIMIT 1").getInt64() == id);
    return id;
  };
  const int64_t romashka = step(R"({"op":"client.add","company":"ООО «Ромашка»"})");
  const int64_t sever = step(R"({"op":"client.add","company":"Торговый дом \"Север\", АО","phone":"8 812 1234567"})");
  CHECK(sever == 2);

  SUBCASE("client.update by id changes the given fields only, and may clear next_contact") {
    step(R"({"op":"client.update","client":1,"contact":"Анна","next_contact":"2026-12-01","vip":true})");
    CHECK(step(R"({"op":"client.update","client":1,"next_contact":""})") == romashka);
    SqliteClientBook book(d.db);
    auto c = book.client(romashka);
    REQUIRE(c.ok());
    CHECK((*c)->contact == "Анна");
    CHECK((*c)->next_contact.empty());
    CHECK((*c)->vip);
    CHECK((*c)->company == "ООО «Ромашка»");
  }
  SUBCASE("client.update names the client by company, or renames it when given the id") {
    CHECK(step(R"({"op":"client.update","company":"ромашка ооо","notes":"n"})") == romashka);
    CHECK(step(R"({"op":"client.update","client":2,"company":"АО «Север-Запад»","phone":"+7 812 765-43-21"})") == sever);
    CHECK(d.db.execAndGet("SELECT company_key || '/' || phone_key FROM clients WHERE id = 2").getString() ==
          "запад север/78127654321");
    CHECK(d.db.execAndGet("SELECT notes FROM clients WHERE id = 1").getString() == "n");
    // Renaming to its own name (spelled otherwise) is no conflict.
    step(R"({"op":"client.update","client":1,"company":"Ромашка, ООО"})");
  }
  SUBCASE("client.classify sets the class and when it was computed") {
    step(R"({"op":"client.classify","client":2,"class":"A","computed_at":"2026-11-20T09:00:00+03:00"})");
    SqliteClientBook book(d.db);
    auto c = book.client(sever);
    REQUIRE(c.ok());
    CHECK((*c)->abc_class == "A");
    CHECK((*c)->abc_at == "2026-11-20T09:00:00+03:00");
    CHECK((*c)->effective_vip());
    CHECK_FALSE((*c)->vip);
  }
  SUBCASE("contact.add takes instance and step from the context unless the record gives them") {
    const int64_t a = step(R"({"op":"contact.add","company":"Ромашка","kind":"call","note":"перезвонить"})");
    const int64_t b = step(R"({"op":"contact.add","client":2,"kind":"visit","instance":"7","step":"3.2.2"})");
    SqliteClientBook book(d.db);
    auto rows = book.rows("contacts", 0);
    REQUIRE(rows.ok());
    REQUIRE(rows->size() == 2);
    CHECK((*rows)[0].id == a);
    CHECK((*rows)[0].client == romashka);
    CHECK((*rows)[0].fields.at("note") == Json("перезвонить"));
    CHECK((*rows)[0].fields.at("instance") == Json("12"));
    CHECK((*rows)[0].fields.at("step") == Json("3.1.10"));
    CHECK((*rows)[0].fields.at("actor").is_null());
    CHECK((*rows)[0].fields.at("at") == Json(d.ctx.at));
    CHECK((*rows)[1].id == b);
    CHECK((*rows)[1].fields.at("instance") == Json("7"));
    auto only = book.rows("contacts", sever);
    REQUIRE(only.ok());
    REQUIRE(only->size() == 1);
    CHECK(only->front().id == b);
    // contact.add changes nothing else.
    CHECK(d.db.execAndGet("SELECT updated_at FROM clients WHERE id = 1").getString() == d.ctx.at);
  }
  SUBCASE("request.add stores form 7.3, accepted by default; request.update changes its status") {
    const int64_t r = step(R"({"op":"request.add","company":"ООО Ромашка","contact_person":"Пётр","volume":120.5,
        "date":"2026-11-23","delivery":"delivery","delivery_place":"Москва","delivery_date":"2026-11-30",
        "conditions":"оплата по факту","manager":"Иванова","filled_at":"2026-11-23T10:30:00+03:00"})");
    SqliteClientBook book(d.db);
    auto rows = book.rows("requests", romashka);
    REQUIRE(rows.ok());
    REQUIRE(rows->size() == 1);
    const CrmRow& row = rows->front();
    CHECK(row.id == r);
    CHECK(row.fields.at("status") == Json("accepted"));
    CHECK(row.fields.at("volume") == Json(120.5));
    CHECK(row.fields.at("company") == Json("ООО Ромашка"));
    CHECK(row.fields.at("delivery_place") == Json("Москва"));
    CHECK(row.fields.at("instance") == Json("12"));
    step(R"({"op":"request.update","request":1,"status":"done"})");
    CHECK(d.db.execAndGet("SELECT status FROM requests WHERE id = 1").getString() == "done");
  }
  SUBCASE("complaint.add stores form 7.4 with needs_legal as a bool; complaint.update its status") {
    const int64_t c = step(R"({"op":"complaint.add","client":1,"substance":"недовес","result":"needs-time",
        "needs_legal":true,"customer_demand":"замена","status":"open"})");
    step(R"({"op":"complaint.update","complaint":1,"status":"resolved"})");
    SqliteClientBook book(d.db);
    auto rows = book.rows("complaints", 0);
    REQUIRE(rows.ok());
    REQUIRE(rows->size() == 1);
    CHECK(rows->front().id == c);
    CHECK(rows->front().fields.at("needs_legal") == Json(true));
    CHECK(rows->front().fields.at("status") == Json("resolved"));
    CHECK(rows->front().fields.at("substance") == Json("недовес"));
  }
  SUBCASE("item.add opens a debt or a question; item.close closes it at the context's time") {
    const int64_t debt = step(R"({"op":"item.add","client":1,"kind":"debt","text":"счёт 17","amount":5000})");
    step(R"({"op":"item.add","client":2,"kind":"question","text":"реквизиты"})");
    d.ctx.at = "2026-11-24T09:00:00+03:00";
    CHECK(step(R"({"op":"item.close","item":1})") == debt);
    SqliteClientBook book(d.db);
    auto rows = book.rows("items", 0);
    REQUIRE(rows.ok());
    REQUIRE(rows->size() == 2);
    CHECK((*rows)[0].fields.at("closed_at") == Json("2026-11-24T09:00:00+03:00"));
    CHECK((*rows)[0].fields.at("amount") == Json(5000.0));
    CHECK((*rows)[1].fields.at("closed_at").is_null());
  }
  SUBCASE("report.add stores a line of a report form with its values") {
    const int64_t e = step(R"({"op":"report.add","form":"daily-calls","values":{"calls":3,"orders":1}})");
    SqliteClientBook book(d.db);
    auto rows = book.rows("reports", 0);
    REQUIRE(rows.ok());
    REQUIRE(rows->size() == 1);
    CHECK(rows->front().id == e);
    CHECK(rows->front().client == 0);
    CHECK(rows->front().fields.at("form") == Json("daily-calls"));
    CHECK(rows->front().fields.at("values") == rec(R"({"calls":3,"orders":1})"));
    CHECK(rows->front().fields.at("step") == Json("3.1.10"));
  }
}

TEST_CASE("a refused record writes nothing and says why in one sentence") {
  Db d;
  d.ok(R"({"op":"client.add","company":"ООО «Ромашка»"})");
  d.ok(R"({"op":"client.add","company":"АО Север"})");
  d.ok(R"({"op":"request.add","client":1,"volume":1})");
  d.ok(R"({"op":"item.add","client":1,"kind":"debt","text":"x"})");
  d.ok(R"({"op":"item.close","item":1})");

  struct Case {
    const char* record;
    ErrorCode code;
    const char* says;
  };
  const Case cases[] = {
      {R"([1,2])", ErrorCode::invalid, "must be a JSON object"},
      {R"({"company":"X"})", ErrorCode::invalid, "needs an op"},
      {R"({"op":"client.delete","client":1})", ErrorCode::invalid, "unknown client database record op \"client.delete\""},
      {R"({"op":"client.add"})", ErrorCode::invalid, "client.add needs a company"},
      {R"({"op":"client.add","company":""})", ErrorCode::invalid, "client.add needs a company"},
      {R"({"op":"client.add","company":"ООО"})", ErrorCode::invalid, "nothing to match on"},
      {R"({"op":"client.add","company":"Ромашка ООО"})", ErrorCode::conflict, "client 1 already has that name"},
      {R"({"op":"client.add","company":"Новая","phon":"1"})", ErrorCode::invalid, "client.add has no field \"phon\""},
      {R"({"op":"client.add","company":"Новая","vip":"yes"})", ErrorCode::invalid, "\"vip\" must be true or false"},
      {R"({"op":"client.add","company":42})", ErrorCode::invalid, "\"company\" must be text"},
      {R"({"op":"client.update","client":42,"notes":"x"})", ErrorCode::not_found, "no client 42"},
      {R"({"op":"client.update","client":"1","notes":"x"})", ErrorCode::invalid, "must be a positive whole number"},
      {R"({"op":"client.update","client":0,"notes":"x"})", ErrorCode::invalid, "must be a positive whole number"},
      {R"({"op":"client.update","client":1})", ErrorCode::invalid, "at least one field to change"},
      {R"({"op":"client.update","notes":"x"})", ErrorCode::invalid, "needs a client (id) or a company name"},
      {R"({"op":"client.update","company":"Лютик","notes":"x"})", ErrorCode::not_found,
       "no client has the company name \"Лютик\""},
      {R"({"op":"client.update","client":2,"company":"ооо ромашка"})", ErrorCode::conflict,
       "client 1 already has that name"},
      {R"({"op":"client.classify","client":1,"class":"D"})", ErrorCode::invalid, "class \"D\" is not A, B or C"},
      {R"({"op":"client.classify","client":1})", ErrorCode::invalid, "needs a class"},
      {R"({"op":"contact.add","kind":"call"})", ErrorCode::invalid, "needs a client"},
      {R"({"op":"contact.add","client":9,"kind":"call"})", ErrorCode::not_found, "no client 9"},
      {R"({"op":"request.add","client":1,"volume":-5})", ErrorCode::invalid, "volume must not be negative"},
      {R"({"op":"request.add","client":1,"volume":"5"})", ErrorCode::invalid, "\"volume\" must be a number"},
      {R"({"op":"request.add","company":"Нет такой","volume":5})", ErrorCode::not_found, "no client has the company"},
      {R"({"op":"request.update","request":5,"status":"done"})", ErrorCode::not_found, "no request 5"},
      {R"({"op":"request.update","request":1})", ErrorCode::invalid, "request.update needs a status"},
      {R"({"op":"complaint.add","client":1,"needs_legal":"да"})", ErrorCode::invalid, "\"needs_legal\" must be true or false"},
      {R"({"op":"complaint.update","complaint":1,"status":"x"})", ErrorCode::not_found, "no complaint 1"},
      {R"({"op":"item.add","client":1,"kind":"loan","text":"x"})", ErrorCode::invalid, "kind \"loan\" is not debt or question"},
      {R"({"op":"item.add","client":1,"kind":"debt"})", ErrorCode::invalid, "item.add needs a text"},
      {R"({"op":"item.close","item":1})", ErrorCode::conflict, "item 1 was already closed"},
      {R"({"op":"item.close","item":7})", ErrorCode::not_found, "no item 7"},
      {R"({"op":"report.add","values":{}})", ErrorCode::invalid, "report.add needs a form"},
      {R"({"op":"report.add","form":"f","values":[1]})", ErrorCode::invalid, "\"values\" must be a JSON object"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.record);
    Error e = d.refused(c.record);
    CHECK(e.code == c.code);
    CHECK_MESSAGE(e.message.find(c.says) != std::string::npos, e.message);
  }
}

TEST_CASE("a company name two clients share after normalisation is ambiguous") {
  Db d;
  d.ok(R"({"op":"client.add","company":"ООО «Ромашка»"})");
  // Only an older build could have written two clients with one key.
  d.db.exec("INSERT INTO clients (company, company_key, created_at, updated_at) VALUES ('Ромашка ЗАО', 'ромашка', 't', 't')");
  Error e = d.refused(R"({"op":"contact.add","company":"Ромашка","kind":"call"})");
  CHECK(e.code == ErrorCode::invalid);
  CHECK(e.message.find("ambiguous: clients 1 and 2") != std::string::npos);
  CHECK(d.apply(R"({"op":"contact.add","client":2,"kind":"call"})").ok());
}

TEST_CASE("the client log refuses to be changed or shortened") {
  Db d;
  d.ok(R"({"op":"client.add","company":"Ромашка"})");
  CHECK_THROWS(d.db.exec("UPDATE client_log SET actor = 'x'"));
  CHECK_THROWS(d.db.exec("DELETE FROM client_log"));
  CHECK(d.count("client_log") == 1);
  auto guards = crm_guard_triggers();
  REQUIRE(guards.size() == 2);
  for (const auto& [name, sql] : guards) {
    SQLite::Statement q(d.db, "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?1");
    q.bind(1, name);
    REQUIRE(q.executeStep());
    CHECK(q.getColumn(0).getString() == sql);
  }
}

TEST_CASE("find matches loosely on company, contact and phone, best first and ties by id") {
  Db d;
  d.ok(R"({"op":"client.add","company":"ООО «Ромашка»","contact":"Петров Пётр","phone":"+7 (495) 123-45-67"})");
  d.ok(R"({"op":"client.add","company":"Ромашка-Плюс","contact":"Сидоров"})");
  d.ok(R"({"op":"client.add","company":"АО Север","contact":"Иванова Анна","phone":"8 812 000-11-22"})");
  SqliteClientBook book(d.db);

  auto m = book.find("ромашка ооо", 10);
  REQUIRE(m.ok());
  REQUIRE_FALSE(m->empty());
  CHECK(m->front().client.id == 1);
  CHECK(m->front().score == doctest::Approx(1.0));
  for (const ClientMatch& x : *m) CHECK(x.score > 0.5);
  for (size_t i = 1; i < m->size(); ++i) CHECK((*m)[i - 1].score >= (*m)[i].score);

  auto by_phone = book.find("4951234567", 10);
  REQUIRE(by_phone.ok());
  REQUIRE_FALSE(by_phone->empty());
  CHECK(by_phone->front().client.id == 1);

  auto none = book.find("Лютик", 10);
  REQUIRE(none.ok());
  CHECK(none->empty());

  auto one = book.find("ромашка", 1);
  REQUIRE(one.ok());
  CHECK(one->size() == 1);
}

TEST_CASE("find through the search index answers what scoring every client answers") {
  // Clients of random names, contacts and phones, updated now and then;
  // queries with typos, prefixes, several words and phones. The index must
  // change nothing: the same clients, scores and order as a scan.
  Db d;
  const std::vector<std::string> words = {"Ромашка", "Ромашко", "Иванов", "Иван", "Петров", "Пётр", "Клиент",
                                          "Торговый", "дом", "ООО", "Ёлка", "Север", "Юг", "Лютик", "Одуванчик",
                                          "Romashka", "5", "12", "777", "Москва", "Ленина", "Васильев"};
  const std::vector<std::string> phones = {"", "+7 (495) 123-45-67", "8 812 000-11-22 доб. 7", "12345",
                                           "4951234567; 89161112233"};
  std::mt19937 rng(20261202);
  auto pick = [&](const std::vector<std::string>& from) { return from[rng() % from.size()]; };
  auto name = [&](size_t at_least, size_t more) {
    std::string out;
    for (size_t k = at_least + rng() % more; k > 0; --k) out += pick(words) + " ";
    return out;
  };
  auto text = [](const std::string& s) { return Json(s).dump(); };
  for (int i = 0; i < 300; ++i) {
    const std::string company = name(1, 3) + std::to_string(i);  // unique: the company key must be
    d.ok(fmt::format(R"({{"op":"client.add","company":{},"contact":{},"phone":{}}})", text(company),
                     text(name(0, 3)), text(pick(phones))));
  }
  for (int i = 0; i < 60; ++i) {
    const int64_t id = 1 + static_cast<int64_t>(rng() % 300);
    const char* field = i % 3 == 0 ? "contact" : i % 3 == 1 ? "phone" : "company";
    const std::string value = i % 3 == 1 ? pick(phones) : name(1, 2) + "u" + std::to_string(i);
    d.ok(fmt::format(R"({{"op":"client.update","client":{},"{}":{}}})", id, field, text(value)));
  }
  SqliteClientBook book(d.db);
  auto all = book.clients();
  REQUIRE(all.ok());
  int answered = 0;
  for (int round = 0; round < 400; ++round) {
    std::string query;
    if (round % 5 == 0) {
      query = pick(phones);
      query = query.substr(query.size() / 3);
    } else {
      for (size_t k = 1 + rng() % 2; k > 0; --k) {
        std::string w = pick(words);
        if (rng() % 2 && w.size() > 4) w.erase(rng() % (w.size() / 2) * 2, 2);  // a Cyrillic letter dropped
        query += w + " ";
      }
    }
    std::vector<std::pair<double, int64_t>> expected;
    const NameMatcher scan(query, false);
    for (const Client& c : *all) {
      const double s = scan.score_key(normalize_company(c.company), c.contact, c.phone);
      if (s > 0.5) expected.emplace_back(-s, c.id);
    }
    std::sort(expected.begin(), expected.end());
    auto found = book.find(query, 0);
    REQUIRE(found.ok());
    CAPTURE(query);
    REQUIRE(found->size() == expected.size());
    for (size_t k = 0; k < expected.size(); ++k) {
      CHECK((*found)[k].client.id == expected[k].second);
      CHECK((*found)[k].score == -expected[k].first);
    }
    answered += !expected.empty();
  }
  CHECK(answered > 100);
}

TEST_CASE("rows refuses an unknown table and a client for the report entries") {
  Db d;
  SqliteClientBook book(d.db);
  auto bad = book.rows("orders", 0);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().code == ErrorCode::invalid);
  auto reports = book.rows("reports", 3);
  REQUIRE_FALSE(reports.ok());
  CHECK(reports.error().code == ErrorCode::invalid);
  auto clients = book.clients();
  REQUIRE(clients.ok());
  CHECK(clients->empty());
  auto none = book.client(5);
  REQUIRE(none.ok());
  CHECK_FALSE(none->has_value());
}

TEST_CASE("abc volumes sum accepted and done requests of the period, by the form's date or the day recorded") {
  Db d;
  d.ok(R"({"op":"client.add","company":"Альфа"})");
  d.ok(R"({"op":"client.add","company":"Бета"})");
  d.ok(R"({"op":"client.add","company":"Гамма"})");
  d.ok(R"({"op":"request.add","client":1,"volume":100,"date":"2026-01-10"})");
  d.ok(R"({"op":"request.add","client":1,"volume":50,"date":"2026-02-01","status":"done"})");
  d.ok(R"({"op":"request.add","client":1,"volume":1000,"date":"2026-01-15","status":"cancelled"})");
  d.ok(R"({"op":"request.add","client":2,"volume":30,"date":"2025-12-31"})");
  d.ctx.at = "2026-01-20T12:00:00+03:00";
  d.ok(R"({"op":"request.add","client":2,"volume":7})");  // no date: the day it was recorded
  d.ok(R"({"op":"request.add","client":2,"volume":3,"date":""})");

  auto volume_of = [](const std::vector<AbcInput>& v, int64_t client) {
    for (const AbcInput& in : v)
      if (in.client == client) return in.volume;
    FAIL("client " << client << " missing");
    return -1.0;
  };
  auto all = crm_abc_volumes(d.db, "", "");
  REQUIRE(all.ok());
  REQUIRE(all->size() == 3);
  CHECK(volume_of(*all, 1) == 150);
  CHECK(volume_of(*all, 2) == 40);
  CHECK(volume_of(*all, 3) == 0);

  auto jan = crm_abc_volumes(d.db, "2026-01-01", "2026-02-01");  // the upper bound is excluded
  REQUIRE(jan.ok());
  CHECK(volume_of(*jan, 1) == 100);
  CHECK(volume_of(*jan, 2) == 10);
  CHECK(volume_of(*jan, 3) == 0);

  auto from = crm_abc_volumes(d.db, "2026-02-01", "");
  REQUIRE(from.ok());
  CHECK(volume_of(*from, 1) == 50);
  CHECK(volume_of(*from, 2) == 0);

  auto bad = crm_abc_volumes(d.db, "январь", "");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().code == ErrorCode::invalid);
}

// ---- through SqliteStore ------------------------------------------------------------

std::unique_ptr<SqliteStore> open_store() {
  auto s = SqliteStore::open(":memory:");
  REQUIRE(s.ok());
  SQLite::Database& db = storage_internal::connection(**s);
  // Until the schema creates the client tables itself.
  if (!db.tableExists("clients")) db.exec(kCrmSchema);
  return std::move(s).value();
}

TEST_CASE("record_clients applies a person's records in one transaction, all or nothing") {
  auto store = open_store();
  const std::string at = "2026-11-23T10:00:00+03:00";
  auto ids = store->record_clients({rec(R"({"op":"client.add","company":"ООО «Ромашка»"})"),
                                    rec(R"({"op":"client.add","company":"АО Север"})"),
                                    rec(R"({"op":"request.add","company":"Север","volume":10,"date":"2026-11-01"})")},
                                   at, "petrov");
  REQUIRE_MESSAGE(ids.ok(), ids.error().message);
  CHECK(*ids == std::vector<int64_t>{1, 2, 1});

  SQLite::Database& db = storage_internal::connection(*store);
  CHECK(db.execAndGet("SELECT count(*) FROM client_log WHERE actor = 'petrov' AND at = '" + at + "'").getInt() == 3);

  // The third record fails: the first two are not written either.
  auto failed = store->record_clients({rec(R"({"op":"client.add","company":"Лютик"})"),
                                       rec(R"({"op":"contact.add","client":1,"kind":"call"})"),
                                       rec(R"({"op":"client.classify","client":99,"class":"A"})")},
                                      at, "petrov");
  REQUIRE_FALSE(failed.ok());
  CHECK(failed.error().code == ErrorCode::not_found);
  CHECK(failed.error().message == "record 3 of 3: no client 99");
  CHECK(db.execAndGet("SELECT count(*) FROM clients").getInt() == 2);
  CHECK(db.execAndGet("SELECT count(*) FROM contacts").getInt() == 0);
  CHECK(db.execAndGet("SELECT count(*) FROM client_log").getInt() == 3);

  // A single record's error is its own sentence.
  auto dup = store->record_clients({rec(R"({"op":"client.add","company":"Ромашка"})")}, at, "petrov");
  REQUIRE_FALSE(dup.ok());
  CHECK(dup.error().code == ErrorCode::conflict);
  CHECK(dup.error().message == "client 1 already has that name (\"ООО «Ромашка»\")");

  // Reads see the committed rows; a later write is not blocked by them.
  const ClientBook& book = store->clients();
  auto all = book.clients();
  REQUIRE(all.ok());
  REQUIRE(all->size() == 2);
  CHECK((*all)[1].company == "АО Север");
  auto found = book.find("ромашка ооо", 5);
  REQUIRE(found.ok());
  REQUIRE_FALSE(found->empty());
  CHECK(found->front().client.company == "ООО «Ромашка»");
  REQUIRE(store->record_clients({rec(R"({"op":"client.update","client":1,"vip":true})")}, at, "petrov").ok());
  auto one = book.client(1);
  REQUIRE(one.ok());
  CHECK((*one)->vip);

  auto volumes = store->abc_volumes("2026-11-01", "2026-12-01");
  REQUIRE(volumes.ok());
  REQUIRE(volumes->size() == 2);
  CHECK((*volumes)[0].volume == 0);
  CHECK((*volumes)[1].volume == 10);
  auto bad = store->abc_volumes("2026-13", "");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().code == ErrorCode::invalid);
}

TEST_CASE("client_json gives every field by its name, vip as a bool, and effective_vip") {
  Client c;
  c.id = 7;
  c.company = "ООО «Ромашка»";
  c.abc_class = "A";
  c.next_contact = "2026-12-01";
  Json j = client_json(c);
  CHECK(j.integer("id") == 7);
  CHECK(j.str("company") == "ООО «Ромашка»");
  CHECK(j.get("vip") == Json(false));
  CHECK(j.get("effective_vip") == Json(true));
  CHECK(j.str("abc_class") == "A");
  CHECK(j.str("next_contact") == "2026-12-01");
  for (const char* key : {"contact", "phone", "email", "regular_since", "abc_at", "manager", "notes", "created_at",
                          "updated_at"})
    CHECK_MESSAGE(j.has(key), key);
}

}  // namespace
}  // namespace reglament
