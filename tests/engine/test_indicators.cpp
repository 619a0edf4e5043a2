// Indicators as data: the time arithmetic they need, loading and validating
// the indicators file, and computing every measure kind on hand-built event
// logs with fixed timestamps and hand-counted figures.

#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "engine/indicators.h"
#include "engine/loader.h"
#include "engine/time.h"

using namespace reglament;

namespace {

Moment at(const std::string& iso) {
  auto m = parse_moment(iso);
  REQUIRE_MESSAGE(m.ok(), iso);
  return *m;
}

// ---- A hand-built log ---------------------------------------------------------

class Log {
 public:
  void add(const std::string& instance, EventType type, const std::string& when, const std::string& actor,
           const std::string& step, Json data) {
    Event e;
    e.type = type;
    e.at = when;
    e.actor = actor;
    e.step = step;
    e.data = std::move(data);
    events.push_back(LogEvent{instance, ++seq_[instance], std::move(e)});
  }

  void start(const std::string& instance, const std::string& process, const std::string& when,
             const std::string& actor, JsonObject vars = {}) {
    Json d = Json::object();
    d["instance"] = instance;
    d["process"] = process;
    d["version"] = 1;
    d["variables"] = Json(std::move(vars));
    add(instance, EventType::instance_started, when, actor, "", std::move(d));
  }

  // A task of `step` completed by `actor`, then the step completed, going to
  // `next` (by `branch`, when an exclusive choice chose it).
  void work(const std::string& instance, const std::string& step, const std::string& when, const std::string& actor,
            std::vector<std::string> next, JsonObject values = {}, Json branch = Json(),
            const std::string& role = "manager") {
    Json t = Json::object();
    t["task"] = instance + ".1";
    t["role"] = role;
    t["values"] = Json(std::move(values));
    add(instance, EventType::task_completed, when, actor, step, std::move(t));
    Json s = Json::object();
    JsonArray targets;
    for (auto& n : next) targets.push_back(Json(n));
    s["next"] = Json(std::move(targets));
    s["branch"] = std::move(branch);
    add(instance, EventType::step_completed, when, "", step, std::move(s));
  }

  // A service step run by the engine.
  void service(const std::string& instance, const std::string& step, const std::string& when, std::string next) {
    Json s = Json::object();
    s["next"] = Json(JsonArray{Json(std::move(next))});
    s["branch"] = Json();
    add(instance, EventType::step_completed, when, "", step, std::move(s));
  }

  void end(const std::string& instance, const std::string& when) {
    add(instance, EventType::instance_completed, when, "", "", Json::object());
  }

  std::vector<LogEvent> events;

 private:
  std::map<std::string, int64_t> seq_;
};

IndicatorSet indicators(const std::string& yaml) {
  auto set = parse_indicators("i.yaml", yaml);
  REQUIRE_MESSAGE(set.ok(), set.error().str());
  return *set;
}

// The week of 2026-11-23 (a Monday) in Moscow time.
ReportQuery week(const std::string& now = "2026-12-31T00:00:00+03:00") {
  ReportQuery q;
  q.from = at("2026-11-23T00:00:00+03:00");
  q.to = at("2026-11-30T00:00:00+03:00");
  q.now = at(now);
  return q;
}

std::vector<IndicatorFigures> run(const IndicatorSet& set, const Log& log, const ReportQuery& q) {
  auto r = compute(set, log.events, q);
  REQUIRE_MESSAGE(r.ok(), r.error().str());
  return *r;
}

// The figure of `group` (nullopt: all together) in `f`.
const Figure& figure(const IndicatorFigures& f, std::optional<std::string> group = std::nullopt) {
  for (const auto& x : f.figures) {
    if (x.group == group) return x;
  }
  FAIL("no figure for group " << group.value_or("(all)"));
  static Figure none;
  return none;
}

// ---- Loading --------------------------------------------------------------------

SourceSet bundled() {
  auto s = read_sources({REGLAMENT_SOURCE_DIR "/processes"});
  REQUIRE(s.ok());
  s->root = std::string("b");  // not = "b": GCC 12 warns -Wrestrict (falsely) on that
  return *s;
}

// The bundled processes with `yaml` as their indicators file.
LoadReport with_indicators(const std::string& yaml) {
  SourceSet s = bundled();
  s.files["indicators.yaml"] = yaml;
  return load_bundle(s, nullptr);
}

std::string listing(const LoadReport& r) {
  std::string out;
  for (const auto& e : r.problems) out += e.str() + "\n";
  return out;
}

bool has_problem(const LoadReport& r, const std::string& place, const std::string& text) {
  for (const auto& e : r.problems) {
    if (e.where.str() == place && e.message.find(text) != std::string::npos) return true;
  }
  return false;
}

#define CHECK_PROBLEM(report, place, text)     \
  do {                                         \
    INFO("problems:\n" << listing(report));    \
    CHECK(has_problem((report), (place), (text))); \
  } while (0)

}  // namespace

// ---- Time ---------------------------------------------------------------------------

TEST_CASE("timestamps with different offsets name the same instant") {
  CHECK(at("2026-11-23T10:00:00+03:00").epoch == at("2026-11-23T07:00:00Z").epoch);
  CHECK(at("2026-11-23T10:00+03:00").epoch == at("2026-11-23T10:00:00.250+03:00").epoch);
  CHECK(format_moment(at("2026-11-23T07:00:00Z")) == "2026-11-23T07:00:00+00:00");
  CHECK(format_moment(Moment{at("2026-11-23T07:00:00Z").epoch, -150}) == "2026-11-23T04:30:00-02:30");
  CHECK_FALSE(parse_moment("2026-11-23T10:00:00").ok());
  CHECK_FALSE(parse_moment("2026-02-29T10:00:00Z").ok());
  CHECK_FALSE(parse_moment("2026-11-23T24:00:00Z").ok());
  CHECK_FALSE(parse_moment("2026-11-23").ok());
}

