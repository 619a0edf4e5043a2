#include "engine/json.h"

#include <cassert>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <limits>

#include <fmt/format.h>

#include "engine/utf8.h"

namespace reglament {

namespace {

// Deep enough for any payload we produce, shallow enough that a hostile
// document cannot exhaust the stack of the recursive parser.
constexpr int kMaxDepth = 256;

const Json& shared_null() {
  static const Json null_value;
  return null_value;
}

// True when the 8 bytes at `p` are all plain: printable ASCII other than
// '"' and '\\', i.e. bytes a JSON string holds as they are and nothing
// needs to check. Bit tricks on one 64-bit word (has-zero-byte and
// has-less-than tests); a false "not plain" only sends the caller to its
// byte-by-byte path, never the other way round.
bool plain8(const char* p) {
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  constexpr uint64_t kHigh = 0x8080808080808080ULL;
  uint64_t w = 0;
  std::memcpy(&w, p, sizeof w);
  const auto has_zero = [](uint64_t v) { return (v - kOnes) & ~v & kHigh; };
  const uint64_t special = (w & kHigh) | has_zero(w ^ (kOnes * '"')) | has_zero(w ^ (kOnes * '\\')) |
                           ((w - kOnes * 0x20) & ~w & kHigh);
  return special == 0;
}

void append_escaped(std::string& out, std::string_view s) {
  out += '"';
  size_t i = 0;
  while (i < s.size()) {
    // Runs of bytes that pass through unchanged (ASCII that needs no escape,
    // and UTF-8, whose bytes are >= 0x80) are appended at once.
    const size_t run = i;
    while (s.size() - i >= 8 && plain8(s.data() + i)) i += 8;
    while (i < s.size()) {
      const auto u = static_cast<unsigned char>(s[i]);
      if (u == '"' || u == '\\' || u < 0x20) break;
      ++i;
    }
    out.append(s, run, i - run);
    if (i == s.size()) break;
    const char c = s[i++];
    const auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        out += fmt::format("\\u{:04x}", static_cast<unsigned>(u));  // the other control characters
    }
  }
  out += '"';
}

void append_double(std::string& out, double d) {
  // JSON has no NaN or infinity; null is the conventional stand-in.
  if (!std::isfinite(d)) {
    out += "null";
    return;
  }
  // fmt's "{}" is the shortest representation that reads back exactly.
  std::string s = fmt::format("{}", d);
  // Keep a real a real: "100" would parse back as an integer.
  if (s.find_first_of(".eE") == std::string::npos) s += ".0";
  out += s;
}

void append_newline(std::string& out, int indent, int depth) {
  out += '\n';
  out.append(static_cast<size_t>(indent) * static_cast<size_t>(depth), ' ');
}

// indent < 0 means compact.
void write(std::string& out, const Json& v, int indent, int depth) {
  switch (v.kind()) {
    case Json::Kind::null: out += "null"; break;
    case Json::Kind::boolean: out += v.as_bool() ? "true" : "false"; break;
    case Json::Kind::integer: out += std::to_string(v.as_int()); break;
    case Json::Kind::real: append_double(out, v.as_double()); break;
    case Json::Kind::string: append_escaped(out, v.as_string()); break;
    case Json::Kind::array: {
      const JsonArray& a = v.as_array();
      out += '[';
      bool first = true;
      for (const Json& item : a) {
        if (!first) out += ',';
        first = false;
        if (indent >= 0) append_newline(out, indent, depth + 1);
        write(out, item, indent, depth + 1);
      }
      if (indent >= 0 && !a.empty()) append_newline(out, indent, depth);
      out += ']';
      break;
    }
    case Json::Kind::object: {
      const JsonObject& o = v.as_object();
      out += '{';
      bool first = true;
      for (const auto& [key, item] : o) {
        if (!first) out += ',';
        first = false;
        if (indent >= 0) append_newline(out, indent, depth + 1);
        append_escaped(out, key);
        out += indent >= 0 ? ": " : ":";
        write(out, item, indent, depth + 1);
      }
      if (indent >= 0 && !o.empty()) append_newline(out, indent, depth);
      out += '}';
      break;
    }
  }
}

// A recursive-descent parser. It records the first error and unwinds by
// returning false; no exceptions.
class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  bool parse(Json& value) {
    skip_ws();
    if (!parse_value(value, 0)) return false;
    skip_ws();
    if (pos_ != text_.size()) return fail("unexpected text after the value");
    return true;
  }
  const Error& error() const { return error_; }

