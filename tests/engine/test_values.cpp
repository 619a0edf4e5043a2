// Values that must be stored exactly or not at all (issue 18, "Values"):
// numbers a double cannot hold are refused, never rounded; a field's min/max
// are read by the loader and enforced by the core; a handler's number out of
// range is the handler's failure.
#include <doctest/doctest.h>

#include <limits>
#include <string>

#include "engine/core.h"
#include "engine/loader.h"
#include "engine/model.h"
#include "tests/engine/fixtures.h"

using namespace reglament;
using namespace reglament::testing;

namespace {

std::string error_of(const Result<Json>& r) { return r.ok() ? "" : r.error().message; }

Field number_field(std::string name) { return field(std::move(name), ValueType::number, false); }

const char* kOrg = R"(roles:
  manager: {title: Менеджер}
people:
  - login: ivanova
    name: Иванова
    roles: [manager]
)";

// A bundle whose form `f.yaml` holds `fields` (from line 4 on).
LoadReport load_form(const std::string& fields) {
  SourceSet s;
  s.root = "b";
  s.files["org.yaml"] = kOrg;
  s.files["f.yaml"] = "form: f\ntitle: F\nfields:\n" + fields;
  s.files["p.yaml"] =
      "process: p\ntitle: T\nowner: manager\nsteps:\n  - id: a\n    title: A\n    actor: manager\n"
      "    form: f\n    next: end\n";
  return load_bundle(s, nullptr);
}

bool has_problem(const LoadReport& r, const std::string& place, const std::string& text) {
  for (const auto& e : r.problems) {
    if (e.where.str() == place && e.message.find(text) != std::string::npos) return true;
  }
  return false;
}

std::string listing(const LoadReport& r) {
  std::string out;
  for (const auto& e : r.problems) out += e.str() + "\n";
  return out;
}

}  // namespace

// ---- The range of a number ------------------------------------------------------

TEST_CASE("a number too large for a double to hold exactly is refused, not rounded to 1e26") {
  Field f = number_field("volume");
  auto v = parse_field_value(f, "99999999999999999999999999");
  REQUIRE_FALSE(v.ok());
  CHECK(v.error().code == ErrorCode::invalid);
  CHECK(error_of(v).find("field \"volume\"") != std::string::npos);
  CHECK(error_of(v).find("from -9007199254740991 to 9007199254740991") != std::string::npos);
  CHECK(error_of(v).find("at most 15 significant digits") != std::string::npos);
}

TEST_CASE("integers up to 2^53 - 1 are kept exactly and one more is refused") {
  Field f = number_field("n");
  auto top = parse_field_value(f, "9007199254740991");
  REQUIRE(top.ok());
  CHECK(top->as_int() == 9007199254740991);
  auto bottom = parse_field_value(f, "-9007199254740991");
  REQUIRE(bottom.ok());
  CHECK(bottom->as_int() == -9007199254740991);
  CHECK_FALSE(parse_field_value(f, "9007199254740992").ok());
  CHECK_FALSE(parse_field_value(f, "-9007199254740992").ok());
  // Within int64, yet beyond what a double holds.
  CHECK_FALSE(parse_field_value(f, "9223372036854775807").ok());
  // Leading zeros do not count against the range.
  auto padded = parse_field_value(f, "0000000000000000000042");
  REQUIRE(padded.ok());
  CHECK(padded->as_int() == 42);
}

TEST_CASE("decimals of up to 15 significant digits are kept and longer ones are refused") {
  Field f = number_field("price");
  auto ok = parse_field_value(f, "1234567.89012345");  // 15 digits
  REQUIRE(ok.ok());
  CHECK(ok->dump() == "1234567.89012345");
  auto small = parse_field_value(f, "0.000000000000000000123");  // leading zeros are not significant
  REQUIRE(small.ok());
  auto trailing = parse_field_value(f, "12.50000000000000000000");  // nor are trailing ones
  REQUIRE(trailing.ok());
  CHECK(trailing->dump() == "12.5");
  // 0.1 written with 17 digits would be read back as 0.1: rounded, so refused.
  CHECK_FALSE(parse_field_value(f, "0.10000000000000001").ok());
  CHECK_FALSE(parse_field_value(f, "1234567.890123456").ok());  // 16 digits
  // A number of 400 digits is out of range, not "not a number".
  auto huge = parse_field_value(f, std::string(400, '9') + ".5");
  REQUIRE_FALSE(huge.ok());
  CHECK(error_of(huge).find("significant digits") != std::string::npos);
}

TEST_CASE("a typed number beyond 2^53 - 1, infinite or NaN is refused for a number field") {
  Field f = number_field("n");
  CHECK(check_field_value(f, Json(int64_t{9007199254740991})).ok());
  CHECK_FALSE(check_field_value(f, Json(int64_t{9007199254740992})).ok());
  CHECK_FALSE(check_field_value(f, Json(1e26)).ok());
  CHECK_FALSE(check_field_value(f, Json(std::numeric_limits<double>::infinity())).ok());
  CHECK_FALSE(check_field_value(f, Json(std::numeric_limits<double>::quiet_NaN())).ok());
  CHECK(check_field_value(f, Json(-12.5)).ok());
}