TEST_CASE("a bare date is its midnight in the given offset") {
  auto d = parse_moment("2026-11-23", 180);
  REQUIRE(d.ok());
  CHECK(*d == at("2026-11-23T00:00:00+03:00"));
  CHECK(d->offset_minutes == 180);
  auto t = parse_moment("2026-11-23T09:30", 180);
  REQUIRE(t.ok());
  CHECK(*t == at("2026-11-23T09:30:00+03:00"));
}

TEST_CASE("durations are read in short and ISO-8601 form") {
  CHECK(*parse_duration("30m") == 1800);
  CHECK(*parse_duration("24h") == 86400);
  CHECK(*parse_duration("2d") == 172800);
  CHECK(*parse_duration("1w") == 604800);
  CHECK(*parse_duration("PT24H") == 86400);
  CHECK(*parse_duration("P1DT12H") == 129600);
  CHECK(*parse_duration("PT1H30M") == 5400);
  for (const char* bad : {"", "24", "h", "24x", "0h", "1.5h", "P", "P1M", "24 h", "-1h"}) {
    CHECK_MESSAGE(!parse_duration(bad).ok(), bad);
  }
  CHECK(format_duration(86400) == "24h");
  CHECK(format_duration(604800) == "1w");
  CHECK(format_duration(172800) == "2d");
  CHECK(format_duration(5400) == "90m");
}

TEST_CASE("calendar days know their weekday and month length") {
  CHECK(iso_weekday(CivilDate{2026, 11, 23}) == 1);  // Monday
  CHECK(iso_weekday(CivilDate{2026, 11, 29}) == 7);
  CHECK(iso_weekday(CivilDate{1970, 1, 1}) == 4);
  CHECK(month_length(2028, 2) == 29);
  CHECK(month_length(2100, 2) == 28);
  CHECK(days_to_civil(civil_to_days(CivilDate{2026, 12, 31})) == CivilDate{2026, 12, 31});
  // Late evening in Moscow is still the same local day, the next day in UTC terms is not.
  CHECK(local_date(at("2026-11-23T23:30:00+03:00")) == CivilDate{2026, 11, 23});
  CHECK(local_date(at("2026-11-23T23:30:00-03:00")) == CivilDate{2026, 11, 23});
}

// ---- Loading and validation --------------------------------------------------------

TEST_CASE("the bundled indicators load with the bundled regulation without problems") {
  LoadReport r = load_bundle(bundled(), nullptr);
  INFO(listing(r));
  REQUIRE(r.ok());
  CHECK_FALSE(r.bundle.indicators_source.empty());
  auto set = parse_indicators("indicators.yaml", r.bundle.indicators_source);
  REQUIRE(set.ok());
  std::vector<std::string> codes;
  for (const auto& i : set->indicators) codes.push_back(i.code);
  CHECK(codes == std::vector<std::string>{"ПП1", "ПЛ1", "КР1", "КР2", "КР3", "КР4", "БД1", "НГ1"});
  REQUIRE(set->control("ОМ2") != nullptr);
  CHECK(set->control("ОМ2")->weekday == 5);
  CHECK(set->control("БД2")->month_day == 0);
  const Indicator* kr3 = set->indicator("КР3");
  REQUIRE(kr3 != nullptr);
  CHECK(kr3->measure.kind == MeasureKind::share_within);
  CHECK(kr3->measure.within == 86400);
  CHECK(set->lookahead() == 7 * 86400);
  CHECK(set->indicator("НГ1")->by == GroupBy::actor);
}

TEST_CASE("a bundle without an indicators file has no indicators source") {
  SourceSet s = bundled();
  s.files.erase("indicators.yaml");
  LoadReport r = load_bundle(s, nullptr);
  CHECK(r.ok());
  CHECK(r.bundle.indicators_source.empty());
}

TEST_CASE("unknown keys, periods, events and groupings are reported with their place and a suggestion") {
  LoadReport r = with_indicators(R"(indicators:
  - code: X1
    title: T
    unit: шт.
    perod: week
    count: {evnt: StepCompleted}
  - code: X2
    title: T
    unit: шт.
    period: weekly
    by: actors
    count: {event: StepComplete}
)");
  CHECK_PROBLEM(r, "b/indicators.yaml:5:5", "unknown key \"perod\" in indicator \"X1\"; did you mean \"period\"?");
  CHECK_PROBLEM(r, "b/indicators.yaml:2:5", "missing required key \"period\"");
  CHECK_PROBLEM(r, "b/indicators.yaml:6:13", "unknown key \"evnt\"");
  CHECK_PROBLEM(r, "b/indicators.yaml:10:13", "period of indicator \"X2\" must be day, week or month, not \"weekly\"; did you mean \"week\"?");
  CHECK_PROBLEM(r, "b/indicators.yaml:11:9", "did you mean \"actor\"?");
  CHECK_PROBLEM(r, "b/indicators.yaml:12:20", "not \"StepComplete\"; did you mean \"StepCompleted\"?");
}

