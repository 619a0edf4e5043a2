// Inputs the fuzz targets (tests/fuzz/) and the sanitizer build found, kept
// as tests so that the bug they showed stays fixed. Each case says what the
// input did before the fix.

#include <doctest/doctest.h>

#include <chrono>
#include <climits>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/calendar.h"
#include "engine/core.h"
#include "engine/expr.h"
#include "engine/json.h"
#include "engine/loader.h"
#include "engine/time.h"
#include "tests/engine/fixtures.h"

namespace reglament {
namespace {

std::string repeat(std::string_view part, int n) {
  std::string out;
  out.reserve(part.size() * static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) out += part;
  return out;
}

// A stored event, as storage decodes it.
Event event(EventType type, std::string step, Json data) {
  Event e;
  e.type = type;
  e.at = "2026-11-23T10:00:00+03:00";
  e.step = std::move(step);
  e.data = std::move(data);
  return e;
}

Event started(const std::string& process) {
  return event(EventType::instance_started, "",
               JsonObject{{"instance", Json("1")}, {"process", Json(process)}, {"version", Json(1)},
                          {"hash", Json("h")}, {"variables", Json::object()}});
}

// s (notify, 3 retries) -> a (manager) -> j (join of 2, manager) -> end
std::shared_ptr<Process> service_and_join() {
  auto p = std::make_shared<Process>();
  p->key = "p";
  p->title = "P";
  p->owner = "deputy-director";
  Step s = testing::user_step("s", {"manager"}, testing::go("a"));
  s.handler = "notify";
  Step a = testing::user_step("a", {"manager"}, testing::go("j"));
  Step j = testing::user_step("j", {"manager"}, testing::go("end"));
  j.join = true;
  j.join_count = 2;
  p->steps = {s, a, j};
  return p;
}

}  // namespace

// The stored log is not trusted (an edited database file), and the core
// must not run into undefined behaviour on numbers read from it. These
// inputs, found with fuzz_events (tests/fuzz/), still do in engine/core.cpp;
// each case is skipped until core.cpp is fixed (the sanitizer build aborts
// on them): remove the skip with the fix.
TEST_CASE("a stored ServiceCompleted with awaiting INT_MIN, then a ChildReturned, replays without overflow" *
          doctest::skip(true)) {
  // Before: apply(ChildReturned) computed awaiting - 1 = INT_MIN - 1 (core.cpp, apply).
  const InstanceState s = replay(
      {started("p"),
       event(EventType::service_completed, "s",
             JsonObject{{"job", Json("1.1")}, {"outputs", Json::object()}, {"awaiting", Json(int64_t{INT_MIN})}}),
       event(EventType::child_returned, "s",
             JsonObject{{"job", Json("1.1")}, {"child", Json("2")}, {"outputs", Json::object()}})});
  CHECK(s.jobs.at("1.1").awaiting >= 0);
}

TEST_CASE("a failure of a job whose stored attempt count is INT_MAX or negative is decided without overflow" *
          doctest::skip(true)) {
  // Before: decide_service computed attempts + 1 = INT_MAX + 1, and for a
  // negative count shifted the back-off by a negative amount (core.cpp,
  // decide_service).
  const auto process = service_and_join();
  const Org org = testing::org();
  const Context ctx{*process, 1, "h", org};
  for (int64_t stored : {int64_t{INT_MAX}, int64_t{-5}}) {
    const InstanceState s = replay(
        {started("p"), event(EventType::service_scheduled, "s", JsonObject{{"job", Json("1.1")}, {"handler", Json("notify")}}),
         event(EventType::service_failed, "s",
               JsonObject{{"job", Json("1.1")}, {"error", Json("x")}, {"attempt", Json(stored)}})});
    RecordServiceResult failed;
    failed.job = "1.1";
    failed.ok = false;
    failed.error = "сбой";
    Result<std::vector<Event>> r = decide(ctx, s, Command{"1", "", "2026-11-23T11:00:00+03:00", failed});
    if (r.ok()) {
      REQUIRE_FALSE(r->empty());
      CHECK(r->back().data.integer("attempt") > 0);
    }
  }
}

TEST_CASE("a branch arriving at a join whose stored arrival count is INT_MAX is decided without overflow" *
          doctest::skip(true)) {
  // Before: Emitter::enter computed 1 + arrived = 1 + INT_MAX (core.cpp).
  const auto process = service_and_join();
  const Org org = testing::org();
  const Context ctx{*process, 1, "h", org};
  const InstanceState s =
      replay({started("p"),
              event(EventType::task_created, "a", JsonObject{{"task", Json("1.1")}, {"roles", JsonArray{Json("manager")}}}),
              event(EventType::join_waiting, "j", JsonObject{{"arrived", Json(int64_t{INT_MAX})}, {"expected", Json(2)}})});
  Result<std::vector<Event>> r =
      decide(ctx, s, Command{"1", "ivanova", "2026-11-23T11:00:00+03:00", CompleteTask{"1.1", {}}});
  CHECK((r.ok() || r.error().code == ErrorCode::integrity));
}

// Before: every `and` / `or` made the chain one level deeper, so evaluating
// (and destroying) `a and a and … a` recursed once per operand: 20 000 of
// them (a 120 KB condition) overflowed the stack (SIGSEGV); and every node
// computed its column by counting from the start of the text, so parsing
// took time quadratic in its length (100 000 operands: 80 s).
TEST_CASE("a condition chaining 20000 and-operands parses, evaluates and is destroyed without deep recursion") {
  const std::string text = repeat("a and ", 20000) + "a";
  const auto started = std::chrono::steady_clock::now();
  {
    Result<Expr> e = parse_expr(text);
    REQUIRE(e.ok());
    CHECK(e->variables() == std::set<std::string>{"a"});
    Result<bool> yes = eval_condition(*e, JsonObject{{"a", Json(true)}});
    REQUIRE(yes.ok());
    CHECK(*yes);
    Result<bool> no = eval_condition(*e, JsonObject{{"a", Json(false)}});
    REQUIRE(no.ok());
    CHECK_FALSE(*no);
  }
  // Linear: well under a second even in the sanitizer build.
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(10));
}

