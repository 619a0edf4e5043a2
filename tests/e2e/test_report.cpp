// `reglament report`: the regulation's indicators computed from a scenario
// driven through the binary at fixed moments (--now), checked against figures
// counted by hand; the CSV and JSON exports agree; a past period's report does
// not change when work goes on.
#include <algorithm>
#include <map>
#include <optional>

#include "tests/e2e/harness.h"

using namespace reglament;
using namespace reglament::e2e;

namespace {

// A valid value for a required form field.
std::string sample_value(const Json& field) {
  const std::string type = field.str("type");
  if (type == "number") return "12";
  if (type == "bool") return "false";
  if (type == "date") return "2026-12-01";
  if (type == "datetime") return "2026-11-23T10:30:00+03:00";
  if (type == "choice") return field.get("options").as_array().at(0).as_string();
  return "текст";
}

std::string start(Env& env, const std::string& when, const std::string& user, const std::string& process,
                  const std::string& client, std::vector<std::string> sets = {}) {
  env.now = when;
  std::vector<std::string> args{"start", process, "--set", "client=" + client};
  for (auto& s : sets) {
    args.push_back("--set");
    args.push_back(s);
  }
  return env.json(user, args).str("instance");
}

// `user` completes the open task of `step` in `instance` at `when`, filling
// every required field (`values` first).
void complete(Env& env, const std::string& when, const std::string& user, const std::string& instance,
              const std::string& step, const std::map<std::string, std::string>& values = {}) {
  env.now = when;
  Json inbox = env.json(user, {"inbox"});
  for (const auto& task : inbox.as_array()) {
    if (task.str("instance") != instance || task.str("step") != step) continue;
    std::vector<std::string> args{"complete", task.str("task"), "--as", user};
    for (const auto& f : task.get("form").as_array()) {
      std::string name = f.str("name");
      std::string value;
      if (auto it = values.find(name); it != values.end()) {
        value = it->second;
      } else if (f.get("required").is_bool() && f.get("required").as_bool()) {
        value = sample_value(f);
      } else {
        continue;
      }
      args.push_back("--set");
      args.push_back(name + "=" + value);
    }
    Run r = env.rg(args);
    REQUIRE_MESSAGE(r.code == 0, "completing " << step << " of " << instance << " failed: " << r.err);
    return;
  }
  FAIL("no task of step " << step << " of instance " << instance << " in the inbox of " << user);
}

// The week of Monday 2026-11-23, worked by two managers (counted by hand in
// the comments; see the TEST_CASE below for the expected figures).
struct Scenario {
  std::string request_a, call_1, call_2, call_3, complaint_0, complaint_1, complaint_2, complaint_3, review;
};

Scenario drive_week(Env& env) {
  Scenario s;
  // Previous week: a complaint started and taken on Friday the 20th.
  s.complaint_0 = start(env, "2026-11-20T10:00:00+03:00", "ivanova", "complaint", "ООО Бета");
  complete(env, "2026-11-20T10:30:00+03:00", "ivanova", s.complaint_0, "3.4.1", {{"needs_legal", "false"}});

  // The weekly review: started Monday 09:00, done Monday 10:00 (in time): the
  // call list (3.5.2), the check of the database (3.5.6, nothing found in an
  // empty one) and the report forms (3.5.10) are the engine's.
  s.review = start(env, "2026-11-23T09:00:00+03:00", "ivanova", "client-base-review", "БД");
  complete(env, "2026-11-23T09:30:00+03:00", "ivanova", s.review, "3.5.1");
  complete(env, "2026-11-23T10:00:00+03:00", "petrov", s.review, "3.5.3");
  complete(env, "2026-11-23T10:00:00+03:00", "petrov", s.review, "3.5.4");

  // An incoming request (not VIP), accepted at 3.1.7.
  s.request_a = start(env, "2026-11-23T10:00:00+03:00", "ivanova", "incoming-request", "ООО Альфа");
  complete(env, "2026-11-23T10:05:00+03:00", "ivanova", s.request_a, "3.1.1");
  complete(env, "2026-11-23T10:10:00+03:00", "ivanova", s.request_a, "3.1.6");
  complete(env, "2026-11-23T10:20:00+03:00", "ivanova", s.request_a, "3.1.7");

  // Complaint 1, ordinary: notified after 22 hours, decided after 48.
  s.complaint_1 = start(env, "2026-11-23T12:00:00+03:00", "ivanova", "complaint", "ООО Альфа");
  complete(env, "2026-11-23T12:10:00+03:00", "ivanova", s.complaint_1, "3.4.1", {{"needs_legal", "false"}});
  complete(env, "2026-11-23T12:20:00+03:00", "ivanova", s.complaint_1, "3.4.2");
  complete(env, "2026-11-23T14:00:00+03:00", "sidorova", s.complaint_1, "3.4.4");
  complete(env, "2026-11-24T10:00:00+03:00", "ivanova", s.complaint_1, "3.4.5");
  complete(env, "2026-11-25T10:00:00+03:00", "sidorova", s.complaint_1, "3.4.9");
  complete(env, "2026-11-25T11:00:00+03:00", "kuznetsov", s.complaint_1, "3.4.9");
  complete(env, "2026-11-25T12:00:00+03:00", "orlov", s.complaint_1, "3.4.9");

  // Outbound calls: an order, a refusal, an order accepted only next Monday.
  s.call_1 = start(env, "2026-11-24T09:00:00+03:00", "petrov", "outbound-call", "ООО Альфа");
  complete(env, "2026-11-24T09:05:00+03:00", "petrov", s.call_1, "3.2.1");
  complete(env, "2026-11-24T09:10:00+03:00", "petrov", s.call_1, "3.2.2", {{"outcome", "order"}});
  complete(env, "2026-11-24T09:20:00+03:00", "petrov", s.call_1, "3.2.4");
  s.call_2 = start(env, "2026-11-24T11:00:00+03:00", "ivanova", "outbound-call", "ООО Бета");
  complete(env, "2026-11-24T11:05:00+03:00", "ivanova", s.call_2, "3.2.1");
  complete(env, "2026-11-24T11:10:00+03:00", "ivanova", s.call_2, "3.2.2", {{"outcome", "refusal"}});
  s.call_3 = start(env, "2026-11-25T09:00:00+03:00", "petrov", "outbound-call", "ООО Гамма");
  complete(env, "2026-11-25T09:05:00+03:00", "petrov", s.call_3, "3.2.1");
  complete(env, "2026-11-25T09:10:00+03:00", "petrov", s.call_3, "3.2.2", {{"outcome", "order"}});

  // Complaint 2, needs the legal department: decided after 6 hours.
  s.complaint_2 = start(env, "2026-11-26T09:00:00+03:00", "petrov", "complaint", "ООО Бета");
  complete(env, "2026-11-26T09:10:00+03:00", "petrov", s.complaint_2, "3.4.1", {{"needs_legal", "true"}});
  complete(env, "2026-11-26T09:20:00+03:00", "petrov", s.complaint_2, "3.4.2");
  complete(env, "2026-11-26T10:00:00+03:00", "petrov", s.complaint_2, "3.4.8");
  complete(env, "2026-11-26T13:00:00+03:00", "sidorova", s.complaint_2, "3.4.9");
  complete(env, "2026-11-26T14:00:00+03:00", "kuznetsov", s.complaint_2, "3.4.9");
  complete(env, "2026-11-26T15:00:00+03:00", "orlov", s.complaint_2, "3.4.9");

  // Complaint 3 arrives on Sunday evening; nobody notifies the customer in time.
  s.complaint_3 = start(env, "2026-11-29T22:00:00+03:00", "ivanova", "complaint", "ООО Гамма");

  // Monday after the week: the order of call 3 is accepted.
  complete(env, "2026-11-30T09:00:00+03:00", "petrov", s.call_3, "3.2.4");
  return s;
}

// More work after the week.
void drive_later(Env& env, const Scenario& s) {
  complete(env, "2026-12-01T10:00:00+03:00", "ivanova", s.complaint_3, "3.4.1", {{"needs_legal", "false"}});
  complete(env, "2026-12-01T10:10:00+03:00", "ivanova", s.complaint_3, "3.4.2");
  complete(env, "2026-12-01T11:00:00+03:00", "ivanova", s.complaint_3, "3.4.4");
  complete(env, "2026-12-01T12:00:00+03:00", "ivanova", s.complaint_3, "3.4.5");
  complete(env, "2026-12-01T13:00:00+03:00", "ivanova", s.request_a, "3.1.9");
  std::string more = start(env, "2026-12-02T09:00:00+03:00", "petrov", "outbound-call", "ООО Дельта");
  complete(env, "2026-12-02T09:05:00+03:00", "petrov", more, "3.2.1");
  complete(env, "2026-12-02T09:10:00+03:00", "petrov", more, "3.2.2", {{"outcome", "order"}});
  complete(env, "2026-12-02T09:20:00+03:00", "petrov", more, "3.2.4");
}

// The indicator `code` in a report's JSON (its first entry: the whole period).
Json indicator(const Json& report, const std::string& code) {
  for (const auto& i : report.get("indicators").as_array()) {
    if (i.str("code") == code) return i;
  }
  FAIL("no indicator " << code << " in " << report.dump());
  return Json();
}

// The figure of `group` (nullopt: all together).
Json figure(const Json& ind, std::optional<std::string> group = std::nullopt) {
  for (const auto& f : ind.get("figures").as_array()) {
    if (group ? f.get("group") == Json(*group) : f.get("group").is_null()) return f;
  }
  FAIL("no figure for " << group.value_or("(all)") << " in " << ind.dump());
  return Json();
}

double value(const Json& ind, std::optional<std::string> group = std::nullopt) {
  Json v = figure(ind, group).get("value");
  REQUIRE_MESSAGE(v.is_number(), ind.dump());
  return v.as_double();
}

// RFC 4180 records, ended by CRLF (cli/csv.h): quoted cells may hold
// commas, quotes ("") and newlines. A bare LF ending a record is an error.
std::vector<std::vector<std::string>> parse_csv(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  std::string cell;
  bool quoted = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        cell += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        cell += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      row.push_back(cell);
      cell.clear();
    } else if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
      ++i;
      row.push_back(cell);
      rows.push_back(row);
      row.clear();
      cell.clear();
    } else {
      REQUIRE_MESSAGE(c != '\n', "a record ends in LF, not CRLF");
      cell += c;
    }
  }
  return rows;
}

