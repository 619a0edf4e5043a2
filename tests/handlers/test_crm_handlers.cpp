// The client-database handlers (handlers/crm.h) against an in-memory
// ClientBook: what each one sets, writes and starts for a small database of
// six customers.
//
// The moment of every run is Friday 2026-12-04 15:00 (+03:00), so "next
// week" is Monday 2026-12-07 .. Sunday 2026-12-13; the calendar is Monday to
// Friday in the fixed zone +03:00.

#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/calendar.h"
#include "engine/crm.h"
#include "engine/handler.h"
#include "engine/json.h"
#include "engine/names.h"
#include "handlers/crm.h"

using namespace reglament;

namespace {

// ---- An in-memory client database --------------------------------------------

class FakeBook : public ClientBook {
 public:
  std::vector<Client> list;                           // by id
  std::map<std::string, std::vector<CrmRow>> tables;  // "contacts", "requests", ...
  bool broken = false;                                // every read fails

  Result<std::vector<Client>> clients() const override {
    if (broken) return fail();
    return list;
  }
  Result<std::optional<Client>> client(int64_t id) const override {
    if (broken) return fail();
    for (const auto& c : list)
      if (c.id == id) return std::optional<Client>(c);
    return std::optional<Client>();
  }
  Result<std::vector<ClientMatch>> find(std::string_view query, int limit) const override {
    if (broken) return fail();
    std::vector<ClientMatch> out;
    for (const auto& c : list) {
      double score = match_score(query, c.company, c.contact, c.phone);
      if (score > 0) out.push_back({c, score});
    }
    std::sort(out.begin(), out.end(), [](const ClientMatch& a, const ClientMatch& b) {
      return a.score != b.score ? a.score > b.score : a.client.id < b.client.id;
    });
    if (static_cast<int>(out.size()) > limit) out.resize(limit);
    return out;
  }
  Result<std::vector<CrmRow>> rows(std::string_view table, int64_t client) const override {
    if (broken) return fail();
    std::vector<CrmRow> out;
    auto it = tables.find(std::string(table));
    if (it == tables.end()) return out;
    for (const auto& row : it->second)
      if (client == 0 || row.client == client) out.push_back(row);
    return out;
  }

 private:
  static Error fail() { return make_error(ErrorCode::internal, "the database is locked"); }
};

Client make_client(int64_t id, std::string company, std::string contact, std::string phone, std::string manager,
                   std::string abc, std::string next_contact, bool vip = false) {
  Client c;
  c.id = id;
  c.company = std::move(company);
  c.contact = std::move(contact);
  c.phone = std::move(phone);
  c.manager = std::move(manager);
  c.abc_class = std::move(abc);
  c.next_contact = std::move(next_contact);
  c.vip = vip;
  return c;
}

CrmRow row(int64_t id, int64_t client, Json fields) { return CrmRow{id, client, fields.as_object()}; }

Json parse(const std::string& text) {
  auto j = parse_json(text);
  REQUIRE_MESSAGE(j.ok(), text);
  return *j;
}

// The six customers, their contacts, requests, complaints and open items.
FakeBook fixture() {
  FakeBook b;
  b.list = {
      // Class A, contacted recently, a call planned on Saturday 12-12.
      make_client(1, "ООО «Ромашка»", "Иванов Иван", "+7 (495) 123-45-67", "petrov", "A", "2026-12-12"),
      // Class A, not contacted since October, a call planned on Wednesday.
      make_client(2, "АО «Лютик»", "Смирнова Анна", "+7 812 555-00-11", "petrov", "A", "2026-12-09"),
      make_client(3, "ИП Сидоров", "", "8 (903) 111-22-33", "ivanova", "B", "2026-12-08"),
      // A VIP by the person's flag, with an open debt and an open question.
      make_client(4, "ЗАО «Василёк»", "Кузнецов Пётр", "", "ivanova", "C", "", true),
      // Everything wrong: no manager, no contact, a missed call; an open complaint.
      make_client(5, "ООО «Тюльпан»", "", "", "", "", "2026-11-20"),
      // Class A, contacted 24 days ago; the same phone as client 1.
      make_client(6, "ООО «Незабудка»", "Петров", "8 495 1234567", "petrov", "A", ""),
  };
  b.tables["contacts"] = {
      row(1, 1, parse(R"({"at":"2026-11-30T10:00:00+03:00","kind":"call","instance":"i-1"})")),
      row(2, 2, parse(R"({"at":"2026-10-01T10:00:00+03:00","kind":"call","instance":"i-2"})")),
      row(3, 6, parse(R"({"at":"2026-11-10T12:00:00+03:00","kind":"visit","instance":"i-6"})")),
      row(4, 3, parse(R"({"at":"2026-12-04T15:00:00+03:00","kind":"visit","instance":null})")),
      row(5, 4, parse(R"({"at":"2026-12-02T06:00:00+00:00","kind":"agent","instance":"i-4"})")),
      row(6, 5, parse(R"({"at":"2026-11-27T15:00:00+03:00","kind":"complaint","instance":"i-5"})")),
  };
  b.tables["requests"] = {
      row(1, 1, parse(R"({"status":"accepted","delivery_date":"2026-12-08","volume":10})")),
      row(2, 3, parse(R"({"status":"accepted","delivery_date":"2026-12-14","volume":7})")),
      row(3, 2, parse(R"({"status":"cancelled","delivery_date":"2026-12-09","volume":5})")),
      row(4, 4, parse(R"({"status":"accepted","delivery_date":"2026-12-07","volume":3.5})")),
      row(5, 6, parse(R"({"status":"accepted","volume":1})")),
  };
  b.tables["complaints"] = {
      row(1, 5, parse(R"({"status":"open","substance":"Недовес","instance":"i-5"})")),
      row(2, 6, parse(R"({"status":"resolved","substance":"Опоздание","instance":"i-6"})")),
      row(3, 5, parse(R"({"status":"open","substance":"Повреждена упаковка","instance":"i-5"})")),
  };
  b.tables["items"] = {
      row(1, 4, parse(R"({"kind":"debt","text":"Долг за ноябрь","amount":15000,"closed_at":null})")),
      row(2, 4, parse(R"({"kind":"question","text":"Сверка","closed_at":"2026-12-01T10:00:00+03:00"})")),
      row(3, 4, parse(R"({"kind":"question","text":"Уточнить адрес доставки","closed_at":""})")),
  };
  return b;
}

WorkingCalendar moscow() {
  WorkingCalendar cal = default_calendar();
  cal.zone = TimeZone::fixed(3 * 3600, "+03:00");
  return cal;
}

int64_t day(const std::string& text) { return *crm_internal::parse_day(text); }

// Runs a handler the way the runtime does.
struct Run {
  std::unique_ptr<TaskHandler> handler;
  Json with = Json::object();
  JsonObject variables;
  const ClientBook* book = nullptr;
  WorkingCalendar calendar = moscow();
  std::string at = "2026-12-04T15:00:00+03:00";

