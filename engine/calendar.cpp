// Time zones (TZif, RFC 8536), working-time arithmetic and schedule
// occurrences. See calendar.h for the contracts.
//
// Everything walks over local days, never over seconds: a working day is cut
// into at most two working periods (before and after lunch), each turned into
// UTC with the zone's to_utc, so a change of offset between two days is
// followed without any assumption about the length of a day.
//
// Loops that search for "the next working day" are bounded by kMaxSearchDays
// (ten years). A calendar that has no working day in ten years (every day a
// holiday) cannot make them finish; there they give up and return the last
// moment they computed, as documented at each function. load_calendar rejects
// a calendar without working weekdays, so this only guards hand-made values.

#include "engine/calendar.h"

#include <fmt/format.h>

#include <algorithm>
#include <exception>
#include <fstream>
#include <iterator>
#include <limits>
#include <utility>

namespace reglament {

namespace {

constexpr int64_t kDay = 86400;
constexpr int64_t kMaxSearchDays = 366 * 10;
// working_seconds_between counts at most a century of days.
constexpr int64_t kMaxBetweenDays = 366 * 100;
// The UTC offsets RFC 8536 recommends (just over ±25 hours). to_utc relies on
// offsets staying within two days.
constexpr int kMinOffset = -89999;
constexpr int kMaxOffset = 93599;

int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  if (a % b != 0 && ((a < 0) != (b < 0))) --q;
  return q;
}

bool is_leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

// An offset in force from `at` on.
struct Change {
  int64_t at = 0;
  int offset = 0;
};

// ---------------------------------------------------------------------------
// POSIX TZ strings ("CET-1CEST,M3.5.0,M10.5.0/3"), as RFC 8536 extends them:
// the time of a change may be negative or up to 167 hours.

struct PosixWhen {
  char kind = 'M';
  int month = 0, week = 0, weekday = 0, day = 0;
  int64_t time = 7200;
};

struct PosixTz {
  int std_offset = 0;  // seconds east of UTC (POSIX writes them west)
  bool has_dst = false;
  int dst_offset = 0;
  PosixWhen start, end;
};

class PosixParser {
 public:
  explicit PosixParser(std::string_view s) : s_(s) {}

  // nullopt with `why` set when the text is not a TZ string.
  std::optional<PosixTz> parse(std::string& why) {
    PosixTz tz;
    int64_t std_west = 0;
    if (!name() || !offset(24, std_west)) return fail(why, "the standard time is malformed");
    tz.std_offset = static_cast<int>(-std_west);
    if (done()) return check(tz, why);
    if (!name()) return fail(why, "the daylight saving time name is malformed");
    tz.has_dst = true;
    tz.dst_offset = tz.std_offset + 3600;
    if (!done() && peek() != ',') {
      int64_t dst_west = 0;
      if (!offset(24, dst_west)) return fail(why, "the daylight saving offset is malformed");
      tz.dst_offset = static_cast<int>(-dst_west);
    }
    if (done()) {
      // No rule given: POSIX leaves it to the implementation; like glibc, use the US rule.
      tz.start = PosixWhen{'M', 3, 2, 0, 0, 7200};
      tz.end = PosixWhen{'M', 11, 1, 0, 0, 7200};
      return check(tz, why);
    }
    if (!eat(',') || !when(tz.start) || !eat(',') || !when(tz.end) || !done()) {
      return fail(why, "the daylight saving rule is malformed");
    }
    return check(tz, why);
  }

 private:
  bool done() const { return pos_ >= s_.size(); }
  char peek() const { return done() ? '\0' : s_[pos_]; }
  bool eat(char c) {
    if (peek() != c) return false;
    ++pos_;
    return true;
  }
  static bool alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
  static bool digit(char c) { return c >= '0' && c <= '9'; }

  static std::optional<PosixTz> fail(std::string& why, const char* what) {
    why = what;
    return std::nullopt;
  }
  static std::optional<PosixTz> check(const PosixTz& tz, std::string& why) {
    for (int o : {tz.std_offset, tz.dst_offset}) {
      if (o < kMinOffset || o > kMaxOffset) return fail(why, "an offset is out of range");
    }
    return tz;
  }

