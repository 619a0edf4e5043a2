#include "engine/expr.h"

#include <charconv>
#include <cmath>
#include <memory>
#include <optional>
#include <vector>

#include <fmt/format.h>

namespace reglament {

// One node of a parsed condition. Children are owned; the tree is immutable
// once parse_expr returns, so Expr copies share it.
struct ExprNode {
  enum class Op { literal, variable, list, negate, all, any, eq, ne, lt, le, gt, ge, in, not_in };

  Op op = Op::literal;
  Json value;                 // literal
  std::string name;           // variable name, or operator text for errors
  size_t offset = 0;          // byte offset of the operator or value in the text (errors
                              // turn it into a column; computing that for every node
                              // would make parsing quadratic)
  // Operands; `all` and `any` hold the whole chain `a and b and c`, so a long
  // chain is a wide node, not a deep one (evaluation and destruction recurse).
  std::vector<std::unique_ptr<ExprNode>> kids;
};

namespace {

using Node = ExprNode;
using NodePtr = std::unique_ptr<ExprNode>;

// Bounds the recursion of both the parser and the evaluator: `((((...` or
// `not not not ...` written by mistake must not exhaust the stack.
constexpr int kMaxDepth = 64;

bool is_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_name_char(char c) {
  return is_letter(c) || is_digit(c) || c == '_' || c == '-' || c == '.';
}
bool is_continuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

// Columns count code points, so a Russian string literal before the error
// does not push the caret to the right.
int column_of(std::string_view text, size_t offset) {
  int column = 1;
  for (size_t i = 0; i < offset && i < text.size(); ++i) {
    if (!is_continuation(text[i])) ++column;
  }
  return column;
}

bool is_keyword(std::string_view word) {
  return word == "true" || word == "false" || word == "null" || word == "and" ||
         word == "or" || word == "not" || word == "in";
}

// A whole name per the grammar: letter (letter | digit | _ | - | .)*
bool is_name(std::string_view s) {
  if (s.empty() || !is_letter(s[0])) return false;
  for (char c : s) {
    if (!is_name_char(c)) return false;
  }
  return true;
}

enum class Tok { end, number, string, name, keyword, op, lparen, rparen, lbracket, rbracket, comma };

struct Token {
  Tok kind = Tok::end;
  std::string text;   // as written (for names, keywords, operators, messages)
  Json value;         // number and string literals
  size_t offset = 0;  // byte offset in the source
};

Error error_at(std::string_view source, size_t offset, std::string message) {
  return make_error(ErrorCode::invalid, std::move(message), Location{"", 1, column_of(source, offset)});
}

Result<std::vector<Token>> tokenize(std::string_view s) {
  std::vector<Token> out;
  size_t i = 0;
  while (i < s.size()) {
    const char c = s[i];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      ++i;
      continue;
    }
    Token t;
    t.offset = i;
    if (c == '"' || c == '\'') {
      std::string value;
      size_t j = i + 1;
      bool closed = false;
      while (j < s.size()) {
        const char d = s[j];
        if (d == c) {
          closed = true;
          ++j;
          break;
        }
        if (d == '\\') {
          if (j + 1 >= s.size()) break;
          const char e = s[j + 1];
          switch (e) {
            case '\\': value += '\\'; break;
            case '"': value += '"'; break;
            case '\'': value += '\''; break;
            case 'n': value += '\n'; break;
            case 't': value += '\t'; break;
            default:
              return error_at(s, j, fmt::format("invalid escape \"\\{}\" in a string", e));
          }
          j += 2;
          continue;
        }
        value += d;  // any UTF-8 byte passes through
        ++j;
      }
      if (!closed) return error_at(s, i, "unterminated string");
      t.kind = Tok::string;
      t.text = std::string(s.substr(i, j - i));
      t.value = Json(std::move(value));
      i = j;
    } else if (is_digit(c) || (c == '-' && i + 1 < s.size() && is_digit(s[i + 1]))) {
      size_t j = i + 1;
      while (j < s.size() && is_digit(s[j])) ++j;
      bool integral = true;
      if (j + 1 < s.size() && s[j] == '.' && is_digit(s[j + 1])) {
        integral = false;
        j += 1;
        while (j < s.size() && is_digit(s[j])) ++j;
      }
      if (j < s.size() && (is_letter(s[j]) || s[j] == '_' || s[j] == '.')) {
        return error_at(s, i, fmt::format("invalid number \"{}\"", s.substr(i, j - i + 1)));
      }
      const char* first = s.data() + i;
      const char* last = s.data() + j;
      if (integral) {
        int64_t v = 0;
        auto [ptr, ec] = std::from_chars(first, last, v);
        if (ec != std::errc() || ptr != last) {
          return error_at(s, i, fmt::format("number {} is out of range", s.substr(i, j - i)));
        }
        t.value = Json(v);
      } else {
        double v = 0;
        auto [ptr, ec] = std::from_chars(first, last, v);
        if (ec != std::errc() || ptr != last || !std::isfinite(v)) {
          return error_at(s, i, fmt::format("number {} is out of range", s.substr(i, j - i)));
        }
        t.value = Json(v);
      }
      t.kind = Tok::number;
      t.text = std::string(s.substr(i, j - i));
      i = j;
    } else if (is_letter(c)) {
      size_t j = i + 1;
      while (j < s.size() && is_name_char(s[j])) ++j;
      t.text = std::string(s.substr(i, j - i));
      t.kind = is_keyword(t.text) ? Tok::keyword : Tok::name;
      i = j;
    } else if (c == '=' || c == '!' || c == '<' || c == '>') {
      const bool has_eq = i + 1 < s.size() && s[i + 1] == '=';
      if ((c == '=' || c == '!') && !has_eq) {
        return error_at(s, i, fmt::format("unexpected \"{}\" in condition", c));
      }
      t.kind = Tok::op;
      t.text = std::string(s.substr(i, has_eq ? 2 : 1));
      i += t.text.size();
    } else if (c == '(' || c == ')' || c == '[' || c == ']' || c == ',') {
      t.kind = c == '(' ? Tok::lparen
               : c == ')' ? Tok::rparen
               : c == '[' ? Tok::lbracket
               : c == ']' ? Tok::rbracket
                          : Tok::comma;
      t.text = std::string(1, c);
      ++i;
    } else {
      // Name the whole UTF-8 character, not its first byte.
      size_t j = i + 1;
      while (j < s.size() && is_continuation(s[j])) ++j;
      return error_at(s, i, fmt::format("unexpected \"{}\" in condition", s.substr(i, j - i)));
    }
    out.push_back(std::move(t));
  }
  Token end;
  end.kind = Tok::end;
  end.offset = s.size();
  out.push_back(std::move(end));
  return out;
}

class Parser {
 public:
  Parser(std::string_view source, std::vector<Token> tokens, std::set<std::string>& vars)
      : source_(source), tokens_(std::move(tokens)), vars_(vars) {}