 private:
  bool fail(std::string_view what) { return fail_at(pos_, what); }
  bool fail_at(size_t offset, std::string_view what) {
    error_ = make_error(ErrorCode::invalid,
                        fmt::format("invalid JSON at offset {}: {}", offset, what));
    return false;
  }

  bool at_end() const { return pos_ >= text_.size(); }
  char peek() const { return text_[pos_]; }

  void skip_ws() {
    while (!at_end()) {
      char c = peek();
      if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
      ++pos_;
    }
  }

  bool parse_value(Json& out, int depth) {
    if (at_end()) return fail("unexpected end of input");
    switch (peek()) {
      case '{': return parse_object(out, depth);
      case '[': return parse_array(out, depth);
      case '"': {
        std::string s;
        if (!parse_string(s)) return false;
        out = Json(std::move(s));
        return true;
      }
      case 't': return parse_literal("true", Json(true), out);
      case 'f': return parse_literal("false", Json(false), out);
      case 'n': return parse_literal("null", Json(), out);
      default:
        if (peek() == '-' || (peek() >= '0' && peek() <= '9')) return parse_number(out);
        return fail(fmt::format("unexpected character '{}'", printable(peek())));
    }
  }

  static std::string printable(char c) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f) return fmt::format("\\x{:02x}", static_cast<unsigned>(u));
    return std::string(1, c);
  }

  bool parse_literal(std::string_view word, Json value, Json& out) {
    if (text_.substr(pos_, word.size()) != word) {
      return fail(fmt::format("expected '{}'", word));
    }
    pos_ += word.size();
    out = std::move(value);
    return true;
  }

  bool parse_object(Json& out, int depth) {
    if (depth >= kMaxDepth) return fail("nesting is deeper than 256 levels");
    ++pos_;  // '{'
    JsonObject obj;
    skip_ws();
    if (!at_end() && peek() == '}') {
      ++pos_;
      out = Json(std::move(obj));
      return true;
    }
    for (;;) {
      skip_ws();
      if (at_end()) return fail("unexpected end of input in an object");
      if (peek() != '"') return fail("expected a string key");
      std::string key;
      if (!parse_string(key)) return false;
      skip_ws();
      if (at_end() || peek() != ':') return fail("expected ':' after an object key");
      ++pos_;
      skip_ws();
      // The value is parsed in place. Keys we write come sorted (dump() is
      // canonical): each goes at the end without a search. A repeated key
      // keeps the last value, as most parsers do.
      Json* slot = nullptr;
      if (obj.empty() || std::prev(obj.end())->first < key) {
        slot = &obj.emplace_hint(obj.end(), std::move(key), Json())->second;
      } else {
        slot = &obj[key];
      }
      if (!parse_value(*slot, depth + 1)) return false;
      skip_ws();
      if (at_end()) return fail("unexpected end of input in an object");
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() == '}') {
        ++pos_;
        out = Json(std::move(obj));
        return true;
      }
      return fail("expected ',' or '}' in an object");
    }
  }

  bool parse_array(Json& out, int depth) {
    if (depth >= kMaxDepth) return fail("nesting is deeper than 256 levels");
    ++pos_;  // '['
    JsonArray arr;
    skip_ws();
    if (!at_end() && peek() == ']') {
      ++pos_;
      out = Json(std::move(arr));
      return true;
    }
    for (;;) {
      skip_ws();
      if (!parse_value(arr.emplace_back(), depth + 1)) return false;
      skip_ws();
      if (at_end()) return fail("unexpected end of input in an array");
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() == ']') {
        ++pos_;
        out = Json(std::move(arr));
        return true;
      }
      return fail("expected ',' or ']' in an array");
    }
  }

  bool parse_hex4(uint32_t& cp) {
    if (text_.size() - pos_ < 4) return fail("incomplete \\u escape");
    cp = 0;
    for (int i = 0; i < 4; ++i) {
      char c = text_[pos_ + i];
      cp <<= 4;
      if (c >= '0' && c <= '9') cp |= static_cast<uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f') cp |= static_cast<uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') cp |= static_cast<uint32_t>(c - 'A' + 10);
      else return fail_at(pos_ + i, "invalid hex digit in a \\u escape");
    }
    pos_ += 4;
    return true;
  }

  bool parse_string(std::string& out) {
    ++pos_;  // opening quote
    for (;;) {
      // The longest run needing no decoding (neither a quote, a backslash nor
      // a control character) is appended at once; most strings are one run.
      const size_t run = pos_;
      for (;;) {
        unsigned char u = 0;
        while (!at_end()) {
          u = static_cast<unsigned char>(peek());
          if (u == '"' || u == '\\' || u < 0x20 || u >= 0x80) break;
          ++pos_;
        }
        if (at_end() || u < 0x80) break;
        // Text is UTF-8 (RFC 8259): a program's output or a stored value
        // with stray bytes is refused here, not printed to someone later.
        // Two-byte sequences (Cyrillic) are checked here, the rest by
        // next_code_point.
        if (u >= 0xC2 && u <= 0xDF && text_.size() - pos_ >= 2 &&
            (static_cast<unsigned char>(text_[pos_ + 1]) & 0xC0) == 0x80) {
          pos_ += 2;
          continue;
        }
        const size_t start = pos_;
        if (next_code_point(text_, pos_) < 0) return fail_at(start, "invalid UTF-8 in a string");
      }
      out.append(text_, run, pos_ - run);
      if (at_end()) return fail("unterminated string");
      const char c = peek();
      if (c == '"') {
        ++pos_;
        return true;
      }
      if (c != '\\') return fail("control character in a string must be escaped");
      const size_t escape_at = pos_;
      ++pos_;
      if (at_end()) return fail("unterminated string");
      char e = peek();
      ++pos_;
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          uint32_t cp = 0;
          if (!parse_hex4(cp)) return false;
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            // A high surrogate must be followed by an escaped low surrogate.
            if (text_.substr(pos_, 2) != "\\u") {
              return fail_at(escape_at, "unpaired surrogate in a \\u escape");
            }
            pos_ += 2;
            uint32_t low = 0;
            if (!parse_hex4(low)) return false;
            if (low < 0xDC00 || low > 0xDFFF) {
              return fail_at(escape_at, "unpaired surrogate in a \\u escape");
            }
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            return fail_at(escape_at, "unpaired surrogate in a \\u escape");
          }
          append_utf8(out, cp);
          break;
        }
        default:
          return fail_at(escape_at, fmt::format("invalid escape '\\{}'", printable(e)));
      }
    }
  }

  bool parse_number(Json& out) {
    const size_t start = pos_;
    auto digit = [this] { return !at_end() && peek() >= '0' && peek() <= '9'; };
    if (peek() == '-') ++pos_;
    if (!digit()) return fail("expected a digit");
    if (peek() == '0') {
      ++pos_;
      if (digit()) return fail("leading zeros are not allowed");
    } else {
      while (digit()) ++pos_;
    }
    bool integral = true;
    if (!at_end() && peek() == '.') {
      integral = false;
      ++pos_;
      if (!digit()) return fail("expected a digit after '.'");
      while (digit()) ++pos_;
    }
    if (!at_end() && (peek() == 'e' || peek() == 'E')) {
      integral = false;
      ++pos_;
      if (!at_end() && (peek() == '+' || peek() == '-')) ++pos_;
      if (!digit()) return fail("expected a digit in the exponent");
      while (digit()) ++pos_;
    }
    const char* first = text_.data() + start;
    const char* last = text_.data() + pos_;
    if (integral) {
      int64_t i = 0;
      auto [ptr, ec] = std::from_chars(first, last, i);
      if (ec == std::errc() && ptr == last) {
        out = Json(i);
        return true;
      }
      // Too large for int64: fall through and keep it as a real.
    }
    double d = 0;
    auto [ptr, ec] = std::from_chars(first, last, d);
    if (ec == std::errc::result_out_of_range || (ec == std::errc() && !std::isfinite(d))) {
      return fail_at(start, "number is out of range");
    }
    if (ec != std::errc() || ptr != last) return fail_at(start, "invalid number");
    out = Json(d);
    return true;
  }

  std::string_view text_;
  size_t pos_ = 0;
  Error error_;
};

}  // namespace