  HandlerResult operator()() const {
    HandlerCall call;
    call.instance = "i-42";
    call.process = "test";
    call.step = "3.9.9";
    call.job = "job-1";
    call.with = &with;
    call.variables = &variables;
    call.at = at;
    call.clients = book;
    call.calendar = &calendar;
    return handler->run(call);
  }
};

Run run_of(std::unique_ptr<TaskHandler> h, const FakeBook& book, const std::string& with = "{}",
           const std::string& variables = "{}") {
  Run r;
  r.handler = std::move(h);
  r.with = parse(with);
  r.variables = parse(variables).as_object();
  r.book = &book;
  return r;
}

std::string dump(const JsonArray& a) { return Json(a).dump(); }
std::string out(const HandlerResult& r, const std::string& name) {
  auto it = r.outputs.find(name);
  return it == r.outputs.end() ? "<unset>" : it->second.dump();
}

}  // namespace

// ---- clients.find ---------------------------------------------------------------

TEST_CASE("clients.find matches a customer however the legal form and quotes are written") {
  FakeBook book = fixture();
  // given a customer written the other way round, when it is looked up
  auto r = run_of(make_clients_find_handler(), book, "{}", R"({"client":"ромашка ооо"})")();
  // then it is known, with its id, name and manager
  REQUIRE(r.ok);
  CHECK(out(r, "known") == "true");
  CHECK(out(r, "client_id") == "1");
  CHECK(out(r, "client_name") == "\"ООО «Ромашка»\"");
  CHECK(out(r, "client_manager") == "\"petrov\"");
  CHECK(out(r, "vip") == "<unset>");
  CHECK(r.records.empty());
  CHECK(r.messages.empty());
}

TEST_CASE("clients.find says unknown, with null details, for a customer not in the database") {
  FakeBook book = fixture();
  auto r = run_of(make_clients_find_handler(), book, "{}", R"({"client":"Рога и копыта"})")();
  REQUIRE(r.ok);
  CHECK(out(r, "known") == "false");
  CHECK(out(r, "client_id") == "null");
  CHECK(out(r, "client_name") == "null");
  CHECK(out(r, "client_manager") == "null");
}

