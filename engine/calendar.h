// The working calendar: time zones, working days and hours, holidays, named
// windows of the working day, durations as a process owner writes them, and
// the occurrences of scheduled starts. Pure arithmetic on UTC instants
// (seconds since the epoch): nothing here reads the clock.
//
//   auto cal = default_calendar();                       // UTC, Mon–Fri 09:00–18:00
//   auto span = parse_span("8 working hours");           // {8*3600, working_seconds}
//   int64_t due = add_span(cal, now, *span);             // the moment it falls due
//   cal.is_working_time(due);                            // true
//
// Local times are read in the calendar's time zone, whose offset may change
// over the year (daylight saving): nothing here assumes a fixed offset unless
// the zone is a fixed one.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "engine/json.h"
#include "engine/result.h"
#include "engine/time.h"

namespace reglament {

// A time zone: the UTC offset in force at every instant.
class TimeZone {
 public:
  TimeZone() = default;  // UTC

  // A zone with one offset forever ("+03:00", "UTC").
  static TimeZone fixed(int offset_seconds, std::string name);

  // A zone read from the bytes of a TZif file (RFC 8536, versions 1–4: the
  // 64-bit data of v2+ and its POSIX TZ footer, which gives the offsets after
  // the last listed transition). Errors: invalid, naming what is wrong.
  static Result<TimeZone> from_tzif(std::string name, std::string_view bytes);

  const std::string& name() const { return name_; }

  // Seconds east of UTC in force at `utc`.
  int offset_at(int64_t utc) const;

  // The instant of a local date and time of day (seconds since local
  // midnight). A local time skipped by a jump forward is read with the offset
  // before the jump (so it lands after the jump); a local time that occurs
  // twice (a jump back) is its first occurrence.
  int64_t to_utc(const CivilDate& date, int64_t seconds_of_day) const;

  // The local calendar date of `utc`, and the seconds since its midnight.
  CivilDate local_date(int64_t utc) const;
  int64_t local_seconds(int64_t utc) const;

  // `utc` shown in this zone's offset at that instant.
  Moment moment(int64_t utc) const { return Moment{utc, offset_at(utc) / 60}; }

 private:
  struct Transition {
    int64_t at = 0;  // UTC instant from which `offset` applies
    int offset = 0;
  };
  // A POSIX TZ rule ("CET-1CEST,M3.5.0,M10.5.0/3"), for instants after the
  // last transition.
  struct Rule {
    int std_offset = 0;
    bool has_dst = false;
    int dst_offset = 0;
    // Start and end of DST: month (1..12), week (1..5, 5 = last), weekday
    // (0 = Sunday), or a Julian day; and the local time of the change.
    struct When {
      char kind = 'M';  // 'M' (month.week.day), 'J' (1..365, no Feb 29), 'D' (0..365)
      int month = 0, week = 0, weekday = 0, day = 0;
      int64_t time = 7200;
    };
    When start, end;
  };
  std::string name_ = "UTC";
  int initial_offset_ = 0;              // before the first transition
  std::vector<Transition> transitions_;  // sorted by `at`
  std::optional<Rule> rule_;             // after the last transition
};

// A named part of the working day ("calling: from 10:00 to 13:00"), on the
// given weekdays or, when none are given, on working days.
struct TimeWindow {
  std::string name;
  std::vector<int> weekdays;  // ISO 1 = Monday … 7 = Sunday; empty: working days
  int64_t from = 0;           // seconds since local midnight
  int64_t to = 0;             // exclusive; greater than `from`
  Location where;
};

struct WorkingCalendar {
  TimeZone zone;
  std::array<bool, 8> weekdays{false, true, true, true, true, true, false, false};  // [1..7]
  int64_t day_from = 9 * 3600;  // working hours, seconds since local midnight
  int64_t day_to = 18 * 3600;
  std::optional<std::pair<int64_t, int64_t>> lunch;  // a break inside the working hours
  std::set<int64_t> holidays;                        // days since 1970-01-01 (civil_to_days)
  std::set<int64_t> extra_working_days;              // moved working days (a worked Saturday)
  std::map<std::string, TimeWindow> windows;
  std::string source;  // the text it was loaded from; empty for the default
  std::string file;    // the file it was loaded from