TEST_CASE("unknown processes, steps, branches and targets are reported against the bundle") {
  LoadReport r = with_indicators(R"(indicators:
  - code: X1
    title: T
    unit: шт.
    period: week
    count: {event: StepCompleted, process: outbond-call, step: "3.2.2"}
  - code: X2
    title: T
    unit: шт.
    period: week
    count: {event: StepCompleted, process: outbound-call, step: "3.2.22"}
  - code: X3
    title: T
    unit: шт.
    period: week
    count: {event: StepCompleted, process: outbound-call, step: "3.2.2", branch: 'outcome == "ordr"', next: "3.2.7"}
  - code: X4
    title: T
    unit: шт.
    period: week
    count: {event: InstanceStarted, process: complaint, step: "3.4.1"}
)");
  CHECK_PROBLEM(r, "b/indicators.yaml:6:44", "unknown process \"outbond-call\"; did you mean \"outbound-call\"?");
  CHECK_PROBLEM(r, "b/indicators.yaml:11:65", "step \"3.2.22\" of count of indicator \"X2\" is not a step of \"outbound-call\"");
  CHECK_PROBLEM(r, "b/indicators.yaml:16:82", "branch \"outcome == \"ordr\"\" of count of indicator \"X3\" is not a condition of step \"3.2.2\"; did you mean \"outcome == \"order\"\"?");
  CHECK_PROBLEM(r, "b/indicators.yaml:16:109", "step \"3.2.2\" never goes to \"3.2.7\"");
  CHECK_PROBLEM(r, "b/indicators.yaml:21:63", "step of count of indicator \"X4\" applies to StepCompleted and TaskCompleted only");
}

TEST_CASE("conditions in where are checked for syntax and for variables the process never sets") {
  LoadReport r = with_indicators(R"(indicators:
  - code: X1
    title: T
    unit: шт.
    period: week
    count: {event: InstanceStarted, process: complaint, where: "client == "}
  - code: X2
    title: T
    unit: шт.
    period: week
    count: {event: InstanceStarted, process: complaint, where: not need_legal}
)");
  // the column points at the end of "client == ", where a value is missing
  CHECK_PROBLEM(r, "b/indicators.yaml:6:75", "in where of count of indicator \"X1\": expected a value");
  CHECK_PROBLEM(r, "b/indicators.yaml:11:68", "reads variable \"need_legal\", which is never set by process \"complaint\"; did you mean \"needs_legal\"?");
}

TEST_CASE("durations, deadlines, stats and units of duration measures are checked") {
  LoadReport r = with_indicators(R"(indicators:
  - code: X1
    title: T
    unit: "%"
    period: week
    share_within: {process: complaint, from: start, to: "3.4.5", within: 24 hours}
  - code: X2
    title: T
    unit: шт.
    period: week
    duration: {process: complaint, from: "3.4.99", to: start, stat: average}
  - code: X3
    title: T
    unit: ч
    period: week
    duration: {process: complaint, from: "3.4.9", to: "3.4.9"}
)");
  CHECK_PROBLEM(r, "b/indicators.yaml:6:74", "within of share_within of indicator \"X1\": \"24 hours\" is not a duration");
  CHECK_PROBLEM(r, "b/indicators.yaml:11:42", "unknown step \"3.4.99\" of process \"complaint\"");
  CHECK_PROBLEM(r, "b/indicators.yaml:11:56", "to of duration of indicator \"X2\" cannot be start");
  CHECK_PROBLEM(r, "b/indicators.yaml:11:69", "stat of duration of indicator \"X2\" must be median, mean, min, max or pNN");
  CHECK_PROBLEM(r, "b/indicators.yaml:9:11", "the unit of a duration must be h, ч, d, дн, min or мин");
  CHECK_PROBLEM(r, "b/indicators.yaml:16:55", "from and to of duration of indicator \"X3\" are the same point \"3.4.9\"");
}

TEST_CASE("an indicator needs exactly one measure and a code of its own") {
  LoadReport r = with_indicators(R"(indicators:
  - code: X1
    title: T
    unit: шт.
    period: week
  - code: X1
    title: T
    unit: шт.
    period: week
    count: {event: InstanceStarted}
    ratio: {numerator: {event: InstanceStarted}, denominator: {event: InstanceCompleted}}
controls:
  - code: X1
    title: T
    period: week
    role: deputy-directr
    on: fri
  - code: К 2
    title: T
    period: month
    role: manager
    on: "32"
)");
  CHECK_PROBLEM(r, "b/indicators.yaml:2:5", "indicator \"X1\" needs a measure: one of count, ratio, duration or share_within");
  CHECK_PROBLEM(r, "b/indicators.yaml:6:11", "duplicate code \"X1\"; it is already used at line 2");
  CHECK_PROBLEM(r, "b/indicators.yaml:11:5", "has more than one measure (count and ratio)");
  CHECK_PROBLEM(r, "b/indicators.yaml:13:11", "duplicate code \"X1\"");
  CHECK_PROBLEM(r, "b/indicators.yaml:16:11", "unknown role \"deputy-directr\"; did you mean \"deputy-director\"?");
  CHECK_PROBLEM(r, "b/indicators.yaml:17:9", "must be a weekday (monday … sunday), not \"fri\"");
  CHECK_PROBLEM(r, "b/indicators.yaml:18:11", "code \"К 2\" of control \"К 2\" must be one word");
  CHECK_PROBLEM(r, "b/indicators.yaml:22:9", "must be a day of the month (1 … 31) or last");
}

// fuzz_loader: the day of a monthly control was accumulated past its two
// digits, an int overflow (UBSan) for a long number.
TEST_CASE("a monthly control on a long number is refused without overflow") {
  LoadReport r = with_indicators(R"(indicators:
  - code: A
    title: T
    unit: шт.
    period: week
    count: {event: InstanceStarted}
controls:
  - code: K1
    title: T
    period: month
    role: manager
    on: "99999999999999999999"
)");
  CHECK_PROBLEM(r, "b/indicators.yaml:12:9", "must be a day of the month (1 … 31) or last, not \"99999999999999999999\"");
}