TEST_CASE("clients.find counts a partial match as known only above min_score") {
  FakeBook book = fixture();
  // given a prefix of a name: below the default 0.9
  auto strict = run_of(make_clients_find_handler(), book, "{}", R"({"client":"Ромаш"})")();
  CHECK(out(strict, "known") == "false");
  // when min_score is lowered (written in YAML, so as text), then it is known
  auto loose = run_of(make_clients_find_handler(), book, R"({"min_score":"0.2"})", R"({"client":"Ромаш"})")();
  CHECK(out(loose, "known") == "true");
  CHECK(out(loose, "client_id") == "1");
  // a query template other than {client}
  auto by_phone = run_of(make_clients_find_handler(), book, R"({"query":"{phone}"})", R"({"phone":"8 812 5550011"})")();
  CHECK(out(by_phone, "client_id") == "2");
}

TEST_CASE("clients.find with set_vip sets vip from the database unless the instance already holds one") {
  FakeBook book = fixture();
  auto vip_of = [&](const std::string& variables) {
    return out(run_of(make_clients_find_handler(), book, R"({"set_vip":"true"})", variables)(), "vip");
  };
  CHECK(vip_of(R"({"client":"Василек"})") == "true");             // the person's flag (ё read as е)
  CHECK(vip_of(R"({"client":"Ромашка"})") == "true");             // class A counts as VIP
  CHECK(vip_of(R"({"client":"ИП Сидоров"})") == "false");         // class B, no flag
  CHECK(vip_of(R"({"client":"Рога и копыта"})") == "false");      // not known
  CHECK(vip_of(R"({"client":"Ромашка","vip":null})") == "true");  // null counts as not given
  // a person who said "not VIP" at the start is right
  CHECK(vip_of(R"({"client":"Ромашка","vip":false})") == "<unset>");

  auto h = make_clients_find_handler();
  CHECK(h->outputs(parse(R"({"set_vip":true})")) ==
        std::vector<std::string>{"known", "client_id", "client_name", "client_manager", "vip"});
  CHECK(h->outputs(parse("{}")) == std::vector<std::string>{"known", "client_id", "client_name", "client_manager"});
}

// ---- clients.add ----------------------------------------------------------------

TEST_CASE("clients.add writes one client.add record for a new customer, dated by the local day") {
  FakeBook book = fixture();
  auto run = run_of(make_clients_add_handler(), book,
                    R"({"contact":"{contact_person}","phone":"+7 900 000-00-00","email":"{email}"})",
                    R"({"client":"ООО «Ландыш»","contact_person":"Орлов Олег"})");
  // 23:30 UTC is already Saturday in the calendar's zone (+03:00)
  run.at = "2026-12-04T23:30:00+00:00";
  auto r = run();
  REQUIRE(r.ok);
  CHECK(dump(r.records) ==
        parse(R"([{"op":"client.add","company":"ООО «Ландыш»","contact":"Орлов Олег","phone":"+7 900 000-00-00",)"
              R"("regular_since":"2026-12-05"}])")
            .dump());
  CHECK(out(r, "client_added") == "true");
  CHECK(out(r, "client_id") == "null");
}

TEST_CASE("clients.add writes nothing for a customer already there, and answers its id") {
  FakeBook book = fixture();
  auto r = run_of(make_clients_add_handler(), book, "{}", R"({"client":"ромашка ооо"})")();
  REQUIRE(r.ok);
  CHECK(r.records.empty());
  CHECK(out(r, "client_added") == "false");
  CHECK(out(r, "client_id") == "1");
  // a contact person's name is not the company
  auto other = run_of(make_clients_add_handler(), book, "{}", R"({"client":"Иванов Иван"})")();
  CHECK(out(other, "client_added") == "true");
  // an empty name is refused
  auto empty = run_of(make_clients_add_handler(), book, "{}", R"({"client":""})")();
  CHECK_FALSE(empty.ok);
  CHECK(empty.error == "clients.add: the company name `{client}` renders to nothing");
}

// ---- clients.record -------------------------------------------------------------

TEST_CASE("clients.record writes the contact, the next contact and the request of a known customer") {
  FakeBook book = fixture();
  auto r = run_of(make_clients_record_handler(), book, R"({"kind":"call","note":"Звонок: {outcome}","request":"true"})",
                  R"({"client_id":3,"client":"ИП Сидоров","outcome":"order","next_contact":"2026-12-20",)"
                  R"("date":"2026-12-04","company":"ИП Сидоров","contact_person":"Сидоров","volume":12.5,)"
                  R"("delivery_date":"2026-12-10","delivery":"pickup","delivery_place":null,"vip":false})")();
  REQUIRE(r.ok);
  CHECK(
      dump(r.records) ==
      parse(R"([{"op":"contact.add","client":3,"kind":"call","note":"Звонок: order","instance":"i-42","step":"3.9.9"},)"
            R"({"op":"client.update","client":3,"next_contact":"2026-12-20"},)"
            R"({"op":"request.add","client":3,"instance":"i-42","status":"accepted","date":"2026-12-04",)"
            R"("company":"ИП Сидоров","contact_person":"Сидоров","volume":12.5,"delivery_date":"2026-12-10",)"
            R"("delivery":"pickup"}])")
          .dump());
  CHECK(r.outputs.empty());
}

