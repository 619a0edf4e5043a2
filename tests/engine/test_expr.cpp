#include "engine/expr.h"

#include <doctest/doctest.h>

#include <string>

using reglament::ErrorCode;
using reglament::Expr;
using reglament::Json;
using reglament::JsonArray;
using reglament::JsonObject;

namespace {

Expr parse_ok(std::string_view text) {
  auto r = reglament::parse_expr(text);
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message));
  return *r;
}

Json eval_ok(std::string_view text, const JsonObject& vars = {}) {
  Expr e = parse_ok(text);
  auto r = reglament::eval(e, vars);
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message));
  return *r;
}

bool holds(std::string_view text, const JsonObject& vars = {}) {
  Expr e = parse_ok(text);
  auto r = reglament::eval_condition(e, vars);
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message));
  return *r;
}

reglament::Error parse_error(std::string_view text) {
  auto r = reglament::parse_expr(text);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == ErrorCode::invalid);
  CHECK(r.error().where.line == 1);
  CHECK(r.error().where.file.empty());
  return r.error();
}

}  // namespace

TEST_CASE("a bare variable is true when its value is truthy") {
  JsonObject vars{{"vip", Json(true)}, {"regular", Json(false)}};
  CHECK(holds("vip", vars));
  CHECK_FALSE(holds("regular", vars));
  CHECK_FALSE(holds("unset", vars));
  CHECK(holds("not unset", vars));
  CHECK_FALSE(holds("not vip", vars));
  CHECK(holds("not not vip", vars));
}

TEST_CASE("truthiness treats false, null, zero, empty string and empty list as false") {
  using reglament::truthy;
  CHECK_FALSE(truthy(Json()));
  CHECK_FALSE(truthy(Json(false)));
  CHECK_FALSE(truthy(Json(0)));
  CHECK_FALSE(truthy(Json(0.0)));
  CHECK_FALSE(truthy(Json("")));
  CHECK_FALSE(truthy(Json::array()));
  CHECK(truthy(Json(true)));
  CHECK(truthy(Json(-1)));
  CHECK(truthy(Json(0.5)));
  CHECK(truthy(Json("нет")));
  CHECK(truthy(Json(JsonArray{Json()})));
  CHECK(truthy(Json::object()));
}

TEST_CASE("equality compares strings including Russian text") {
  JsonObject vars{{"outcome", Json("order")}, {"reason", Json("жалоба")}};
  CHECK(holds("outcome == \"order\"", vars));
  CHECK(holds("outcome == 'order'", vars));
  CHECK(holds("outcome != \"refusal\"", vars));
  CHECK(holds("reason == \"жалоба\"", vars));
  CHECK_FALSE(holds("reason == \"жалобы\"", vars));
  CHECK(holds("reason in [\"претензия\", \"жалоба\"]", vars));
}

TEST_CASE("an integer and a real compare numerically") {
  JsonObject vars{{"amount", Json(1000.0)}, {"count", Json(3)}};
  CHECK(holds("amount == 1000", vars));
  CHECK(holds("count == 3.0", vars));
  CHECK(holds("amount > 999.5", vars));
  CHECK(holds("count < 3.5", vars));
  CHECK(holds("amount in [1, 1000]", vars));
  CHECK(holds("[1, 2] == [1.0, 2]"));
}

TEST_CASE("values of different kinds are not equal") {
  JsonObject vars{{"n", Json(1)}, {"s", Json("1")}, {"b", Json(true)}};
  CHECK_FALSE(holds("n == s", vars));
  CHECK(holds("n != s", vars));
  CHECK_FALSE(holds("n == b", vars));
  CHECK(holds("missing == null", vars));
  CHECK_FALSE(holds("n == null", vars));
  CHECK(holds("s != null", vars));
}