TEST_CASE("a second indicators file in a bundle is reported") {
  SourceSet s = bundled();
  s.files["more-indicators.yaml"] = s.files.at("indicators.yaml");
  LoadReport r = load_bundle(s, nullptr);
  CHECK_PROBLEM(r, "b/more-indicators.yaml:1:1", "a second indicators file; indicators are already defined in b/indicators.yaml");
}

TEST_CASE("parse_indicators reports the first problem of undeployable text") {
  auto r = parse_indicators("i.yaml", "indicators:\n  - code: A\n    title: T\n    unit: u\n    period: year\n"
                                      "    count: {event: InstanceStarted}\n");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().where.str() == "i.yaml:5:13");
  CHECK(r.error().message.find("period") != std::string::npos);
  CHECK_FALSE(parse_indicators("i.yaml", "indicators: [\n").ok());
  CHECK_FALSE(parse_indicators("i.yaml", "controls: []\n").ok());
}

// ---- Computing --------------------------------------------------------------------------

TEST_CASE("count counts matching events inside the period only") {
  // given two incoming requests and an outbound call, some outside the week
  IndicatorSet set = indicators(R"(indicators:
  - code: ПП1
    title: Повторные продажи
    unit: шт.
    period: week
    count: {event: StepCompleted, process: [incoming-request, outbound-call], step: ["3.1.3", "3.1.7", "3.2.4"]}
  - code: VIP
    title: VIP-заявки
    unit: шт.
    period: week
    count: {event: InstanceStarted, where: vip}
)");
  Log log;
  log.start("1", "incoming-request", "2026-11-22T18:00:00+03:00", "ivanova", {{"client", "A"}, {"vip", true}});
  log.work("1", "3.1.3", "2026-11-23T09:00:00+03:00", "ivanova", {"3.1.4"});    // in: Monday 09:00
  log.start("2", "incoming-request", "2026-11-24T10:00:00+03:00", "petrov", {{"client", "B"}, {"vip", false}});
  log.work("2", "3.1.7", "2026-11-29T23:59:59+03:00", "petrov", {"3.1.8"});     // in: the last second
  log.start("3", "outbound-call", "2026-11-25T10:00:00+03:00", "ivanova", {{"client", "A"}});
  log.work("3", "3.2.4", "2026-11-30T00:00:00+03:00", "ivanova", {"3.2.5"});    // out: `to` is exclusive
  log.start("4", "incoming-request", "2026-11-26T10:00:00+03:00", "petrov", {{"client", "C"}, {"vip", true}});
  log.work("4", "3.1.2", "2026-11-26T11:00:00+03:00", "petrov", {"3.1.3"});     // another step
  log.work("4", "3.1.3", "2026-11-26T09:00:00Z", "petrov", {"3.1.4"});          // in: 12:00 Moscow
  // when
  auto f = run(set, log, week());
  // then
  REQUIRE(f.size() == 2);
  CHECK(f[0].code == "ПП1");
  CHECK(figure(f[0]).count == 3);
  CHECK(figure(f[0]).value == 3.0);
  CHECK(f[0].figures.size() == 1);
  // VIP: 2, 3 and 4 started in the week, only 4 is VIP (3 has no vip at all); 1 started before
  CHECK(figure(f[1]).count == 1);
}

TEST_CASE("count with where uses the variables as they were just after the event") {
  IndicatorSet set = indicators(R"(indicators:
  - code: L
    title: Юридические
    unit: шт.
    period: week
    count: {event: TaskCompleted, step: "3.4.1", where: needs_legal}
  - code: S
    title: Старт с needs_legal
    unit: шт.
    period: week
    count: {event: InstanceStarted, where: needs_legal}
)");
  Log log;
  log.start("1", "complaint", "2026-11-23T10:00:00+03:00", "ivanova", {{"client", "A"}});
  log.work("1", "3.4.1", "2026-11-23T11:00:00+03:00", "ivanova", {"3.4.2"}, {{"needs_legal", true}});
  log.start("2", "complaint", "2026-11-23T10:00:00+03:00", "ivanova", {{"client", "B"}});
  log.work("2", "3.4.1", "2026-11-23T11:00:00+03:00", "ivanova", {"3.4.2"}, {{"needs_legal", false}});
  auto f = run(set, log, week());
  CHECK(figure(f[0]).count == 1);
  CHECK(figure(f[1]).count == 0);  // at the start nothing was known yet
}