TEST_CASE("a long or-chain of and-chains keeps the precedence and short-circuits") {
  // (x and y) or (x and y) or … or z: true only through z.
  const std::string text = repeat("x and y or ", 20000) + "z";
  Result<Expr> e = parse_expr(text);
  REQUIRE(e.ok());
  CHECK(*eval_condition(*e, JsonObject{{"x", Json(true)}, {"z", Json(true)}}));
  CHECK_FALSE(*eval_condition(*e, JsonObject{{"x", Json(true)}, {"y", Json(false)}}));
  CHECK(*eval_condition(*e, JsonObject{{"x", Json(true)}, {"y", Json(true)}}));
  // Short-circuit: the type mismatch after the deciding operand is never evaluated.
  Result<Expr> guarded = parse_expr(repeat("ok or ", 1000) + "n < \"text\"");
  REQUIRE(guarded.ok());
  CHECK(*eval_condition(*guarded, JsonObject{{"ok", Json(true)}, {"n", Json(int64_t{1})}}));
  Result<bool> failed = eval_condition(*guarded, JsonObject{{"n", Json(int64_t{1})}});
  REQUIRE_FALSE(failed.ok());
  CHECK(failed.error().code == ErrorCode::invalid);
}

TEST_CASE("errors after a long chain still name the column, counted in characters") {
  // A parse error: the unclosed "(" at the very end.
  const std::string chain = repeat("\"да\" == x and ", 3000);
  Result<Expr> bad = parse_expr(chain + "(");
  REQUIRE_FALSE(bad.ok());
  const int chain_columns = 3000 * 14;  // `"да" == x and ` is 14 characters
  CHECK(bad.error().where.column == chain_columns + 2);
  // An evaluation error: the column of the "<" that compares a number with a string.
  Result<Expr> e = parse_expr(repeat("a and ", 3000) + "n < \"z\"");
  REQUIRE(e.ok());
  Result<Json> v = eval(*e, JsonObject{{"a", Json(true)}, {"n", Json(int64_t{1})}});
  REQUIRE_FALSE(v.ok());
  CHECK(v.error().where.column == 3000 * 6 + 3);
}

