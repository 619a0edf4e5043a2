#include "engine/time.h"

#include <fmt/format.h>

namespace reglament {

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Reads exactly `n` digits at `pos`.
bool digits(std::string_view s, size_t pos, size_t n, int& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (!is_digit(s[i])) return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

Error bad_moment(std::string_view text, std::string_view why) {
  return make_error(ErrorCode::invalid,
                    fmt::format("\"{}\" is not a timestamp: {} (expected ISO-8601 like "
                                "2026-11-23T15:04:05+03:00)",
                                text, why));
}

// Shared by both parse_moment overloads; `default_offset` allows a bare date
// and a missing offset.
Result<Moment> parse(std::string_view s, std::optional<int> default_offset) {
  int year, month, day, hour = 0, minute = 0, second = 0;
  if (!digits(s, 0, 4, year) || s.size() < 10 || s[4] != '-' || !digits(s, 5, 2, month) ||
      s[7] != '-' || !digits(s, 8, 2, day)) {
    return bad_moment(s, "the date is malformed");
  }
  if (month < 1 || month > 12) return bad_moment(s, "the month is out of range");
  if (day < 1 || static_cast<unsigned>(day) > month_length(year, static_cast<unsigned>(month))) {
    return bad_moment(s, "that day does not exist");
  }
  size_t pos = 10;
  if (pos == s.size() && default_offset) {
    return local_midnight(CivilDate{year, static_cast<unsigned>(month), static_cast<unsigned>(day)},
                          *default_offset);
  }
  if (pos >= s.size() || s[pos] != 'T' || !digits(s, 11, 2, hour) || s.size() < 16 || s[13] != ':' ||
      !digits(s, 14, 2, minute)) {
    return bad_moment(s, "the time of day is malformed");
  }
  pos = 16;
  if (pos < s.size() && s[pos] == ':') {
    if (!digits(s, pos + 1, 2, second)) return bad_moment(s, "the seconds are malformed");
    pos += 3;
    if (pos < s.size() && s[pos] == '.') {
      size_t start = ++pos;
      while (pos < s.size() && is_digit(s[pos])) ++pos;
      if (pos == start) return bad_moment(s, "the fraction of a second is empty");
    }
  }
  if (hour > 23 || minute > 59 || second > 59) return bad_moment(s, "the time of day is out of range");
  Moment t;
  if (pos == s.size() && default_offset) {
    t.offset_minutes = *default_offset;
  } else if (pos < s.size() && s[pos] == 'Z' && pos + 1 == s.size()) {
    t.offset_minutes = 0;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh, om;
    if (s.size() != pos + 6 || !digits(s, pos + 1, 2, oh) || s[pos + 3] != ':' ||
        !digits(s, pos + 4, 2, om) || oh > 23 || om > 59) {
      return bad_moment(s, "the UTC offset is malformed");
    }
    t.offset_minutes = (s[pos] == '-' ? -1 : 1) * (oh * 60 + om);
  } else {
    return bad_moment(s, "a UTC offset (Z or ±HH:MM) is required");
  }
  int64_t local = civil_to_days(CivilDate{year, static_cast<unsigned>(month), static_cast<unsigned>(day)}) *
                      86400 +
                  hour * 3600 + minute * 60 + second;
  t.epoch = local - int64_t{t.offset_minutes} * 60;
  return t;
}

// Splits local seconds into days and seconds of the day (floor division).
void split_day(int64_t local, int64_t& days, int64_t& secs) {
  days = local / 86400;
  secs = local % 86400;
  if (secs < 0) {
    secs += 86400;
    days -= 1;
  }
}

constexpr int64_t kMaxDuration = int64_t{100} * 366 * 86400;  // a century is plenty

}  // namespace

Result<Moment> parse_moment(std::string_view text) { return parse(text, std::nullopt); }

Result<Moment> parse_moment(std::string_view text, int default_offset_minutes) {
  return parse(text, default_offset_minutes);
}

std::string format_moment(const Moment& t) {
  int64_t days, secs;
  split_day(t.epoch + int64_t{t.offset_minutes} * 60, days, secs);
  CivilDate d = days_to_civil(days);
  int off = t.offset_minutes;
  char sign = off < 0 ? '-' : '+';
  if (off < 0) off = -off;
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{}{:02}:{:02}", d.year, d.month, d.day, secs / 3600,
                     (secs / 60) % 60, secs % 60, sign, off / 60, off % 60);
}