TEST_CASE("counts group by actor, client and process; a step's actor is who completed its task") {
  IndicatorSet set = indicators(R"(indicators:
  - code: ST
    title: Шаги
    unit: шт.
    period: week
    count: {event: StepCompleted}
  - code: T
    title: Задачи менеджеров
    unit: шт.
    period: week
    by: actor
    count: {event: TaskCompleted, role: manager}
)");
  Log log;
  log.start("1", "incoming-request", "2026-11-23T10:00:00+03:00", "ivanova", {{"client", "A"}});
  log.work("1", "3.1.1", "2026-11-23T10:05:00+03:00", "ivanova", {"3.1.6"});
  log.work("1", "3.1.6", "2026-11-23T10:10:00+03:00", "petrov", {"3.1.7"});
  log.service("1", "3.1.8", "2026-11-23T10:20:00+03:00", "3.1.9");
  log.start("2", "complaint", "2026-11-24T10:00:00+03:00", "petrov", {{"client", "B"}});
  log.work("2", "3.4.1", "2026-11-24T10:05:00+03:00", "petrov", {"3.4.2"});
  log.work("2", "3.4.9", "2026-11-24T12:00:00+03:00", "sidorova", {"3.4.10"}, {}, Json(), "deputy-director");

  ReportQuery q = week();
  q.by = GroupBy::actor;
  auto by_actor = run(set, log, q);
  const IndicatorFigures& steps = by_actor[0];
  CHECK(figure(steps).count == 5);
  CHECK(figure(steps, "ivanova").count == 1);
  CHECK(figure(steps, "petrov").count == 2);
  CHECK(figure(steps, "sidorova").count == 1);
  CHECK(figure(steps, "").count == 1);  // the service step 3.1.8: the engine acted
  CHECK(steps.figures.size() == 5);     // all, then "", ivanova, petrov, sidorova
  CHECK_FALSE(steps.figures[0].group.has_value());
  CHECK(*steps.figures[1].group == "");

  q.by = GroupBy::client;
  auto by_client = run(set, log, q);
  CHECK(figure(by_client[0], "A").count == 3);
  CHECK(figure(by_client[0], "B").count == 2);
  CHECK(figure(by_client[1], "B").count == 1);  // only manager tasks: sidorova's is not one

  q.by = GroupBy::process;
  auto by_process = run(set, log, q);
  CHECK(figure(by_process[0], "incoming-request").count == 3);
  CHECK(figure(by_process[0], "complaint").count == 2);

  // without --by, the indicator's own `by: actor` applies
  auto own = run(set, log, week());
  CHECK(own[0].figures.size() == 1);
  CHECK(figure(own[1]).count == 3);
  CHECK(figure(own[1], "ivanova").count == 1);
  CHECK(figure(own[1], "petrov").count == 2);
  CHECK(own[1].figures.size() == 3);
}

TEST_CASE("ratio divides two counts, as a percentage when the unit is %") {
  IndicatorSet set = indicators(R"(indicators:
  - code: ПЛ1
    title: Конверсия
    unit: "%"
    period: week
    ratio:
      numerator: {event: StepCompleted, process: outbound-call, step: "3.2.2", next: "3.2.4"}
      denominator: {event: StepCompleted, process: outbound-call, step: "3.2.2"}
  - code: F
    title: Доля по ветке
    unit: доля
    period: week
    ratio:
      numerator: {event: StepCompleted, step: "3.2.2", branch: 'outcome == "order"'}
      denominator: {event: StepCompleted, step: "3.2.2"}
)");
  Log log;
  const Json order("outcome == \"order\"");
  log.start("1", "outbound-call", "2026-11-23T10:00:00+03:00", "ivanova", {{"client", "A"}});
  log.work("1", "3.2.2", "2026-11-23T10:05:00+03:00", "ivanova", {"3.2.4"}, {{"outcome", "order"}}, order);
  log.start("2", "outbound-call", "2026-11-23T11:00:00+03:00", "ivanova", {{"client", "B"}});
  log.work("2", "3.2.2", "2026-11-23T11:05:00+03:00", "ivanova", {"3.2.3"}, {{"outcome", "refusal"}}, Json("else"));
  log.start("3", "outbound-call", "2026-11-24T11:00:00+03:00", "petrov", {{"client", "C"}});
  log.work("3", "3.2.2", "2026-11-24T11:05:00+03:00", "petrov", {"3.2.3"}, {{"outcome", "refusal"}}, Json("else"));
  log.start("4", "outbound-call", "2026-11-20T11:00:00+03:00", "petrov", {{"client", "D"}});
  log.work("4", "3.2.2", "2026-11-20T11:05:00+03:00", "petrov", {"3.2.4"}, {{"outcome", "order"}}, order);

  ReportQuery q = week();
  q.by = GroupBy::actor;
  auto f = run(set, log, q);
  CHECK(figure(f[0]).count == 1);
  CHECK(*figure(f[0]).of == 3);
  CHECK(*figure(f[0]).value == 33.33);
  CHECK(*figure(f[0], "ivanova").value == 50.0);
  CHECK(*figure(f[0], "petrov").value == 0.0);
  CHECK(*figure(f[1]).value == doctest::Approx(0.33));

  // An empty period: nothing to divide by.
  ReportQuery before = week();
  before.from = at("2026-11-01T00:00:00+03:00");
  before.to = at("2026-11-02T00:00:00+03:00");
  auto empty = run(set, log, before);
  CHECK_FALSE(figure(empty[0]).value.has_value());
  CHECK(*figure(empty[0]).of == 0);
}