  // "CET" (three letters or more) or "<+03>".
  bool name() {
    size_t start = pos_;
    if (eat('<')) {
      while (!done() && (alpha(peek()) || digit(peek()) || peek() == '+' || peek() == '-')) ++pos_;
      return pos_ > start + 1 && eat('>');
    }
    while (!done() && alpha(peek())) ++pos_;
    return pos_ - start >= 3;
  }

  // A whole number of at most `max_digits` digits.
  bool number(int max_digits, int64_t& n) {
    size_t start = pos_;
    n = 0;
    while (!done() && digit(peek()) && static_cast<int>(pos_ - start) < max_digits)
      n = n * 10 + (s_[pos_++] - '0');
    return pos_ > start && !digit(peek());
  }

  // [+-]hh[:mm[:ss]], in seconds; hours at most `max_hours`.
  bool offset(int64_t max_hours, int64_t& out) {
    int64_t sign = 1;
    if (eat('-')) {
      sign = -1;
    } else {
      eat('+');
    }
    int64_t h = 0, m = 0, sec = 0;
    if (!number(3, h) || h > max_hours) return false;
    if (eat(':')) {
      if (!number(2, m) || m > 59) return false;
      if (eat(':') && (!number(2, sec) || sec > 59)) return false;
    }
    out = sign * (h * 3600 + m * 60 + sec);
    return true;
  }

  // Jn, n or Mm.w.d, then an optional /time.
  bool when(PosixWhen& w) {
    int64_t a = 0, b = 0, c = 0;
    if (eat('J')) {
      if (!number(3, a) || a < 1 || a > 365) return false;
      w = PosixWhen{'J', 0, 0, 0, static_cast<int>(a), 7200};
    } else if (eat('M')) {
      if (!number(2, a) || a < 1 || a > 12 || !eat('.') || !number(1, b) || b < 1 || b > 5 || !eat('.') ||
          !number(1, c) || c > 6) {
        return false;
      }
      w = PosixWhen{'M', static_cast<int>(a), static_cast<int>(b), static_cast<int>(c), 0, 7200};
    } else {
      if (!number(3, a) || a > 365) return false;
      w = PosixWhen{'D', 0, 0, 0, static_cast<int>(a), 7200};
    }
    if (eat('/')) return offset(167, w.time);
    return true;
  }

  std::string_view s_;
  size_t pos_ = 0;
};

// The day (since the epoch) a rule's date falls on in `year`. Templates so
// that TimeZone's private Rule can be passed without naming it here.
template <class When>
int64_t rule_day(const When& w, int64_t year) {
  int64_t jan1 = civil_to_days(CivilDate{year, 1, 1});
  if (w.kind == 'J') return jan1 + (w.day - 1) + (is_leap(year) && w.day >= 60 ? 1 : 0);
  if (w.kind == 'D') return jan1 + w.day;
  unsigned month = static_cast<unsigned>(w.month);
  int64_t first = civil_to_days(CivilDate{year, month, 1});
  int first_weekday = iso_weekday(CivilDate{year, month, 1}) % 7;  // 0 = Sunday
  int64_t day = first + (w.weekday - first_weekday + 7) % 7 + int64_t{w.week - 1} * 7;
  while (day >= first + month_length(year, month)) day -= 7;  // week 5: the last one
  return day;
}

// The two changes a rule makes in `year`, appended in order. The start is
// written in standard time, the end in daylight saving time. The end goes
// first on a tie, so a rule that keeps DST all year ("0/0,J365/25") keeps it.
template <class Rule>
void rule_changes(const Rule& r, int64_t year, std::vector<Change>& out) {
  int64_t start = rule_day(r.start, year) * kDay + r.start.time - r.std_offset;
  int64_t end = rule_day(r.end, year) * kDay + r.end.time - r.dst_offset;
  if (start < end) {
    out.push_back({start, r.dst_offset});
    out.push_back({end, r.std_offset});
  } else {
    out.push_back({end, r.std_offset});
    out.push_back({start, r.dst_offset});
  }
}

template <class Rule>
int64_t rule_year(const Rule& r, int64_t utc) {
  return days_to_civil(floor_div(utc + r.std_offset, kDay)).year;
}

// The changes a rule makes in the years around [a, b], in order.
template <class Rule>
std::vector<Change> rule_changes_around(const Rule& r, int64_t a, int64_t b) {
  std::vector<Change> out;
  for (int64_t y = rule_year(r, a) - 1; y <= rule_year(r, b) + 1; ++y) rule_changes(r, y, out);
  std::stable_sort(out.begin(), out.end(), [](const Change& x, const Change& y) { return x.at < y.at; });
  return out;
}

template <class Rule>
int rule_offset(const Rule& r, int64_t utc) {
  if (!r.has_dst) return r.std_offset;
  int offset = r.std_offset;
  for (const Change& c : rule_changes_around(r, utc, utc)) {
    if (c.at > utc) break;
    offset = c.offset;
  }
  return offset;
}

// ---------------------------------------------------------------------------
// TZif bytes.

class ByteReader {
 public:
  explicit ByteReader(std::string_view b) : b_(b) {}
  bool has(uint64_t n) const { return n <= b_.size() - pos_; }
  void skip(uint64_t n) { pos_ += static_cast<size_t>(n); }
  uint8_t u8() { return static_cast<uint8_t>(b_[pos_++]); }
  uint32_t u32() {
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v = (v << 8) | u8();
    return v;
  }
  int64_t s64() {
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | u8();
    return static_cast<int64_t>(v);
  }
  int64_t time(int size) { return size == 4 ? int64_t{static_cast<int32_t>(u32())} : s64(); }
  std::string_view rest() const { return b_.substr(pos_); }

