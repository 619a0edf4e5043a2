// Calendar tests: working-time arithmetic, spans, TZif zones (the real
// files of the tzdata package and hand-made ones), schedule occurrences and
// the calendar file. Instants are written as local text ("2026-03-27 14:00")
// read in the calendar's zone, and results are shown the same way, so a
// failing check prints a readable time.
//
// Days used: 2026-03-23 is a Monday, 2026-03-27 a Friday; Europe/Berlin
// moves to summer time on Sunday 2026-03-29 and back on Sunday 2026-10-25;
// America/New_York on 2026-03-08 and 2026-11-01.

#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "engine/calendar.h"

using namespace reglament;

namespace {

// "YYYY-MM-DD HH:MM" read in `zone`.
int64_t at(const TimeZone& zone, const std::string& text) {
  CivilDate d{std::stoll(text.substr(0, 4)), static_cast<unsigned>(std::stoi(text.substr(5, 2))),
              static_cast<unsigned>(std::stoi(text.substr(8, 2)))};
  int64_t seconds = std::stoll(text.substr(11, 2)) * 3600 + std::stoll(text.substr(14, 2)) * 60;
  return zone.to_utc(d, seconds);
}
int64_t at(const WorkingCalendar& cal, const std::string& text) { return at(cal.zone, text); }
int64_t utc(const std::string& text) { return at(TimeZone{}, text); }

// "2026-03-30T13:00:00+02:00"
std::string show(const TimeZone& zone, int64_t t) { return format_moment(zone.moment(t)); }
std::string show(const WorkingCalendar& cal, int64_t t) { return show(cal.zone, t); }

int64_t day(const std::string& ymd) {
  return civil_to_days(CivilDate{std::stoll(ymd.substr(0, 4)),
                                 static_cast<unsigned>(std::stoi(ymd.substr(5, 2))),
                                 static_cast<unsigned>(std::stoi(ymd.substr(8, 2)))});
}

TimeZone system_zone(const std::string& name) {
  Result<std::string> bytes = read_system_zone(name);
  REQUIRE_MESSAGE(bytes.ok(), (bytes.ok() ? "" : bytes.error().message));
  Result<TimeZone> zone = TimeZone::from_tzif(name, *bytes);
  REQUIRE_MESSAGE(zone.ok(), (zone.ok() ? "" : zone.error().message));
  return *zone;
}

WorkingCalendar with_lunch() {
  WorkingCalendar cal = default_calendar();
  cal.lunch = std::make_pair(int64_t{13 * 3600}, int64_t{14 * 3600});
  return cal;
}

void put32(std::string& s, uint32_t v) {
  for (int i = 3; i >= 0; --i) s += static_cast<char>((v >> (8 * i)) & 0xFF);
}

// A version 2 TZif file without transitions: one local time type with
// `utoff`, and the footer `tz`.
std::string tzif_with_footer(const std::string& tz, int32_t utoff) {
  std::string header = std::string("TZif2") + std::string(15, '\0');
  for (uint32_t count : {0u, 0u, 0u, 0u, 1u, 4u}) put32(header, count);
  std::string block;
  put32(block, static_cast<uint32_t>(utoff));
  block += '\0';  // isdst
  block += '\0';  // designation index
  block += std::string("XXX") + '\0';
  return header + block + header + block + "\n" + tz + "\n";
}

TimeZone footer_zone(const std::string& tz, int32_t utoff) {
  Result<TimeZone> zone = TimeZone::from_tzif("Test/Zone", tzif_with_footer(tz, utoff));
  REQUIRE_MESSAGE(zone.ok(), (zone.ok() ? "" : zone.error().message));
  return *zone;
}

// A reader of time zones that knows only the tzdata files.
const ZoneReader kSystemZones = [](const std::string& name) { return read_system_zone(name); };

// All problems, one a line ("" when none), so a failing check prints them.
std::string listing(const std::vector<Error>& problems) {
  std::string out;
  for (const auto& p : problems) out += (out.empty() ? "" : "\n") + p.str();
  return out;
}

bool has_problem(const std::vector<Error>& problems, const std::string& where, const std::string& part) {
  for (const auto& p : problems) {
    if (p.where.str() == where && p.message.find(part) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

// ---------------------------------------------------------------------------
// Working time

TEST_CASE("calendar: working hours are counted across lunch and the end of the day") {
  // Given Monday to Friday 09:00–18:00 with lunch 13:00–14:00, in UTC.
  WorkingCalendar cal = with_lunch();
  int64_t mon10 = at(cal, "2026-03-23 10:00");
  CHECK(show(cal, cal.add_working_seconds(mon10, 2 * 3600)) == "2026-03-23T12:00:00+00:00");
  // 10:00–13:00 is three hours; the fourth starts after lunch.
  CHECK(show(cal, cal.add_working_seconds(mon10, 4 * 3600)) == "2026-03-23T15:00:00+00:00");
  // Ending exactly at lunch or at the end of the day stays there.
  CHECK(show(cal, cal.add_working_seconds(mon10, 3 * 3600)) == "2026-03-23T13:00:00+00:00");
  CHECK(show(cal, cal.add_working_seconds(mon10, 7 * 3600)) == "2026-03-23T18:00:00+00:00");
  // One hour more runs into the next morning.
  CHECK(show(cal, cal.add_working_seconds(mon10, 8 * 3600)) == "2026-03-24T10:00:00+00:00");
  // Counting starts at the next working moment: from lunch, from the evening.
  CHECK(show(cal, cal.add_working_seconds(at(cal, "2026-03-23 13:30"), 3600)) == "2026-03-23T15:00:00+00:00");
  CHECK(show(cal, cal.add_working_seconds(at(cal, "2026-03-23 20:00"), 3600)) == "2026-03-24T10:00:00+00:00");
  // Zero: the moment itself in working time, else the next start.
  CHECK(cal.add_working_seconds(mon10, 0) == mon10);
  CHECK(show(cal, cal.add_working_seconds(at(cal, "2026-03-23 13:00"), 0)) == "2026-03-23T14:00:00+00:00");
  CHECK(show(cal, cal.add_working_seconds(at(cal, "2026-03-23 18:00"), 0)) == "2026-03-24T09:00:00+00:00");
}

TEST_CASE("calendar: working time is known at the edges of the day and of lunch") {
  WorkingCalendar cal = with_lunch();
  CHECK_FALSE(cal.is_working_time(at(cal, "2026-03-23 08:59")));
  CHECK(cal.is_working_time(at(cal, "2026-03-23 09:00")));
  CHECK_FALSE(cal.is_working_time(at(cal, "2026-03-23 13:00")));
  CHECK(cal.is_working_time(at(cal, "2026-03-23 14:00")));
  CHECK_FALSE(cal.is_working_time(at(cal, "2026-03-23 18:00")));
  CHECK_FALSE(cal.is_working_time(at(cal, "2026-03-28 10:00")));  // Saturday
  CHECK(show(cal, cal.next_working_moment(at(cal, "2026-03-27 18:00"))) == "2026-03-30T09:00:00+00:00");
  CHECK(show(cal, cal.next_working_moment(at(cal, "2026-03-23 13:10"))) == "2026-03-23T14:00:00+00:00");
  CHECK(show(cal, cal.day_start(CivilDate{2026, 3, 28})) == "2026-03-28T09:00:00+00:00");
}

TEST_CASE("calendar: weekends and holidays are skipped and moved working days are worked") {
  WorkingCalendar cal = default_calendar();
  int64_t fri17 = at(cal, "2026-03-27 17:00");
  // Given a plain week, when two hours are added on Friday at 17:00, then it is Monday 10:00.
  CHECK(show(cal, cal.add_working_seconds(fri17, 2 * 3600)) == "2026-03-30T10:00:00+00:00");
  // Given Monday is a holiday, then it is Tuesday 10:00.
  cal.holidays.insert(day("2026-03-30"));
  CHECK_FALSE(cal.is_working_day(CivilDate{2026, 3, 30}));
  CHECK(show(cal, cal.add_working_seconds(fri17, 2 * 3600)) == "2026-03-31T10:00:00+00:00");
  // Given Saturday is a moved working day, then it is Saturday 10:00.
  cal.extra_working_days.insert(day("2026-03-28"));
  CHECK(cal.is_working_day(CivilDate{2026, 3, 28}));
  CHECK(cal.is_working_time(at(cal, "2026-03-28 12:00")));
  CHECK(show(cal, cal.add_working_seconds(fri17, 2 * 3600)) == "2026-03-28T10:00:00+00:00");
  CHECK_FALSE(cal.is_working_day(CivilDate{2026, 3, 29}));  // Sunday stays off
}

TEST_CASE("calendar: working days keep the point of the working day") {
  WorkingCalendar cal = default_calendar();
  // Friday 15:00 + 1 working day = Monday 15:00.
  CHECK(show(cal, cal.add_working_days(at(cal, "2026-03-27 15:00"), 1)) == "2026-03-30T15:00:00+00:00");
  // Friday 20:00 counts from Monday 09:00, so + 1 working day = Tuesday 09:00.
  CHECK(show(cal, cal.add_working_days(at(cal, "2026-03-27 20:00"), 1)) == "2026-03-31T09:00:00+00:00");
  // Saturday noon likewise.
  CHECK(show(cal, cal.add_working_days(at(cal, "2026-03-28 12:00"), 1)) == "2026-03-31T09:00:00+00:00");
  // Wednesday 10:00 + 3 working days = Monday 10:00.
  CHECK(show(cal, cal.add_working_days(at(cal, "2026-03-25 10:00"), 3)) == "2026-03-30T10:00:00+00:00");
  // Zero days: the next working moment.
  CHECK(show(cal, cal.add_working_days(at(cal, "2026-03-27 20:00"), 0)) == "2026-03-30T09:00:00+00:00");
  // A holiday on Thursday is not counted.
  cal.holidays.insert(day("2026-03-26"));
  CHECK(show(cal, cal.add_working_days(at(cal, "2026-03-25 10:00"), 1)) == "2026-03-27T10:00:00+00:00");

  // With lunch, the point is measured in working time: 14:30 stays 14:30 and
  // a moment in the lunch break counts from 14:00.
  WorkingCalendar lunch = with_lunch();
  CHECK(show(lunch, lunch.add_working_days(at(lunch, "2026-03-23 14:30"), 1)) == "2026-03-24T14:30:00+00:00");
  CHECK(show(lunch, lunch.add_working_days(at(lunch, "2026-03-23 13:30"), 1)) == "2026-03-24T14:00:00+00:00");
  CHECK(show(lunch, lunch.add_working_days(at(lunch, "2026-03-23 12:59"), 2)) == "2026-03-25T12:59:00+00:00");
}

TEST_CASE("calendar: working seconds between two instants") {
  WorkingCalendar cal = with_lunch();
  CHECK(cal.working_seconds_between(at(cal, "2026-03-23 12:00"), at(cal, "2026-03-23 15:00")) == 2 * 3600);
  CHECK(cal.working_seconds_between(at(cal, "2026-03-27 17:00"), at(cal, "2026-03-30 10:00")) == 2 * 3600);
  // A whole week: five days of eight hours.
  CHECK(cal.working_seconds_between(at(cal, "2026-03-23 00:00"), at(cal, "2026-03-30 00:00")) ==
        5 * 8 * 3600);
  CHECK(cal.working_seconds_between(at(cal, "2026-03-30 10:00"), at(cal, "2026-03-27 17:00")) == 0);
  cal.holidays.insert(day("2026-03-25"));
  CHECK(cal.working_seconds_between(at(cal, "2026-03-23 00:00"), at(cal, "2026-03-30 00:00")) ==
        4 * 8 * 3600);
  // It agrees with add_working_seconds.
  int64_t from = at(cal, "2026-03-24 16:20");
  CHECK(cal.working_seconds_between(from, cal.add_working_seconds(from, 11 * 3600 + 600)) == 11 * 3600 + 600);
}

TEST_CASE("calendar: the next opening of a window") {
  WorkingCalendar cal = default_calendar();
  TimeWindow calling{"calling", {}, 10 * 3600, 13 * 3600, {}};
  TimeWindow review{"review", {5}, 14 * 3600, 17 * 3600, {}};
  CHECK(show(cal, cal.next_window_open(calling, at(cal, "2026-03-23 09:00"))) == "2026-03-23T10:00:00+00:00");
  CHECK(show(cal, cal.next_window_open(calling, at(cal, "2026-03-23 11:00"))) == "2026-03-23T11:00:00+00:00");
  CHECK(show(cal, cal.next_window_open(calling, at(cal, "2026-03-23 13:00"))) == "2026-03-24T10:00:00+00:00");
  CHECK(show(cal, cal.next_window_open(calling, at(cal, "2026-03-27 14:00"))) == "2026-03-30T10:00:00+00:00");
  CHECK(show(cal, cal.next_window_open(review, at(cal, "2026-03-23 09:00"))) == "2026-03-27T14:00:00+00:00");
  // A window on working days follows holidays.
  cal.holidays.insert(day("2026-03-24"));
  CHECK(show(cal, cal.next_window_open(calling, at(cal, "2026-03-23 13:00"))) == "2026-03-25T10:00:00+00:00");
}

// ---------------------------------------------------------------------------
// Spans

TEST_CASE("calendar: spans as a process owner writes them") {
  struct Case {
    const char* text;
    int64_t amount;
    Span::Unit unit;
  };
  for (const Case& c : std::vector<Case>{{"24h", 86400, Span::Unit::seconds},
                                         {"2d", 2 * 86400, Span::Unit::seconds},
                                         {"PT24H", 86400, Span::Unit::seconds},
                                         {"30m", 1800, Span::Unit::seconds},
                                         {"8 working hours", 8 * 3600, Span::Unit::working_seconds},
                                         {"1 working hour", 3600, Span::Unit::working_seconds},
                                         {"30 working minutes", 1800, Span::Unit::working_seconds},
                                         {"1 working day", 1, Span::Unit::working_days},
                                         {"3 working days", 3, Span::Unit::working_days},
                                         {"  2  working  days ", 2, Span::Unit::working_days}}) {
    CAPTURE(c.text);
    Result<Span> s = parse_span(c.text);
    REQUIRE(s.ok());
    CHECK(s->amount == c.amount);
    CHECK(s->unit == c.unit);
    CHECK(s->text == c.text);
    CHECK(s->working() == (c.unit != Span::Unit::seconds));
  }
  for (const char* bad :
       {"0h", "working", "8 hours working", "-1d", "", "8 working", "0 working days", "8 working weeks",
        "eight working hours", "8 working hours extra", "1.5 working days", "99999999 working days"}) {
    CAPTURE(bad);
    Result<Span> s = parse_span(bad);
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().code == ErrorCode::invalid);
    CHECK(s.error().message.find("working hours") != std::string::npos);  // says what is accepted
  }
}

TEST_CASE("calendar: add_span chooses calendar or working time") {
  WorkingCalendar cal = default_calendar();
  int64_t fri15 = at(cal, "2026-03-27 15:00");
  CHECK(show(cal, add_span(cal, fri15, *parse_span("24h"))) == "2026-03-28T15:00:00+00:00");
  CHECK(show(cal, add_span(cal, fri15, *parse_span("8 working hours"))) == "2026-03-30T14:00:00+00:00");
  CHECK(show(cal, add_span(cal, fri15, *parse_span("1 working day"))) == "2026-03-30T15:00:00+00:00");
}

// ---------------------------------------------------------------------------
// Time zones

TEST_CASE("calendar: Europe/Moscow from tzdata follows its history") {
  TimeZone msk = system_zone("Europe/Moscow");
  CHECK(msk.name() == "Europe/Moscow");
  CHECK(msk.offset_at(utc("2026-01-15 12:00")) == 3 * 3600);
  CHECK(msk.offset_at(utc("2010-01-15 12:00")) == 3 * 3600);
  CHECK(msk.offset_at(utc("2010-07-01 12:00")) == 4 * 3600);  // summer time, until 2011
  CHECK(msk.offset_at(utc("2012-01-15 12:00")) == 4 * 3600);  // +4 all year 2011-03..2014-10
  CHECK(msk.offset_at(utc("2012-07-01 12:00")) == 4 * 3600);
  CHECK(msk.offset_at(utc("2015-01-15 12:00")) == 3 * 3600);
  // 2014-10-26 02:00 +04 became 01:00 +03, at 2014-10-25 22:00 UTC.
  CHECK(msk.offset_at(utc("2014-10-25 21:59")) == 4 * 3600);
  CHECK(msk.offset_at(utc("2014-10-25 22:00")) == 3 * 3600);
  // The footer (MSK-3) after the last transition.
  CHECK(msk.offset_at(utc("2100-07-01 12:00")) == 3 * 3600);
  CHECK(show(msk, at(msk, "2026-03-23 09:00")) == "2026-03-23T09:00:00+03:00");
  CHECK(msk.local_date(utc("2026-03-23 22:30")) == CivilDate{2026, 3, 24});
  CHECK(msk.local_seconds(utc("2026-03-23 22:30")) == 1 * 3600 + 1800);
}

TEST_CASE("calendar: Europe/Berlin changes offset, skips and repeats local times") {
  TimeZone berlin = system_zone("Europe/Berlin");
  // 2026-03-29 02:00 CET jumps to 03:00 CEST at 01:00 UTC.
  CHECK(berlin.offset_at(utc("2026-03-29 00:59")) == 3600);
  CHECK(berlin.offset_at(utc("2026-03-29 01:00")) == 7200);
  // A skipped local time is read with the offset before the jump: 02:30 is 03:30 CEST.
  int64_t skipped = at(berlin, "2026-03-29 02:30");
  CHECK(skipped == utc("2026-03-29 01:30"));
  CHECK(show(berlin, skipped) == "2026-03-29T03:30:00+02:00");
  // 2026-10-25 03:00 CEST goes back to 02:00 CET at 01:00 UTC: 02:30 is its first occurrence.
  CHECK(berlin.offset_at(utc("2026-10-25 00:59")) == 7200);
  CHECK(berlin.offset_at(utc("2026-10-25 01:00")) == 3600);
  CHECK(at(berlin, "2026-10-25 02:30") == utc("2026-10-25 00:30"));
  CHECK(show(berlin, at(berlin, "2026-10-25 03:30")) == "2026-10-25T03:30:00+01:00");
  // Far in the future the footer rule CET-1CEST,M3.5.0,M10.5.0/3 applies.
  CHECK(berlin.offset_at(utc("2100-07-01 12:00")) == 7200);
  CHECK(berlin.offset_at(utc("2100-01-01 12:00")) == 3600);
  // 2100-03-28 is the last Sunday of March.
  CHECK(berlin.offset_at(utc("2100-03-28 00:59")) == 3600);
  CHECK(berlin.offset_at(utc("2100-03-28 01:00")) == 7200);
  CHECK(show(berlin, at(berlin, "2100-03-28 02:30")) == "2100-03-28T03:30:00+02:00");
}

TEST_CASE("calendar: America/New_York changes offset in March and November") {
  TimeZone ny = system_zone("America/New_York");
  CHECK(ny.offset_at(utc("2026-01-15 12:00")) == -5 * 3600);
  CHECK(ny.offset_at(utc("2026-07-01 12:00")) == -4 * 3600);
  // 2026-03-08 02:00 EST jumps to 03:00 EDT at 07:00 UTC.
  CHECK(ny.offset_at(utc("2026-03-08 06:59")) == -5 * 3600);
  CHECK(ny.offset_at(utc("2026-03-08 07:00")) == -4 * 3600);
  CHECK(at(ny, "2026-03-08 02:30") == utc("2026-03-08 07:30"));
  CHECK(show(ny, at(ny, "2026-03-08 02:30")) == "2026-03-08T03:30:00-04:00");
  // 2026-11-01 01:30 happens twice; the first (EDT) is taken.
  CHECK(at(ny, "2026-11-01 01:30") == utc("2026-11-01 05:30"));
  CHECK(ny.offset_at(utc("2026-11-01 05:59")) == -4 * 3600);
  CHECK(ny.offset_at(utc("2026-11-01 06:00")) == -5 * 3600);
  CHECK(ny.offset_at(utc("2100-07-01 12:00")) == -4 * 3600);
  CHECK(ny.offset_at(utc("2100-12-01 12:00")) == -5 * 3600);
}

TEST_CASE("calendar: POSIX TZ footers in all their forms") {
  // Angle-bracket names, no daylight saving.
  CHECK(footer_zone("<+03>-3", 10800).offset_at(utc("2026-07-01 00:00")) == 10800);
  CHECK(footer_zone("MSK-3", 10800).offset_at(utc("1800-07-01 00:00")) == 10800);
  CHECK(footer_zone("<-0330>3:30", -12600).offset_at(utc("2026-07-01 00:00")) == -12600);
  // The US rule.
  TimeZone us = footer_zone("EST5EDT,M3.2.0,M11.1.0", -18000);
  CHECK(us.offset_at(utc("2030-03-10 06:59")) == -18000);
  CHECK(us.offset_at(utc("2030-03-10 07:00")) == -14400);
  CHECK(us.offset_at(utc("2030-11-03 05:59")) == -14400);
  CHECK(us.offset_at(utc("2030-11-03 06:00")) == -18000);
  // The southern hemisphere: summer time over the new year.
  TimeZone sydney = footer_zone("AEST-10AEDT,M10.1.0,M4.1.0/3", 36000);
  CHECK(sydney.offset_at(utc("2026-01-15 00:00")) == 39600);
  CHECK(sydney.offset_at(utc("2026-07-15 00:00")) == 36000);
  // Daylight saving all year (RFC 8536 §3.3.1).
  TimeZone always = footer_zone("EST5EDT,0/0,J365/25", -18000);
  for (const char* t : {"2026-01-01 00:30", "2026-07-01 00:00", "2026-12-31 23:00", "2027-01-01 05:00"}) {
    CAPTURE(t);
    CHECK(always.offset_at(utc(t)) == -14400);
  }
  // Jn never counts February 29: J60 is March 1.
  TimeZone julian = footer_zone("XXX-2YYY,J60/2,J300/2", 7200);
  CHECK(julian.offset_at(utc("2028-02-29 12:00")) == 7200);
  CHECK(julian.offset_at(utc("2028-03-01 12:00")) == 10800);
  CHECK(julian.offset_at(utc("2028-10-26 12:00")) == 10800);
  CHECK(julian.offset_at(utc("2028-10-27 12:00")) == 7200);
  // n counts from 0 and counts February 29: day 59 is Feb 29 in a leap year.
  TimeZone zero_based = footer_zone("XXX-2YYY,59/2,299/2", 7200);
  CHECK(zero_based.offset_at(utc("2028-02-28 12:00")) == 7200);
  CHECK(zero_based.offset_at(utc("2028-02-29 00:30")) == 10800);
  CHECK(zero_based.offset_at(utc("2027-02-28 12:00")) == 7200);
  CHECK(zero_based.offset_at(utc("2027-03-01 12:00")) == 10800);
  // Negative and extended hours: Saturday 23:00 before the last Sunday of
  // March, and 25:00 on the last Sunday of October (Monday 01:00).
  TimeZone extended = footer_zone("XXX3YYY,M3.5.0/-1,M10.5.0/25", -10800);
  CHECK(extended.offset_at(utc("2026-03-29 01:59")) == -10800);
  CHECK(extended.offset_at(utc("2026-03-29 02:00")) == -7200);
  CHECK(extended.offset_at(utc("2026-10-26 02:59")) == -7200);
  CHECK(extended.offset_at(utc("2026-10-26 03:00")) == -10800);
  // An empty footer: the last offset stays.
  CHECK(footer_zone("", 3600).offset_at(utc("2100-01-01 00:00")) == 3600);
  // Malformed rules are rejected.
  for (const char* bad : {"CET-1CEST,M13.5.0,M10.5.0", "CET", "C-1", "CET-1CEST,M3.5.0", "CET-1CEST,J0,J10",
                          "CET-1CEST,M3.5.0/168,M10.5.0", "CET-99", "<+03-3", "CET-1CEST,M3.6.0,M10.5.0"}) {
    CAPTURE(bad);
    Result<TimeZone> z = TimeZone::from_tzif("Test/Zone", tzif_with_footer(bad, 0));
    REQUIRE_FALSE(z.ok());
    CHECK(z.error().code == ErrorCode::invalid);
    CHECK(z.error().message.find("Test/Zone") != std::string::npos);
  }
}

TEST_CASE("calendar: fixed zones") {
  TimeZone plus3 = TimeZone::fixed(3 * 3600, "+03:00");
  CHECK(plus3.name() == "+03:00");
  CHECK(plus3.offset_at(0) == 10800);
  CHECK(at(plus3, "2026-03-23 09:00") == utc("2026-03-23 06:00"));
  CHECK(plus3.local_date(utc("2026-03-23 21:00")) == CivilDate{2026, 3, 24});
  TimeZone minus = TimeZone::fixed(-5 * 3600, "-05:00");
  CHECK(minus.local_date(utc("2026-03-23 03:00")) == CivilDate{2026, 3, 22});
  CHECK(minus.local_seconds(utc("2026-03-23 03:00")) == 22 * 3600);
  CHECK(TimeZone{}.name() == "UTC");
}

TEST_CASE("calendar: a corrupted TZif file is invalid and never crashes") {
  Result<std::string> bytes = read_system_zone("Europe/Berlin");
  REQUIRE(bytes.ok());
  const std::string& good = *bytes;
  // Bad magic, empty, a version 1 header alone.
  std::string magic = good;
  magic[0] = 'X';
  for (const std::string& bad : {magic, std::string(), std::string("TZif"), good.substr(0, 44)}) {
    Result<TimeZone> z = TimeZone::from_tzif("Europe/Berlin", bad);
    REQUIRE_FALSE(z.ok());
    CHECK(z.error().code == ErrorCode::invalid);
    CHECK(z.error().message.find("Europe/Berlin") != std::string::npos);
  }
  // Read as version 1 (32-bit data only, no footer), the same offsets until 2038.
  std::string v1 = good;
  v1[4] = '\0';
  Result<TimeZone> old = TimeZone::from_tzif("Europe/Berlin", v1);
  REQUIRE(old.ok());
  CHECK(old->offset_at(utc("2026-07-01 00:00")) == 7200);
  CHECK(old->offset_at(utc("2026-12-01 00:00")) == 3600);
  // Every truncation.
  for (size_t n = 0; n < good.size(); ++n) {
    CAPTURE(n);
    CHECK_FALSE(TimeZone::from_tzif("Europe/Berlin", good.substr(0, n)).ok());
  }
  // Flipped bytes: either invalid or a zone that still answers.
  uint32_t seed = 12345;
  auto next = [&] {
    seed = seed * 1103515245u + 12345u;
    return seed >> 8;
  };
  for (int round = 0; round < 3000; ++round) {
    std::string bad = good;
    for (int k = 0; k < 3; ++k) bad[next() % bad.size()] = static_cast<char>(next() & 0xFF);
    Result<TimeZone> z = TimeZone::from_tzif("Europe/Berlin", bad);
    if (!z.ok()) continue;
    for (int64_t t : {utc("1900-01-01 00:00"), utc("2026-03-29 01:00"), utc("2200-07-01 00:00")}) {
      int offset = z->offset_at(t);
      CHECK(offset >= -90000);
      CHECK(offset <= 93600);
      (void)z->to_utc(z->local_date(t), z->local_seconds(t));
    }
  }
}

TEST_CASE("calendar: system zones are read by IANA name") {
  for (const char* bad :
       {"../etc/passwd", "/etc/passwd", "Europe/../../etc/passwd", "Europe/Mos cow", "", "a;b"}) {
    CAPTURE(bad);
    Result<std::string> r = read_system_zone(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == ErrorCode::invalid);
  }
  Result<std::string> missing = read_system_zone("Nowhere/City");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().code == ErrorCode::not_found);
  CHECK(missing.error().message.find("/usr/share/zoneinfo/Nowhere/City") != std::string::npos);
  CHECK(missing.error().message.find("tzdata") != std::string::npos);
  CHECK_FALSE(read_system_zone("Europe").ok());  // a directory
  CHECK(read_system_zone("Etc/GMT+5").ok());
}

TEST_CASE("calendar: a working-hours deadline across the Berlin change to summer time") {
  // Given Berlin hours 09:00–18:00 with lunch 13:00–14:00, when 8 working
  // hours start on Friday 2026-03-27 at 14:00 (CET), then Friday gives 4 hours
  // (14:00–18:00) and Monday morning the other 4: Monday 13:00 CEST.
  WorkingCalendar cal = with_lunch();
  cal.zone = system_zone("Europe/Berlin");
  int64_t start = at(cal, "2026-03-27 14:00");
  CHECK(show(cal, start) == "2026-03-27T14:00:00+01:00");
  int64_t due = add_span(cal, start, *parse_span("8 working hours"));
  CHECK(show(cal, due) == "2026-03-30T13:00:00+02:00");
  CHECK(cal.working_seconds_between(start, due) == 8 * 3600);
  // The weekend lost an hour of calendar time, none of working time.
  CHECK(due - start == 3 * 86400 - 3600 - 3600);
  CHECK(show(cal, cal.add_working_days(start, 1)) == "2026-03-30T14:00:00+02:00");
}

// ---------------------------------------------------------------------------
// Schedules

TEST_CASE("calendar: a daily schedule fires once per day and catches up with one start") {
  WorkingCalendar cal = default_calendar();
  Schedule daily;
  daily.every = Schedule::Every::day;
  daily.at = 9 * 3600;
  int64_t mon9 = at(cal, "2026-03-23 09:00");
  CHECK_FALSE(due_occurrence(cal, daily, mon9, at(cal, "2026-03-23 10:00")).has_value());
  CHECK_FALSE(due_occurrence(cal, daily, mon9, at(cal, "2026-03-24 08:59")).has_value());
  CHECK(due_occurrence(cal, daily, mon9, at(cal, "2026-03-24 09:00")) == at(cal, "2026-03-24 09:00"));
  // Down from Monday to Thursday noon: one start, Thursday 09:00.
  CHECK(due_occurrence(cal, daily, mon9, at(cal, "2026-03-26 12:00")) == at(cal, "2026-03-26 09:00"));
  // Nothing once the latest occurrence has fired, or when now is not after `after`.
  CHECK_FALSE(
      due_occurrence(cal, daily, at(cal, "2026-03-26 09:00"), at(cal, "2026-03-26 12:00")).has_value());
  CHECK_FALSE(
      due_occurrence(cal, daily, at(cal, "2026-03-26 12:00"), at(cal, "2026-03-26 12:00")).has_value());
  CHECK_FALSE(
      due_occurrence(cal, daily, at(cal, "2026-03-27 12:00"), at(cal, "2026-03-26 12:00")).has_value());
  // Saturdays too.
  CHECK(due_occurrence(cal, daily, at(cal, "2026-03-27 09:00"), at(cal, "2026-03-28 09:30")) ==
        at(cal, "2026-03-28 09:00"));
  CHECK(next_occurrence(cal, daily, mon9) == at(cal, "2026-03-24 09:00"));
  CHECK(next_occurrence(cal, daily, mon9 - 1) == mon9);
}

TEST_CASE("calendar: a working-day schedule skips weekends and holidays") {
  WorkingCalendar cal = default_calendar();
  Schedule s;
  s.every = Schedule::Every::working_day;
  s.at = 9 * 3600;
  CHECK(due_occurrence(cal, s, at(cal, "2026-03-26 09:00"), at(cal, "2026-03-28 12:00")) ==
        at(cal, "2026-03-27 09:00"));
  CHECK_FALSE(due_occurrence(cal, s, at(cal, "2026-03-27 09:00"), at(cal, "2026-03-30 08:00")).has_value());
  CHECK(next_occurrence(cal, s, at(cal, "2026-03-27 09:00")) == at(cal, "2026-03-30 09:00"));
  cal.holidays.insert(day("2026-03-30"));
  CHECK_FALSE(due_occurrence(cal, s, at(cal, "2026-03-27 09:00"), at(cal, "2026-03-30 12:00")).has_value());
  CHECK(due_occurrence(cal, s, at(cal, "2026-03-27 09:00"), at(cal, "2026-03-31 10:00")) ==
        at(cal, "2026-03-31 09:00"));
  CHECK(next_occurrence(cal, s, at(cal, "2026-03-27 09:00")) == at(cal, "2026-03-31 09:00"));
  // A moved working Saturday has an occurrence.
  cal.extra_working_days.insert(day("2026-03-28"));
  CHECK(next_occurrence(cal, s, at(cal, "2026-03-27 09:00")) == at(cal, "2026-03-28 09:00"));
}

TEST_CASE("calendar: a weekly schedule moves off a holiday to the next working day") {
  WorkingCalendar cal = default_calendar();
  Schedule s;
  s.every = Schedule::Every::week;
  s.weekday = 5;  // Friday
  s.at = 16 * 3600;
  CHECK(due_occurrence(cal, s, at(cal, "2026-03-20 16:00"), at(cal, "2026-03-27 17:00")) ==
        at(cal, "2026-03-27 16:00"));
  CHECK_FALSE(due_occurrence(cal, s, at(cal, "2026-03-20 16:00"), at(cal, "2026-03-27 15:59")).has_value());
  // Down for three weeks: one start, the latest.
  CHECK(due_occurrence(cal, s, at(cal, "2026-03-06 16:00"), at(cal, "2026-03-30 12:00")) ==
        at(cal, "2026-03-27 16:00"));
  // Friday 2026-04-03 is a holiday: the occurrence moves to Monday 04-06 16:00.
  cal.holidays.insert(day("2026-04-03"));
  int64_t fri = at(cal, "2026-03-27 16:00");
  CHECK_FALSE(due_occurrence(cal, s, fri, at(cal, "2026-04-03 17:00")).has_value());
  CHECK_FALSE(due_occurrence(cal, s, fri, at(cal, "2026-04-06 15:59")).has_value());
  CHECK(due_occurrence(cal, s, fri, at(cal, "2026-04-06 16:00")) == at(cal, "2026-04-06 16:00"));
  CHECK(next_occurrence(cal, s, fri) == at(cal, "2026-04-06 16:00"));
  // Asked on Monday morning, the moved occurrence is still ahead.
  CHECK(next_occurrence(cal, s, at(cal, "2026-04-06 10:00")) == at(cal, "2026-04-06 16:00"));
  CHECK(next_occurrence(cal, s, at(cal, "2026-04-06 16:00")) == at(cal, "2026-04-10 16:00"));
}

TEST_CASE("calendar: a schedule at a window opens with the window, in the calendar's zone") {
  WorkingCalendar cal = default_calendar();
  cal.zone = system_zone("Europe/Moscow");
  cal.windows["calling"] = TimeWindow{"calling", {}, 10 * 3600, 13 * 3600, {}};
  Schedule s;
  s.every = Schedule::Every::working_day;
  s.at = 9 * 3600;
  s.window = "calling";
  CHECK(next_occurrence(cal, s, at(cal, "2026-03-23 09:30")) == at(cal, "2026-03-23 10:00"));
  CHECK(show(cal, at(cal, "2026-03-23 10:00")) == "2026-03-23T10:00:00+03:00");
  CHECK(at(cal, "2026-03-23 10:00") == utc("2026-03-23 07:00"));
  CHECK(due_occurrence(cal, s, at(cal, "2026-03-20 10:00"), at(cal, "2026-03-23 12:00")) ==
        at(cal, "2026-03-23 10:00"));
  // An unknown window falls back to `at`.
  s.window = "nonesuch";
  CHECK(next_occurrence(cal, s, at(cal, "2026-03-23 08:00")) == at(cal, "2026-03-23 09:00"));
}

TEST_CASE("calendar: a daily schedule across the Berlin change keeps its local time") {
  WorkingCalendar cal = default_calendar();
  cal.zone = system_zone("Europe/Berlin");
  Schedule s;
  s.every = Schedule::Every::day;
  s.at = 9 * 3600;
  int64_t sat = at(cal, "2026-03-28 09:00");
  int64_t sun = next_occurrence(cal, s, sat);
  CHECK(show(cal, sun) == "2026-03-29T09:00:00+02:00");
  CHECK(sun - sat == 23 * 3600);
  // 02:30 does not exist that Sunday; the occurrence is 03:30 CEST.
  s.at = 2 * 3600 + 1800;
  CHECK(show(cal, next_occurrence(cal, s, at(cal, "2026-03-28 12:00"))) == "2026-03-29T03:30:00+02:00");
}

// ---------------------------------------------------------------------------
// The calendar file

TEST_CASE("calendar: load_calendar reads every key") {
  const std::string text = R"(calendar:
  timezone: Europe/Moscow
  working_days: [mon, tue, wed, thu, fri]
  working_hours: {from: "09:00", to: "18:00", lunch: {from: "13:00", to: "14:00"}}
  holidays: ["2026-01-01", "2026-01-02", "2026-01-01", "2026-05-09..2026-05-11"]
  working_weekends: ["2026-11-01"]
  windows:
    calling: {from: "10:00", to: "13:00"}
    review: {days: [fri], from: "14:00", to: "17:00"}
)";
  CalendarLoad load = load_calendar("calendar.yaml", text, kSystemZones);
  CHECK(listing(load.problems) == "");
  const WorkingCalendar& cal = load.calendar;
  CHECK(cal.zone.name() == "Europe/Moscow");
  CHECK(cal.zone.offset_at(utc("2026-03-23 00:00")) == 10800);
  CHECK(cal.weekdays == std::array<bool, 8>{false, true, true, true, true, true, false, false});
  CHECK(cal.day_from == 9 * 3600);
  CHECK(cal.day_to == 18 * 3600);
  REQUIRE(cal.lunch.has_value());
  CHECK(*cal.lunch == std::make_pair(int64_t{13 * 3600}, int64_t{14 * 3600}));
  CHECK(cal.holidays == std::set<int64_t>{day("2026-01-01"), day("2026-01-02"), day("2026-05-09"),
                                          day("2026-05-10"), day("2026-05-11")});
  CHECK(cal.extra_working_days == std::set<int64_t>{day("2026-11-01")});
  REQUIRE(cal.window("calling") != nullptr);
  CHECK(cal.window("calling")->weekdays.empty());
  CHECK(cal.window("calling")->from == 10 * 3600);
  CHECK(cal.window("calling")->where.str() == "calendar.yaml:8:5");
  REQUIRE(cal.window("review") != nullptr);
  CHECK(cal.window("review")->weekdays == std::vector<int>{5});
  CHECK(cal.window("review")->to == 17 * 3600);
  CHECK(cal.window("nonesuch") == nullptr);
  CHECK(cal.source == text);
  CHECK(cal.file == "calendar.yaml");
}

TEST_CASE("calendar: load_calendar defaults, fixed offsets and other weekday names") {
  CalendarLoad empty = load_calendar("c.yaml", "calendar:\n", kSystemZones);
  CHECK(empty.problems.empty());
  CHECK(empty.calendar.zone.name() == "UTC");
  CHECK(empty.calendar.day_from == default_calendar().day_from);
  CHECK(empty.calendar.file == "c.yaml");

  CalendarLoad fixed =
      load_calendar("c.yaml",
                    "calendar:\n  timezone: \"+03:00\"\n  working_days: [Monday, вт, Ср, sat]\n"
                    "  working_hours: {from: \"8:30\", to: \"24:00\"}\n",
                    nullptr);
  CHECK(listing(fixed.problems) == "");
  CHECK(fixed.calendar.zone.offset_at(0) == 10800);
  CHECK(fixed.calendar.weekdays == std::array<bool, 8>{false, true, true, true, false, false, true, false});
  CHECK(fixed.calendar.day_from == 8 * 3600 + 1800);
  CHECK(fixed.calendar.day_to == 86400);
  CHECK_FALSE(fixed.calendar.lunch.has_value());

  CalendarLoad utc_zone = load_calendar("c.yaml", "calendar:\n  timezone: UTC\n", nullptr);
  CHECK(utc_zone.problems.empty());
  CHECK(utc_zone.calendar.zone.name() == "UTC");
  CalendarLoad minus = load_calendar("c.yaml", "calendar:\n  timezone: \"-05:30\"\n", nullptr);
  CHECK(minus.problems.empty());
  CHECK(minus.calendar.zone.offset_at(0) == -(5 * 3600 + 1800));
}

TEST_CASE("calendar: load_calendar reports every problem with its place") {
  const std::string text = R"(calendar:
  timezone: Europe/Nowhere
  working_days: [mon, tue, wendesday, fri]
  working_hours: {from: "09:00", to: "25:00"}
  holidays: ["2026-02-30", "2026-01-01", "not a date"]
  working_weekends: ["2026-01-01"]
  windows:
    calling: {from: "13:00", to: "10:00"}
    review: {days: [fri], from: "14:00"}
    lunchtime: {form: "12:00", to: "13:00"}
  wrking_days: [mon]
)";
  CalendarLoad load = load_calendar("calendar.yaml", text, kSystemZones);
  const auto& p = load.problems;
  const std::string all = listing(p);
  CAPTURE(all);
  CHECK(has_problem(p, "calendar.yaml:2:13", "Europe/Nowhere"));
  CHECK(has_problem(p, "calendar.yaml:2:13", "tzdata"));
  CHECK(has_problem(p, "calendar.yaml:3:28",
                    "unknown weekday \"wendesday\" in working_days; did you mean \"wednesday\"?"));
  CHECK(has_problem(p, "calendar.yaml:4:38", "bad time \"25:00\" for to of working_hours"));
  CHECK(has_problem(p, "calendar.yaml:5:14", "bad date \"2026-02-30\" in holidays: that day does not exist"));
  CHECK(has_problem(p, "calendar.yaml:5:42", "bad date \"not a date\""));
  CHECK(has_problem(p, "calendar.yaml:6:22", "2026-01-01 is both a holiday and a working weekend"));
  CHECK(has_problem(p, "calendar.yaml:8:34", "window \"calling\" must end after it starts"));
  CHECK(has_problem(p, "calendar.yaml:9:13", "missing required key \"to\" in window \"review\""));
  CHECK(has_problem(p, "calendar.yaml:10:17",
                    "unknown key \"form\" in window \"lunchtime\"; did you mean \"from\"?"));
  CHECK(has_problem(p, "calendar.yaml:11:3",
                    "unknown key \"wrking_days\" in calendar; did you mean \"working_days\"?"));
  CHECK(p.size() == 11);  // the above, and lunchtime's missing "from"
  for (const auto& e : p) CHECK(e.code == ErrorCode::invalid);
  // Parts with problems keep their defaults.
  CHECK(load.calendar.zone.name() == "UTC");
  CHECK(load.calendar.weekdays == default_calendar().weekdays);
  CHECK(load.calendar.day_to == 18 * 3600);
  CHECK(load.calendar.window("calling") == nullptr);
}

