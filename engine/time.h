// Instants, durations and calendar days, as pure values.
//
// Events carry their time as ISO-8601 text with a UTC offset
// ("2026-11-23T15:04:05+03:00"). Reports need to compare such times across
// offsets, add durations to them and cut a period into days, weeks and
// months; this is the arithmetic for that. Nothing here reads the clock:
// "now" always arrives from outside (the CLI's --now or the system clock).
//
//   auto t = parse_moment("2026-11-23T15:04:05+03:00");   // t->epoch, t->offset_minutes
//   auto d = parse_duration("24h");                        // 86400
//   format_moment(Moment{t->epoch + *d, 180})              // "2026-11-24T15:04:05+03:00"
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "engine/result.h"

namespace reglament {

// An instant, and the UTC offset it is shown in. Two moments are the same
// instant when their `epoch` is equal, whatever their offsets.
struct Moment {
  int64_t epoch = 0;       // seconds since 1970-01-01T00:00:00Z (fractions dropped)
  int offset_minutes = 0;  // east of UTC

  friend bool operator==(const Moment&, const Moment&) = default;
};

// Parses `YYYY-MM-DDTHH:MM[:SS[.fff…]]` followed by `Z` or `±HH:MM`, checking
// that the date and the time of day exist. Errors: invalid, naming what is
// wrong.
Result<Moment> parse_moment(std::string_view text);

// As parse_moment, and also accepts a bare date `YYYY-MM-DD` (its midnight)
// or a date and time without an offset; both are read in
// `default_offset_minutes`.
Result<Moment> parse_moment(std::string_view text, int default_offset_minutes);

// "2026-11-23T15:04:05+03:00" ("…Z" for offset 0 is not used: always ±HH:MM).
std::string format_moment(const Moment& t);

// A day of the proleptic Gregorian calendar.
struct CivilDate {
  int64_t year = 1970;
  unsigned month = 1;  // 1..12
  unsigned day = 1;    // 1..31

  friend bool operator==(const CivilDate&, const CivilDate&) = default;
};

// Days since 1970-01-01, and back.
int64_t civil_to_days(const CivilDate& d);
CivilDate days_to_civil(int64_t days);
unsigned month_length(int64_t year, unsigned month);
// 1 = Monday … 7 = Sunday (ISO 8601).
int iso_weekday(const CivilDate& d);
// "2026-11-23".
std::string format_date(const CivilDate& d);

// The calendar day `t` falls on in its own offset.
CivilDate local_date(const Moment& t);
// Midnight at the start of `d` in the given offset.
Moment local_midnight(const CivilDate& d, int offset_minutes);

// A duration in seconds: `30m`, `24h`, `2d`, `1w` (a whole number and one
// unit: s, m, h, d, w), or ISO-8601 `PT24H`, `P1D`, `P1W`, `P1DT12H`,
// `PT1H30M`. Must be positive. Errors: invalid.
Result<int64_t> parse_duration(std::string_view text);

// The largest exact unit: `1w`, `2d`, `24h` (one day is written in hours),
// `90m`, `45s`.
std::string format_duration(int64_t seconds);

}  // namespace reglament