TEST_CASE("duration pairs each start with the first end after it and summarises in the unit") {
  IndicatorSet set = indicators(R"(indicators:
  - code: MED
    title: Медиана
    unit: ч
    period: week
    duration: {process: complaint, from: start, to: "3.4.9"}
  - code: MEAN
    title: Среднее
    unit: ч
    period: week
    duration: {process: complaint, from: start, to: "3.4.9", stat: mean}
  - code: P90
    title: p90
    unit: ч
    period: week
    duration: {process: complaint, from: start, to: "3.4.9", stat: p90}
  - code: MAX
    title: max
    unit: дн
    period: week
    duration: {process: complaint, from: start, to: "3.4.9", stat: max}
  - code: LOOP
    title: От решения до конца
    unit: min
    period: week
    duration: {process: complaint, from: "3.4.9", to: end, stat: min}
)");
  Log log;
  // 1: started before the week, decided inside it: 30 hours, counted
  log.start("1", "complaint", "2026-11-22T06:00:00+03:00", "ivanova");
  log.work("1", "3.4.9", "2026-11-23T12:00:00+03:00", "sidorova", {"3.4.10"});
  log.work("1", "3.4.10", "2026-11-23T12:30:00+03:00", "ivanova", {"3.4.10"});
  log.work("1", "3.4.10", "2026-11-23T13:00:00+03:00", "ivanova", {"3.4.11"});
  log.end("1", "2026-11-23T13:30:00+03:00");
  // 2: 2 hours
  log.start("2", "complaint", "2026-11-24T10:00:00+03:00", "ivanova");
  log.work("2", "3.4.9", "2026-11-24T12:00:00+03:00", "sidorova", {"3.4.10"});
  // 3: 10 hours
  log.start("3", "complaint", "2026-11-25T10:00:00+03:00", "petrov");
  log.work("3", "3.4.9", "2026-11-25T20:00:00+03:00", "sidorova", {"3.4.10"});
  // 4: 4 hours (the time zone of the second event differs)
  log.start("4", "complaint", "2026-11-26T10:00:00+03:00", "petrov");
  log.work("4", "3.4.9", "2026-11-26T11:00:00Z", "sidorova", {"3.4.10"});
  // 5: started in the week, not decided: no sample
  log.start("5", "complaint", "2026-11-27T10:00:00+03:00", "petrov");
  // 6: decided after the week: no sample
  log.start("6", "complaint", "2026-11-29T10:00:00+03:00", "petrov");
  log.work("6", "3.4.9", "2026-11-30T10:00:00+03:00", "sidorova", {"3.4.10"});
  // another process is not looked at
  log.start("7", "incoming-request", "2026-11-24T10:00:00+03:00", "petrov");
  log.end("7", "2026-11-24T11:00:00+03:00");

  ReportQuery q = week();
  auto f = run(set, log, q);
  // samples: 30, 2, 10, 4 hours
  CHECK(figure(f[0]).count == 4);
  CHECK(*figure(f[0]).value == 7.0);   // median of 2, 4, 10, 30
  CHECK(*figure(f[1]).value == 11.5);  // mean
  CHECK(*figure(f[2]).value == 30.0);  // p90: nearest rank ceil(3.6) = 4th
  CHECK(*figure(f[3]).value == 1.25);  // 30 hours in days
  CHECK(figure(f[4]).count == 1);      // only instance 1 ended
  CHECK(*figure(f[4]).value == 90.0);  // minutes from 3.4.9 to the end

  q.by = GroupBy::actor;  // the actor of the start
  auto g = run(set, log, q);
  CHECK(*figure(g[0], "ivanova").value == 16.0);  // median of 30 and 2
  CHECK(*figure(g[0], "petrov").value == 7.0);    // median of 10 and 4
  CHECK(figure(g[0], "petrov").count == 2);
}

TEST_CASE("share_within tells met, missed and pending deadlines apart by now") {
  IndicatorSet set = indicators(R"(indicators:
  - code: КР3
    title: Уведомлен в течение суток
    unit: "%"
    period: week
    share_within: {process: complaint, from: start, to: "3.4.5", within: 24h, where: not needs_legal}
)");
  Log log;
  // 1: notified after 23 hours: met
  log.start("1", "complaint", "2026-11-23T10:00:00+03:00", "ivanova");
  log.work("1", "3.4.1", "2026-11-23T10:10:00+03:00", "ivanova", {"3.4.2"}, {{"needs_legal", false}});
  log.work("1", "3.4.5", "2026-11-24T09:00:00+03:00", "ivanova", {"3.4.9"});
  // 2: notified after exactly 24 hours: met
  log.start("2", "complaint", "2026-11-24T10:00:00+03:00", "petrov");
  log.work("2", "3.4.5", "2026-11-25T10:00:00+03:00", "petrov", {"3.4.9"});
  // 3: notified after 25 hours: missed
  log.start("3", "complaint", "2026-11-25T10:00:00+03:00", "petrov");
  log.work("3", "3.4.5", "2026-11-26T11:00:00+03:00", "petrov", {"3.4.9"});
  // 4: never notified, deadline passed: missed
  log.start("4", "complaint", "2026-11-26T10:00:00+03:00", "ivanova");
  // 5: Sunday evening, not notified yet: pending until Monday evening
  log.start("5", "complaint", "2026-11-29T20:00:00+03:00", "ivanova");
  // 6: a legal complaint never goes through 3.4.5: left out by where
  log.start("6", "complaint", "2026-11-23T10:00:00+03:00", "ivanova");
  log.work("6", "3.4.1", "2026-11-23T10:10:00+03:00", "ivanova", {"3.4.2"}, {{"needs_legal", true}});
  // 7: started before the week: not judged here
  log.start("7", "complaint", "2026-11-22T10:00:00+03:00", "ivanova");

  // when: it is Monday morning after the week
  auto f = run(set, log, week("2026-11-30T09:00:00+03:00"));
  const Figure& all = figure(f[0]);
  CHECK(all.count == 2);
  CHECK(*all.of == 4);
  CHECK(*all.pending == 1);
  CHECK(*all.value == 50.0);

  // when: a day later 5 is notified late; the figure is final now
  log.work("5", "3.4.5", "2026-11-30T21:00:00+03:00", "ivanova", {"3.4.9"});
  auto later = run(set, log, week("2026-12-01T09:00:00+03:00"));
  CHECK(figure(later[0]).count == 2);
  CHECK(*figure(later[0]).of == 5);
  CHECK(*figure(later[0]).pending == 0);
  CHECK(*figure(later[0]).value == 40.0);

  // and what happened after `now` is not known yet: on Tuesday at 10:30, 1
  // is met, 2 (started at 10:00) is pending, 3 to 5 have not started
  auto earlier = run(set, log, week("2026-11-24T10:30:00+03:00"));
  CHECK(figure(earlier[0]).count == 1);
  CHECK(*figure(earlier[0]).of == 1);
  CHECK(*figure(earlier[0]).pending == 1);
  CHECK(*figure(earlier[0]).value == 100.0);
}