 private:
  std::string_view b_;
  size_t pos_ = 0;
};

struct TzifHeader {
  char version = 0;
  uint32_t isutcnt = 0, isstdcnt = 0, leapcnt = 0, timecnt = 0, typecnt = 0, charcnt = 0;

  uint64_t block_size(int time_size) const {
    return uint64_t{timecnt} * time_size + timecnt + uint64_t{typecnt} * 6 + charcnt +
           uint64_t{leapcnt} * (time_size + 4) + isstdcnt + isutcnt;
  }
};

// The header at the reader's position; "" or what is wrong.
std::string read_header(ByteReader& r, TzifHeader& h) {
  if (!r.has(44)) return "it is shorter than a TZif header";
  if (r.rest().substr(0, 4) != "TZif") return "it does not start with \"TZif\"";
  r.skip(4);
  h.version = static_cast<char>(r.u8());
  if (h.version != 0 && (h.version < '2' || h.version > '9')) return "its version byte is unknown";
  r.skip(15);
  h.isutcnt = r.u32();
  h.isstdcnt = r.u32();
  h.leapcnt = r.u32();
  h.timecnt = r.u32();
  h.typecnt = r.u32();
  h.charcnt = r.u32();
  if (h.typecnt == 0) return "it has no local time types";
  if (h.charcnt == 0) return "it has no time zone designations";
  if (h.isutcnt != 0 && h.isutcnt != h.typecnt) return "its UT indicator count is wrong";
  if (h.isstdcnt != 0 && h.isstdcnt != h.typecnt) return "its standard indicator count is wrong";
  return "";
}

struct TzifData {
  std::vector<int64_t> times;
  std::vector<uint8_t> types;
  std::vector<int> offsets;  // per local time type
};

// The data block after `h`; "" or what is wrong.
std::string read_block(ByteReader& r, const TzifHeader& h, int time_size, TzifData& d) {
  if (!r.has(h.block_size(time_size))) return "its data is truncated";
  for (uint32_t i = 0; i < h.timecnt; ++i) {
    d.times.push_back(r.time(time_size));
    if (i > 0 && d.times[i] <= d.times[i - 1]) return "its transition times are not in order";
  }
  for (uint32_t i = 0; i < h.timecnt; ++i) {
    d.types.push_back(r.u8());
    if (d.types.back() >= h.typecnt) return "a transition names a local time type that does not exist";
  }
  for (uint32_t i = 0; i < h.typecnt; ++i) {
    int64_t utoff = static_cast<int32_t>(r.u32());
    r.skip(1);  // isdst
    uint8_t designation = r.u8();
    if (utoff < kMinOffset || utoff > kMaxOffset) return "a UTC offset is out of range";
    if (designation >= h.charcnt) return "a time zone designation is out of range";
    d.offsets.push_back(static_cast<int>(utoff));
  }
  // Designations, leap seconds and indicators: not needed for offsets.
  r.skip(uint64_t{h.charcnt} + uint64_t{h.leapcnt} * (time_size + 4) + h.isstdcnt + h.isutcnt);
  return "";
}

Error bad_tzif(const std::string& name, std::string_view why) {
  return make_error(ErrorCode::invalid,
                    fmt::format("time zone \"{}\" is not a valid TZif file: {}", name, why));
}

bool zone_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '/' || c == '_' ||
         c == '-' || c == '+';
}

}  // namespace