int64_t Json::as_int() const {
  if (const auto* i = std::get_if<int64_t>(&v_)) return *i;
  const double d = std::get<double>(v_);
  // Casting an out-of-range double is undefined; saturate instead.
  if (std::isnan(d)) return 0;
  if (d >= 9223372036854775808.0) return std::numeric_limits<int64_t>::max();
  if (d < -9223372036854775808.0) return std::numeric_limits<int64_t>::min();
  return static_cast<int64_t>(d);
}

double Json::as_double() const {
  if (const auto* i = std::get_if<int64_t>(&v_)) return static_cast<double>(*i);
  return std::get<double>(v_);
}

Json& Json::operator[](std::string_view key) {
  if (is_null()) v_ = JsonObject{};
  assert(is_object());
  JsonObject& obj = std::get<JsonObject>(v_);
  auto it = obj.find(key);
  if (it == obj.end()) it = obj.emplace(std::string(key), Json()).first;
  return it->second;
}

const Json& Json::get(std::string_view key) const {
  const auto* obj = std::get_if<JsonObject>(&v_);
  if (obj == nullptr) return shared_null();
  auto it = obj->find(key);
  return it == obj->end() ? shared_null() : it->second;
}

bool Json::has(std::string_view key) const {
  const auto* obj = std::get_if<JsonObject>(&v_);
  return obj != nullptr && obj->find(key) != obj->end();
}