TEST_CASE("a report for a past period does not change when work goes on afterwards") {
  IndicatorSet set = indicators(R"(indicators:
  - {code: A, title: A, unit: шт., period: week, count: {event: InstanceStarted}}
  - {code: B, title: B, unit: ч, period: week, duration: {process: complaint, from: start, to: end}}
  - {code: C, title: C, unit: "%", period: week, share_within: {process: complaint, from: start, to: end, within: 2d}}
)");
  Log log;
  log.start("1", "complaint", "2026-11-23T10:00:00+03:00", "ivanova");
  log.end("1", "2026-11-24T10:00:00+03:00");
  log.start("2", "complaint", "2026-11-25T10:00:00+03:00", "ivanova");
  log.end("2", "2026-11-28T10:00:00+03:00");
  ReportQuery q = week("2026-12-05T00:00:00+03:00");
  auto before = run(set, log, q);
  // more work, later
  log.start("3", "complaint", "2026-12-01T10:00:00+03:00", "ivanova");
  log.end("3", "2026-12-01T11:00:00+03:00");
  log.start("4", "complaint", "2026-12-02T10:00:00+03:00", "ivanova");
  q.now = at("2026-12-20T00:00:00+03:00");
  auto after = run(set, log, q);
  REQUIRE(before.size() == after.size());
  for (size_t i = 0; i < before.size(); ++i) {
    REQUIRE(before[i].figures.size() == after[i].figures.size());
    CHECK(before[i].figures[0].value == after[i].figures[0].value);
    CHECK(before[i].figures[0].count == after[i].figures[0].count);
  }
  CHECK(*before[0].figures[0].value == 2.0);
  CHECK(*before[1].figures[0].value == 48.0);  // median of 24 and 72
  CHECK(*before[2].figures[0].value == 50.0);
}

TEST_CASE("IndicatorComputer fed one instance at a time, in any order, gives compute()'s figures") {
  // Every kind of measure, grouped, split by day, with deadlines still
  // running: a report that reads the log instance by instance must come to
  // the same figures as one that reads it whole.
  IndicatorSet set = indicators(R"(indicators:
  - {code: N, title: N, unit: шт., period: day, count: {event: InstanceStarted}}
  - {code: R, title: R, unit: "%", period: day, ratio: {numerator: {event: StepCompleted, step: "3.4.9"}, denominator: {event: InstanceStarted}}}
  - {code: D, title: D, unit: ч, period: day, duration: {process: complaint, from: start, to: "3.4.9", stat: median}}
  - {code: S, title: S, unit: "%", period: day, share_within: {process: complaint, from: start, to: "3.4.5", within: 24h}}
)");
  Log log;
  const char* actors[] = {"ivanova", "petrov", "sidorova"};
  for (int i = 1; i <= 24; ++i) {
    const std::string id = std::to_string(i);
    const int day = 23 + i % 7;
    const std::string when = "2026-11-" + std::to_string(day) + "T" + (i % 2 ? "10" : "15") + ":00:00+03:00";
    log.start(id, i % 5 == 0 ? "incoming-request" : "complaint", when, actors[i % 3], {{"client", Json("К" + id)}});
    if (i % 3 != 0) {
      const std::string later = "2026-11-" + std::to_string(day + (i % 4 == 0)) + "T18:00:00+03:00";
      log.work(id, "3.4.5", later, actors[(i + 1) % 3], {"3.4.9"});
      if (i % 2 == 0) log.work(id, "3.4.9", later.substr(0, 11) + "19:00:00+03:00", "sidorova", {"3.4.10"});
    }
  }
  ReportQuery q = week("2026-11-29T12:00:00+03:00");
  q.split = true;
  for (std::optional<GroupBy> by : {std::optional<GroupBy>(), std::optional<GroupBy>(GroupBy::actor),
                                    std::optional<GroupBy>(GroupBy::client)}) {
    q.by = by;
    const auto whole = run(set, log, q);
    // The instances' events, instances in a shuffled order, each instance's
    // events shuffled too.
    std::map<std::string, std::vector<LogEvent>> by_instance;
    for (const LogEvent& e : log.events) by_instance[e.instance].push_back(e);
    std::vector<std::vector<LogEvent>> instances;
    for (auto& [id, events] : by_instance) instances.push_back(events);
    std::mt19937 rng(7);
    for (int round = 0; round < 3; ++round) {
      std::shuffle(instances.begin(), instances.end(), rng);
      IndicatorComputer computer(set, q);
      for (std::vector<LogEvent>& events : instances) {
        std::shuffle(events.begin(), events.end(), rng);
        REQUIRE(computer.add(events).ok());
      }
      const auto streamed = computer.figures();
      REQUIRE(streamed.size() == whole.size());
      for (size_t i = 0; i < whole.size(); ++i) {
        CAPTURE(whole[i].code);
        CHECK(streamed[i].from == whole[i].from);
        REQUIRE(streamed[i].figures.size() == whole[i].figures.size());
        for (size_t k = 0; k < whole[i].figures.size(); ++k) {
          CHECK(streamed[i].figures[k].group == whole[i].figures[k].group);
          CHECK(streamed[i].figures[k].value == whole[i].figures[k].value);
          CHECK(streamed[i].figures[k].count == whole[i].figures[k].count);
          CHECK(streamed[i].figures[k].of == whole[i].figures[k].of);
          CHECK(streamed[i].figures[k].pending == whole[i].figures[k].pending);
        }
      }
    }
    // Something of every kind was measured.
    for (const auto& f : whole) {
      if (f.from == q.from) CHECK_MESSAGE(figure(f).count > 0, f.code);
    }
  }
  // A bad time stops it, as it stops compute().
  IndicatorComputer computer(set, week());
  Log bad;
  bad.start("1", "complaint", "yesterday", "ivanova");
  auto st = computer.add(bad.events);
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().message.find("event 1 of instance 1") != std::string::npos);
}