// ---- min and max ---------------------------------------------------------------

TEST_CASE("a value below min or above max is refused with the field's name and the bound") {
  Field f = number_field("volume");
  f.min = Json(int64_t{1});
  f.max = Json(100.5);
  CHECK(parse_field_value(f, "1").ok());
  CHECK(parse_field_value(f, "100.5").ok());
  auto low = parse_field_value(f, "0");
  REQUIRE_FALSE(low.ok());
  CHECK(error_of(low) == "field \"volume\" must be at least 1, got 0");
  auto high = parse_field_value(f, "100.51");
  REQUIRE_FALSE(high.ok());
  CHECK(error_of(high) == "field \"volume\" must be at most 100.5, got 100.51");
  // Typed values are held to the same bounds.
  CHECK_FALSE(check_field_value(f, Json(int64_t{101})).ok());
  // An empty optional value is unset, not out of range.
  CHECK(parse_field_value(f, "").ok());
}

TEST_CASE("date bounds compare dates and datetime bounds compare instants across offsets") {
  Field d = field("due", ValueType::date, false);
  d.min = Json("2026-01-01");
  CHECK(parse_field_value(d, "2026-01-01").ok());
  CHECK(error_of(parse_field_value(d, "2025-12-31")) == "field \"due\" must be at least 2026-01-01, got 2025-12-31");
  Field t = field("call", ValueType::datetime, false);
  t.max = Json("2026-12-08T12:00:00+03:00");
  // 09:30Z is 12:30 at +03:00: after the bound, though it sorts before it as text.
  CHECK_FALSE(parse_field_value(t, "2026-12-08T09:30:00Z").ok());
  CHECK(parse_field_value(t, "2026-12-08T08:59:00Z").ok());
}

TEST_CASE("the loader reads min and max of a number field and the inbox form carries them") {
  auto r = load_form("  - name: volume\n    type: number\n    min: 1\n    max: 1000000\n");
  INFO(listing(r));
  REQUIRE(r.ok());
  const Field* f = r.bundle.forms.at("f").field("volume");
  REQUIRE(f != nullptr);
  REQUIRE(f->min.has_value());
  REQUIRE(f->max.has_value());
  CHECK(*f->min == Json(int64_t{1}));
  CHECK(*f->max == Json(int64_t{1000000}));
}

TEST_CASE("min and max that are not of the field's type, or max below min, are refused where written") {
  auto wrong = load_form("  - name: volume\n    type: number\n    min: many\n");
  INFO(listing(wrong));
  CHECK(has_problem(wrong, "b/f.yaml:6:10", "min of field \"volume\" must be a number"));
  auto text = load_form("  - name: note\n    min: 3\n");
  INFO(listing(text));
  CHECK(has_problem(text, "b/f.yaml:5:5", "has min but is not a number, date or datetime"));
  auto crossed = load_form("  - name: volume\n    type: number\n    min: 10\n    max: 5\n");
  INFO(listing(crossed));
  CHECK(has_problem(crossed, "b/f.yaml:7:10", "max of field \"volume\" of form \"f\" is below its min"));
  auto huge = load_form("  - name: volume\n    type: number\n    max: 99999999999999999999999999\n");
  INFO(listing(huge));
  CHECK(has_problem(huge, "b/f.yaml:6:10", "significant digits"));
}

TEST_CASE("a default outside min and max is refused where it is written") {
  auto r = load_form("  - name: volume\n    type: number\n    min: 10\n    default: 5\n");
  INFO(listing(r));
  CHECK(has_problem(r, "b/f.yaml:7:14", "must be at least 10, got 5"));
}

// ---- Handler outputs -------------------------------------------------------------

TEST_CASE("a handler output with a number out of range fails the job instead of being stored") {
  auto process = sample_process();
  Org people = org();
  Context ctx{*process, 1, "hash-1", people};
  InstanceState state;
  auto run = [&](const std::string& actor, CommandBody body) {
    Command cmd{state.exists() ? state.id : "7", actor, "2026-11-23T10:00:00+03:00", std::move(body)};
    auto events = decide(ctx, state, cmd);
    if (events.ok())
      for (const auto& e : *events) apply(state, e);
    return events;
  };
  JsonObject start{{"client", Json("x")}, {"vip", Json(true)}};
  REQUIRE(run("ivanova", StartInstance{start}).ok());
  for (const char* step : {"a", "b"}) {
    std::string task;
    for (const Task* t : state.open_tasks())
      if (t->step == step) task = t->id;
    REQUIRE(run("ivanova", CompleteTask{task, {}}).ok());
  }
  REQUIRE(state.open_jobs().size() == 1);
  const std::string job = state.open_jobs().front()->id;
  JsonObject nested{{"total", Json(1e26)}};
  RecordServiceResult result{job, true, JsonObject{{"sum", Json(nested)}}, {}, ""};
  auto events = run("", result);
  REQUIRE(events.ok());
  REQUIRE(events->size() == 1);
  CHECK(events->front().type == EventType::service_failed);
  CHECK(events->front().data.str("error").find("output \"sum.total\" is a number out of range") !=
        std::string::npos);
  CHECK(state.variables.count("sum") == 0);
  CHECK(state.jobs.at(job).open);
}
