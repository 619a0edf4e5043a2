// The calendar file (top-level key `calendar:`) -> WorkingCalendar, with every
// problem located at file:line:column. One of the loader files allowed to
// include yaml-cpp; every yaml-cpp exception is caught here.
//
// Each part (time zone, working days, hours, holidays, windows) is read on
// its own: a part with a problem keeps its default and the others still
// apply, so one load reports every problem.

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "engine/calendar.h"
#include "engine/loader_internal.h"
#include "engine/loader_places.h"

namespace reglament {

namespace {

using loader_detail::did_you_mean;
using loader_detail::Places;
using loader_detail::quote;

const std::vector<std::string> kTopKeys = {"calendar"};
const std::vector<std::string> kCalendarKeys = {"timezone", "working_days",     "working_hours",
                                                "holidays", "working_weekends", "windows"};
const std::vector<std::string> kHoursKeys = {"from", "to", "lunch"};
const std::vector<std::string> kLunchKeys = {"from", "to"};
const std::vector<std::string> kWindowKeys = {"days", "from", "to"};
// Suggested for a misspelt weekday.
const std::vector<std::string> kWeekdayHints = {"mon",      "tue",    "wed",      "thu",     "fri",
                                                "sat",      "sun",    "monday",   "tuesday", "wednesday",
                                                "thursday", "friday", "saturday", "sunday"};
// Every accepted weekday name (English ones are compared in lower case).
const std::map<std::string, int, std::less<>> kWeekdays = {
    {"mon", 1},      {"tue", 2},     {"wed", 3},     {"thu", 4},       {"fri", 5},         {"sat", 6},
    {"sun", 7},      {"monday", 1},  {"tuesday", 2}, {"wednesday", 3}, {"thursday", 4},    {"friday", 5},
    {"saturday", 6}, {"sunday", 7},  {"пн", 1},      {"вт", 2},        {"ср", 3},          {"чт", 4},
    {"пт", 5},       {"сб", 6},      {"вс", 7},      {"Пн", 1},        {"Вт", 2},          {"Ср", 3},
    {"Чт", 4},       {"Пт", 5},      {"Сб", 6},      {"Вс", 7},        {"понедельник", 1}, {"вторник", 2},
    {"среда", 3},    {"четверг", 4}, {"пятница", 5}, {"суббота", 6},   {"воскресенье", 7}};
// A range of holidays may cover at most this many days.
constexpr int64_t kMaxRangeDays = 366;

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// "HH:MM" or "HH:MM:SS" (one-digit hours too) in seconds since midnight;
// "24:00" only when `end` is set.
std::optional<int64_t> parse_clock(std::string_view s, bool end) {
  size_t colon = s.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon > 2) return std::nullopt;
  auto two = [&](size_t pos, int64_t& out) {
    if (pos + 2 > s.size() || !is_digit(s[pos]) || !is_digit(s[pos + 1])) return false;
    out = (s[pos] - '0') * 10 + (s[pos + 1] - '0');
    return true;
  };
  int64_t h = 0, m = 0, sec = 0;
  for (size_t i = 0; i < colon; ++i) {
    if (!is_digit(s[i])) return std::nullopt;
    h = h * 10 + (s[i] - '0');
  }
  if (!two(colon + 1, m)) return std::nullopt;
  size_t pos = colon + 3;
  if (pos < s.size()) {
    if (s[pos] != ':' || !two(pos + 1, sec) || pos + 3 != s.size()) return std::nullopt;
  }
  if (m > 59 || sec > 59) return std::nullopt;
  int64_t total = h * 3600 + m * 60 + sec;
  if (h > 23 && !(end && total == 86400)) return std::nullopt;
  return total;
}

std::string format_clock(int64_t seconds) {
  return fmt::format("{:02}:{:02}", seconds / 3600, seconds / 60 % 60);
}

// "YYYY-MM-DD" as days since the epoch; "" or why it is not one.
std::string parse_day(std::string_view s, int64_t& day) {
  bool shape = s.size() == 10 && s[4] == '-' && s[7] == '-';
  for (size_t i = 0; shape && i < s.size(); ++i) shape = i == 4 || i == 7 || is_digit(s[i]);
  if (!shape) return "expected YYYY-MM-DD";
  auto num = [&](size_t pos, size_t n) {
    int v = 0;
    for (size_t i = pos; i < pos + n; ++i) v = v * 10 + (s[i] - '0');
    return v;
  };
  int year = num(0, 4), month = num(5, 2), d = num(8, 2);
  if (month < 1 || month > 12 || d < 1 || static_cast<unsigned>(d) > month_length(year, month)) {
    return "that day does not exist";
  }
  day = civil_to_days(CivilDate{year, static_cast<unsigned>(month), static_cast<unsigned>(d)});
  return "";
}

std::string lower_ascii(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

// Reads one calendar file, appending its problems.
class CalendarParser {
 public:
  CalendarParser(const Places& places, const ZoneReader& read_zone, std::vector<Error>& problems)
      : places_(places), read_zone_(read_zone), problems_(problems) {}

  void file(const YAML::Node& root, WorkingCalendar& cal) {
    if (!root.IsMap()) {
      error(root.IsNull() ? places_.start() : places_.at(root),
            "a calendar file must be a mapping with the top-level key calendar:");
      return;
    }
    size_t before = problems_.size();
    Entries top = keys(root, "the calendar file", kTopKeys);
    if (!top.count("calendar")) {
      if (problems_.size() == before)
        error(places_.at(root), "a calendar file must have the top-level key calendar:");
      return;
    }
    const YAML::Node& c = top.at("calendar").second;
    if (c.IsNull()) return;
    if (!c.IsMap()) {
      error(places_.at(c),
            "calendar: must be a mapping of timezone, working_days, working_hours, holidays, "
            "working_weekends and windows");
      return;
    }
    Entries e = keys(c, "calendar", kCalendarKeys);
    if (given(e, "timezone")) timezone(value(e, "timezone"), cal);
    if (given(e, "working_days")) working_days(value(e, "working_days"), cal);
    if (given(e, "working_hours")) working_hours(value(e, "working_hours"), cal);
    std::map<int64_t, Location> holiday_at, weekend_at;
    if (given(e, "holidays")) days(value(e, "holidays"), "holidays", holiday_at);
    if (given(e, "working_weekends")) days(value(e, "working_weekends"), "working_weekends", weekend_at);
    for (const auto& [day, where] : holiday_at) cal.holidays.insert(day);
    for (const auto& [day, where] : weekend_at) {
      if (holiday_at.count(day)) {
        error(where, format_date(days_to_civil(day)) + " is both a holiday and a working weekend");
      } else {
        cal.extra_working_days.insert(day);
      }
    }
    if (given(e, "windows")) windows(value(e, "windows"), cal);
  }

 private:
  // key -> (key node, value node); the first of duplicate keys.
  using Entries = std::map<std::string, std::pair<YAML::Node, YAML::Node>>;

  void error(const Location& where, std::string message) {
    problems_.push_back(make_error(ErrorCode::invalid, std::move(message), where));
  }

  static bool given(const Entries& e, const std::string& k) { return e.count(k) && !e.at(k).second.IsNull(); }
  static const YAML::Node& value(const Entries& e, const std::string& k) { return e.at(k).second; }

  // The keys of a mapping; unknown and duplicate keys are reported.
  Entries keys(const YAML::Node& map, const std::string& thing, const std::vector<std::string>& known) {
    Entries out;
    for (const auto& kv : map) {
      if (!kv.first.IsScalar()) {
        error(places_.at(kv.first), "a key in " + thing + " must be text");
        continue;
      }
      const std::string& k = kv.first.Scalar();
      if (std::find(known.begin(), known.end(), k) == known.end()) {
        error(places_.at(kv.first), "unknown key " + quote(k) + " in " + thing + did_you_mean(k, known));
      } else if (out.count(k)) {
        error(places_.at(kv.first), "duplicate key " + quote(k) + " in " + thing +
                                        "; it is already set at line " +
                                        std::to_string(places_.at(out.at(k).first).line));
      } else {
        out.emplace(k, std::make_pair(kv.first, kv.second));
      }
    }
    return out;
  }

  std::optional<std::string> scalar(const YAML::Node& n, const std::string& what) {
    if (n.IsScalar()) return n.Scalar();
    error(places_.at(n), what + " must be text");
    return std::nullopt;
  }

  std::optional<int64_t> clock(const Entries& e, const std::string& k, const std::string& thing, bool end) {
    if (!given(e, k)) return std::nullopt;
    std::optional<std::string> s = scalar(value(e, k), k + " of " + thing);
    if (!s) return std::nullopt;
    std::optional<int64_t> t = parse_clock(*s, end);
    if (!t) {
      error(places_.at(value(e, k)),
            "bad time " + quote(*s) + " for " + k + " of " + thing +
                (end ? ": expected HH:MM from 00:00 to 24:00" : ": expected HH:MM from 00:00 to 23:59"));
    }
    return t;
  }

  void timezone(const YAML::Node& n, WorkingCalendar& cal) {
    std::optional<std::string> name = scalar(n, "timezone");
    if (!name) return;
    if (name->empty()) {
      error(places_.at(n),
            "timezone must not be empty: write an IANA name like Europe/Moscow or an offset like "
            "+03:00");
      return;
    }
    if (lower_ascii(*name) == "utc" || *name == "Z") {
      cal.zone = TimeZone::fixed(0, "UTC");
      return;
    }
    if (name->front() == '+' || name->front() == '-') {
      std::optional<int64_t> t = parse_clock(name->substr(1), false);
      if (!t && name->size() <= 3) t = parse_clock(name->substr(1) + ":00", false);
      if (!t || *t % 60 != 0 || *t > 14 * 3600) {
        error(places_.at(n), "bad UTC offset " + quote(*name) + " for timezone: expected ±HH:MM like +03:00");
        return;
      }
      cal.zone = TimeZone::fixed(static_cast<int>(name->front() == '-' ? -*t : *t), *name);
      return;
    }
    if (!read_zone_) {
      error(places_.at(n),
            "time zone " + quote(*name) + " cannot be read here: no reader of time zones was given");
      return;
    }
    Result<std::string> bytes = read_zone_(*name);
    if (!bytes) {
      error(places_.at(n), "unknown time zone " + quote(*name) + ": " + bytes.error().message);
      return;
    }
    Result<TimeZone> zone = TimeZone::from_tzif(*name, *bytes);
    if (!zone) {
      error(places_.at(n), zone.error().message);
      return;
    }
    cal.zone = std::move(*zone);
  }

  // A non-empty list of weekday names as ISO weekdays; nullopt after a problem.
  std::optional<std::vector<int>> weekday_list(const YAML::Node& n, const std::string& what) {
    if (!n.IsSequence() || n.size() == 0) {
      error(places_.at(n), what + " must be a list of at least one weekday, like [mon, tue, wed, thu, fri]");
      return std::nullopt;
    }
    std::vector<int> out;
    bool ok = true;
    for (const auto& item : n) {
      std::optional<std::string> s = scalar(item, "a weekday in " + what);
      if (!s) {
        ok = false;
        continue;
      }
      auto it = kWeekdays.find(*s);
      if (it == kWeekdays.end()) it = kWeekdays.find(lower_ascii(*s));
      if (it == kWeekdays.end()) {
        error(places_.at(item),
              "unknown weekday " + quote(*s) + " in " + what + did_you_mean(lower_ascii(*s), kWeekdayHints));
        ok = false;
        continue;
      }
      if (std::find(out.begin(), out.end(), it->second) == out.end()) out.push_back(it->second);
    }
    if (!ok) return std::nullopt;
    std::sort(out.begin(), out.end());
    return out;
  }

  void working_days(const YAML::Node& n, WorkingCalendar& cal) {
    std::optional<std::vector<int>> days = weekday_list(n, "working_days");
    if (!days) return;
    cal.weekdays.fill(false);
    for (int d : *days) cal.weekdays[static_cast<size_t>(d)] = true;
  }

  void working_hours(const YAML::Node& n, WorkingCalendar& cal) {
    if (!n.IsMap()) {
      error(places_.at(n), "working_hours must be a mapping like {from: \"09:00\", to: \"18:00\"}");
      return;
    }
    size_t before = problems_.size();
    Entries e = keys(n, "working_hours", kHoursKeys);
    int64_t from = clock(e, "from", "working_hours", false).value_or(cal.day_from);
    int64_t to = clock(e, "to", "working_hours", true).value_or(cal.day_to);
    if (problems_.size() != before) return;
    if (to <= from) {
      error(places_.at(value(e, given(e, "to") ? "to" : "from")),
            "working hours must end after they start (from " + format_clock(from) + " to " +
                format_clock(to) + ")");
      return;
    }
    std::optional<std::pair<int64_t, int64_t>> lunch;
    if (given(e, "lunch")) {
      lunch = lunch_break(value(e, "lunch"), from, to);
      if (!lunch) return;
    }
    cal.day_from = from;
    cal.day_to = to;
    cal.lunch = lunch;
  }

  std::optional<std::pair<int64_t, int64_t>> lunch_break(const YAML::Node& n, int64_t from, int64_t to) {
    if (!n.IsMap()) {
      error(places_.at(n), "lunch of working_hours must be a mapping like {from: \"13:00\", to: \"14:00\"}");
      return std::nullopt;
    }
    size_t before = problems_.size();
    Entries e = keys(n, "lunch", kLunchKeys);
    for (const char* k : {"from", "to"}) {
      if (!given(e, k)) error(places_.at(n), std::string("missing required key \"") + k + "\" in lunch");
    }
    std::optional<int64_t> a = clock(e, "from", "lunch", false);
    std::optional<int64_t> b = clock(e, "to", "lunch", true);
    if (problems_.size() != before || !a || !b) return std::nullopt;
    if (*b <= *a) {
      error(places_.at(value(e, "to")), "the lunch break must end after it starts (from " + format_clock(*a) +
                                            " to " + format_clock(*b) + ")");
      return std::nullopt;
    }
    if (*a <= from || *b >= to) {
      error(places_.at(n), "the lunch break " + format_clock(*a) + "–" + format_clock(*b) +
                               " must lie inside working hours " + format_clock(from) + "–" +
                               format_clock(to));
      return std::nullopt;
    }
    return std::make_pair(*a, *b);
  }

  // A list of dates ("2026-01-01") and ranges ("2026-01-01..2026-01-08"),
  // each with the place it was first written. Repeated dates are fine.
  void days(const YAML::Node& n, const std::string& what, std::map<int64_t, Location>& out) {
    if (!n.IsSequence()) {
      error(places_.at(n), what + " must be a list of dates like [\"2026-01-01\"]");
      return;
    }
    for (const auto& item : n) {
      std::optional<std::string> s = scalar(item, "a date in " + what);
      if (!s) continue;
      size_t dots = s->find("..");
      std::string first = s->substr(0, dots);
      std::string last = dots == std::string::npos ? first : s->substr(dots + 2);
      int64_t a = 0, b = 0;
      std::string why = parse_day(first, a);
      if (why.empty()) why = parse_day(last, b);
      if (why.empty() && b < a) why = "the range ends before it starts";
      if (why.empty() && b - a >= kMaxRangeDays) why = "a range may cover at most a year";
      if (!why.empty()) {
        error(places_.at(item), "bad date " + quote(*s) + " in " + what + ": " + why);
        continue;
      }
      for (int64_t d = a; d <= b; ++d) out.emplace(d, places_.at(item));
    }
  }

  void windows(const YAML::Node& n, WorkingCalendar& cal) {
    if (!n.IsMap()) {
      error(places_.at(n),
            "windows must be a mapping of names to {from, to}, like calling: {from: \"10:00\", to: "
            "\"13:00\"}");
      return;
    }
    std::map<std::string, int> seen;  // name -> line
    for (const auto& kv : n) {
      if (!kv.first.IsScalar() || kv.first.Scalar().empty()) {
        error(places_.at(kv.first), "a window name must be text");
        continue;
      }
      const std::string& name = kv.first.Scalar();
      Location where = places_.at(kv.first);
      auto [it, fresh] = seen.emplace(name, where.line);
      if (!fresh) {
        error(where, "duplicate window " + quote(name) + "; it is already set at line " +
                         std::to_string(it->second));
        continue;
      }
      std::optional<TimeWindow> w = window(name, where, kv.second);
      if (w) cal.windows[name] = std::move(*w);
    }
  }

  std::optional<TimeWindow> window(const std::string& name, const Location& where, const YAML::Node& n) {
    std::string thing = "window " + quote(name);
    if (!n.IsMap()) {
      error(n.IsNull() ? where : places_.at(n),
            thing + " must be a mapping like {from: \"10:00\", to: \"13:00\"}");
      return std::nullopt;
    }
    size_t before = problems_.size();
    Entries e = keys(n, thing, kWindowKeys);
    TimeWindow w;
    w.name = name;
    w.where = where;
    if (given(e, "days")) {
      std::optional<std::vector<int>> days = weekday_list(value(e, "days"), "days of " + thing);
      if (days) w.weekdays = *days;
    }
    for (const char* k : {"from", "to"}) {
      if (!given(e, k)) error(places_.at(n), std::string("missing required key \"") + k + "\" in " + thing);
    }
    std::optional<int64_t> from = clock(e, "from", thing, false);
    std::optional<int64_t> to = clock(e, "to", thing, true);
    if (problems_.size() != before || !from || !to) return std::nullopt;
    if (*to <= *from) {
      error(places_.at(value(e, "to")), thing + " must end after it starts (from " + format_clock(*from) +
                                            " to " + format_clock(*to) + ")");
      return std::nullopt;
    }
    w.from = *from;
    w.to = *to;
    return w;
  }

  const Places& places_;
  const ZoneReader& read_zone_;
  std::vector<Error>& problems_;
};

}  // namespace

CalendarLoad load_calendar(const std::string& file, const std::string& text, const ZoneReader& read_zone) {
  CalendarLoad out;
  out.calendar = default_calendar();
  Places places(file, text);
  auto problem = [&](const Location& where, std::string message) {
    out.problems.push_back(make_error(ErrorCode::invalid, std::move(message), where));
  };
  try {
    YAML::Node root = YAML::Load(text);
    CalendarParser(places, read_zone, out.problems).file(root, out.calendar);
  } catch (const YAML::ParserException& e) {
    problem(e.mark.line >= 0 ? places.at(e.mark.line, e.mark.column) : places.start(),
            "YAML syntax error: " + e.msg);
  } catch (const YAML::Exception& e) {
    problem(places.start(), std::string("YAML error: ") + e.what());
  }
  std::stable_sort(out.problems.begin(), out.problems.end(), [](const Error& a, const Error& b) {
    return std::tie(a.where.line, a.where.column) < std::tie(b.where.line, b.where.column);
  });
  out.calendar.source = text;
  out.calendar.file = file;
  return out;
}

}  // namespace reglament