// Found by fuzz_tzif: a TZif file (Asia/Kathmandu with two bytes changed)
// whose last transition, at 2038-01-19T03:14:07Z, goes to offset 0 while its
// footer's rule says +05:45. offset_at follows the rule after the last
// transition, but to_utc did not see that change (it only added the rule's
// own daylight-saving changes), so a local time after it was read with
// offset 0: 20 700 s late.
TEST_CASE("to_utc agrees with offset_at where a TZif rule takes over from a last transition it does not continue") {
  static const unsigned char kTzif[] = {
    0x54, 0x5a, 0x69, 0x66, 0x32, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x10, 0xa1, 0xf2, 0x7d, 0x84,
    0x1e, 0x18, 0x30, 0xa8, 0x7f, 0xff, 0xff, 0xff, 0x01, 0x02, 0x02, 0x00, 0x00, 0x4f, 0xfc, 0x00,
    0x00, 0x00, 0x00, 0x4d, 0x58, 0x00, 0x04, 0x00, 0x00, 0x50, 0xdc, 0x00, 0x0a, 0x4c, 0x4d, 0x54,
    0x00, 0x2b, 0x30, 0x35, 0x33, 0x30, 0x00, 0x2b, 0x30, 0x35, 0x34, 0x35, 0x00, 0x54, 0x5a, 0x69,
    0x66, 0x32, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x03, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x10, 0xff, 0xff, 0xff, 0xff, 0xa1, 0xf2, 0x7d,
    0x84, 0x00, 0x00, 0x00, 0x00, 0x1e, 0x18, 0x30, 0xa8, 0x00, 0x00, 0x00, 0x00, 0x7f, 0xff, 0xff,
    0xff, 0x01, 0x02, 0x02, 0x00, 0x00, 0x4f, 0xfc, 0x00, 0x00, 0x00, 0x00, 0x4d, 0x58, 0x00, 0x04,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x2b, 0x30, 0x35, 0x34, 0x35, 0x00, 0x0a, 0x3c, 0x2b, 0x30, 0x35, 0x34, 0x35, 0x3e, 0x2d, 0x35,
    0x3a, 0x34, 0x35, 0x0a,
  };
  Result<TimeZone> z =
      TimeZone::from_tzif("Fuzz/Kathmandu", std::string_view(reinterpret_cast<const char*>(kTzif), sizeof kTzif));
  REQUIRE(z.ok());
  CHECK(z->offset_at(2147483647) == 0);
  CHECK(z->offset_at(2147483648) == 20700);
  for (int64_t utc : {int64_t{2147483000}, int64_t{2147483647}, int64_t{2147483648}, int64_t{2147484629},
                      int64_t{2147500000}, int64_t{2147700000}}) {
    const CivilDate d = z->local_date(utc);
    const int64_t s = z->local_seconds(utc);
    CHECK_MESSAGE(z->to_utc(d, s) == utc, "at " << utc);
  }
  // A local time in the gap the jump forward skips is read with the offset
  // before the jump, as documented.
  const int64_t skipped = 2147483648 + 600;  // local 2038-01-19T03:24:08, skipped
  CHECK(z->to_utc(days_to_civil(skipped / 86400), skipped % 86400) == skipped);
}

// A version-1 TZif file: one transition at `at` from offset `before` to
// `after` (seconds east of UTC).
std::string tzif_v1(int32_t at, int32_t before, int32_t after) {
  std::string b = "TZif";
  b.append(16, '\0');  // version 1, reserved
  auto u32 = [&](uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) b += static_cast<char>((v >> shift) & 0xFF);
  };
  for (uint32_t count : {0u, 0u, 0u, 1u, 2u, 4u}) u32(count);  // isut, isstd, leap, time, type, char
  u32(static_cast<uint32_t>(at));
  b += '\1';  // the transition goes to type 1
  for (int32_t offset : {before, after}) {
    u32(static_cast<uint32_t>(offset));
    b += '\0';  // isdst
    b += '\0';  // designation index
  }
  b.append("LMT", 4);
  return b;
}