  Result<NodePtr> parse() {
    if (peek().kind == Tok::end) return error_at(source_, 0, "empty condition");
    NodePtr root = parse_or(0);
    if (failed_) return *error_;
    if (peek().kind != Tok::end) return unexpected(peek());
    return root;
  }

 private:
  const Token& peek(size_t ahead = 0) const {
    size_t i = pos_ + ahead;
    return tokens_[i < tokens_.size() ? i : tokens_.size() - 1];
  }
  const Token& take() {
    const Token& t = peek();
    if (pos_ + 1 < tokens_.size()) ++pos_;
    return t;
  }
  bool is_keyword(std::string_view word, size_t ahead = 0) const {
    return peek(ahead).kind == Tok::keyword && peek(ahead).text == word;
  }

  Error unexpected(const Token& t) {
    if (t.kind == Tok::end) return error_at(source_, t.offset, "unexpected end of condition");
    return error_at(source_, t.offset, fmt::format("unexpected \"{}\" in condition", t.text));
  }

  // Records the first error; parsing functions then return nullptr.
  NodePtr fail(Error e) {
    if (!failed_) {
      failed_ = true;
      error_ = std::move(e);
    }
    return nullptr;
  }

  NodePtr make(Node::Op op, const Token& at) {
    auto n = std::make_unique<Node>();
    n->op = op;
    n->name = at.text;
    n->offset = at.offset;
    return n;
  }

  NodePtr parse_or(int depth) {
    return parse_chain(depth, "or", Node::Op::any, &Parser::parse_and);
  }

  NodePtr parse_and(int depth) {
    return parse_chain(depth, "and", Node::Op::all, &Parser::parse_not);
  }

  // operand (keyword operand)*, as one node holding every operand.
  NodePtr parse_chain(int depth, std::string_view keyword, Node::Op op, NodePtr (Parser::*operand)(int)) {
    NodePtr first = (this->*operand)(depth);
    if (failed_) return nullptr;
    if (!is_keyword(keyword)) return first;
    NodePtr n = make(op, peek());
    n->kids.push_back(std::move(first));
    while (is_keyword(keyword)) {
      take();
      NodePtr next = (this->*operand)(depth);
      if (failed_) return nullptr;
      n->kids.push_back(std::move(next));
    }
    return n;
  }