TEST_CASE("ordering works for numbers and for ISO dates as strings") {
  JsonObject vars{{"amount", Json(1500)},
                  {"next_contact", Json("2026-12-01")},
                  {"next-contact", Json("2026-11-01")}};
  CHECK(holds("amount > 1000", vars));
  CHECK(holds("amount >= 1500", vars));
  CHECK_FALSE(holds("amount < 1500", vars));
  CHECK(holds("amount <= 1500", vars));
  CHECK(holds("amount > -5", vars));
  CHECK(holds("next_contact >= \"2026-11-30\"", vars));
  CHECK(holds("next-contact < \"2026-11-30\"", vars));
  CHECK(holds("\"абв\" < \"где\""));
}

TEST_CASE("ordering against null is false, not an error") {
  JsonObject vars{{"amount", Json(5)}};
  CHECK_FALSE(holds("missing > 1", vars));
  CHECK_FALSE(holds("missing <= 1", vars));
  CHECK_FALSE(holds("1 < missing", vars));
  CHECK_FALSE(holds("null >= null"));
}

TEST_CASE("ordering a number against a string is an error naming both types") {
  JsonObject vars{{"amount", Json(5)}, {"region", Json("north")}};
  Expr e = parse_ok("amount > region");
  auto r = reglament::eval(e, vars);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == ErrorCode::invalid);
  CHECK(r.error().message.find("number") != std::string::npos);
  CHECK(r.error().message.find("string") != std::string::npos);
  CHECK(r.error().message.find("\">\"") != std::string::npos);
  CHECK(r.error().where.column == 8);

  auto c = reglament::eval_condition(parse_ok("true < false"), {});
  REQUIRE_FALSE(c.ok());
  CHECK(c.error().message.find("boolean") != std::string::npos);
}

TEST_CASE("and and or short-circuit and return booleans") {
  JsonObject vars{{"amount", Json(5)}, {"region", Json("north")}, {"name", Json("x")}};
  // The right side would fail (number vs string) if it were evaluated.
  CHECK(eval_ok("false and amount > region", vars) == Json(false));
  CHECK(eval_ok("true or amount > region", vars) == Json(true));
  CHECK(eval_ok("name and amount", vars) == Json(true));
  CHECK(eval_ok("name or amount", vars) == Json(true));
  CHECK(eval_ok("missing or 0", vars) == Json(false));
  CHECK(eval_ok("not name", vars) == Json(false));
  auto r = reglament::eval(parse_ok("true and amount > region"), vars);
  CHECK_FALSE(r.ok());
}

TEST_CASE("and binds tighter than or and not binds looser than comparison") {
  JsonObject vars{{"a", Json(true)}, {"b", Json(false)}, {"c", Json(false)}, {"x", Json(1)}};
  CHECK(holds("a or b and c", vars));          // a or (b and c)
  CHECK_FALSE(holds("(a or b) and c", vars));
  CHECK(holds("not x == 2", vars));            // not (x == 2)
  CHECK_FALSE(holds("not x == 1", vars));
  CHECK(holds("not b and not c", vars));
}

TEST_CASE("in and not in test membership in a list literal") {
  JsonObject vars{{"amount", Json(1500)}, {"region", Json("south")}};
  CHECK(holds("amount > 1000 and region in [\"north\", \"south\"]", vars));
  CHECK_FALSE(holds("region not in [\"north\", \"south\"]", vars));
  CHECK(holds("region not in []", vars));
  CHECK(holds("missing in [null, 1]", vars));
  CHECK(holds("region in [\"x\", region]", vars));
  CHECK(holds("[1] in [[1], [2]]"));
}

TEST_CASE("literals evaluate to their values") {
  CHECK(eval_ok("42") == Json(42));
  CHECK(eval_ok("-7") == Json(-7));
  CHECK(eval_ok("2.5") == Json(2.5));
  CHECK(eval_ok("\"a\\\"b\"") == Json("a\"b"));
  CHECK(eval_ok("'it\\'s'") == Json("it's"));
  CHECK(eval_ok("\"tab\\there\"") == Json("tab\there"));
  CHECK(eval_ok("null") == Json());
  CHECK(eval_ok("true") == Json(true));
  CHECK(eval_ok("[1, \"два\", [null]]").dump() == R"([1,"два",[null]])");
  CHECK(eval_ok("((\"x\"))") == Json("x"));
}