TEST_CASE("split gives one set of figures per calendar period of the indicator") {
  IndicatorSet set = indicators(R"(indicators:
  - {code: D, title: D, unit: шт., period: day, count: {event: InstanceStarted}}
  - {code: W, title: W, unit: шт., period: week, count: {event: InstanceStarted}}
)");
  Log log;
  log.start("1", "complaint", "2026-11-23T10:00:00+03:00", "ivanova");
  log.start("2", "complaint", "2026-11-23T11:00:00+03:00", "ivanova");
  log.start("3", "complaint", "2026-11-25T10:00:00+03:00", "ivanova");
  ReportQuery q = week();
  q.split = true;
  auto f = run(set, log, q);
  // D: the whole week then its 7 days; W: one week, so no split rows
  REQUIRE(f.size() == 1 + 7 + 1);
  CHECK(figure(f[0]).count == 3);
  CHECK(f[1].from == at("2026-11-23T00:00:00+03:00"));
  CHECK(f[1].to == at("2026-11-24T00:00:00+03:00"));
  CHECK(figure(f[1]).count == 2);
  CHECK(figure(f[2]).count == 0);
  CHECK(figure(f[3]).count == 1);
  CHECK(f[7].to == at("2026-11-30T00:00:00+03:00"));
  CHECK(f[8].code == "W");
}

TEST_CASE("periods are cut at midnight, on Mondays and on the 1st, in the offset of the start") {
  auto weeks = split_period(Period::week, at("2026-11-04T12:00:00+03:00"), at("2026-11-20T00:00:00+03:00"));
  REQUIRE(weeks.size() == 3);
  CHECK(weeks[0].first == at("2026-11-04T12:00:00+03:00"));
  CHECK(weeks[0].second == at("2026-11-09T00:00:00+03:00"));
  CHECK(weeks[1].second == at("2026-11-16T00:00:00+03:00"));
  CHECK(weeks[2].second == at("2026-11-20T00:00:00+03:00"));
  auto months = split_period(Period::month, at("2026-11-15T00:00:00+03:00"), at("2027-01-10T00:00:00+03:00"));
  REQUIRE(months.size() == 3);
  CHECK(months[0].second == at("2026-12-01T00:00:00+03:00"));
  CHECK(months[1].second == at("2027-01-01T00:00:00+03:00"));
  CHECK(split_period(Period::day, at("2026-11-04T00:00:00Z"), at("2026-11-04T00:00:00Z")).empty());
}

TEST_CASE("controls are due once per day, week or month of the period, on their day") {
  Control weekly;
  weekly.period = Period::week;
  weekly.weekday = 5;  // Friday
  Moment from = at("2026-11-01T00:00:00+03:00");
  Moment to = at("2026-12-01T00:00:00+03:00");
  auto fridays = due_dates(weekly, from, to);
  std::vector<std::string> texts;
  for (const auto& d : fridays) texts.push_back(format_date(d));
  CHECK(texts == std::vector<std::string>{"2026-11-06", "2026-11-13", "2026-11-20", "2026-11-27"});

  Control monthly;
  monthly.period = Period::month;
  monthly.month_day = 0;  // the last day
  auto last = due_dates(monthly, at("2027-01-15T00:00:00+03:00"), at("2027-03-15T00:00:00+03:00"));
  REQUIRE(last.size() == 2);
  CHECK(format_date(last[0]) == "2027-01-31");
  CHECK(format_date(last[1]) == "2027-02-28");
  monthly.month_day = 31;  // clamped to the month's length
  CHECK(format_date(due_dates(monthly, at("2027-02-01T00:00:00+03:00"), at("2027-03-01T00:00:00+03:00"))[0]) ==
        "2027-02-28");

  Control daily;
  daily.period = Period::day;
  CHECK(due_dates(daily, at("2026-11-23T00:00:00+03:00"), at("2026-11-30T00:00:00+03:00")).size() == 7);
  daily.workdays = true;
  CHECK(due_dates(daily, at("2026-11-23T00:00:00+03:00"), at("2026-11-30T00:00:00+03:00")).size() == 5);
  // A period that starts mid-day still includes that day.
  CHECK(due_dates(daily, at("2026-11-23T15:00:00+03:00"), at("2026-11-24T09:00:00+03:00")).size() == 2);
}

TEST_CASE("an event with a malformed time is an error, not a silent gap") {
  IndicatorSet set = indicators("indicators:\n  - {code: A, title: A, unit: u, period: week, count: {event: InstanceStarted}}\n");
  Log log;
  log.start("1", "complaint", "yesterday", "ivanova");
  auto r = compute(set, log.events, week());
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("event 1 of instance 1") != std::string::npos);
}