const std::vector<std::string> kWeek{"report", "--from", "2026-11-23", "--to", "2026-11-30"};

std::vector<std::string> week_args(std::vector<std::string> extra) {
  std::vector<std::string> args = kWeek;
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

}  // namespace

TEST_CASE("report figures for a worked week equal the hand counts") {
  // given the week driven through the binary
  Env env;
  Scenario s = drive_week(env);
  // when the deputy director asks for the week's report on Tuesday morning
  env.now = "2026-12-01T09:00:00+03:00";
  Json r = env.json("sidorova", kWeek);
  // then
  CHECK(r.str("from") == "2026-11-23T00:00:00+03:00");
  CHECK(r.str("to") == "2026-11-30T00:00:00+03:00");
  CHECK(r.get("by").is_null());
  // ПП1: accepted at 3.1.7 (request A) and 3.2.4 (call 1); call 3's order came on the 30th.
  CHECK(figure(indicator(r, "ПП1")).get("value") == Json(2));
  // ПЛ1: calls 1 and 3 ordered, call 2 refused: 2 of 3.
  Json pl1 = indicator(r, "ПЛ1");
  CHECK(value(pl1) == 66.67);
  CHECK(figure(pl1).get("count") == Json(2));
  CHECK(figure(pl1).get("of") == Json(3));
  // КР1: complaints 1, 2 and 3 (complaint 0 began the week before).
  CHECK(figure(indicator(r, "КР1")).get("value") == Json(3));
  // КР2: decisions after 48 h (complaint 1) and 6 h (complaint 2): median 27 h.
  Json kr2 = indicator(r, "КР2");
  CHECK(value(kr2) == 27.0);
  CHECK(figure(kr2).get("count") == Json(2));
  // КР3: complaint 1 notified after 22 h (met), complaint 3 not at all (missed);
  // complaint 2 needs the legal department and is left out.
  Json kr3 = indicator(r, "КР3");
  CHECK(value(kr3) == 50.0);
  CHECK(figure(kr3).get("count") == Json(1));
  CHECK(figure(kr3).get("of") == Json(2));
  CHECK(figure(kr3).get("pending") == Json(0));
  // КР4: complaint 2 went to the legal department.
  CHECK(figure(indicator(r, "КР4")).get("value") == Json(1));
  // БД1: the review started Monday and ended the same morning.
  Json bd1 = indicator(r, "БД1");
  CHECK(value(bd1) == 100.0);
  CHECK(figure(bd1).get("of") == Json(1));
  // НГ1 (by actor in the file): manager tasks — ivanova 3.1.1, 3.1.6, 3.1.7,
  // 3.2.1, 3.2.2, 3.4.1, 3.4.2, 3.4.5, 3.5.1; petrov 3.2.1, 3.2.2, 3.2.4,
  // 3.2.1, 3.2.2, 3.4.1, 3.4.2, 3.4.8, 3.5.3, 3.5.4. The deputy director's
  // 3.4.4, the decisions at 3.4.9 and the engine's steps (3.5.2, 3.5.10) are
  // not manager tasks.
  Json ng1 = indicator(r, "НГ1");
  CHECK(value(ng1) == 19.0);
  CHECK(value(ng1, "ivanova") == 9.0);
  CHECK(value(ng1, "petrov") == 10.0);
  CHECK(ng1.get("figures").as_array().size() == 3);
  // Controls: ОМ2 on Friday the 27th; БД2 on the last day of the month, the 30th, is outside.
  std::map<std::string, std::vector<std::string>> due;
  for (const auto& c : r.get("controls").as_array()) due[c.str("code")] = strings(c.get("due"));
  CHECK(due["ОМ2"] == std::vector<std::string>{"2026-11-27"});
  CHECK(due["БД2"].empty());
  CHECK(due.size() == 2);

  {  // grouped by client and by actor
    Json by_client = env.json("sidorova", week_args({"ПП1", "КР1", "--by", "client"}));
    CHECK(by_client.get("indicators").as_array().size() == 2);
    CHECK(by_client.get("controls").as_array().empty());
    CHECK(value(indicator(by_client, "ПП1"), "ООО Альфа") == 2.0);
    Json kr1 = indicator(by_client, "КР1");
    CHECK(value(kr1, "ООО Альфа") == 1.0);
    CHECK(value(kr1, "ООО Бета") == 1.0);
    CHECK(value(kr1, "ООО Гамма") == 1.0);

    Json by_actor = env.json("sidorova", week_args({"КР2", "ПЛ1", "--by", "actor"}));
    CHECK(value(indicator(by_actor, "КР2"), "ivanova") == 48.0);  // who took complaint 1
    CHECK(value(indicator(by_actor, "КР2"), "petrov") == 6.0);
    CHECK(value(indicator(by_actor, "ПЛ1"), "petrov") == 100.0);
    CHECK(value(indicator(by_actor, "ПЛ1"), "ivanova") == 0.0);
  }

  {  // the CSV export parses back to the JSON figures
    Run csv = env.rg(week_args({"--format", "csv"}));
    REQUIRE_MESSAGE(csv.code == 0, csv.err);
    auto rows = parse_csv(csv.out);
    REQUIRE(rows.size() > 1);
    CHECK(rows[0] == std::vector<std::string>{"code", "title", "unit", "period", "from", "to", "group", "value",
                                              "count", "of", "pending"});
    size_t n = 0;
    for (const auto& ind : r.get("indicators").as_array()) {
      for (const auto& f : ind.get("figures").as_array()) {
        REQUIRE(n + 1 < rows.size());
        const auto& row = rows[++n];
        REQUIRE(row.size() == 11);
        CHECK(row[0] == ind.str("code"));
        CHECK(row[1] == ind.str("title"));
        CHECK(row[2] == ind.str("unit"));
        CHECK(row[4] == ind.str("from"));
        CHECK(row[6] == (f.get("group").is_null() ? "" : f.str("group")));
        if (f.get("value").is_null()) {
          CHECK(row[7].empty());
        } else {
          CHECK(std::stod(row[7]) == f.get("value").as_double());
        }
        CHECK(std::stoll(row[8]) == f.get("count").as_int());
        CHECK(row[9] == (f.get("of").is_null() ? "" : std::to_string(f.get("of").as_int())));
        CHECK(row[10] == (f.get("pending").is_null() ? "" : std::to_string(f.get("pending").as_int())));
      }
    }
    CHECK(n + 1 == rows.size());
    CHECK(n == 10);  // 8 indicators, НГ1 with two managers
  }

  {  // the table names every indicator and the due control checks
    Run table = env.rg(kWeek);
    REQUIRE_MESSAGE(table.code == 0, table.err);
    for (const char* code : {"ПП1", "ПЛ1", "КР1", "КР2", "КР3", "КР4", "БД1", "НГ1", "ОМ2", "БД2"}) {
      CHECK_MESSAGE(contains(table.out, code), code);
    }
    CHECK(contains(table.out, "indicators for 2026-11-23 … 2026-11-29"));
    CHECK(contains(table.out, "66.67"));
    CHECK(contains(table.out, "1 of 2 within 24h"));
    CHECK(contains(table.out, "2026-11-27"));
    // --json is the same as --format json
    Run json = env.rg(week_args({"--format", "json"}));
    CHECK(json.json() == r);
  }

  {  // split shows each week of a longer period
    Json split = env.json("sidorova", {"report", "НГ1", "--from", "2026-11-16", "--to", "2026-11-30", "--split"});
    auto entries = split.get("indicators").as_array();
    REQUIRE(entries.size() == 3);  // the two weeks together, then each
    CHECK(value(entries[0]) == 20.0);  // complaint 0's 3.4.1 on the 20th too
    CHECK(entries[1].str("from") == "2026-11-16T00:00:00+03:00");
    CHECK(value(entries[1]) == 1.0);
    CHECK(entries[2].str("from") == "2026-11-23T00:00:00+03:00");
    CHECK(value(entries[2]) == 19.0);
  }

  {  // a report for the past week does not change when work goes on
    drive_later(env, s);
    env.now = "2026-12-03T09:00:00+03:00";
    Json again = env.json("sidorova", kWeek);
    CHECK(again.get("indicators") == r.get("indicators"));
    CHECK(again.get("controls") == r.get("controls"));
    // while the next week sees the new work
    Json next = env.json("sidorova", {"report", "ПП1", "КР3", "--from", "2026-11-30", "--to", "2026-12-07"});
    CHECK(figure(indicator(next, "ПП1")).get("value") == Json(2));  // call 3 on the 30th, the new call
    CHECK(figure(indicator(next, "КР3")).get("of") == Json(0));     // complaint 3 belongs to the week before
  }
}