  // A working day: a working weekday that is not a holiday, or an extra working day.
  bool is_working_day(const CivilDate& d) const;
  // Inside working hours (and not in the lunch break) on a working day.
  bool is_working_time(int64_t utc) const;
  // `utc` itself when it is working time, else the next moment working time starts.
  int64_t next_working_moment(int64_t utc) const;
  // The moment that is `seconds` of working time after `utc` (>= 0). Counting
  // starts at next_working_moment(utc); a result that falls exactly at the end
  // of a working period stays there (it does not jump to the next morning).
  int64_t add_working_seconds(int64_t utc, int64_t seconds) const;
  // `days` working days after `utc`: the same point of the working day, that
  // many working days later. A moment outside working time counts from the
  // next start of working time: Friday 15:00 + 1 working day = Monday 15:00,
  // Friday 20:00 + 1 working day = Tuesday 09:00 (Monday 09:00 + 1 day).
  int64_t add_working_days(int64_t utc, int64_t days) const;
  // Working time between two instants (0 when to <= from).
  int64_t working_seconds_between(int64_t from, int64_t to) const;
  // The start of working hours on `d` (whether or not it is a working day).
  int64_t day_start(const CivilDate& d) const;
  // The first moment >= utc at which the window is open (utc itself when it
  // is open now). The window must be open on some day of the week.
  int64_t next_window_open(const TimeWindow& w, int64_t utc) const;
  const TimeWindow* window(std::string_view name) const;
};

// UTC, Monday to Friday 09:00–18:00, no holidays, no windows.
WorkingCalendar default_calendar();

// A duration as written in a definition: calendar time (`24h`, `2d`, `PT24H`)
// or working time (`8 working hours`, `30 working minutes`, `1 working day`,
// `3 working days`).
struct Span {
  enum class Unit { seconds, working_seconds, working_days };
  int64_t amount = 0;
  Unit unit = Unit::seconds;
  std::string text;  // as written

  bool working() const { return unit != Unit::seconds; }
};

// Errors: invalid, saying what forms are accepted.
Result<Span> parse_span(std::string_view text);

// The moment `span` after `utc` on `cal`.
int64_t add_span(const WorkingCalendar& cal, int64_t utc, const Span& span);

// A process's scheduled start.
struct Schedule {
  enum class Every { day, working_day, week };
  Every every = Every::week;
  int weekday = 1;         // for `week`: ISO 1 = Monday … 7 = Sunday
  int64_t at = 9 * 3600;   // seconds since local midnight
  std::string window;      // when set, `at` is the opening of this window
  JsonObject variables;    // start variables
  Location where;
};

// The occurrences of a schedule are the local times `at` on every day that
// `every` selects: `day` every day, `working_day` every working day, `week`
// the given weekday, moved to the next working day when that day is not one.
//
// The latest occurrence in (after, now], if any: what a tick at `now` should
// fire when the last occurrence fired (or the moment the schedule began) was
// `after`. However long the gap, the answer is one occurrence, never a list:
// a worker that was down catches up with one start.
std::optional<int64_t> due_occurrence(const WorkingCalendar& cal, const Schedule& s, int64_t after,
                                      int64_t now);
// The first occurrence after `after`.
int64_t next_occurrence(const WorkingCalendar& cal, const Schedule& s, int64_t after);

// The problems found in a calendar file, and the calendar (the default where
// a problem was found).
struct CalendarLoad {
  WorkingCalendar calendar;
  std::vector<Error> problems;  // code invalid, with file:line:column
};

// Reads the bytes of a time zone's TZif file by its IANA name.
using ZoneReader = std::function<Result<std::string>(const std::string& name)>;

// Parses calendar.yaml (top-level key `calendar:`); see docs/format.md.
// `file` is the name errors carry. `read_zone` is asked for IANA names;
// fixed offsets ("+03:00", "UTC") need no reader.
CalendarLoad load_calendar(const std::string& file, const std::string& text, const ZoneReader& read_zone);

// Reads /usr/share/zoneinfo/NAME (the tzdata package). The name must look like
// an IANA name ("Europe/Moscow"): no "..", no leading "/". Errors: not_found
// naming the file and suggesting the tzdata package.
Result<std::string> read_system_zone(const std::string& name);

}  // namespace reglament