  NodePtr parse_not(int depth) {
    if (is_keyword("not")) {
      if (depth >= kMaxDepth) return fail(error_at(source_, peek().offset, "condition is nested too deeply"));
      const Token op = take();
      NodePtr operand = parse_not(depth + 1);
      if (failed_) return nullptr;
      NodePtr n = make(Node::Op::negate, op);
      n->kids.push_back(std::move(operand));
      return n;
    }
    return parse_cmp(depth);
  }

  NodePtr parse_cmp(int depth) {
    NodePtr left = parse_primary(depth);
    if (failed_) return nullptr;
    const Token& t = peek();
    if (t.kind == Tok::op) {
      const Token op = take();
      Node::Op kind = op.text == "==" ? Node::Op::eq
                      : op.text == "!=" ? Node::Op::ne
                      : op.text == "<"  ? Node::Op::lt
                      : op.text == "<=" ? Node::Op::le
                      : op.text == ">"  ? Node::Op::gt
                                        : Node::Op::ge;
      NodePtr right = parse_primary(depth);
      if (failed_) return nullptr;
      NodePtr n = make(kind, op);
      n->kids.push_back(std::move(left));
      n->kids.push_back(std::move(right));
      return n;
    }
    if (is_keyword("in") || is_keyword("not")) {
      const Token first = take();
      Node::Op kind = Node::Op::in;
      std::string op_text = "in";
      if (first.text == "not") {
        if (!is_keyword("in")) {
          const Token& next = peek();
          return fail(error_at(source_, next.offset, "expected \"in\" after \"not\""));
        }
        take();
        kind = Node::Op::not_in;
        op_text = "not in";
      }
      if (peek().kind != Tok::lbracket) {
        return fail(error_at(source_, peek().offset,
                             fmt::format("expected a list after \"{}\"", op_text)));
      }
      NodePtr list = parse_primary(depth);
      if (failed_) return nullptr;
      NodePtr n = make(kind, first);
      n->name = op_text;
      n->kids.push_back(std::move(left));
      n->kids.push_back(std::move(list));
      return n;
    }
    return left;
  }

  // The token before the current one, to say what a value was expected after.
  NodePtr expected_value() {
    const Token& t = peek();
    if (pos_ == 0) return fail(unexpected(t));
    const Token& prev = tokens_[pos_ - 1];
    return fail(error_at(source_, t.offset, fmt::format("expected a value after \"{}\"", prev.text)));
  }

  NodePtr parse_primary(int depth) {
    if (depth >= kMaxDepth) return fail(error_at(source_, peek().offset, "condition is nested too deeply"));
    const Token& t = peek();
    switch (t.kind) {
      case Tok::number:
      case Tok::string: {
        NodePtr n = make(Node::Op::literal, t);
        n->value = t.value;
        take();
        return n;
      }
      case Tok::name: {
        NodePtr n = make(Node::Op::variable, t);
        vars_.insert(t.text);
        take();
        return n;
      }
      case Tok::keyword: {
        if (t.text == "true" || t.text == "false" || t.text == "null") {
          NodePtr n = make(Node::Op::literal, t);
          n->value = t.text == "null" ? Json() : Json(t.text == "true");
          take();
          return n;
        }
        return expected_value();
      }
      case Tok::lparen: {
        const Token open = take();
        NodePtr inner = parse_or(depth + 1);
        if (failed_) return nullptr;
        if (peek().kind != Tok::rparen) {
          return fail(error_at(source_, peek().offset,
                               fmt::format("expected \")\" to close \"(\" at column {}",
                                           column_of(source_, open.offset))));
        }
        take();
        return inner;
      }
      case Tok::lbracket: {
        const Token open = take();
        NodePtr list = make(Node::Op::list, open);
        if (peek().kind == Tok::rbracket) {
          take();
          return list;
        }
        for (;;) {
          NodePtr item = parse_or(depth + 1);
          if (failed_) return nullptr;
          list->kids.push_back(std::move(item));
          if (peek().kind == Tok::comma) {
            take();
            continue;
          }
          if (peek().kind == Tok::rbracket) {
            take();
            return list;
          }
          return fail(error_at(source_, peek().offset,
                               fmt::format("expected \",\" or \"]\" in the list opened at column {}",
                                           column_of(source_, open.offset))));
        }
      }
      default:
        return expected_value();
    }
  }