// ---------------------------------------------------------------------------
// TimeZone

TimeZone TimeZone::fixed(int offset_seconds, std::string name) {
  TimeZone z;
  z.name_ = std::move(name);
  z.initial_offset_ = offset_seconds;
  return z;
}

Result<TimeZone> TimeZone::from_tzif(std::string name, std::string_view bytes) {
  ByteReader r(bytes);
  TzifHeader h;
  if (std::string why = read_header(r, h); !why.empty()) return bad_tzif(name, why);
  int time_size = 4;
  if (h.version != 0) {
    // Version 2 and later repeat everything with 64-bit times; skip the 32-bit copy.
    if (!r.has(h.block_size(4))) return bad_tzif(name, "its data is truncated");
    r.skip(h.block_size(4));
    if (std::string why = read_header(r, h); !why.empty()) return bad_tzif(name, why);
    time_size = 8;
  }
  TzifData d;
  if (std::string why = read_block(r, h, time_size, d); !why.empty()) return bad_tzif(name, why);

  TimeZone z;
  z.name_ = std::move(name);
  z.initial_offset_ = d.offsets[0];  // RFC 8536: before the first transition, type 0
  for (size_t i = 0; i < d.times.size(); ++i) z.transitions_.push_back({d.times[i], d.offsets[d.types[i]]});
  if (h.version == 0) return z;

  std::string_view footer = r.rest();
  size_t close = footer.find('\n', 1);
  if (footer.empty() || footer[0] != '\n' || close == std::string_view::npos) {
    return bad_tzif(z.name_, "its footer is missing or not closed");
  }
  std::string_view tz = footer.substr(1, close - 1);
  if (tz.empty()) return z;  // no rule: the last offset stays
  std::string why;
  std::optional<PosixTz> p = PosixParser(tz).parse(why);
  if (!p) return bad_tzif(z.name_, fmt::format("its TZ rule \"{}\" is malformed: {}", tz, why));
  Rule rule;
  rule.std_offset = p->std_offset;
  rule.has_dst = p->has_dst;
  rule.dst_offset = p->dst_offset;
  auto copy = [](const PosixWhen& w) {
    Rule::When out;
    out.kind = w.kind;
    out.month = w.month;
    out.week = w.week;
    out.weekday = w.weekday;
    out.day = w.day;
    out.time = w.time;
    return out;
  };
  rule.start = copy(p->start);
  rule.end = copy(p->end);
  z.rule_ = rule;
  return z;
}

int TimeZone::offset_at(int64_t utc) const {
  if (transitions_.empty()) return rule_ ? rule_offset(*rule_, utc) : initial_offset_;
  if (utc < transitions_.front().at) return initial_offset_;
  if (rule_ && utc > transitions_.back().at) return rule_offset(*rule_, utc);
  auto after = std::upper_bound(transitions_.begin(), transitions_.end(), utc,
                                [](int64_t t, const Transition& tr) { return t < tr.at; });
  return std::prev(after)->offset;
}