TEST_CASE("clients.record finds the customer by name and writes no request after a refusal") {
  FakeBook book = fixture();
  auto r = run_of(make_clients_record_handler(), book, R"({"kind":"call","request":true})",
                  R"({"client":"Лютик АО","outcome":"refusal","refusal_reason":"Дорого"})")();
  REQUIRE(r.ok);
  CHECK(dump(r.records) ==
        parse(R"([{"op":"contact.add","client":2,"kind":"call","instance":"i-42","step":"3.9.9"}])").dump());
}

TEST_CASE("clients.record adds a new customer first and names it by company in every record") {
  FakeBook book = fixture();
  auto r = run_of(make_clients_record_handler(), book, R"({"kind":"complaint","complaint":"true"})",
                  R"({"client":"ООО «Ландыш»","company":"Ландыш","contact_person":"Орлов","substance":"Брак",)"
                  R"("result":"needs-time","needs_legal":false,"resolved":true})")();
  REQUIRE(r.ok);
  CHECK(dump(r.records) ==
        parse(R"([{"op":"client.add","company":"ООО «Ландыш»","contact":"Орлов","regular_since":"2026-12-04"},)"
              R"({"op":"contact.add","company":"ООО «Ландыш»","kind":"complaint","instance":"i-42","step":"3.9.9"},)"
              R"({"op":"complaint.add","company":"ООО «Ландыш»","contact_person":"Орлов","substance":"Брак",)"
              R"("result":"needs-time","needs_legal":false,"instance":"i-42","status":"resolved"}])")
            .dump());
}

TEST_CASE("clients.record writes an open complaint while it is not resolved") {
  FakeBook book = fixture();
  auto r = run_of(make_clients_record_handler(), book, R"({"kind":"complaint","complaint":true})",
                  R"({"client_id":5,"substance":"Недовес","result":"needs-time","needs_legal":true})")();
  REQUIRE(r.ok);
  REQUIRE(r.records.size() == 2);
  CHECK(r.records[1].str("op") == "complaint.add");
  CHECK(r.records[1].str("status") == "open");
  CHECK(r.records[1].integer("client") == 5);
}

TEST_CASE("clients.record fails for a client id that is not in the database, or no customer at all") {
  FakeBook book = fixture();
  auto missing = run_of(make_clients_record_handler(), book, R"({"kind":"call"})", R"({"client_id":99})")();
  CHECK_FALSE(missing.ok);
  CHECK(missing.error == "clients.record: client 99 (the variable `client_id`) is not in the client database");
  auto none = run_of(make_clients_record_handler(), book, R"({"kind":"call"})", "{}")();
  CHECK_FALSE(none.ok);
  CHECK(none.error == "clients.record: the instance names no customer: neither `client_id` nor `client` is set");
  auto bad_date = run_of(make_clients_record_handler(), book, R"({"kind":"call"})",
                         R"({"client_id":1,"next_contact":"в понедельник"})")();
  CHECK_FALSE(bad_date.ok);
  CHECK(bad_date.error == "clients.record: the variable `next_contact` holds \"в понедельник\", not a date YYYY-MM-DD");
}

// ---- requests.add, complaints.resolve ------------------------------------------

TEST_CASE("requests.add writes the request alone, with the status asked for") {
  FakeBook book = fixture();
  auto r = run_of(
      make_requests_add_handler(), book, R"({"status":"planned"})",
      R"({"client":"Ромашка","volume":4,"delivery":"delivery","delivery_place":"Склад 2","next_contact":"2026-12-20"})")();
  REQUIRE(r.ok);
  CHECK(dump(r.records) == parse(R"([{"op":"request.add","client":1,"volume":4,"delivery":"delivery",)"
                                 R"("delivery_place":"Склад 2","instance":"i-42","status":"planned"}])")
                               .dump());
  auto none = run_of(make_requests_add_handler(), book, "{}", R"({"client":"Ромашка"})")();
  CHECK_FALSE(none.ok);
  CHECK(none.error == "requests.add: the instance holds no request (form 7.3): `volume` is not set");
}

