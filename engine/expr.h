// Conditions: a small, safe expression language over instance variables.
//
//   vip
//   not vip
//   outcome == "order"
//   amount > 1000 and region in ["north", "south"]
//   next_contact >= "2026-11-30"
//
// Grammar (lowest precedence first):
//   expr    := or
//   or      := and ("or" and)*
//   and     := not ("and" not)*
//   not     := "not" not | cmp
//   cmp     := primary (("==" | "!=" | "<" | "<=" | ">" | ">=") primary
//                       | "not"? "in" list)?
//   primary := literal | name | list | "(" expr ")"
//   literal := number | "string" | 'string' | true | false | null
//   list    := "[" (expr ("," expr)*)? "]"
//   name    := letter (letter | digit | "_" | "-" | ".")*   (ASCII letters)
// Dates and datetimes are ISO-8601 strings and compare as strings, which orders
// them correctly. An unset variable is null; null compares equal only to null,
// is false in a boolean context, and ordering against null is false.
//
// Expressions are parsed once, when a definition is loaded; evaluation cannot
// fail except on a type mismatch (ordering a number against a string), which
// is reported as an error value, never thrown.
#pragma once

#include <memory>
#include <set>
#include <string>
#include <string_view>

#include "engine/json.h"
#include "engine/result.h"

namespace reglament {

struct ExprNode;  // defined in expr.cpp

class Expr {
 public:
  Expr() = default;
  // The text it was parsed from.
  const std::string& text() const { return text_; }
  // Every variable name the expression reads.
  const std::set<std::string>& variables() const { return vars_; }
  bool empty() const { return root_ == nullptr; }

 private:
  friend Result<Expr> parse_expr(std::string_view text);
  friend Result<Json> eval(const Expr& e, const JsonObject& vars);
  std::string text_;
  std::set<std::string> vars_;
  std::shared_ptr<const ExprNode> root_;
};

// Parses `text`. On error the Error's `where.column` is the 1-based column in
// `text` of the offending token (where.line = 1, where.file empty); the caller
// adds the file and shifts line/column to the expression's place in the file.
Result<Expr> parse_expr(std::string_view text);

// Evaluates against the variables (name -> value).
Result<Json> eval(const Expr& e, const JsonObject& vars);

// Truthiness used by branch conditions: false, null, 0, "" and [] are false.
bool truthy(const Json& v);

// Evaluates and converts to a boolean with `truthy`.
Result<bool> eval_condition(const Expr& e, const JsonObject& vars);

// Replaces every `{name}` in `text` by the variable's value (strings as-is,
// other values JSON-encoded, unset as empty). `{{` and `}}` are literal braces.
std::string render_template(std::string_view text, const JsonObject& vars);
// The names a template reads, for validation.
std::set<std::string> template_variables(std::string_view text);

}  // namespace reglament