// H. Hinnant's days_from_civil / civil_from_days.
int64_t civil_to_days(const CivilDate& date) {
  int64_t y = date.year - (date.month <= 2 ? 1 : 0);
  const unsigned m = date.month;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + date.day - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

CivilDate days_to_civil(int64_t z) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  CivilDate d;
  d.day = doy - (153 * mp + 2) / 5 + 1;
  d.month = mp < 10 ? mp + 3 : mp - 9;
  d.year = y + (d.month <= 2 ? 1 : 0);
  return d;
}

unsigned month_length(int64_t y, unsigned m) {
  static const unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (m < 1 || m > 12) return 0;
  return m == 2 && leap ? 29 : kDays[m - 1];
}

int iso_weekday(const CivilDate& d) {
  // 1970-01-01 was a Thursday (4).
  int64_t days = civil_to_days(d);
  int64_t w = (days + 3) % 7;
  if (w < 0) w += 7;
  return static_cast<int>(w) + 1;
}

std::string format_date(const CivilDate& d) { return fmt::format("{:04}-{:02}-{:02}", d.year, d.month, d.day); }

CivilDate local_date(const Moment& t) {
  int64_t days, secs;
  split_day(t.epoch + int64_t{t.offset_minutes} * 60, days, secs);
  return days_to_civil(days);
}

Moment local_midnight(const CivilDate& d, int offset_minutes) {
  return Moment{civil_to_days(d) * 86400 - int64_t{offset_minutes} * 60, offset_minutes};
}

Result<int64_t> parse_duration(std::string_view text) {
  auto bad = [&](std::string_view why) -> Error {
    return make_error(ErrorCode::invalid,
                      fmt::format("\"{}\" is not a duration: {} (expected like 30m, 24h, 2d, 1w or PT24H)",
                                  text, why));
  };
  if (text.empty()) return bad("it is empty");
  int64_t total = 0;
  auto add = [&](int64_t n, char unit) -> bool {
    int64_t k = unit == 's' ? 1 : unit == 'm' ? 60 : unit == 'h' ? 3600 : unit == 'd' ? 86400 : unit == 'w' ? 604800 : 0;
    if (k == 0 || n > kMaxDuration / k) return false;
    total += n * k;
    return total <= kMaxDuration;
  };
  // A number read at `pos`; false when there is none or it is too long.
  auto number = [&](size_t& pos, int64_t& n) -> bool {
    size_t start = pos;
    n = 0;
    while (pos < text.size() && is_digit(text[pos]) && pos - start < 12) n = n * 10 + (text[pos++] - '0');
    return pos > start && (pos >= text.size() || !is_digit(text[pos]));
  };
  if (text[0] == 'P') {
    // ISO-8601: P[nW][nD][T[nH][nM][nS]]
    size_t pos = 1;
    bool in_time = false, any = false;
    while (pos < text.size()) {
      if (text[pos] == 'T') {
        if (in_time) return bad("T appears twice");
        in_time = true;
        ++pos;
        continue;
      }
      int64_t n;
      if (!number(pos, n) || pos >= text.size()) return bad("a number must be followed by a unit");
      char u = text[pos++];
      char unit = 0;
      if (!in_time && u == 'W') unit = 'w';
      if (!in_time && u == 'D') unit = 'd';
      if (in_time && u == 'H') unit = 'h';
      if (in_time && u == 'M') unit = 'm';
      if (in_time && u == 'S') unit = 's';
      if (unit == 0) return bad(fmt::format("unit {} is not supported there (months and years vary)", u));
      if (!add(n, unit)) return bad("it is too long");
      any = true;
    }
    if (!any) return bad("it has no amount");
  } else {
    size_t pos = 0;
    int64_t n;
    if (!number(pos, n)) return bad("it must start with a whole number");
    if (pos + 1 != text.size() || std::string_view("smhdw").find(text[pos]) == std::string_view::npos) {
      return bad("it must be a number and one unit: s, m, h, d or w");
    }
    if (!add(n, text[pos])) return bad("it is too long");
  }
  if (total <= 0) return bad("it must be longer than zero");
  return total;
}

std::string format_duration(int64_t s) {
  if (s > 0 && s % 604800 == 0) return fmt::format("{}w", s / 604800);
  if (s > 86400 && s % 86400 == 0) return fmt::format("{}d", s / 86400);
  if (s > 0 && s % 3600 == 0) return fmt::format("{}h", s / 3600);
  if (s > 0 && s % 60 == 0) return fmt::format("{}m", s / 60);
  return fmt::format("{}s", s);
}

}  // namespace reglament