TEST_CASE("report refuses unknown codes, bad periods and a database without indicators") {
  Env env;
  Run unknown = env.rg({"report", "ПП1", "ЯЯ9", "--from", "2026-11-23", "--to", "2026-11-30"});
  CHECK(unknown.code == 3);
  CHECK(contains(unknown.err, "no indicator or control \"ЯЯ9\""));
  CHECK(unknown.out.empty());

  Run backwards = env.rg({"report", "--from", "2026-11-30", "--to", "2026-11-23"});
  CHECK(backwards.code == 2);
  CHECK(contains(backwards.err, "must be later than --from"));

  Run bad = env.rg({"report", "--from", "2026-11-31", "--to", "2026-12-07"});
  CHECK(bad.code == 2);
  CHECK(contains(bad.err, "--from"));

  Run by = env.rg({"report", "--from", "2026-11-23", "--to", "2026-11-30", "--by", "manager"});
  CHECK(by.code == 2);

  // A bundle deployed without indicators.yaml.
  Env bare(false);
  auto dir = bare.dir() / "bundle";
  std::filesystem::copy(REGLAMENT_SOURCE_DIR "/processes", dir, std::filesystem::copy_options::recursive);
  std::filesystem::remove(dir / "indicators.yaml");
  Run deployed = bare.rg({"deploy", dir.string()});
  REQUIRE_MESSAGE(deployed.code == 0, deployed.err);
  Run none = bare.rg({"report", "--from", "2026-11-23", "--to", "2026-11-30"});
  CHECK(none.code == 3);
  CHECK(contains(none.err, "no indicators are deployed; add indicators.yaml to the bundle and deploy"));
}

TEST_CASE("deploy refuses an indicators file with a mistake, located") {
  Env env(false);
  auto dir = env.dir() / "bundle";
  std::filesystem::copy(REGLAMENT_SOURCE_DIR "/processes", dir, std::filesystem::copy_options::recursive);
  std::string text = slurp((dir / "indicators.yaml").string());
  auto at = text.find("step: \"3.4.2\", branch: needs_legal");
  REQUIRE(at != std::string::npos);
  text.replace(at, std::string("step: \"3.4.2\"").size(), "step: \"3.4.20\"");
  std::ofstream(dir / "indicators.yaml", std::ios::binary) << text;
  Run r = env.rg({"deploy", dir.string()});
  CHECK(r.code == 2);
  CHECK(contains(r.err, "indicators.yaml:"));
  CHECK(contains(r.err, "step \"3.4.20\" of count of indicator \"КР4\" is not a step of \"complaint\""));
  CHECK_FALSE(std::filesystem::exists(env.db()));
}
