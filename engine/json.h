// A small JSON value: instance variables, event payloads and `--json` output.
//
// Objects keep their keys sorted (std::map), so `dump()` is canonical: the same
// value always encodes to the same bytes. Event hashes and definition hashes
// rely on that. Numbers are either integers (int64) or doubles; an integral
// double is never produced by the parser, so round trips are exact.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "engine/result.h"

namespace reglament {

class Json;
using JsonArray = std::vector<Json>;
using JsonObject = std::map<std::string, Json, std::less<>>;

class Json {
 public:
  enum class Kind { null, boolean, integer, real, string, array, object };

  Json() = default;
  Json(std::nullptr_t) {}
  Json(bool b) : v_(b) {}
  Json(int i) : v_(int64_t{i}) {}
  Json(int64_t i) : v_(i) {}
  Json(double d) : v_(d) {}
  Json(const char* s) : v_(std::string(s)) {}
  Json(std::string s) : v_(std::move(s)) {}
  Json(std::string_view s) : v_(std::string(s)) {}
  Json(JsonArray a) : v_(std::move(a)) {}
  Json(JsonObject o) : v_(std::move(o)) {}

  static Json object() { return Json(JsonObject{}); }
  static Json array() { return Json(JsonArray{}); }

  Kind kind() const { return static_cast<Kind>(v_.index()); }
  bool is_null() const { return kind() == Kind::null; }
  bool is_bool() const { return kind() == Kind::boolean; }
  bool is_number() const { return kind() == Kind::integer || kind() == Kind::real; }
  bool is_integer() const { return kind() == Kind::integer; }
  bool is_string() const { return kind() == Kind::string; }
  bool is_array() const { return kind() == Kind::array; }
  bool is_object() const { return kind() == Kind::object; }

  // REQUIRES: the matching kind (checked by assert in debug builds).
  bool as_bool() const { return std::get<bool>(v_); }
  int64_t as_int() const;     // integer, or a real truncated
  double as_double() const;   // integer or real
  const std::string& as_string() const { return std::get<std::string>(v_); }
  const JsonArray& as_array() const { return std::get<JsonArray>(v_); }
  JsonArray& as_array() { return std::get<JsonArray>(v_); }
  const JsonObject& as_object() const { return std::get<JsonObject>(v_); }
  JsonObject& as_object() { return std::get<JsonObject>(v_); }

  // Object access. `operator[]` on a null value turns it into an object.
  Json& operator[](std::string_view key);
  // Returns the member or a shared null when absent (or when not an object).
  const Json& get(std::string_view key) const;
  bool has(std::string_view key) const;
  // Convenience readers with a fallback for absent or mistyped members.
  std::string str(std::string_view key, std::string_view fallback = "") const;
  int64_t integer(std::string_view key, int64_t fallback = 0) const;

  void push_back(Json v);

  // Compact, canonical encoding (sorted keys, no spaces, UTF-8 passed through,
  // control characters escaped).
  std::string dump() const;
  // dump(), appended to `out`.
  void dump_to(std::string& out) const;
  // Indented encoding for people.
  std::string pretty(int indent = 2) const;
  // pretty(), as written at nesting level `depth` (inner lines indented by
  // indent * (depth + 1)): an item of an array printed one item at a time.
  std::string pretty(int indent, int depth) const;

  friend bool operator==(const Json& a, const Json& b);

 private:
  std::variant<std::nullptr_t, bool, int64_t, double, std::string, JsonArray, JsonObject> v_ = nullptr;
};

// Parses one JSON document. Errors name the byte offset.
Result<Json> parse_json(std::string_view text);

// Appends `s` to `out` as a JSON string, exactly as dump() writes strings.
void append_json_string(std::string& out, std::string_view s);

}  // namespace reglament