TEST_CASE("complaints.resolve resolves the open complaints of this instance only") {
  FakeBook book = fixture();
  auto run = run_of(make_complaints_resolve_handler(), book, "{}", R"({"client":"ООО «Тюльпан»"})");
  // this instance has none
  auto r = run();
  REQUIRE(r.ok);
  CHECK(r.records.empty());
  CHECK(out(r, "complaints_resolved") == "0");
  // i-5 has two open complaints; i-6's is resolved already
  book.tables["complaints"][0].fields["instance"] = Json("i-42");
  book.tables["complaints"][1].fields["instance"] = Json("i-42");
  book.tables["complaints"][2].fields["instance"] = Json("i-42");
  r = run();
  CHECK(dump(r.records) == parse(R"([{"op":"complaint.update","complaint":1,"status":"resolved"},)"
                                 R"({"op":"complaint.update","complaint":3,"status":"resolved"}])")
                               .dump());
  CHECK(out(r, "complaints_resolved") == "2");
}

// ---- report.record --------------------------------------------------------------

TEST_CASE("report.record writes one line of the form, with the listed variables or all of them") {
  FakeBook book = fixture();
  auto listed =
      run_of(make_report_record_handler(), book, R"({"form":"calls","fields":["client","outcome","missing"]})",
             R"({"client":"Ромашка","outcome":"order","volume":3})")();
  REQUIRE(listed.ok);
  CHECK(dump(listed.records) ==
        parse(R"([{"op":"report.add","form":"calls","values":{"client":"Ромашка","outcome":"order","missing":null},)"
              R"("instance":"i-42","step":"3.9.9"}])")
            .dump());
  auto all = run_of(make_report_record_handler(), book, R"({"form":"calls"})", R"({"client":"Ромашка","volume":3})")();
  CHECK(all.records[0].get("values").dump() == R"({"client":"Ромашка","volume":3})");
}

// ---- calls.plan -----------------------------------------------------------------

TEST_CASE("calls.plan lists next week's calls: planned, class A not called for a month, open questions") {
  FakeBook book = fixture();
  auto r = run_of(make_calls_plan_handler(), book)();
  REQUIRE(r.ok);
  // 2: class A, last called in October (its Wednesday call comes later, so Monday wins)
  // 4: an open debt; 5: open complaints; 3: planned on Tuesday;
  // 1: planned on Saturday, which is not a working day, and Sunday is not
  //    either: the week's last working day, Friday.
  // 6: class A, called 24 days before Monday: not yet.
  CHECK(out(r, "call_list") ==
        parse(R"([{"client_id":2,"client":"АО «Лютик»","call_on":"2026-12-07","reason":"a-class"},)"
              R"({"client_id":4,"client":"ЗАО «Василёк»","call_on":"2026-12-07","reason":"open-question"},)"
              R"({"client_id":5,"client":"ООО «Тюльпан»","call_on":"2026-12-07","reason":"open-question"},)"
              R"({"client_id":3,"client":"ИП Сидоров","call_on":"2026-12-08","reason":"planned"},)"
              R"({"client_id":1,"client":"ООО «Ромашка»","call_on":"2026-12-11","reason":"planned"}])")
            .dump());
  CHECK(out(r, "calls") == "5");
  // one outbound call started per entry, with the entry as its variables
  REQUIRE(r.starts.size() == 5);
  CHECK(r.starts[0].dump() == parse(R"({"process":"outbound-call","variables":{"client_id":2,"client":"АО «Лютик»",)"
                                    R"("call_on":"2026-12-07","reason":"a-class"}})")
                                  .dump());
  CHECK(r.messages.empty());
  CHECK(r.records.empty());
}

TEST_CASE("calls.plan takes the A-class gap and the process to start from with:") {
  FakeBook book = fixture();
  auto r =
      run_of(make_calls_plan_handler(), book, R"({"a_class_gap":"20d","process":"call-back","window":"calling"})")();
  REQUIRE(r.ok);
  // 6 was called 27 days before Monday: more than 20 days
  CHECK(out(r, "calls") == "6");
  CHECK(r.outputs["call_list"].as_array()[3].dump() ==
        parse(R"({"client_id":6,"client":"ООО «Незабудка»","call_on":"2026-12-07","reason":"a-class"})").dump());
  CHECK(r.starts[0].str("process") == "call-back");
  // a bare number is days
  auto days = run_of(make_calls_plan_handler(), book, R"({"a_class_gap":"20"})")();
  CHECK(out(days, "calls") == "6");
  // an A client never contacted is called
  book.tables["contacts"].clear();
  auto never = run_of(make_calls_plan_handler(), book)();
  CHECK(out(never, "calls") == "6");
  CHECK(never.outputs["call_list"].as_array()[0].str("reason") == "a-class");  // 1 on Monday now
  CHECK(never.outputs["call_list"].as_array()[0].integer("client_id") == 1);
}

