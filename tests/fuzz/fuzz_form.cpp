// libFuzzer target: values as people type them (`--set k=v`, form input).
//
// The input is one value. It is parsed for every field type, required and
// optional, and the typed result must pass the typed check the core applies
// to JSON input (one module must not accept what the other refuses). Date and
// datetime values the form accepts must also be readable as moments by
// engine/time (deadlines and waits read them), and every moment and duration
// parsed must survive a format/parse round trip. The same bytes as JSON go
// through the typed check of every field, and the working-time spans and
// calendar arithmetic a definition's `within:` and `wait:` use.
//
// Errors are values: a refused input is the normal case; only a crash, a
// sanitizer report or a broken property below is a finding.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstdio>
#include <string>
#include <string_view>

#include "engine/calendar.h"
#include "engine/json.h"
#include "engine/model.h"
#include "engine/time.h"
#include "engine/utf8.h"

using namespace reglament;

namespace {

// Breaks the run with a message: libFuzzer saves the input as a crash.
void expect(bool ok, const char* what, std::string_view input) {
  if (ok) return;
  std::fprintf(stderr, "property broken: %s (input %zu bytes)\n", what, input.size());
  std::abort();
}

Field make_field(ValueType type, bool required) {
  Field f;
  f.name = "поле";
  f.title = "Поле";
  f.type = type;
  f.required = required;
  if (type == ValueType::choice) f.options = {"order", "refusal", "думает", ""};
  return f;
}

bool valid_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();)
    if (next_code_point(s, i) < 0) return false;
  return true;
}

constexpr ValueType kTypes[] = {ValueType::text, ValueType::number, ValueType::boolean,
                                ValueType::date, ValueType::datetime, ValueType::choice};

void typed_text(std::string_view text) {
  for (ValueType type : kTypes) {
    for (bool required : {false, true}) {
      const Field f = make_field(type, required);
      Result<Json> v = parse_field_value(f, text);
      if (!v) {
        expect(!v.error().message.empty(), "a refused value has a message", text);
        continue;
      }
      expect(check_field_value(f, *v).ok(), "a parsed value passes the typed check", text);
      // The stored form of the value survives JSON. Text that is not UTF-8
      // is refused at the CLI (cli/main.cpp checks every argument) and by
      // the JSON parser, so parse_field_value is only given UTF-8 there.
      if (valid_utf8(text)) {
        Result<Json> back = parse_json(v->dump());
        expect(back.ok() && *back == *v, "a parsed value round-trips through JSON", text);
      }
      if ((type == ValueType::date || type == ValueType::datetime) && v->is_string()) {
        // The core reads a date in the calendar's offset, a datetime as is.
        Result<Moment> m = type == ValueType::date ? parse_moment(v->as_string(), 180)
                                                   : parse_moment(v->as_string());
        expect(m.ok(), "a date or datetime the form accepts is a moment", text);
      }
    }
  }
}

void typed_json(std::string_view text) {
  Result<Json> j = parse_json(text);
  if (!j) return;
  for (ValueType type : kTypes) {
    for (bool required : {false, true}) {
      Status s = check_field_value(make_field(type, required), *j);
      if (!s) expect(!s.error().message.empty(), "a refused value has a message", text);
    }
  }
}

void moments(std::string_view text) {
  for (int pass = 0; pass < 2; ++pass) {
    Result<Moment> m = pass == 0 ? parse_moment(text) : parse_moment(text, -210);
    if (!m) continue;
    const std::string shown = format_moment(*m);
    Result<Moment> back = parse_moment(shown);
    expect(back.ok() && *back == *m, "format_moment(parse_moment(x)) reads back the same moment", text);
    const CivilDate d = local_date(*m);
    expect(d.month >= 1 && d.month <= 12 && d.day >= 1 && d.day <= month_length(d.year, d.month),
           "a moment's local date exists", text);
    expect(civil_to_days(d) == civil_to_days(days_to_civil(civil_to_days(d))), "civil days round-trip", text);
    expect(iso_weekday(d) >= 1 && iso_weekday(d) <= 7, "a weekday is 1..7", text);
  }
}

void durations(std::string_view text) {
  Result<int64_t> d = parse_duration(text);
  if (d) {
    expect(*d > 0, "a duration is positive", text);
    Result<int64_t> back = parse_duration(format_duration(*d));
    expect(back.ok() && *back == *d, "format_duration(parse_duration(x)) reads back the same", text);
  }
  Result<Span> span = parse_span(text);
  if (!span) return;
  expect(span->amount > 0, "a span is positive", text);
  static const WorkingCalendar cal = default_calendar();
  // A Friday afternoon and a Sunday night, in UTC.
  for (int64_t start : {int64_t{1795791600}, int64_t{1795993200}}) {
    const int64_t due = add_span(cal, start, *span);
    expect(due >= start, "a span never ends before it starts", text);
    // A working span ends in working time, or exactly where a working period ends.
    if (span->working()) {
      expect(cal.is_working_time(due) || cal.is_working_time(due - 1), "a working span ends in working time",
             text);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  typed_text(text);
  typed_json(text);
  moments(text);
  durations(text);
  return 0;
}