// Solves u + offset_at(u) == local over the offsets in force within two days
// of `local` (offsets stay within ±26 hours, so every solution is there).
int64_t TimeZone::to_utc(const CivilDate& date, int64_t seconds_of_day) const {
  int64_t local = civil_to_days(date) * kDay + seconds_of_day;
  if (transitions_.empty() && (!rule_ || !rule_->has_dst)) return local - offset_at(local);  // one offset
  int64_t a = local - 2 * kDay, b = local + 2 * kDay;
  std::vector<Change> changes{{a, offset_at(a)}};
  auto it = std::upper_bound(transitions_.begin(), transitions_.end(), a,
                             [](int64_t t, const Transition& tr) { return t < tr.at; });
  for (; it != transitions_.end() && it->at <= b; ++it) changes.push_back({it->at, it->offset});
  if (rule_ && (transitions_.empty() || transitions_.back().at < b)) {
    // offset_at follows the rule from just after the last transition. A
    // file whose rule does not continue that transition's offset changes
    // the offset there too (RFC 8536 asks for consistency; the bytes may
    // not keep it), so that instant is a change like the rule's own.
    const int64_t rule_start =
        transitions_.empty() ? std::numeric_limits<int64_t>::min() : transitions_.back().at + 1;
    if (rule_start > a) changes.push_back({rule_start, rule_offset(*rule_, rule_start)});
    if (rule_->has_dst) {
      for (const Change& c : rule_changes_around(*rule_, a, b)) {
        if (c.at > a && c.at <= b && c.at > rule_start) changes.push_back(c);
      }
    }
  }
  // Each piece [changes[i].at, changes[i+1].at) has one offset; the first
  // piece holding its own solution is the first occurrence.
  for (size_t i = 0; i < changes.size(); ++i) {
    int64_t u = local - changes[i].offset;
    bool after_start = i == 0 || u >= changes[i].at;
    bool before_end = i + 1 == changes.size() || u < changes[i + 1].at;
    if (after_start && before_end) return u;
  }
  // A skipped local time: read it with the offset before the jump.
  for (size_t i = 1; i < changes.size(); ++i) {
    if (local - changes[i - 1].offset >= changes[i].at && local - changes[i].offset < changes[i].at) {
      return local - changes[i - 1].offset;
    }
  }
  return local - offset_at(local);
}

CivilDate TimeZone::local_date(int64_t utc) const {
  return days_to_civil(floor_div(utc + offset_at(utc), kDay));
}

int64_t TimeZone::local_seconds(int64_t utc) const {
  int64_t local = utc + offset_at(utc);
  return local - floor_div(local, kDay) * kDay;
}

// ---------------------------------------------------------------------------
// WorkingCalendar

namespace {

// The working periods of one local day, in UTC: none on a day off, one, or
// two around lunch.
struct DayPeriods {
  std::array<std::pair<int64_t, int64_t>, 2> p;
  int n = 0;
};

// The first instant at which the local time is `seconds` into `d` or later.
// That is to_utc's answer when the local time exists; a skipped one is read
// by to_utc with the offset before the jump, which lands later than the jump
// itself (in another day's working hours when a whole day is skipped, as
// Pacific/Apia skipped 2011-12-30), so here it is the instant of the jump.
int64_t first_instant_from(const TimeZone& z, const CivilDate& d, int64_t seconds) {
  const int64_t local = civil_to_days(d) * kDay + seconds;
  const int64_t u = z.to_utc(d, seconds);
  if (u + z.offset_at(u) <= local) return u;  // it exists (or a jump back repeats it)
  // The local time at u is past `local`; three days earlier it was before
  // it (offsets stay within ±26 hours). Bisect for the jump.
  int64_t lo = u - 3 * kDay, hi = u;
  while (hi - lo > 1) {
    const int64_t mid = lo + (hi - lo) / 2;
    (mid + z.offset_at(mid) >= local ? hi : lo) = mid;
  }
  return hi;
}

DayPeriods periods_of(const WorkingCalendar& c, int64_t day) {
  DayPeriods out;
  CivilDate d = days_to_civil(day);
  if (!c.is_working_day(d)) return out;
  // The instants whose local time lies in [from, to) of this day; a part
  // that a jump forward skips has none.
  auto add = [&](int64_t from, int64_t to) {
    if (to <= from) return;
    int64_t a = first_instant_from(c.zone, d, from), b = first_instant_from(c.zone, d, to);
    if (b > a) out.p[out.n++] = {a, b};
  };
  if (c.lunch) {
    add(c.day_from, std::min(c.lunch->first, c.day_to));
    add(std::max(c.lunch->second, c.day_from), c.day_to);
  } else {
    add(c.day_from, c.day_to);
  }
  return out;
}

// The local day (since the epoch) of `utc`.
int64_t day_of(const TimeZone& z, int64_t utc) { return floor_div(utc + z.offset_at(utc), kDay); }

}  // namespace

