#include "engine/json.h"

#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include <fmt/format.h>

using reglament::ErrorCode;
using reglament::Json;
using reglament::JsonArray;
using reglament::JsonObject;
using reglament::parse_json;

namespace {

Json parse_ok(std::string_view text) {
  auto r = parse_json(text);
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message));
  return *r;
}

std::string parse_error(std::string_view text) {
  auto r = parse_json(text);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == ErrorCode::invalid);
  return r.error().message;
}

}  // namespace

TEST_CASE("dump writes objects with sorted keys and no spaces") {
  Json v;
  v["zeta"] = 1;
  v["alpha"] = "x";
  v["mid"] = Json::array();
  v["mid"].push_back(true);
  v["mid"].push_back(nullptr);
  CHECK(v.dump() == R"({"alpha":"x","mid":[true,null],"zeta":1})");
}

TEST_CASE("dump is canonical regardless of insertion order") {
  Json a, b;
  a["x"] = 1;
  a["y"] = 2;
  b["y"] = 2;
  b["x"] = 1;
  CHECK(a.dump() == b.dump());
}

TEST_CASE("dump escapes quotes, backslashes and control characters") {
  Json v = std::string("a\"b\\c\n\t\r\b\f") + std::string(1, '\x01') + "\x1f";
  CHECK(v.dump() == R"("a\"b\\c\n\t\r\b\f\u0001\u001f")");
}

TEST_CASE("dump passes UTF-8 through unchanged") {
  Json v = "Обработка входящего обращения";
  CHECK(v.dump() == "\"Обработка входящего обращения\"");
}

TEST_CASE("dump writes integers as integers and reals so they read back as reals") {
  CHECK(Json(42).dump() == "42");
  CHECK(Json(int64_t{-9223372036854775807 - 1}).dump() == "-9223372036854775808");
  CHECK(Json(1.5).dump() == "1.5");
  CHECK(Json(100.0).dump() == "100.0");
  CHECK(Json(-0.0).dump() == "-0.0");
  CHECK(Json(0.1).dump() == "0.1");
  CHECK(Json(1e300).dump() == "1e+300");
  CHECK(Json(std::nan("")).dump() == "null");
}

TEST_CASE("reals round trip exactly through dump and parse") {
  for (double d : {0.1, 1.0 / 3.0, 100.0, -2.5e-8, 1e21, 123456789.123456789, 5e-324}) {
    Json back = parse_ok(Json(d).dump());
    CHECK(back.kind() == Json::Kind::real);
    CHECK(back.as_double() == d);
  }
}

TEST_CASE("pretty indents nested values and keeps empty containers short") {
  Json v;
  v["a"] = 1;
  v["b"] = JsonArray{Json(1), Json("два")};
  v["c"] = Json::object();
  v["d"] = Json::array();
  CHECK(v.pretty() ==
        "{\n"
        "  \"a\": 1,\n"
        "  \"b\": [\n"
        "    1,\n"
        "    \"два\"\n"
        "  ],\n"
        "  \"c\": {},\n"
        "  \"d\": []\n"
        "}");
  CHECK(Json(7).pretty() == "7");
  CHECK(parse_ok(v.pretty(4)) == v);
}

TEST_CASE("parse reads every kind of value") {
  Json v = parse_ok(R"( {"n": null, "t": true, "f": false, "i": -12, "r": 2.5e3,
                        "s": "x", "a": [1, [2]], "o": {"k": {}}} )");
  CHECK(v.get("n").is_null());
  CHECK(v.get("t") == Json(true));
  CHECK(v.get("f") == Json(false));
  CHECK(v.get("i").is_integer());
  CHECK(v.get("i").as_int() == -12);
  CHECK(v.get("r").kind() == Json::Kind::real);
  CHECK(v.get("r").as_double() == 2500.0);
  CHECK(v.get("s").as_string() == "x");
  CHECK(v.get("a").as_array().size() == 2);
  CHECK(v.get("a").as_array()[1].as_array()[0] == Json(2));
  CHECK(v.get("o").get("k").is_object());
}

TEST_CASE("parse keeps integers that fit int64 as integers and others as reals") {
  CHECK(parse_ok("9223372036854775807").as_int() == 9223372036854775807);
  CHECK(parse_ok("-9223372036854775808").is_integer());
  Json big = parse_ok("9223372036854775808");
  CHECK(big.kind() == Json::Kind::real);
  CHECK(big.as_double() == 9223372036854775808.0);
  CHECK(parse_ok("1.0").kind() == Json::Kind::real);
  CHECK(parse_ok("1e2").kind() == Json::Kind::real);
  CHECK(parse_ok("-0").is_integer());
}