// Found by fuzz_tzif (reduced here to the one transition that matters): a
// zone that jumps from +01:00 to +20:12:16 at 1916-04-30T22:00Z skips the
// whole working day of Monday 1916-05-01. The working periods of that day
// were computed with to_utc, which reads a skipped local time with the offset
// before the jump and so lands after it, in Tuesday's night: the next
// working moment after Sunday evening was Tuesday 04:12 local, which is not
// working time.
TEST_CASE("a working day that a jump forward skips has no working time, and the next one is found") {
  Result<TimeZone> z = TimeZone::from_tzif("Fuzz/Jump", tzif_v1(-1693706400, 3600, 72736));
  REQUIRE(z.ok());
  WorkingCalendar cal = default_calendar();
  cal.zone = *z;
  cal.lunch = std::pair<int64_t, int64_t>{13 * 3600, 14 * 3600};
  const int64_t sunday_evening = -1693716190;  // 1916-04-30 21:16:50 local (+01:00)
  const int64_t tuesday_nine = civil_to_days(CivilDate{1916, 5, 2}) * 86400 + 9 * 3600 - 72736;
  CHECK(cal.next_working_moment(sunday_evening) == tuesday_nine);
  CHECK(cal.is_working_time(tuesday_nine));
  CHECK_FALSE(cal.is_working_time(tuesday_nine - 1));
  CHECK(cal.add_working_seconds(sunday_evening, 3600) == tuesday_nine + 3600);
}

// The same in a real zone: Samoa skipped Friday 2011-12-30 (UTC-10 to UTC+14).
TEST_CASE("in Pacific/Apia the skipped Friday 2011-12-30 adds no working time and Saturday stays a day off") {
  Result<std::string> bytes = read_system_zone("Pacific/Apia");
  if (!bytes.ok()) {
    MESSAGE("tzdata has no Pacific/Apia: " << bytes.error().message);
    return;
  }
  Result<TimeZone> z = TimeZone::from_tzif("Pacific/Apia", *bytes);
  REQUIRE(z.ok());
  WorkingCalendar cal = default_calendar();
  cal.zone = *z;
  const int64_t thursday_evening = 1325224800;  // 2011-12-29 20:00 local (-10:00)
  const int64_t monday_nine = 1325444400;       // 2012-01-02 09:00 local (+14:00)
  CHECK(cal.next_working_moment(thursday_evening) == monday_nine);
  // Thursday 17:00 + 2 working hours: 17:00-18:00 on Thursday, then Monday 09:00-10:00.
  CHECK(cal.add_working_seconds(1325214000, 2 * 3600) == monday_nine + 3600);
}

// fuzz_loader: yaml-cpp 0.7's LoadAll yielded an empty document at a "," it
// could not consume, forever; the loader ran out of memory (2.8 GB in 13 s)
// and reported std::bad_alloc, or libFuzzer's out-of-memory report stalled CI.
TEST_CASE("a stray comma after a block mapping is a syntax error at its place, not endless documents") {
  const std::string input =
      "# eme: resolved\n    title: Рекламация устранена\n    type: bool\n   , actor: clerk, next:!end}\n";
  for (const std::string& text : {input, std::string(", a\n")}) {
    SourceSet s;
    s.root = "p";
    s.files["f.yaml"] = text;
    LoadReport r = load_bundle(s, nullptr);
    REQUIRE(r.problems.size() == 1);
    CHECK(r.problems[0].message.find("unexpected \",\" outside a [ ] list or { } mapping") != std::string::npos);
  }
  SourceSet s;
  s.root = "p";
  s.files["f.yaml"] = input;
  CHECK(load_bundle(s, nullptr).problems[0].str().find("f.yaml:4:4:") != std::string::npos);
}

}  // namespace reglament
