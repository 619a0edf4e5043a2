#include "engine/model.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>

#include "engine/time.h"

namespace reglament {

namespace {

std::string quoted(std::string_view s) {
  std::string out = "\"";
  out.append(s);
  out += '"';
  return out;
}

// A value as an error shows it: text bare, numbers as JSON writes them.
std::string value_text_of(const Json& v) { return v.is_string() ? v.as_string() : v.dump(); }

std::string field_name(const Field& f) { return "field " + quoted(f.name); }

bool is_digit(char c) { return c >= '0' && c <= '9'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' ||
                        s.front() == '\n')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' ||
                        s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

// Reads exactly `n` digits at `pos`; -1 when they are not all digits.
int digits(std::string_view s, size_t pos, size_t n) {
  if (pos + n > s.size()) return -1;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (!is_digit(s[i])) return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

bool leap_year(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int days_in_month(int y, int m) {
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m == 2 && leap_year(y)) return 29;
  return kDays[m - 1];
}

// YYYY-MM-DD at the start of `s`, a real calendar date.
bool valid_date_prefix(std::string_view s) {
  if (s.size() < 10 || s[4] != '-' || s[7] != '-') return false;
  int y = digits(s, 0, 4), m = digits(s, 5, 2), d = digits(s, 8, 2);
  if (y < 0 || m < 1 || m > 12 || d < 1) return false;
  return d <= days_in_month(y, m);
}

bool valid_date(std::string_view s) { return s.size() == 10 && valid_date_prefix(s); }

// YYYY-MM-DDTHH:MM[:SS] followed by Z or ±HH:MM.
bool valid_datetime(std::string_view s) {
  if (!valid_date_prefix(s) || s.size() < 17 || s[10] != 'T' || s[13] != ':') return false;
  int hh = digits(s, 11, 2), mm = digits(s, 14, 2);
  if (hh < 0 || hh > 23 || mm < 0 || mm > 59) return false;
  size_t pos = 16;
  if (pos < s.size() && s[pos] == ':') {
    int ss = digits(s, pos + 1, 2);
    if (ss < 0 || ss > 59) return false;
    pos += 3;
  }
  std::string_view zone = s.substr(pos);
  if (zone == "Z") return true;
  if (zone.size() != 6 || (zone[0] != '+' && zone[0] != '-') || zone[3] != ':') return false;
  int zh = digits(zone, 1, 2), zm = digits(zone, 4, 2);
  return zh >= 0 && zh <= 23 && zm >= 0 && zm <= 59;
}

// Integer or decimal: [+-]?digits(.digits)?
std::optional<Json> parse_number(std::string_view s) {
  std::string_view body = s;
  if (!body.empty() && (body.front() == '+' || body.front() == '-')) body.remove_prefix(1);
  size_t i = 0;
  while (i < body.size() && is_digit(body[i])) ++i;
  if (i == 0) return std::nullopt;
  bool decimal = false;
  if (i < body.size()) {
    if (body[i] != '.') return std::nullopt;
    size_t j = i + 1;
    while (j < body.size() && is_digit(body[j])) ++j;
    if (j == i + 1 || j != body.size()) return std::nullopt;
    decimal = true;
  }
  // from_chars does not accept a leading '+'.
  std::string_view text = s.front() == '+' ? s.substr(1) : s;
  if (!decimal) {
    int64_t v = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec == std::errc() && p == text.data() + text.size()) return Json(v);
    // Too large for int64: fall through to a double.
  }
  // Infinite when too large: still a number, refused by the range check.
  return Json(std::strtod(std::string(text).c_str(), nullptr));
}

// Whether `s`, already read by parse_number, is stored exactly: an integer
// within ±kMaxExactInteger, or a decimal of at most kMaxSignificantDigits
// significant digits (which also keeps it below kMaxExactInteger).
bool exact_number_text(std::string_view s) {
  if (!s.empty() && (s.front() == '+' || s.front() == '-')) s.remove_prefix(1);
  const size_t dot = s.find('.');
  if (dot == std::string_view::npos) {
    // Leading zeros do not make a number larger.
    while (s.size() > 1 && s.front() == '0') s.remove_prefix(1);
    uint64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    return ec == std::errc() && p == s.data() + s.size() && v <= static_cast<uint64_t>(kMaxExactInteger);
  }
  std::string digits_only(s.substr(0, dot));
  digits_only.append(s.substr(dot + 1));
  const size_t first = digits_only.find_first_not_of('0');
  if (first == std::string::npos) return true;  // 0.000
  const size_t last = digits_only.find_last_not_of('0');
  return last - first + 1 <= static_cast<size_t>(kMaxSignificantDigits);
}

std::optional<bool> parse_bool(std::string_view s) {
  std::string lower;
  for (char c : s) lower += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  if (lower == "true" || lower == "yes") return true;
  if (lower == "false" || lower == "no") return false;
  // Cyrillic has no ASCII case folding; accept the usual spellings.
  if (s == "да" || s == "Да" || s == "ДА") return true;
  if (s == "нет" || s == "Нет" || s == "НЕТ") return false;
  return std::nullopt;
}

std::string options_list(const Field& f) {
  std::string out;
  for (const auto& o : f.options) {
    if (!out.empty()) out += ", ";
    out += o;
  }
  return out;
}

Error invalid(std::string message) { return make_error(ErrorCode::invalid, std::move(message)); }

Error type_error(const Field& f, std::string_view got) {
  std::string what;
  switch (f.type) {
    case ValueType::text:
      what = "text";
      break;
    case ValueType::number:
      what = "a number";
      break;
    case ValueType::boolean:
      what = "true or false (yes/no, да/нет)";
      break;
    case ValueType::date:
      what = "a date (YYYY-MM-DD)";
      break;
    case ValueType::datetime:
      what = "a date and time (YYYY-MM-DDTHH:MM[:SS] with Z or an offset like +03:00)";
      break;
    case ValueType::choice:
      return invalid(field_name(f) + " must be one of: " + options_list(f));
  }
  return invalid(field_name(f) + " must be " + what + ", got " + std::string(got));
}

bool contains(const std::vector<std::string>& v, std::string_view s) {
  for (const auto& x : v) {
    if (x == s) return true;
  }
  return false;
}

Error range_error(const Field& f, std::string_view got) {
  return invalid(field_name(f) + " must be a number " + number_range_text() + ", got " + std::string(got));
}

// <0, 0, >0 as a is before, equal to or after b; nullopt when they cannot be
// compared (values of another type; the type check reports those).
std::optional<int> compare_values(ValueType type, const Json& a, const Json& b) {
  switch (type) {
    case ValueType::number:
      if (!a.is_number() || !b.is_number()) return std::nullopt;
      if (a.is_integer() && b.is_integer()) return a.as_int() < b.as_int() ? -1 : a.as_int() > b.as_int() ? 1 : 0;
      return a.as_double() < b.as_double() ? -1 : a.as_double() > b.as_double() ? 1 : 0;
    case ValueType::date:
      // YYYY-MM-DD orders as text.
      if (!a.is_string() || !b.is_string()) return std::nullopt;
      return a.as_string().compare(b.as_string()) < 0 ? -1 : a.as_string() == b.as_string() ? 0 : 1;
    case ValueType::datetime: {
      // Offsets differ: compare the instants.
      if (!a.is_string() || !b.is_string()) return std::nullopt;
      auto x = parse_moment(a.as_string());
      auto y = parse_moment(b.as_string());
      if (!x || !y) return std::nullopt;
      return x->epoch < y->epoch ? -1 : x->epoch > y->epoch ? 1 : 0;
    }
    default:
      return std::nullopt;
  }
}

// A value already of the field's type against its range and min/max.
Status check_bounds(const Field& f, const Json& value) {
  if (f.type == ValueType::number && !number_in_range(value)) return range_error(f, value.dump());
  if (f.min) {
    if (auto c = compare_values(f.type, value, *f.min); c && *c < 0)
      return invalid(field_name(f) + " must be at least " + value_text_of(*f.min) + ", got " +
                     value_text_of(value));
  }
  if (f.max) {
    if (auto c = compare_values(f.type, value, *f.max); c && *c > 0)
      return invalid(field_name(f) + " must be at most " + value_text_of(*f.max) + ", got " +
                     value_text_of(value));
  }
  return {};
}

}  // namespace

std::string number_range_text() {
  return "from -" + std::to_string(kMaxExactInteger) + " to " + std::to_string(kMaxExactInteger) +
         " with at most " + std::to_string(kMaxSignificantDigits) + " significant digits";
}

bool number_in_range(const Json& value) {
  if (value.is_integer()) return value.as_int() >= -kMaxExactInteger && value.as_int() <= kMaxExactInteger;
  if (!value.is_number()) return true;
  const double d = value.as_double();
  return std::isfinite(d) && std::fabs(d) <= static_cast<double>(kMaxExactInteger);
}

std::string_view to_string(ValueType t) {
  switch (t) {
    case ValueType::text:
      return "text";
    case ValueType::number:
      return "number";
    case ValueType::boolean:
      return "bool";
    case ValueType::date:
      return "date";
    case ValueType::datetime:
      return "datetime";
    case ValueType::choice:
      return "choice";
  }
  return "text";
}

std::string_view to_string(Priority p) {
  switch (p) {
    case Priority::low:
      return "low";
    case Priority::normal:
      return "normal";
    case Priority::high:
      return "high";
    case Priority::urgent:
      return "urgent";
  }
  return "normal";
}

std::optional<Priority> parse_priority(std::string_view s) {
  for (Priority p : {Priority::low, Priority::normal, Priority::high, Priority::urgent}) {
    if (to_string(p) == s) return p;
  }
  return std::nullopt;
}

std::optional<ValueType> parse_value_type(std::string_view s) {
  for (ValueType t : {ValueType::text, ValueType::number, ValueType::boolean, ValueType::date,
                      ValueType::datetime, ValueType::choice}) {
    if (to_string(t) == s) return t;
  }
  return std::nullopt;
}

Result<Json> parse_field_value(const Field& field, std::string_view text) {
  if (field.type == ValueType::text) {
    if (field.required && trim(text).empty()) return invalid(field_name(field) + " is required");
    return Json(text);
  }
  std::string_view t = trim(text);
  if (t.empty()) {
    // An empty value leaves an optional field unset.
    if (field.required) return invalid(field_name(field) + " is required");
    return Json(nullptr);
  }
  std::string got = quoted(text);
  switch (field.type) {
    case ValueType::text:
      break;  // handled above
    case ValueType::number:
      if (auto n = parse_number(t)) {
        if (!exact_number_text(t)) return range_error(field, got);
        if (auto st = check_bounds(field, *n); !st.ok()) return st.error();
        return *n;
      }
      return type_error(field, got);
    case ValueType::boolean:
      if (auto b = parse_bool(t)) return Json(*b);
      return type_error(field, got);
    case ValueType::date:
    case ValueType::datetime:
      if (field.type == ValueType::date ? valid_date(t) : valid_datetime(t)) {
        if (auto st = check_bounds(field, Json(t)); !st.ok()) return st.error();
        return Json(t);
      }
      return type_error(field, got);
    case ValueType::choice:
      if (contains(field.options, t)) return Json(t);
      return type_error(field, got);
  }
  return type_error(field, got);
}

Status check_field_value(const Field& field, const Json& value) {
  if (value.is_null()) {
    if (field.required) return invalid(field_name(field) + " is required");
    return {};
  }
  bool ok = false;
  switch (field.type) {
    case ValueType::text:
      if (value.is_string() && field.required && trim(value.as_string()).empty()) {
        return invalid(field_name(field) + " is required");
      }
      ok = value.is_string();
      break;
    case ValueType::number:
      ok = value.is_number();
      break;
    case ValueType::boolean:
      ok = value.is_bool();
      break;
    case ValueType::date:
      ok = value.is_string() && valid_date(value.as_string());
      break;
    case ValueType::datetime:
      ok = value.is_string() && valid_datetime(value.as_string());
      break;
    case ValueType::choice:
      ok = value.is_string() && contains(field.options, value.as_string());
      break;
  }
  if (ok) return check_bounds(field, value);
  return type_error(field, value.dump());
}

const Field* Form::field(std::string_view name) const {
  for (const auto& f : fields) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

const Step* Process::step(std::string_view id) const {
  for (const auto& s : steps) {
    if (s.id == id) return &s;
  }
  return nullptr;
}

const Field* Process::variable(std::string_view name) const {
  for (const auto& v : variables) {
    if (v.name == name) return &v;
  }
  return nullptr;
}

const Role* Org::role(std::string_view key) const {
  for (const auto& r : roles) {
    if (r.key == key) return &r;
  }
  return nullptr;
}

const Person* Org::person(std::string_view login) const {
  for (const auto& p : people) {
    if (p.login == login) return &p;
  }
  return nullptr;
}

bool Org::has_role(std::string_view login, std::string_view role) const {
  const Person* p = person(login);
  return p != nullptr && contains(p->roles, role);
}

}  // namespace reglament