  std::string_view source_;
  std::vector<Token> tokens_;
  std::set<std::string>& vars_;
  size_t pos_ = 0;
  bool failed_ = false;
  std::optional<Error> error_;
};

// ---- evaluation ----

const char* type_name(const Json& v) {
  switch (v.kind()) {
    case Json::Kind::null: return "null";
    case Json::Kind::boolean: return "boolean";
    case Json::Kind::integer:
    case Json::Kind::real: return "number";
    case Json::Kind::string: return "string";
    case Json::Kind::array: return "list";
    case Json::Kind::object: return "object";
  }
  return "value";
}

// Equality for conditions: like Json's, except that an integer and a real
// compare by value, so `amount == 1000` holds for a form's 1000.0.
bool values_equal(const Json& a, const Json& b) {
  if (a.is_number() && b.is_number()) {
    if (a.is_integer() && b.is_integer()) return a.as_int() == b.as_int();
    return a.as_double() == b.as_double();
  }
  if (a.kind() != b.kind()) return false;
  if (a.is_array()) {
    const JsonArray& x = a.as_array();
    const JsonArray& y = b.as_array();
    if (x.size() != y.size()) return false;
    for (size_t i = 0; i < x.size(); ++i) {
      if (!values_equal(x[i], y[i])) return false;
    }
    return true;
  }
  if (a.is_object()) {
    const JsonObject& x = a.as_object();
    const JsonObject& y = b.as_object();
    if (x.size() != y.size()) return false;
    for (auto i = x.begin(), j = y.begin(); i != x.end(); ++i, ++j) {
      if (i->first != j->first || !values_equal(i->second, j->second)) return false;
    }
    return true;
  }
  return a == b;
}

// -1, 0 or 1; only called for number-number or string-string.
int order(const Json& a, const Json& b) {
  if (a.is_string()) {
    int c = a.as_string().compare(b.as_string());  // bytewise = code point order in UTF-8
    return c < 0 ? -1 : c > 0 ? 1 : 0;
  }
  if (a.is_integer() && b.is_integer()) {
    return a.as_int() < b.as_int() ? -1 : a.as_int() > b.as_int() ? 1 : 0;
  }
  const double x = a.as_double();
  const double y = b.as_double();
  return x < y ? -1 : x > y ? 1 : 0;
}

class Evaluator {
 public:
  Evaluator(const std::string& text, const JsonObject& vars) : text_(text), vars_(vars) {}

  Result<Json> eval(const Node& n) {
    switch (n.op) {
      case Node::Op::literal: return n.value;
      case Node::Op::variable: {
        auto it = vars_.find(n.name);
        return it == vars_.end() ? Json() : it->second;
      }
      case Node::Op::list: {
        JsonArray items;
        items.reserve(n.kids.size());
        for (const auto& kid : n.kids) {
          Result<Json> v = eval(*kid);
          if (!v) return v;
          items.push_back(std::move(v).value());
        }
        return Json(std::move(items));
      }
      case Node::Op::negate: {
        Result<Json> v = eval(*n.kids[0]);
        if (!v) return v;
        return Json(!truthy(*v));
      }
      case Node::Op::all:
      case Node::Op::any: {
        // Left to right, short-circuit: the operands after the one that
        // decides are not evaluated (and cannot fail).
        const bool decisive = n.op == Node::Op::any;
        for (const auto& kid : n.kids) {
          Result<Json> v = eval(*kid);
          if (!v) return v;
          if (truthy(*v) == decisive) return Json(decisive);
        }
        return Json(!decisive);
      }
      case Node::Op::eq:
      case Node::Op::ne: {
        Result<Json> left = eval(*n.kids[0]);
        if (!left) return left;
        Result<Json> right = eval(*n.kids[1]);
        if (!right) return right;
        const bool equal = values_equal(*left, *right);
        return Json(n.op == Node::Op::eq ? equal : !equal);
      }
      case Node::Op::lt:
      case Node::Op::le:
      case Node::Op::gt:
      case Node::Op::ge: {
        Result<Json> left = eval(*n.kids[0]);
        if (!left) return left;
        Result<Json> right = eval(*n.kids[1]);
        if (!right) return right;
        const Json& a = *left;
        const Json& b = *right;
        if (a.is_null() || b.is_null()) return Json(false);
        const bool comparable = (a.is_number() && b.is_number()) || (a.is_string() && b.is_string());
        if (!comparable) {
          return make_error(ErrorCode::invalid,
                            fmt::format("cannot compare a {} with a {} using \"{}\" in condition \"{}\"",
                                        type_name(a), type_name(b), n.name, text_),
                            Location{"", 1, column_of(text_, n.offset)});
        }
        const int c = order(a, b);
        switch (n.op) {
          case Node::Op::lt: return Json(c < 0);
          case Node::Op::le: return Json(c <= 0);
          case Node::Op::gt: return Json(c > 0);
          default: return Json(c >= 0);
        }
      }
      case Node::Op::in:
      case Node::Op::not_in: {
        Result<Json> needle = eval(*n.kids[0]);
        if (!needle) return needle;
        Result<Json> list = eval(*n.kids[1]);
        if (!list) return list;
        bool found = false;
        for (const Json& item : list->as_array()) {
          if (values_equal(*needle, item)) {
            found = true;
            break;
          }
        }
        return Json(n.op == Node::Op::in ? found : !found);
      }
    }
    return make_error(ErrorCode::internal, "unknown expression node");
  }