TEST_CASE("parse decodes escapes including surrogate pairs into UTF-8") {
  CHECK(parse_ok(R"("\"\\\/\b\f\n\r\t")").as_string() == "\"\\/\b\f\n\r\t");
  CHECK(parse_ok(R"("\u0436\u0430\u043b\u043e\u0431\u0430")").as_string() == "жалоба");
  CHECK(parse_ok(R"("\u00e9\u20AC")").as_string() == "é€");
  CHECK(parse_ok(R"("\ud83d\ude00")").as_string() == "\xF0\x9F\x98\x80");
  CHECK(parse_ok(R"("a\u0000b")").as_string() == std::string("a\0b", 3));
}

TEST_CASE("Russian text round trips through dump and parse") {
  Json v;
  v["client"] = "ООО «Ромашка»";
  v["причина"] = "жалоба на доставку\nвторая строка";
  v["list"] = JsonArray{Json("север"), Json("юг")};
  std::string text = v.dump();
  CHECK(text.find("ООО «Ромашка»") != std::string::npos);
  Json back = parse_ok(text);
  CHECK(back == v);
  CHECK(back.dump() == text);
}

TEST_CASE("parse rejects malformed documents with the byte offset") {
  CHECK(parse_error("") == "invalid JSON at offset 0: unexpected end of input");
  CHECK(parse_error("{\"a\":1} x").find("invalid JSON at offset 8:") == 0);
  CHECK(parse_error("[1,]").find("offset 3") != std::string::npos);
  CHECK(parse_error("{\"a\" 1}").find("offset 5") != std::string::npos);
  CHECK(parse_error("\"abc").find("unterminated string") != std::string::npos);
  CHECK(parse_error("01").find("leading zeros") != std::string::npos);
  CHECK(parse_error("1.").find("offset 2") != std::string::npos);
  CHECK(parse_error("-").find("offset 1") != std::string::npos);
  CHECK(parse_error("tru").find("expected 'true'") != std::string::npos);
  CHECK(parse_error("{a:1}").find("expected a string key") != std::string::npos);
  CHECK(parse_error("\"\\x\"").find("invalid escape") != std::string::npos);
  CHECK(parse_error("\"\\u12g4\"").find("hex digit") != std::string::npos);
  CHECK(parse_error("\"\\ud83d\"").find("unpaired surrogate") != std::string::npos);
  CHECK(parse_error("\"\\ude00\"").find("unpaired surrogate") != std::string::npos);
  CHECK(parse_error("\"a\nb\"").find("control character") != std::string::npos);
  CHECK(parse_error("1e999").find("out of range") != std::string::npos);
  CHECK(parse_error("[1] [2]").find("offset 4") != std::string::npos);
  CHECK(parse_error("NaN").find("offset 0") != std::string::npos);
}