bool WorkingCalendar::is_working_day(const CivilDate& d) const {
  int64_t day = civil_to_days(d);
  if (extra_working_days.count(day) > 0) return true;
  if (holidays.count(day) > 0) return false;
  return weekdays[static_cast<size_t>(iso_weekday(d))];
}

bool WorkingCalendar::is_working_time(int64_t utc) const {
  DayPeriods ps = periods_of(*this, day_of(zone, utc));
  for (int i = 0; i < ps.n; ++i) {
    if (utc >= ps.p[i].first && utc < ps.p[i].second) return true;
  }
  return false;
}

// Gives up after kMaxSearchDays without working time and returns `utc`.
int64_t WorkingCalendar::next_working_moment(int64_t utc) const {
  int64_t first = day_of(zone, utc);
  for (int64_t i = 0; i < kMaxSearchDays; ++i) {
    DayPeriods ps = periods_of(*this, first + i);
    for (int k = 0; k < ps.n; ++k) {
      if (utc < ps.p[k].second) return std::max(utc, ps.p[k].first);
    }
  }
  return utc;
}

// seconds <= 0: the moment itself when it is working time, else the next
// start of working time (that is next_working_moment(utc)); so a zero span
// never ends outside working time. seconds > 0: the periods are consumed in
// order, and a result equal to a period's end is kept (13:00 when the morning
// ends at lunch, 18:00 at the end of the day). Gives up after kMaxSearchDays
// and returns the end of the last working period it consumed.
int64_t WorkingCalendar::add_working_seconds(int64_t utc, int64_t seconds) const {
  if (seconds <= 0) return next_working_moment(utc);
  int64_t first = day_of(zone, utc);
  int64_t left = seconds;
  int64_t last = utc;
  for (int64_t i = 0; i < kMaxSearchDays; ++i) {
    DayPeriods ps = periods_of(*this, first + i);
    for (int k = 0; k < ps.n; ++k) {
      auto [from, to] = ps.p[k];
      if (to <= utc) continue;
      int64_t start = std::max(from, utc);
      if (left <= to - start) return start + left;
      left -= to - start;
      last = to;
    }
  }
  return last;
}

// From next_working_moment(utc): the working time p already done that day is
// measured from the day's start, and the result is the point p into the
// working day `days` working days later (clamped to that day's end). Gives up
// after kMaxSearchDays without enough working days and returns the start.
int64_t WorkingCalendar::add_working_days(int64_t utc, int64_t days) const {
  int64_t start = next_working_moment(utc);
  if (days <= 0) return start;
  int64_t day = day_of(zone, start);
  int64_t done = working_seconds_between(day_start(days_to_civil(day)), start);
  int64_t target = day;
  for (int64_t counted = 0; counted < days;) {
    if (++target - day > kMaxSearchDays) return start;
    if (is_working_day(days_to_civil(target))) ++counted;
  }
  DayPeriods ps = periods_of(*this, target);
  if (ps.n == 0) return day_start(days_to_civil(target));
  for (int k = 0; k < ps.n; ++k) {
    auto [from, to] = ps.p[k];
    if (done < to - from || k + 1 == ps.n) return std::min(from + done, to);
    done -= to - from;
  }
  return start;  // not reached
}

// Counts at most kMaxBetweenDays local days from `from`.
int64_t WorkingCalendar::working_seconds_between(int64_t from, int64_t to) const {
  if (to <= from) return 0;
  int64_t first = day_of(zone, from), last = day_of(zone, to);
  int64_t total = 0;
  for (int64_t day = first; day <= last && day - first <= kMaxBetweenDays; ++day) {
    DayPeriods ps = periods_of(*this, day);
    for (int k = 0; k < ps.n; ++k) {
      int64_t a = std::max(ps.p[k].first, from), b = std::min(ps.p[k].second, to);
      if (b > a) total += b - a;
    }
  }
  return total;
}

int64_t WorkingCalendar::day_start(const CivilDate& d) const { return zone.to_utc(d, day_from); }

// Gives up after kMaxSearchDays (a window open on no day) and returns `utc`.
int64_t WorkingCalendar::next_window_open(const TimeWindow& w, int64_t utc) const {
  int64_t first = day_of(zone, utc);
  for (int64_t i = 0; i < kMaxSearchDays; ++i) {
    CivilDate d = days_to_civil(first + i);
    bool open = w.weekdays.empty()
                    ? is_working_day(d)
                    : std::find(w.weekdays.begin(), w.weekdays.end(), iso_weekday(d)) != w.weekdays.end();
    if (!open) continue;
    int64_t from = zone.to_utc(d, w.from), to = zone.to_utc(d, w.to);
    if (utc < to) return std::max(utc, from);
  }
  return utc;
}