TEST_CASE("variables lists every name read and excludes keywords") {
  Expr e = parse_ok("vip and not blocked or amount > 10 and region in [home, \"x\"] and x.y-z == null");
  CHECK(e.variables() == std::set<std::string>{"amount", "blocked", "home", "region", "vip", "x.y-z"});
  CHECK(e.text() == "vip and not blocked or amount > 10 and region in [home, \"x\"] and x.y-z == null");
  CHECK_FALSE(e.empty());
  CHECK(parse_ok("true or false").variables().empty());
  CHECK(Expr().empty());
}

TEST_CASE("names may contain hyphens, dots, digits and underscores") {
  JsonObject vars{{"next-contact", Json("2026-01-01")}, {"form.v2_ok", Json(true)},
                  {"notified", Json(true)}, {"android", Json(true)}, {"order", Json(false)}};
  CHECK(holds("next-contact == \"2026-01-01\"", vars));
  CHECK(holds("form.v2_ok", vars));
  // Keywords are whole words only.
  CHECK(holds("notified", vars));
  CHECK(holds("android", vars));
  CHECK_FALSE(holds("order", vars));
}

TEST_CASE("a copied expression shares its parsed tree and still evaluates") {
  Expr copy;
  {
    Expr original = parse_ok("x == 1");
    copy = original;
  }
  CHECK(*reglament::eval_condition(copy, JsonObject{{"x", Json(1)}}));
}

TEST_CASE("evaluating an empty expression is an error, not a crash") {
  auto r = reglament::eval(Expr(), {});
  CHECK_FALSE(r.ok());
}

TEST_CASE("parse errors name the offending token and its column") {
  auto e = parse_error("outcome == )");
  CHECK(e.message == "expected a value after \"==\"");
  CHECK(e.where.column == 12);

  e = parse_error("(vip))");
  CHECK(e.message == "unexpected \")\" in condition");
  CHECK(e.where.column == 6);

  e = parse_error("outcome == \"order");
  CHECK(e.message == "unterminated string");
  CHECK(e.where.column == 12);

  e = parse_error("a ==");
  CHECK(e.message == "expected a value after \"==\"");
  CHECK(e.where.column == 5);

  e = parse_error("a = 1");
  CHECK(e.message == "unexpected \"=\" in condition");
  CHECK(e.where.column == 3);

  e = parse_error("a b");
  CHECK(e.message == "unexpected \"b\" in condition");
  CHECK(e.where.column == 3);

  e = parse_error("vip and");
  CHECK(e.message == "expected a value after \"and\"");

  e = parse_error("and vip");
  CHECK(e.message == "unexpected \"and\" in condition");
  CHECK(e.where.column == 1);

  e = parse_error("a == 1 == 2");
  CHECK(e.message == "unexpected \"==\" in condition");
  CHECK(e.where.column == 8);
}

TEST_CASE("parse errors count columns in code points, not bytes") {
  auto e = parse_error("reason == \"жалоба\" )");
  CHECK(e.where.column == 20);
  e = parse_error("причина == 1");
  CHECK(e.message == "unexpected \"п\" in condition");
  CHECK(e.where.column == 1);
  e = parse_error("x == \"ё\" and @");
  CHECK(e.message == "unexpected \"@\" in condition");
  CHECK(e.where.column == 14);
}

TEST_CASE("empty and blank expressions are errors") {
  CHECK(parse_error("").message == "empty condition");
  CHECK(parse_error("   ").message == "empty condition");
  CHECK(parse_error("()").message == "expected a value after \"(\"");
}