TEST_CASE("calendar: load_calendar checks hours, lunch and working days") {
  auto problems = [](const std::string& text) {
    return listing(load_calendar("c.yaml", text, nullptr).problems);
  };
  CHECK(problems("calendar:\n  working_hours: {from: \"18:00\", to: \"09:00\"}\n") ==
        "c.yaml:2:38: working hours must end after they start (from 18:00 to 09:00)");
  CHECK(problems("calendar:\n  working_hours:\n    from: \"09:00\"\n    to: \"18:00\"\n"
                 "    lunch: {from: \"17:30\", to: \"18:30\"}\n") ==
        "c.yaml:5:12: the lunch break 17:30–18:30 must lie inside working hours 09:00–18:00");
  CHECK(problems("calendar:\n  working_hours: {lunch: {from: \"14:00\", to: \"13:00\"}}\n") ==
        "c.yaml:2:46: the lunch break must end after it starts (from 14:00 to 13:00)");
  CHECK(problems("calendar:\n  working_days: []\n") ==
        "c.yaml:2:17: working_days must be a list of at least one weekday, like [mon, tue, "
        "wed, thu, fri]");
  CHECK(problems("calendar:\n  working_hours: {from: 9}\n") ==
        "c.yaml:2:25: bad time \"9\" for from of working_hours: expected HH:MM from 00:00 "
        "to 23:59");
  CHECK(problems("calendar:\n  timezone: \"+3:7\"\n") ==
        "c.yaml:2:13: bad UTC offset \"+3:7\" for timezone: expected ±HH:MM like +03:00");
  CHECK(problems("calendar:\n  timezone: Europe/Moscow\n") ==
        "c.yaml:2:13: time zone \"Europe/Moscow\" cannot be read here: no reader of time "
        "zones was given");
  CHECK(problems("calendar:\n  holidays: [\"2026-01-08..2026-01-01\"]\n") ==
        "c.yaml:2:14: bad date \"2026-01-08..2026-01-01\" in holidays: the range ends "
        "before it starts");
  CHECK(problems("calender:\n  timezone: UTC\n") ==
        "c.yaml:1:1: unknown key \"calender\" in the calendar file; did you mean "
        "\"calendar\"?");
  CHECK(problems("calendar:\n  holidays: [\"2026-01-01\"]\n  holidays: [\"2026-01-02\"]\n") ==
        "c.yaml:3:3: duplicate key \"holidays\" in calendar; it is already set at line 2");
}