const TimeWindow* WorkingCalendar::window(std::string_view name) const {
  auto it = windows.find(std::string(name));
  return it == windows.end() ? nullptr : &it->second;
}

WorkingCalendar default_calendar() { return WorkingCalendar{}; }

// ---------------------------------------------------------------------------
// Spans

namespace {

constexpr int64_t kMaxWorkingDays = 2000;             // about eight years
constexpr int64_t kMaxWorkingSeconds = 16000 * 3600;  // 2000 days of 8 hours

std::vector<std::string_view> words(std::string_view s) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  while (pos < s.size()) {
    while (pos < s.size() && (s[pos] == ' ' || s[pos] == '\t')) ++pos;
    size_t start = pos;
    while (pos < s.size() && s[pos] != ' ' && s[pos] != '\t') ++pos;
    if (pos > start) out.push_back(s.substr(start, pos - start));
  }
  return out;
}

Error bad_span(std::string_view text, std::string_view why) {
  return make_error(ErrorCode::invalid,
                    fmt::format("\"{}\" is not a duration: {} (expected calendar time like 24h, 2d or PT24H, "
                                "or working time like 8 working hours, 30 working minutes or 3 working days)",
                                text, why));
}

}  // namespace

Result<Span> parse_span(std::string_view text) {
  std::vector<std::string_view> w = words(text);
  if (w.empty()) return bad_span(text, "it is empty");
  if (w.size() == 1) {
    Result<int64_t> seconds = parse_duration(w[0]);
    if (!seconds) return bad_span(text, "it is not a whole number and one unit (s, m, h, d, w) or ISO-8601");
    return Span{*seconds, Span::Unit::seconds, std::string(text)};
  }
  if (w.size() != 3 || w[1] != "working")
    return bad_span(text, "working time is written as <number> working <unit>");
  int64_t n = 0;
  for (char c : w[0]) {
    if (c < '0' || c > '9' || n > 1000000000) return bad_span(text, "it must start with a whole number");
    n = n * 10 + (c - '0');
  }
  if (n <= 0) return bad_span(text, "it must be longer than zero");
  std::string_view unit = w[2];
  Span span{n, Span::Unit::working_seconds, std::string(text)};
  if (unit == "day" || unit == "days") {
    if (n > kMaxWorkingDays) return bad_span(text, "it is too long");
    span.unit = Span::Unit::working_days;
    return span;
  }
  int64_t k = unit == "hour" || unit == "hours" ? 3600 : unit == "minute" || unit == "minutes" ? 60 : 0;
  if (k == 0)
    return bad_span(text, fmt::format("\"{}\" is not a unit of working time (minutes, hours, days)", unit));
  if (n > kMaxWorkingSeconds / k) return bad_span(text, "it is too long");
  span.amount = n * k;
  return span;
}

int64_t add_span(const WorkingCalendar& cal, int64_t utc, const Span& span) {
  switch (span.unit) {
    case Span::Unit::seconds: return utc + std::max<int64_t>(span.amount, 0);
    case Span::Unit::working_seconds: return cal.add_working_seconds(utc, span.amount);
    case Span::Unit::working_days: return cal.add_working_days(utc, span.amount);
  }
  return utc;
}

// ---------------------------------------------------------------------------
// Schedules