TEST_CASE("calls.plan moves calls off holidays and onto moved working days") {
  FakeBook book = fixture();
  auto run = run_of(make_calls_plan_handler(), book);

  SUBCASE("a holiday on Monday makes Tuesday the first day, and a worked Sunday takes Saturday's call") {
    run.calendar.holidays.insert(day("2026-12-07"));
    run.calendar.extra_working_days.insert(day("2026-12-13"));
    auto r = run();
    REQUIRE(r.ok);
    std::vector<std::string> got;
    for (const auto& e : r.outputs["call_list"].as_array())
      got.push_back(std::to_string(e.integer("client_id")) + " " + e.str("call_on") + " " + e.str("reason"));
    CHECK(got == std::vector<std::string>{"2 2026-12-08 a-class", "3 2026-12-08 planned", "4 2026-12-08 open-question",
                                          "5 2026-12-08 open-question", "1 2026-12-13 planned"});
  }
  SUBCASE("a planned call on a holiday moves to the next working day") {
    run.calendar.holidays.insert(day("2026-12-08"));
    auto r = run();
    REQUIRE(r.ok);
    CHECK(r.outputs["call_list"].as_array()[3].dump() ==
          parse(R"({"client_id":3,"client":"ИП Сидоров","call_on":"2026-12-09","reason":"planned"})").dump());
  }
  SUBCASE("a run on Monday plans the week after, not the current one") {
    run.at = "2026-11-30T09:00:00+03:00";
    auto r = run();
    REQUIRE(r.ok);
    // next week is 12-07..12-13 again: the same list
    CHECK(out(r, "calls") == "5");
  }
  SUBCASE("the local date decides the week: Sunday 23:30 UTC is already Monday in Moscow") {
    run.at = "2026-12-06T23:30:00+00:00";  // Monday 12-07 02:30 +03:00
    auto r = run();
    REQUIRE(r.ok);
    // next week is 12-14..12-20: only the open questions and A-class are left
    CHECK(out(r, "calls") == "4");
    for (const auto& e : r.outputs["call_list"].as_array()) CHECK(e.str("call_on") == "2026-12-14");
  }
}

// ---- clients.review, requests.planned, clients.issues --------------------------

TEST_CASE("clients.review lists the contacts of the last days, oldest first") {
  FakeBook book = fixture();
  auto r = run_of(make_clients_review_handler(), book)();
  REQUIRE(r.ok);
  // (11-27 15:00, 12-04 15:00]: 11-27 15:00 itself is out, 12-04 15:00 in
  CHECK(
      out(r, "week_records") ==
      parse(
          R"([{"client_id":1,"client":"ООО «Ромашка»","kind":"call","at":"2026-11-30T10:00:00+03:00","instance":"i-1"},)"
          R"({"client_id":4,"client":"ЗАО «Василёк»","kind":"agent","at":"2026-12-02T06:00:00+00:00","instance":"i-4"},)"
          R"({"client_id":3,"client":"ИП Сидоров","kind":"visit","at":"2026-12-04T15:00:00+03:00","instance":null}])")
          .dump());
  CHECK(out(r, "records") == "3");
  auto month = run_of(make_clients_review_handler(), book, R"({"days":"30"})")();
  CHECK(out(month, "records") == "5");
}

TEST_CASE("requests.planned lists the accepted requests delivered next week") {
  FakeBook book = fixture();
  auto r = run_of(make_requests_planned_handler(), book)();
  REQUIRE(r.ok);
  CHECK(out(r, "planned_requests") ==
        parse(R"([{"request":4,"client_id":4,"client":"ЗАО «Василёк»","volume":3.5,"delivery_date":"2026-12-07"},)"
              R"({"request":1,"client_id":1,"client":"ООО «Ромашка»","volume":10,"delivery_date":"2026-12-08"}])")
            .dump());
  CHECK(out(r, "planned") == "2");
}

TEST_CASE("clients.issues lists open debts, questions and complaints by client") {
  FakeBook book = fixture();
  auto r = run_of(make_clients_issues_handler(), book)();
  REQUIRE(r.ok);
  CHECK(out(r, "issues") ==
        parse(R"([{"client_id":4,"client":"ЗАО «Василёк»","kind":"debt","text":"Долг за ноябрь","amount":15000},)"
              R"({"client_id":4,"client":"ЗАО «Василёк»","kind":"question","text":"Уточнить адрес доставки"},)"
              R"({"client_id":5,"client":"ООО «Тюльпан»","kind":"complaint","text":"Недовес"},)"
              R"({"client_id":5,"client":"ООО «Тюльпан»","kind":"complaint","text":"Повреждена упаковка"}])")
            .dump());
  CHECK(out(r, "issues_count") == "4");
}