std::string Json::str(std::string_view key, std::string_view fallback) const {
  const Json& v = get(key);
  return v.is_string() ? v.as_string() : std::string(fallback);
}

int64_t Json::integer(std::string_view key, int64_t fallback) const {
  const Json& v = get(key);
  return v.is_number() ? v.as_int() : fallback;
}

void Json::push_back(Json v) {
  // Like operator[] for objects: a null value becomes an array.
  if (is_null()) v_ = JsonArray{};
  assert(is_array());
  std::get<JsonArray>(v_).push_back(std::move(v));
}

std::string Json::dump() const {
  std::string out;
  write(out, *this, -1, 0);
  return out;
}

void Json::dump_to(std::string& out) const { write(out, *this, -1, 0); }

void append_json_string(std::string& out, std::string_view s) { append_escaped(out, s); }

std::string Json::pretty(int indent) const { return pretty(indent, 0); }

std::string Json::pretty(int indent, int depth) const {
  std::string out;
  write(out, *this, indent < 0 ? 0 : indent, depth < 0 ? 0 : depth);
  return out;
}

bool operator==(const Json& a, const Json& b) { return a.v_ == b.v_; }

// GCC 12 at -O2 reports a false "may be used uninitialized" inside
// std::variant's move constructor when a Json is moved into Result<Json>
// (the inactive alternatives' storage is never read).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
Result<Json> parse_json(std::string_view text) {
  Parser parser(text);
  Json value;
  if (!parser.parse(value)) return parser.error();
  return value;
}
#pragma GCC diagnostic pop

}  // namespace reglament