namespace {

int64_t time_of_day(const WorkingCalendar& cal, const Schedule& s) {
  if (s.window.empty()) return s.at;
  const TimeWindow* w = cal.window(s.window);
  return w != nullptr ? w->from : s.at;
}

// Occurrences come in slots: every day for `day` and `working_day`, the
// schedule's weekday for `week`. A slot's day (when it has one) never comes
// before the slot, and later slots never have earlier days.
int64_t slot_step(const Schedule& s) { return s.every == Schedule::Every::week ? 7 : 1; }

// The latest slot on or before `day`.
int64_t slot_on_or_before(const Schedule& s, int64_t day) {
  if (s.every != Schedule::Every::week) return day;
  int weekday = iso_weekday(days_to_civil(day));
  int want = ((s.weekday - 1) % 7 + 7) % 7 + 1;
  return day - (weekday - want + 7) % 7;
}

// The day a slot occurs on: the slot itself for `day`, the slot when it is a
// working day for `working_day`, the first working day from the slot on for
// `week` (the slot itself after kMaxSearchDays without one).
std::optional<int64_t> occurrence_day(const WorkingCalendar& cal, const Schedule& s, int64_t slot) {
  switch (s.every) {
    case Schedule::Every::day: return slot;
    case Schedule::Every::working_day:
      if (cal.is_working_day(days_to_civil(slot))) return slot;
      return std::nullopt;
    case Schedule::Every::week:
      for (int64_t d = slot; d - slot < kMaxSearchDays; ++d) {
        if (cal.is_working_day(days_to_civil(d))) return d;
      }
      return slot;
  }
  return std::nullopt;
}

std::optional<int64_t> occurrence(const WorkingCalendar& cal, const Schedule& s, int64_t slot, int64_t tod) {
  std::optional<int64_t> day = occurrence_day(cal, s, slot);
  if (!day) return std::nullopt;
  return cal.zone.to_utc(days_to_civil(*day), tod);
}

}  // namespace

// Walks the slots back from today: occurrences only get earlier, so the first
// one not after `now` is the latest, and it is due only when it is after
// `after`. Gives up (nullopt) after kMaxSearchDays of slots without one.
std::optional<int64_t> due_occurrence(const WorkingCalendar& cal, const Schedule& s, int64_t after,
                                      int64_t now) {
  if (now <= after) return std::nullopt;
  int64_t tod = time_of_day(cal, s);
  int64_t step = slot_step(s);
  int64_t slot = slot_on_or_before(s, day_of(cal.zone, now));
  for (int64_t walked = 0; walked <= kMaxSearchDays; walked += step, slot -= step) {
    std::optional<int64_t> o = occurrence(cal, s, slot, tod);
    if (!o || *o > now) continue;
    if (*o <= after) return std::nullopt;
    return o;
  }
  return std::nullopt;
}

// Walks back to a slot whose occurrence is not after `after` (a holiday may
// have moved an earlier weekly slot past it), then forward to the first one
// after it. Gives up after kMaxSearchDays of slots each way and returns the
// last slot's time of day.
int64_t next_occurrence(const WorkingCalendar& cal, const Schedule& s, int64_t after) {
  int64_t tod = time_of_day(cal, s);
  int64_t step = slot_step(s);
  int64_t slot = slot_on_or_before(s, day_of(cal.zone, after));
  for (int64_t walked = 0; walked <= kMaxSearchDays; walked += step, slot -= step) {
    std::optional<int64_t> o = occurrence(cal, s, slot, tod);
    if (o && *o <= after) break;
  }
  for (int64_t walked = 0; walked <= 2 * kMaxSearchDays; walked += step) {
    slot += step;
    std::optional<int64_t> o = occurrence(cal, s, slot, tod);
    if (o && *o > after) return *o;
  }
  return cal.zone.to_utc(days_to_civil(slot), tod);
}

// ---------------------------------------------------------------------------
// System zones

Result<std::string> read_system_zone(const std::string& name) {
  bool ok = !name.empty() && name.size() <= 255 && name[0] != '/' && name.find("..") == std::string::npos &&
            std::all_of(name.begin(), name.end(), zone_name_char);
  if (!ok) {
    return make_error(
        ErrorCode::invalid,
        fmt::format("\"{}\" is not a time zone name (expected an IANA name like Europe/Moscow)", name));
  }
  std::string path = "/usr/share/zoneinfo/" + name;
  std::string bytes;
  bool read = false;
  try {
    std::ifstream in(path, std::ios::binary);
    if (in) bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    read = in.is_open() && !in.bad();
  } catch (const std::exception&) {
    read = false;  // libstdc++ throws from a read error, e.g. when the name is a directory
  }
  if (!read || bytes.empty()) {
    return make_error(ErrorCode::not_found,
                      fmt::format("time zone file {} is missing or unreadable; check the name or install the "
                                  "tzdata package",
                                  path));
  }
  return bytes;
}

}  // namespace reglament
