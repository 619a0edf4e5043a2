// libFuzzer target: branch conditions and text templates (engine/expr.h).
//
// The input is a condition, optionally followed by a NUL byte and a JSON
// object of variables. A condition that parses is evaluated against those
// variables and against a few generated sets that give each variable it reads
// a value of every JSON kind in turn (to reach every type mismatch). The same
// text is also rendered as a template.
//
// Properties: a refused condition names a column inside it; a parsed one
// only reads names of the grammar and evaluates to a value or an `invalid`
// error (never `internal`); eval_condition agrees with truthy(eval); a
// template reads only names, and rendering it with nothing set never makes it
// longer.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "tests/fuzz/expect.h"
#include "engine/expr.h"
#include "engine/json.h"

using namespace reglament;

namespace {

using fuzz::expect;

bool is_continuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

int code_points(std::string_view s) {
  int n = 0;
  for (char c : s) n += is_continuation(c) ? 0 : 1;
  return n;
}

bool is_name(std::string_view s) {
  auto letter = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
  if (s.empty() || !letter(s[0])) return false;
  for (char c : s) {
    if (!letter(c) && !(c >= '0' && c <= '9') && c != '_' && c != '-' && c != '.') return false;
  }
  return true;
}

// One value of each kind, the kinds conditions compare.
Json sample(size_t k) {
  switch (k % 9) {
    case 0: return Json();
    case 1: return Json(true);
    case 2: return Json(false);
    case 3: return Json(int64_t{1000});
    case 4: return Json(2.5);
    case 5: return Json("order");
    case 6: return Json("2026-11-30");
    case 7: return Json(JsonArray{Json("north"), Json(int64_t{1})});
    default: return Json::object();
  }
}

void check_eval(const Expr& e, const JsonObject& vars) {
  Result<Json> v = eval(e, vars);
  Result<bool> c = eval_condition(e, vars);
  expect(v.ok() == c.ok(), "eval and eval_condition agree on failure");
  if (!v) {
    expect(v.error().code == ErrorCode::invalid, "evaluation fails only as invalid");
    expect(!v.error().message.empty(), "an evaluation error has a message");
    return;
  }
  expect(*c == truthy(*v), "eval_condition is truthy(eval)");
  (void)v->dump();
}

void conditions(std::string_view text, const JsonObject* given) {
  Result<Expr> e = parse_expr(text);
  if (!e) {
    const Error& err = e.error();
    expect(err.code == ErrorCode::invalid, "a refused condition is invalid");
    expect(!err.message.empty(), "a refused condition has a message");
    expect(err.where.line == 1 && err.where.column >= 1 && err.where.column <= code_points(text) + 1,
           "a refused condition names a column inside it");
    return;
  }
  expect(!e->empty(), "a parsed condition is not empty");
  expect(e->text() == text, "a parsed condition keeps its text");
  for (const std::string& name : e->variables()) expect(is_name(name), "a condition reads only names");
  check_eval(*e, JsonObject{});
  if (given != nullptr) check_eval(*e, *given);
  for (size_t rotation = 0; rotation < 9; ++rotation) {
    JsonObject vars;
    size_t i = rotation;
    for (const std::string& name : e->variables()) vars[name] = sample(i++);
    check_eval(*e, vars);
  }
  // A copy shares the tree and evaluates the same.
  const Expr copy = *e;
  expect(copy.variables() == e->variables(), "a copy reads the same names");
}

void templates(std::string_view text, const JsonObject& vars) {
  const std::set<std::string> names = template_variables(text);
  for (const std::string& name : names) expect(is_name(name), "a template reads only names");
  const std::string empty = render_template(text, JsonObject{});
  expect(empty.size() <= text.size(), "rendering with nothing set never grows the text");
  // Every name set (to text and to the given values) renders too.
  JsonObject marked = vars;
  for (const std::string& name : names) marked[name] = Json("\x01");
  (void)render_template(text, marked);
  (void)render_template(text, vars);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t nul = input.find('\0');
  const std::string_view text = input.substr(0, nul);
  JsonObject vars;
  bool have_vars = false;
  if (nul != std::string_view::npos) {
    Result<Json> j = parse_json(input.substr(nul + 1));
    if (j && j->is_object()) {
      vars = j->as_object();
      have_vars = true;
    }
  }
  conditions(text, have_vars ? &vars : nullptr);
  templates(text, vars);
  return 0;
}