// ---- clients.check --------------------------------------------------------------

TEST_CASE("clients.check finds every kind of problem and reports the state to the deputy director") {
  FakeBook book = fixture();
  // two more spellings of Ромашка: one with 1's phone, one with another phone
  book.list.push_back(make_client(7, "Ромашка ООО", "Иванов", "84951234567", "petrov", "", ""));
  book.list.push_back(make_client(8, "ООО Ромашка", "Иванов", "+7 916 000-00-01", "petrov", "", "2026-12-04"));
  auto r = run_of(make_clients_check_handler(), book)();
  REQUIRE(r.ok);
  std::vector<std::string> got;
  for (const auto& p : r.outputs["problems"].as_array())
    got.push_back(std::to_string(p.integer("client_id")) + ": " + p.str("problem"));
  CHECK(got == std::vector<std::string>{
                   "5: нет ответственного менеджера",
                   "5: нет контактного лица и телефона",
                   "5: запланированный контакт 2026-11-20 просрочен",
                   "6: дубликат клиента №1 (ООО «Ромашка»): совпадает телефон",
                   "7: дубликат клиента №1 (ООО «Ромашка»): совпадают название и телефон",
                   "7: дубликат клиента №6 (ООО «Незабудка»): совпадает телефон",
                   "8: дубликат клиента №1 (ООО «Ромашка»): совпадает название",
                   "8: дубликат клиента №7 (Ромашка ООО): совпадает название",
               });
  CHECK(out(r, "discrepancies") == "true");
  CHECK(out(r, "problems_count") == "8");
  REQUIRE(r.messages.size() == 1);
  CHECK(r.messages[0].str("to") == "deputy-director");
  CHECK(r.messages[0].str("text") ==
        "Клиентов в БД: 8; несоответствий: 8\n"
        "№5 ООО «Тюльпан»: нет ответственного менеджера\n"
        "№5 ООО «Тюльпан»: нет контактного лица и телефона\n"
        "№5 ООО «Тюльпан»: запланированный контакт 2026-11-20 просрочен\n"
        "№6 ООО «Незабудка»: дубликат клиента №1 (ООО «Ромашка»): совпадает телефон\n"
        "№7 Ромашка ООО: дубликат клиента №1 (ООО «Ромашка»): совпадают название и телефон\n"
        "№7 Ромашка ООО: дубликат клиента №6 (ООО «Незабудка»): совпадает телефон\n"
        "№8 ООО Ромашка: дубликат клиента №1 (ООО «Ромашка»): совпадает название\n"
        "№8 ООО Ромашка: дубликат клиента №7 (Ромашка ООО): совпадает название");
}

TEST_CASE("clients.check reports a clean database, and spells out at most ten problems") {
  FakeBook clean;
  clean.list = {make_client(1, "ООО «Ромашка»", "Иванов", "", "petrov", "A", "2026-12-04")};
  auto r = run_of(make_clients_check_handler(), clean, R"({"to":"director"})")();
  REQUIRE(r.ok);
  CHECK(out(r, "discrepancies") == "false");
  CHECK(out(r, "problems") == "[]");
  CHECK(r.messages[0].dump() == parse(R"({"to":"director","text":"Клиентов в БД: 1; несоответствий: 0"})").dump());

  FakeBook many;
  for (int i = 1; i <= 12; ++i)
    many.list.push_back(make_client(i, "Компания " + std::to_string(i), "Контакт", "", "", "", ""));
  auto m = run_of(make_clients_check_handler(), many)();
  std::string text = m.messages[0].str("text");
  CHECK(text.rfind("Клиентов в БД: 12; несоответствий: 12\n", 0) == 0);
  CHECK(std::count(text.begin(), text.end(), '\n') == 11);
  CHECK(text.substr(text.rfind('\n') + 1) == "… и ещё 2");
}

// ---- Parameters and failures ----------------------------------------------------