TEST_CASE("brackets, lists and in are checked when parsing") {
  auto e = parse_error("(a == 1");
  CHECK(e.message == "expected \")\" to close \"(\" at column 1");
  CHECK(e.where.column == 8);

  e = parse_error("x in [1, 2");
  CHECK(e.message == "expected \",\" or \"]\" in the list opened at column 6");

  e = parse_error("x in [1,]");
  CHECK(e.message == "expected a value after \",\"");
  CHECK(e.where.column == 9);

  e = parse_error("x in y");
  CHECK(e.message == "expected a list after \"in\"");
  CHECK(e.where.column == 6);

  e = parse_error("x not [1]");
  CHECK(e.message == "expected \"in\" after \"not\"");

  e = parse_error("x not in 1");
  CHECK(e.message == "expected a list after \"not in\"");
}

TEST_CASE("malformed literals are parse errors") {
  CHECK(parse_error("x == \"a\\q\"").message.find("invalid escape") != std::string::npos);
  CHECK(parse_error("x == 12abc").message.find("invalid number") != std::string::npos);
  CHECK(parse_error("x == 1.2.3").message.find("invalid number") != std::string::npos);
  CHECK(parse_error("x == 99999999999999999999").message.find("out of range") != std::string::npos);
  CHECK(parse_error("x == - 1").message == "unexpected \"-\" in condition");
  CHECK(parse_error("x == 'abc").message == "unterminated string");
}

TEST_CASE("deep nesting is rejected instead of overflowing the stack") {
  std::string deep = std::string(10000, '(') + "x" + std::string(10000, ')');
  CHECK(parse_error(deep).message == "condition is nested too deeply");
  std::string nots;
  for (int i = 0; i < 10000; ++i) nots += "not ";
  CHECK(parse_error(nots + "x").message == "condition is nested too deeply");
  CHECK(holds(std::string(20, '(') + "true" + std::string(20, ')')));
}

TEST_CASE("render_template replaces variables and keeps escaped braces") {
  JsonObject vars{{"client", Json("ООО «Ромашка»")},
                  {"amount", Json(1500)},
                  {"vip", Json(true)},
                  {"tags", Json(JsonArray{Json("a"), Json("b")})},
                  {"empty", Json()}};
  CHECK(reglament::render_template("VIP-заявка: {client}", vars) == "VIP-заявка: ООО «Ромашка»");
  CHECK(reglament::render_template("{amount} руб., vip={vip}", vars) == "1500 руб., vip=true");
  CHECK(reglament::render_template("tags: {tags}", vars) == R"(tags: ["a","b"])");
  CHECK(reglament::render_template("[{missing}][{empty}]", vars) == "[][]");
  CHECK(reglament::render_template("{{client}} is {client}", vars) == "{client} is ООО «Ромашка»");
  CHECK(reglament::render_template("a }} b", vars) == "a } b");
  CHECK(reglament::render_template("{ client }", vars) == "ООО «Ромашка»");
}

TEST_CASE("render_template leaves malformed placeholders literal") {
  JsonObject vars{{"x", Json("X")}};
  CHECK(reglament::render_template("open { brace", vars) == "open { brace");
  CHECK(reglament::render_template("tail {x", vars) == "tail {x");
  CHECK(reglament::render_template("{not a name} {x}", vars) == "{not a name} X");
  CHECK(reglament::render_template("{a{x}}", vars) == "{aX}");
  CHECK(reglament::render_template("{}", vars) == "{}");
  CHECK(reglament::render_template("{1x}", vars) == "{1x}");
  CHECK(reglament::render_template("lone } brace", vars) == "lone } brace");
  CHECK(reglament::render_template("", vars) == "");
}

TEST_CASE("template_variables lists the placeholders a template reads") {
  CHECK(reglament::template_variables("Клиент {client}, сумма {amount}, снова {client}") ==
        std::set<std::string>{"amount", "client"});
  CHECK(reglament::template_variables("{{literal}} {next-contact} {x").size() == 1);
  CHECK(reglament::template_variables("{{literal}} {next-contact} {x").count("next-contact") == 1);
  CHECK(reglament::template_variables("no placeholders").empty());
}
