#include "cli/csv.h"

namespace reglament {

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// [+-]?digits[.digits][(e|E)[+-]?digits], or [+-]?.digits: a number as a
// spreadsheet reads one, and nothing else.
bool entirely_number(std::string_view s) {
  size_t i = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  size_t digits = 0;
  while (i < s.size() && is_digit(s[i])) ++i, ++digits;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && is_digit(s[i])) ++i, ++digits;
  }
  if (digits == 0) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    size_t exp = 0;
    while (i < s.size() && is_digit(s[i])) ++i, ++exp;
    if (exp == 0) return false;
  }
  return i == s.size();
}

// Spreadsheets (Excel, LibreOffice, Google Sheets) start a formula with these
// (OWASP, "CSV Injection").
bool starts_formula(std::string_view s) {
  if (s.empty()) return false;
  switch (s.front()) {
    case '=':
    case '+':
    case '-':
    case '@':
    case '\t':
    case '\r':
      return !entirely_number(s);
    default:
      return false;
  }
}

}  // namespace

std::string csv_field(std::string_view text) {
  std::string cell;
  if (starts_formula(text)) cell += '\'';
  cell.append(text);
  if (cell.find_first_of(",\"\r\n") == std::string::npos) return cell;
  std::string out = "\"";
  for (char c : cell) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

std::string csv_record(const std::vector<std::string>& fields) {
  std::string out;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) out += ',';
    out += csv_field(fields[i]);
  }
  out.append(kCsvLineEnd);
  return out;
}

}  // namespace reglament