TEST_CASE("each handler names every problem with its with: in one sentence") {
  auto problems = [](std::unique_ptr<TaskHandler> h, const std::string& with) { return h->check(parse(with)); };
  using V = std::vector<std::string>;
  CHECK(problems(make_clients_find_handler(), R"({"querry":"{client}"})") ==
        V{"clients.find takes `query:`, `min_score:` and `set_vip:` in `with:`, not `querry:`"});
  CHECK(problems(make_clients_find_handler(), R"({"min_score":"2","set_vip":"yes"})") ==
        V{"clients.find: `set_vip:` must be true or false",
          "clients.find: `min_score:` must be a number greater than 0 and at most 1"});
  CHECK(problems(make_clients_add_handler(), R"({"company":["a"]})") ==
        V{"clients.add: `company:` must be non-empty text"});
  CHECK(problems(make_clients_record_handler(), "{}") == V{"clients.record needs `kind:` in `with:`"});
  CHECK(problems(make_clients_record_handler(), R"({"kind":"email","request":"1"})") ==
        V{"clients.record: `kind:` must be call, request, complaint, agent or visit, not \"email\"",
          "clients.record: `request:` must be true or false"});
  CHECK(problems(make_requests_add_handler(), R"({"state":"x"})") ==
        V{"requests.add takes `status:` in `with:`, not `state:`"});
  CHECK(problems(make_complaints_resolve_handler(), R"({"all":"true"})") ==
        V{"complaints.resolve takes nothing in `with:`, not `all:`"});
  CHECK(problems(make_report_record_handler(), R"({"fields":"client"})") ==
        V{"report.record needs `form:` in `with:`", "report.record: `fields:` must be a list of variable names"});
  CHECK(problems(make_calls_plan_handler(), R"({"a_class_gap":"month"})") ==
        V{"calls.plan: `a_class_gap:` must be a duration such as 30d, not \"month\""});
  CHECK(problems(make_clients_review_handler(), R"({"days":"0"})") ==
        V{"clients.review: `days:` must be a whole number of days above 0, not \"0\""});
  CHECK(problems(make_requests_planned_handler(), R"({"week":"next"})") ==
        V{"requests.planned takes nothing in `with:`, not `week:`"});
  CHECK(problems(make_clients_issues_handler(), "\"all\"") == V{"clients.issues needs a mapping in `with:`"});
  CHECK(problems(make_clients_check_handler(), R"({"to":""})") == V{"clients.check: `to:` must be non-empty text"});
  // and the defaults pass
  for (auto* make : {make_clients_find_handler, make_clients_add_handler, make_requests_add_handler,
                     make_complaints_resolve_handler, make_calls_plan_handler, make_clients_review_handler,
                     make_requests_planned_handler, make_clients_issues_handler, make_clients_check_handler})
    CHECK(make()->check(Json::object()).empty());
}

TEST_CASE("a handler run with a bad with: fails with the same sentence check() gives") {
  FakeBook book = fixture();
  auto r = run_of(make_calls_plan_handler(), book, R"({"a_class_gap":"month"})")();
  CHECK_FALSE(r.ok);
  CHECK(r.error == "calls.plan: `a_class_gap:` must be a duration such as 30d, not \"month\"");
}

TEST_CASE("every database handler fails without the database, on a read error, and on a bad moment") {
  FakeBook book = fixture();
  std::vector<std::pair<std::string, std::unique_ptr<TaskHandler>>> handlers;
  handlers.emplace_back(R"({"kind":"call"})", make_clients_record_handler());
  handlers.emplace_back("{}", make_clients_find_handler());
  handlers.emplace_back("{}", make_clients_add_handler());
  handlers.emplace_back("{}", make_requests_add_handler());
  handlers.emplace_back("{}", make_complaints_resolve_handler());
  handlers.emplace_back("{}", make_calls_plan_handler());
  handlers.emplace_back("{}", make_clients_review_handler());
  handlers.emplace_back("{}", make_requests_planned_handler());
  handlers.emplace_back("{}", make_clients_issues_handler());
  handlers.emplace_back("{}", make_clients_check_handler());
  for (auto& [with, h] : handlers) {
    Run run = run_of(std::move(h), book, with, R"({"client":"Ромашка","volume":1})");
    run.book = nullptr;
    auto r = run();
    CHECK_FALSE(r.ok);
    CHECK(r.error == "the client database is not available");

    FakeBook broken = fixture();
    broken.broken = true;
    run.book = &broken;
    r = run();
    CHECK_FALSE(r.ok);
    CHECK(r.error.find("the database is locked") != std::string::npos);
    h = std::move(run.handler);
  }
  auto bad_at = run_of(make_calls_plan_handler(), book);
  bad_at.at = "вчера";
  auto r = bad_at();
  CHECK_FALSE(r.ok);
  CHECK(r.error == "the moment of the run \"вчера\" is not ISO-8601 with an offset");
}

TEST_CASE("without a deployed calendar the local date is read in the offset of the moment") {
  FakeBook book = fixture();
  auto run = run_of(make_clients_add_handler(), book, "{}", R"({"client":"ООО «Ландыш»"})");
  run.at = "2026-12-04T23:30:00-05:00";  // Saturday 04:30 UTC
  HandlerCall call;
  call.with = &run.with;
  call.variables = &run.variables;
  call.at = run.at;
  call.clients = &book;
  auto r = run.handler->run(call);
  REQUIRE(r.ok);
  CHECK(r.records[0].str("regular_since") == "2026-12-04");
}