// The escaping of one string, byte by byte: what dump() wrote before it
// learned to copy runs of plain bytes eight at a time.
static std::string reference_dump(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
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
        if (u < 0x20) {
          static const char* kHex = "0123456789abcdef";
          out += "\\u00";
          out += kHex[u >> 4];
          out += kHex[u & 15];
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

TEST_CASE("strings with special bytes at every position dump and parse back exactly") {
  // Each special piece at every offset of plain runs of 0..20 bytes, so the
  // eight-byte fast paths meet it at every alignment and at the very end.
  const std::vector<std::string> pieces = {"\"", "\\", "\n", std::string(1, '\x01'), "\x1f", "\x7f", " ",
                                           "я", "€", "😀", "\xc2\x80"};
  for (const std::string& piece : pieces) {
    for (size_t before = 0; before <= 20; ++before) {
      for (size_t after : {size_t{0}, size_t{1}, size_t{7}, size_t{8}, size_t{9}, size_t{17}}) {
        const std::string s = std::string(before, 'a') + piece + std::string(after, 'b') + piece;
        CAPTURE(s);
        const std::string dumped = Json(s).dump();
        CHECK(dumped == reference_dump(s));
        CHECK(parse_ok(dumped) == Json(s));
      }
    }
  }
}

TEST_CASE("invalid UTF-8 and raw control characters are refused at their offset, however far in") {
  for (size_t before = 0; before <= 20; ++before) {
    const std::string run(before, 'x');
    CAPTURE(before);
    const std::string at = fmt::format("offset {}:", before + 1);  // after the opening quote
    CHECK(parse_error("\"" + run + "\xff" + "zzzzzzzzz\"").find(at + " invalid UTF-8") != std::string::npos);
    CHECK(parse_error("\"" + run + "\xd0" + "zzzzzzzzz\"").find(at + " invalid UTF-8") != std::string::npos);
    CHECK(parse_error("\"" + run + "\xc0\xaf" + "zzzzzzzz\"").find(at + " invalid UTF-8") != std::string::npos);
    CHECK(parse_error("\"" + run + "\xed\xa0\x80" + "zzzzzzz\"").find(at + " invalid UTF-8") != std::string::npos);
    CHECK(parse_error("\"" + run + "\t" + "zzzzzzzzz\"").find(at + " control character") != std::string::npos);
    CHECK(parse_error("\"" + run + "zzzzzzzzz").find("unterminated string") != std::string::npos);
    CHECK(parse_error("\"" + run + "\xd0").find("invalid UTF-8") != std::string::npos);  // cut short at the end
  }
}

TEST_CASE("parse limits nesting depth to 256 levels") {
  std::string ok = std::string(256, '[') + std::string(256, ']');
  CHECK(parse_ok(ok).is_array());
  std::string deep = std::string(257, '[') + std::string(257, ']');
  CHECK(parse_error(deep).find("nesting") != std::string::npos);
  std::string hostile(100000, '[');
  CHECK(parse_error(hostile).find("nesting") != std::string::npos);
}

TEST_CASE("a repeated key keeps the last value") {
  CHECK(parse_ok(R"({"a":1,"a":2})").get("a") == Json(2));
}

TEST_CASE("get returns a shared null for absent keys and non-objects") {
  Json v;
  v["a"] = 1;
  CHECK(v.get("missing").is_null());
  CHECK(Json(5).get("a").is_null());
  CHECK(&v.get("x") == &Json().get("y"));
  CHECK(v.has("a"));
  CHECK_FALSE(v.has("missing"));
  CHECK_FALSE(Json("s").has("a"));
}

TEST_CASE("operator[] on null makes an object and inserts a null member") {
  Json v;
  CHECK(v.is_null());
  Json& member = v["x"];
  CHECK(v.is_object());
  CHECK(member.is_null());
  CHECK(v.dump() == R"({"x":null})");
  v["x"]["y"] = "z";
  CHECK(v.dump() == R"({"x":{"y":"z"}})");
}

TEST_CASE("push_back on null makes an array") {
  Json v;
  v.push_back(1);
  v.push_back("два");
  CHECK(v.dump() == R"([1,"два"])");
}

TEST_CASE("str and integer read members with fallbacks") {
  Json v = parse_ok(R"({"s":"text","i":7,"r":2.9,"b":true})");
  CHECK(v.str("s") == "text");
  CHECK(v.str("i", "fb") == "fb");
  CHECK(v.str("missing", "fb") == "fb");
  CHECK(v.integer("i") == 7);
  CHECK(v.integer("r") == 2);
  CHECK(v.integer("s", -1) == -1);
  CHECK(v.integer("missing", 9) == 9);
  CHECK(v.integer("b", 3) == 3);
}

TEST_CASE("as_int and as_double convert between integers and reals") {
  CHECK(Json(3).as_double() == 3.0);
  CHECK(Json(3.99).as_int() == 3);
  CHECK(Json(-3.99).as_int() == -3);
  CHECK(Json(1e30).as_int() == INT64_MAX);
  CHECK(Json(-1e30).as_int() == INT64_MIN);
}

TEST_CASE("equality is strict about kind") {
  CHECK(Json(1) == Json(1));
  CHECK_FALSE(Json(1) == Json(1.0));
  CHECK_FALSE(Json(1) == Json(true));
  CHECK_FALSE(Json() == Json(false));
  CHECK(Json() == Json(nullptr));
  CHECK(Json("a") == Json(std::string("a")));
  CHECK_FALSE(Json("a") == Json("b"));
  CHECK(parse_ok(R"({"a":[1,{"b":null}]})") == parse_ok(R"({ "a" : [ 1 , { "b" : null } ] })"));
  CHECK_FALSE(parse_ok(R"({"a":[1]})") == parse_ok(R"({"a":[1,2]})"));
  CHECK_FALSE(parse_ok(R"({"a":1})") == parse_ok(R"({"b":1})"));
}

// Location and Error live in result.h; their formatting is tested here with the
// other small value types.
TEST_CASE("Location::str names file, line and column, omitting unknown parts") {
  using reglament::Location;
  CHECK(Location{"p.yaml", 3, 7}.str() == "p.yaml:3:7");
  CHECK(Location{"p.yaml", 3, 0}.str() == "p.yaml:3");
  CHECK(Location{"p.yaml", 0, 0}.str() == "p.yaml");
  CHECK(Location{"", 3, 7}.str() == "");
}

TEST_CASE("Error::str prefixes the message with the place when known") {
  auto located = reglament::make_error(ErrorCode::invalid, "unknown step \"3.9\"",
                                       reglament::Location{"processes/a.yaml", 12, 5});
  CHECK(located.str() == "processes/a.yaml:12:5: unknown step \"3.9\"");
  auto bare = reglament::make_error(ErrorCode::not_found, "no instance 42");
  CHECK(bare.str() == "no instance 42");
}