TEST_CASE("calendar: load_calendar reports unreadable zones and YAML syntax errors") {
  ZoneReader broken = [](const std::string&) -> Result<std::string> {
    return std::string("not a TZif file");
  };
  CalendarLoad bad_zone = load_calendar("c.yaml", "calendar:\n  timezone: Europe/Broken\n", broken);
  REQUIRE(bad_zone.problems.size() == 1);
  CHECK(bad_zone.problems[0].where.str() == "c.yaml:2:13");
  CHECK(bad_zone.problems[0].message.find("Europe/Broken") != std::string::npos);
  CHECK(bad_zone.problems[0].message.find("TZif") != std::string::npos);

  CalendarLoad syntax =
      load_calendar("c.yaml", "calendar:\n  holidays: [\"2026-01-01\"\n  timezone: UTC\n", nullptr);
  REQUIRE(syntax.problems.size() == 1);
  CHECK(syntax.problems[0].message.find("YAML syntax error") == 0);
  CHECK(syntax.problems[0].where.line >= 2);
  CHECK(syntax.problems[0].where.column >= 1);
  CHECK(syntax.calendar.file == "c.yaml");

  CalendarLoad not_a_map = load_calendar("c.yaml", "- calendar\n", nullptr);
  REQUIRE(not_a_map.problems.size() == 1);
  CHECK(not_a_map.problems[0].str() ==
        "c.yaml:1:1: a calendar file must be a mapping with the top-level key calendar:");
}