 private:
  const std::string& text_;
  const JsonObject& vars_;
};

void append_value(std::string& out, const Json* v) {
  if (v == nullptr || v->is_null()) return;
  if (v->is_string()) {
    out += v->as_string();
  } else {
    out += v->dump();
  }
}

// Walks a template, calling on_text for literal text and on_name for each
// `{name}`. One scanner for render and for template_variables keeps the two
// in agreement about what counts as a placeholder.
template <typename OnText, typename OnName>
void scan_template(std::string_view text, OnText on_text, OnName on_name) {
  size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (c == '{' && i + 1 < text.size() && text[i + 1] == '{') {
      on_text(std::string_view("{"));
      i += 2;
    } else if (c == '}' && i + 1 < text.size() && text[i + 1] == '}') {
      on_text(std::string_view("}"));
      i += 2;
    } else if (c == '{') {
      const size_t close = text.find('}', i + 1);
      std::string_view inner =
          close == std::string_view::npos ? std::string_view() : text.substr(i + 1, close - i - 1);
      // Allow `{ name }` as well as `{name}`.
      while (!inner.empty() && inner.front() == ' ') inner.remove_prefix(1);
      while (!inner.empty() && inner.back() == ' ') inner.remove_suffix(1);
      if (close != std::string_view::npos && is_name(inner)) {
        on_name(inner);
        i = close + 1;
      } else {
        on_text(text.substr(i, 1));
        ++i;
      }
    } else {
      size_t j = i + 1;
      while (j < text.size() && text[j] != '{' && text[j] != '}') ++j;
      on_text(text.substr(i, j - i));
      i = j;
    }
  }
}

}  // namespace

Result<Expr> parse_expr(std::string_view text) {
  Result<std::vector<Token>> tokens = tokenize(text);
  if (!tokens) return tokens.error();
  Expr e;
  e.text_ = std::string(text);
  Parser parser(text, std::move(tokens).value(), e.vars_);
  Result<NodePtr> root = parser.parse();
  if (!root) return root.error();
  e.root_ = std::shared_ptr<const ExprNode>(std::move(root).value());
  return e;
}

Result<Json> eval(const Expr& e, const JsonObject& vars) {
  if (e.root_ == nullptr) {
    return make_error(ErrorCode::internal, "evaluating an empty condition");
  }
  return Evaluator(e.text_, vars).eval(*e.root_);
}

bool truthy(const Json& v) {
  switch (v.kind()) {
    case Json::Kind::null: return false;
    case Json::Kind::boolean: return v.as_bool();
    case Json::Kind::integer: return v.as_int() != 0;
    case Json::Kind::real: return v.as_double() != 0.0;
    case Json::Kind::string: return !v.as_string().empty();
    case Json::Kind::array: return !v.as_array().empty();
    case Json::Kind::object: return true;
  }
  return false;
}

Result<bool> eval_condition(const Expr& e, const JsonObject& vars) {
  Result<Json> v = eval(e, vars);
  if (!v) return v.error();
  return truthy(*v);
}

std::string render_template(std::string_view text, const JsonObject& vars) {
  std::string out;
  out.reserve(text.size());
  scan_template(
      text, [&](std::string_view literal) { out += literal; },
      [&](std::string_view name) {
        auto it = vars.find(name);
        append_value(out, it == vars.end() ? nullptr : &it->second);
      });
  return out;
}

std::set<std::string> template_variables(std::string_view text) {
  std::set<std::string> names;
  scan_template(
      text, [](std::string_view) {}, [&](std::string_view name) { names.emplace(name); });
  return names;
}

}  // namespace reglament
