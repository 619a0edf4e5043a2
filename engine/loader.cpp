// YAML -> drafts (loader_internal.h), then validation and assembly of the
// bundle. The only file that includes yaml-cpp: every yaml-cpp exception is
// caught here and becomes a problem with a place.
//
// yaml-cpp keeps duplicate mapping keys (its maps are lists of pairs), which
// lets us report them; marks are 0-based and count bytes, so they are turned
// into 1-based lines and character columns here.

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/parser.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "engine/expr.h"
#include "engine/indicators.h"
#include "engine/json.h"
#include "engine/loader.h"
#include "engine/loader_internal.h"
#include "engine/sha256.h"

namespace reglament {

using loader_detail::did_you_mean;
using loader_detail::display_name;
using loader_detail::ProcessDraft;
using loader_detail::quote;
using loader_detail::Read;
using loader_detail::Ref;
using loader_detail::StepDraft;

namespace {

constexpr int kMaxDepth = 64;
// Aliases can make a small text expand into a huge tree; stop walking there.
constexpr size_t kMaxNodes = 100000;
// ... and of text in its scalars, counted the same way: an alias repeating a
// long scalar costs its length each time it is read.
constexpr size_t kMaxScalarBytes = size_t{8} << 20;

bool is_continuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

bool has_suffix(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

bool is_yaml_path(std::string_view path) { return has_suffix(path, ".yaml") || has_suffix(path, ".yml"); }

// One YAML file being read: its name for messages and its lines, to turn
// yaml-cpp's byte columns into character columns.
class Doc {
 public:
  Doc(std::string path, std::string file, const std::string& text)
      : path_(std::move(path)), file_(std::move(file)), text_(text.data()) {
    // yaml-cpp skips a UTF-8 byte order mark and counts line 1's columns
    // after it, as editors show them; so do we.
    size_t start = text.rfind("\xEF\xBB\xBF", 0) == 0 ? 3 : 0;
    while (start <= text.size()) {
      size_t end = text.find('\n', start);
      if (end == std::string::npos) end = text.size();
      lines_.push_back(std::string_view(text).substr(start, end - start));
      start = end + 1;
    }
  }

  const std::string& path() const { return path_; }
  const std::string& file() const { return file_; }

  Location at(int line, int byte_column) const {
    if (line < 0) return Location{file_, 0, 0};
    int column = byte_column + 1;
    if (line < static_cast<int>(lines_.size())) {
      std::string_view l = lines_[line];
      column = 1;
      for (int i = 0; i < byte_column && i < static_cast<int>(l.size()); ++i) {
        if (!is_continuation(l[i])) ++column;
      }
    }
    return Location{file_, line + 1, column};
  }
  Location at(const YAML::Mark& m) const { return at(m.line, m.column); }
  // The place of byte `offset` of the text.
  Location at_offset(size_t offset) const {
    int line = 0;
    while (line + 1 < static_cast<int>(lines_.size()) &&
           static_cast<size_t>(lines_[line + 1].data() - text_) <= offset) {
      ++line;
    }
    return at(line, static_cast<int>(offset - (lines_[line].data() - text_)));
  }
  Location at(const YAML::Node& n) const { return at(n.Mark()); }
  Location start() const { return Location{file_, 1, 1}; }
  // Whether 0-based `line` is indented with a tab (YAML indents with spaces).
  bool tab_indented(int line) const {
    if (line < 0 || line >= static_cast<int>(lines_.size())) return false;
    std::string_view l = lines_[line];
    return l.substr(0, l.find_first_not_of(" \t")).find('\t') != std::string_view::npos;
  }

  // Whether a quoted scalar starting at `m` has its closing quote. yaml-cpp
  // 0.7 ends a quoted scalar at the end of the file without a word, so a
  // forgotten quote swallows the rest of the file.
  bool quote_closed(const YAML::Mark& m) const {
    if (m.line < 0 || m.line >= static_cast<int>(lines_.size())) return true;
    const char* end = lines_.back().data() + lines_.back().size();
    const char* p = lines_[m.line].data() + m.column;
    if (p >= end || (*p != '"' && *p != '\'')) return true;
    const char q = *p++;
    for (; p < end; ++p) {
      if (q == '"' && *p == '\\') {
        ++p;  // an escaped character, whatever it is
      } else if (*p == q) {
        if (q == '\'' && p + 1 < end && p[1] == '\'') {
          ++p;  // '' is a quote inside single quotes
        } else {
          return true;
        }
      }
    }
    return false;
  }

  // The place of byte `offset` of a scalar's value, when the value is written
  // on one line exactly as it reads (plain, or quoted without escapes);
  // otherwise the place of the scalar itself.
  Location inside(const YAML::Node& scalar, size_t offset) const {
    YAML::Mark m = scalar.Mark();
    if (m.line < 0 || m.line >= static_cast<int>(lines_.size()) || !scalar.IsScalar()) {
      return at(scalar);
    }
    const std::string& value = scalar.Scalar();
    std::string_view l = lines_[m.line];
    size_t begin = static_cast<size_t>(m.column);
    if (begin < l.size() && (l[begin] == '"' || l[begin] == '\'')) ++begin;
    if (begin > l.size() || l.substr(begin, value.size()) != value || offset > value.size()) {
      return at(scalar);
    }
    return at(m.line, static_cast<int>(begin + offset));
  }

 private:
  std::string path_;
  std::string file_;
  const char* text_;
  std::vector<std::string_view> lines_;
};

// Byte offset of 1-based character column `column` in `text`.
size_t byte_offset(std::string_view text, int column) {
  size_t i = 0;
  for (int c = 1; c < column && i < text.size(); ++c) {
    ++i;
    while (i < text.size() && is_continuation(text[i])) ++i;
  }
  return i;
}

bool name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '.';
}

// Byte offset of `name` standing as a whole word in `text`, if it does.
std::optional<size_t> find_word(std::string_view text, std::string_view name) {
  for (size_t pos = text.find(name); pos != std::string_view::npos; pos = text.find(name, pos + 1)) {
    bool left = pos == 0 || !name_char(text[pos - 1]);
    size_t end = pos + name.size();
    bool right = end >= text.size() || !name_char(text[end]);
    if (left && right) return pos;
  }
  return std::nullopt;
}

bool valid_process_key(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

bool valid_field_name(std::string_view s) {
  if (s.empty() || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z'))) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) {
      return false;
    }
  }
  return true;
}

// Problems are collected here, each with its place.
class Reporter {
 public:
  explicit Reporter(std::vector<Error>& problems) : problems_(problems) {}
  void error(const Location& where, std::string message) {
    problems_.push_back(make_error(ErrorCode::invalid, std::move(message), where));
  }
  size_t count() const { return problems_.size(); }

 private:
  std::vector<Error>& problems_;
};

// Checks what yaml-cpp accepts but we do not: duplicate keys, non-text keys,
// deep nesting and alias bombs. Returns false when the tree is unusable.
class TreeChecker {
 public:
  // `check_text`: also refuse control characters in decoded text (see
  // clean()); off when a stored definition is reloaded, as in parse_file.
  TreeChecker(const Doc& doc, Reporter& out, bool check_text = false)
      : doc_(doc), out_(out), check_text_(check_text) {}

  bool check(const YAML::Node& root) {
    walk(root, 0, "");
    return !fatal_;
  }

 private:
  // `key`: the mapping key `n` is the value of ("" for a list item or the root).
  void walk(const YAML::Node& n, int depth, std::string_view key) {
    if (fatal_) return;
    if (++nodes_ > kMaxNodes) {
      out_.error(doc_.at(n), "the document is too large (more than " + std::to_string(kMaxNodes) +
                                 " nodes once aliases are expanded)");
      fatal_ = true;
      return;
    }
    if (depth > kMaxDepth) {
      out_.error(doc_.at(n), "the document is nested more than " + std::to_string(kMaxDepth) +
                                 " levels deep");
      fatal_ = true;
      return;
    }
    if (n.IsScalar() && !scalar_ok(n)) return;
    if (n.IsScalar()) clean(n, key, false);
    if (n.IsSequence()) {
      for (const auto& item : n) walk(item, depth + 1, key);
    } else if (n.IsMap()) {
      std::map<std::string, int> seen;  // key -> line
      for (const auto& kv : n) {
        const YAML::Node& key = kv.first;
        if (fatal_ || (key.IsScalar() && !scalar_ok(key))) return;
        if (!key.IsScalar()) {
          out_.error(doc_.at(key), "a mapping key must be text");
        } else {
          clean(key, "", true);
          auto [it, fresh] = seen.emplace(key.Scalar(), doc_.at(key).line);
          if (!fresh) {
            out_.error(doc_.at(key), "duplicate key " + quote(key.Scalar()) +
                                         "; it is already set at line " +
                                         std::to_string(it->second));
          }
        }
        walk(kv.second, depth + 1, key.IsScalar() ? std::string_view(key.Scalar()) : std::string_view());
      }
    }
  }

  // Escapes decode to characters the raw-text check never sees: "\e[31m",
  // "\u001b" or "\a" in a quoted title would reach every inbox and
  // terminal raw. A decoded scalar holds no control character; tab and line
  // feed only in multi-line text, never in a key or in a value that is shown
  // on one line (an id, a title, a name).
  void clean(const YAML::Node& scalar, std::string_view key, bool is_key) {
    if (!check_text_) return;
    static const std::set<std::string_view, std::less<>> kOneLine = {
        "id", "title", "name", "process", "section", "owner", "actor", "form", "login", "key", "label"};
    const bool multi_line = !is_key && !kOneLine.count(key);
    auto bad = loader_detail::find_control(scalar.Scalar(), multi_line);
    if (!bad) return;
    std::string where = is_key ? "a key" : key.empty() ? "a value" : "the value of " + quote(key);
    out_.error(doc_.inside(scalar, bad->offset),
               bad->message + " in " + where +
                   (multi_line ? "; only tab and line feed may stand in text"
                               : "; such text stands on one line: no tab, line break or other control character"));
  }

  // A scalar (value or key) within the text limit and, when quoted, closed.
  bool scalar_ok(const YAML::Node& scalar) { return count_text(scalar) && closed(scalar); }

  // False (reported) for a quoted scalar that runs to the end of the file.
  bool closed(const YAML::Node& scalar) {
    // An alias is its anchor's node, with its mark: each quote is looked at once.
    if (scalar.Tag() != "!" || !quotes_seen_.insert(scalar.Mark().pos).second) return true;
    if (doc_.quote_closed(scalar.Mark())) return true;
    out_.error(doc_.at(scalar),
               "YAML syntax error: the quoted text that starts here is never closed, so it runs to the end of "
               "the file; add the closing quote");
    fatal_ = true;
    return false;
  }

  // Adds a scalar's length to the text read so far; false (reported) past
  // the limit.
  bool count_text(const YAML::Node& scalar) {
    if ((scalar_bytes_ += scalar.Scalar().size()) <= kMaxScalarBytes) return true;
    out_.error(doc_.at(scalar), "the document is too large (more than " +
                                    std::to_string(kMaxScalarBytes >> 20) +
                                    " MiB of text once aliases are expanded)");
    fatal_ = true;
    return false;
  }

  const Doc& doc_;
  Reporter& out_;
  size_t nodes_ = 0;
  size_t scalar_bytes_ = 0;
  std::set<int> quotes_seen_;  // marks (byte offsets) of the quoted scalars checked
  bool fatal_ = false;
  bool check_text_ = false;
};

// The keys of one mapping, read with type checks. Unknown keys are reported
// when the reader is made; a duplicate key (reported by TreeChecker) reads
// as its first occurrence.
class MapReader {
 public:
  MapReader(const Doc& doc, Reporter& out, const YAML::Node& map, std::string thing,
            const std::vector<std::string>& known)
      : doc_(doc), out_(out), map_(map), thing_(std::move(thing)) {
    for (const auto& kv : map) {
      if (!kv.first.IsScalar()) continue;
      const std::string& k = kv.first.Scalar();
      if (std::find(known.begin(), known.end(), k) == known.end()) {
        out_.error(doc_.at(kv.first),
                   "unknown key " + quote(k) + " in " + thing_ + did_you_mean(k, known));
        continue;
      }
      entries_.emplace(k, std::make_pair(kv.first, kv.second));
    }
  }

  const std::string& thing() const { return thing_; }

  bool has(const std::string& key) const { return entries_.count(key) > 0; }
  // REQUIRES: has(key)
  const YAML::Node& key(const std::string& k) const { return entries_.at(k).first; }
  const YAML::Node& value(const std::string& k) const { return entries_.at(k).second; }
  // The place of the value, or of its key when the value is empty.
  Location value_at(const std::string& k) const {
    const auto& [key, value] = entries_.at(k);
    return value.IsNull() ? doc_.at(key) : doc_.at(value);
  }

  // Present and not null.
  bool given(const std::string& k) const { return has(k) && !value(k).IsNull(); }

  void missing(const std::string& k) const {
    out_.error(doc_.at(map_), "missing required key " + quote(k) + " in " + thing_);
  }

  // A scalar read as text. Absent or null: nullopt, reported when required.
  std::optional<std::string> text(const std::string& k, bool required = false) const {
    if (!given(k)) {
      if (required) missing(k);
      return std::nullopt;
    }
    const YAML::Node& v = value(k);
    if (!v.IsScalar()) {
      out_.error(doc_.at(v), k + " of " + thing_ + " must be text");
      return std::nullopt;
    }
    return v.Scalar();
  }

  // A plain true/false.
  std::optional<bool> boolean(const std::string& k) const {
    if (!given(k)) return std::nullopt;
    const YAML::Node& v = value(k);
    if (v.IsScalar() && v.Tag() == "?") {
      const std::string& s = v.Scalar();
      if (s == "true" || s == "True" || s == "TRUE") return true;
      if (s == "false" || s == "False" || s == "FALSE") return false;
    }
    out_.error(doc_.at(v), k + " of " + thing_ + " must be true or false");
    return std::nullopt;
  }

  // A list (sequence); reported when something else is there.
  std::optional<YAML::Node> list(const std::string& k, bool required = false) const {
    if (!given(k)) {
      if (required) missing(k);
      return std::nullopt;
    }
    if (!value(k).IsSequence()) {
      out_.error(doc_.at(value(k)), k + " of " + thing_ + " must be a list");
      return std::nullopt;
    }
    return value(k);
  }

  std::optional<YAML::Node> mapping(const std::string& k, bool required = false) const {
    if (!given(k)) {
      if (required) missing(k);
      return std::nullopt;
    }
    if (!value(k).IsMap()) {
      out_.error(doc_.at(value(k)), k + " of " + thing_ + " must be a mapping");
      return std::nullopt;
    }
    return value(k);
  }

  // A scalar as a Ref with its place.
  Ref ref(const std::string& k, bool required = false) const {
    auto t = text(k, required);
    if (!t) return Ref{};
    return Ref{*t, doc_.at(value(k))};
  }

 private:
  const Doc& doc_;
  Reporter& out_;
  YAML::Node map_;
  std::string thing_;
  std::map<std::string, std::pair<YAML::Node, YAML::Node>> entries_;
};

// `prefix "value"` when `map` has a text `key`, else `fallback`: names a
// step, form or person in messages before its keys are read.
std::string name_of(const YAML::Node& map, const char* key, const std::string& prefix,
                    const std::string& fallback) {
  for (const auto& kv : map) {
    if (kv.first.IsScalar() && kv.first.Scalar() == key && kv.second.IsScalar()) {
      return prefix + " " + quote(kv.second.Scalar());
    }
  }
  return fallback;
}

// YAML -> Json for `with:`: every scalar stays text, as written; `~` is null.
Json to_json(const YAML::Node& n) {
  if (n.IsScalar()) return Json(n.Scalar());
  if (n.IsSequence()) {
    Json a = Json::array();
    for (const auto& item : n) a.push_back(to_json(item));
    return a;
  }
  if (n.IsMap()) {
    Json o = Json::object();
    for (const auto& kv : n) {
      if (kv.first.IsScalar() && !o.has(kv.first.Scalar())) o[kv.first.Scalar()] = to_json(kv.second);
    }
    return o;
  }
  return Json(nullptr);
}

const std::vector<std::string> kFieldKeys = {"type",    "title",       "required", "default",
                                             "options", "description", "min",      "max"};
const std::vector<std::string> kFormFieldKeys = {"name",    "type",        "title", "required", "default",
                                                 "options", "description", "min",   "max"};
const std::vector<std::string> kProcessKeys = {"process",   "title", "section",  "owner", "description",
                                               "variables", "steps", "priority", "start"};
const std::vector<std::string> kStepKeys = {"id",   "title",    "actor",    "sign", "description", "instructions",
                                            "form", "do",       "with",     "next", "join",        "deadline",
                                            "escalate", "wait", "priority", "retry", "on_enter", "call"};
const std::vector<std::string> kRetryKeys = {"max", "backoff"};
const std::vector<std::string> kOnEnterKeys = {"do", "with", "retry"};
const std::vector<std::string> kCallKeys = {"process", "wait", "outputs"};
const std::vector<std::string> kBranchKeys = {"if", "goto", "else", "wait"};
const std::vector<std::string> kWaitKeys = {"for", "until", "window"};
const std::vector<std::string> kDeadlineKeys = {"within", "calendar", "at"};
const std::vector<std::string> kEscalationKeys = {"notify", "text", "reassign", "priority", "goto"};
const std::vector<std::string> kPriorityRuleKeys = {"if", "then", "else"};
const std::vector<std::string> kScheduleKeys = {"every", "on", "at", "window", "variables"};
const std::vector<std::string> kPriorityNames = {"low", "normal", "high", "urgent"};
const std::vector<std::string> kWeekdayNames = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
const std::vector<std::string> kFormKeys = {"form", "title", "description", "fields"};
const std::vector<std::string> kOrgKeys = {"roles", "people", "access"};
const std::vector<std::string> kAccessKeys = {"identity", "admin", "auditors", "clients"};
const std::vector<std::string> kRoleKeys = {"title", "description"};
const std::vector<std::string> kPersonKeys = {"login", "name", "roles", "os_login"};
const std::vector<std::string> kTopKeys = {"process", "form", "roles", "indicators", "calendar"};

// "HH:MM" -> seconds since midnight.
std::optional<int64_t> parse_clock(std::string_view t) {
  if (t.size() != 5 || t[2] != ':') return std::nullopt;
  for (size_t i : {0u, 1u, 3u, 4u})
    if (t[i] < '0' || t[i] > '9') return std::nullopt;
  int h = (t[0] - '0') * 10 + (t[1] - '0');
  int m = (t[3] - '0') * 10 + (t[4] - '0');
  if (h > 23 || m > 59) return std::nullopt;
  return static_cast<int64_t>(h) * 3600 + m * 60;
}

// Parses one YAML file's content into model values, reporting problems.
class FileParser {
 public:
  FileParser(const Doc& doc, Reporter& out) : doc_(doc), out_(out) {}

  // A field spec: a variable (`name` given, from the mapping key) or a form
  // field (`name` read from the spec).
  std::optional<Field> field(const YAML::Node& spec, std::optional<Ref> name, const std::string& owner) {
    Field f;
    std::string thing;
    if (name) {
      f.name = name->name;
      f.where = name->where;
      thing = "variable " + quote(f.name) + " of " + owner;
      if (spec.IsNull()) {
        check_name(f, thing);
        return f;
      }
    } else {
      f.where = doc_.at(spec);
      thing = "a field of " + owner;
    }
    if (!spec.IsMap()) {
      out_.error(doc_.at(spec), thing + " must be a mapping");
      return std::nullopt;
    }
    if (!name) thing = name_of(spec, "name", "field", "a field") + " of " + owner;
    MapReader r(doc_, out_, spec, thing, name ? kFieldKeys : kFormFieldKeys);
    if (!name) {
      auto n = r.text("name", true);
      if (!n) return std::nullopt;
      f.name = *n;
    }
    check_name(f, thing);
    f.title = r.text("title").value_or("");
    f.required = r.boolean("required").value_or(false);
    if (auto t = r.text("type")) {
      if (auto vt = parse_value_type(*t)) {
        f.type = *vt;
      } else {
        std::vector<std::string> types = {"text", "number", "bool", "date", "datetime", "choice"};
        // Reported, and kept as text: the field still names a variable, so
        // conditions reading it are not reported as well.
        out_.error(r.value_at("type"),
                   "unknown type " + quote(*t) + " of " + thing + did_you_mean(*t, types));
      }
    }
    r.text("description");
    if (auto opts = r.list("options")) {
      if (f.type != ValueType::choice) {
        out_.error(doc_.at(r.key("options")), thing + " has options but is not a choice");
      }
      for (const auto& o : *opts) {
        if (!o.IsScalar()) {
          out_.error(doc_.at(o), "options of " + thing + " must be a list of text");
          continue;
        }
        f.options.push_back(o.Scalar());
      }
    }
    bool choice_ok = true;
    if (f.type == ValueType::choice && f.options.empty()) {
      out_.error(doc_.at(spec), thing + " is a choice and needs options");
      choice_ok = false;
    }
    // min/max before the default, which must lie within them.
    for (const char* bound : {"min", "max"}) {
      if (!r.given(bound)) continue;
      const YAML::Node& b = r.value(bound);
      const std::string what = std::string(bound) + " of " + thing;
      if (f.type != ValueType::number && f.type != ValueType::date && f.type != ValueType::datetime) {
        out_.error(doc_.at(r.key(bound)), thing + " has " + bound + " but is not a number, date or datetime");
        continue;
      }
      if (!b.IsScalar() || b.Scalar().empty()) {
        out_.error(doc_.at(b), what + " must be a single " + std::string(to_string(f.type)));
        continue;
      }
      Field plain = f;  // without bounds: a bound is checked against the type only
      plain.required = true;
      plain.min.reset();
      plain.max.reset();
      auto v = parse_field_value(plain, b.Scalar());
      if (!v.ok()) {
        out_.error(doc_.at(b), std::string(bound) + " of " + v.error().message);
        continue;
      }
      (std::string_view(bound) == "min" ? f.min : f.max) = *v;
    }
    if (f.min && f.max) {
      // The bounds checked as a value: max below min is refused like a value would be.
      Field lower = f;
      lower.max.reset();
      if (!check_field_value(lower, *f.max).ok()) {
        out_.error(doc_.at(r.value("max")), "max of " + thing + " is below its min");
        f.max.reset();
      }
    }
    if (r.given("default")) {
      const YAML::Node& d = r.value("default");
      if (!d.IsScalar()) {
        out_.error(doc_.at(d), "default of " + thing + " must be a single value");
      } else if (choice_ok) {
        Field loose = f;
        loose.required = false;  // an empty default is the same as none
        auto v = parse_field_value(loose, d.Scalar());
        if (v.ok()) {
          if (!v->is_null()) f.default_value = *v;
        } else {
          out_.error(doc_.at(d), "default of " + v.error().message);
        }
      }
    }
    return f;
  }

  std::optional<Form> form(const YAML::Node& root) {
    Form form;
    form.where = doc_.at(root);
    MapReader r(doc_, out_, root, name_of(root, "form", "form", "the form"), kFormKeys);
    auto key = r.text("form", true);
    if (key) {
      form.key = *key;
      form.where = r.value_at("form");
    }
    form.title = r.text("title", true).value_or("");
    r.text("description");
    if (auto fields = r.list("fields", true)) {
      if (fields->size() == 0) out_.error(doc_.at(*fields), "fields of " + r.thing() + " must not be empty");
      std::set<std::string> names;
      for (const auto& spec : *fields) {
        auto f = field(spec, std::nullopt, r.thing());
        if (!f) continue;
        if (!names.insert(f->name).second) {
          out_.error(f->where, "duplicate field " + quote(f->name) + " in " + r.thing());
          continue;
        }
        form.fields.push_back(std::move(*f));
      }
    }
    if (!key) return std::nullopt;
    return form;
  }

  Org org(const YAML::Node& root) {
    Org org;
    MapReader r(doc_, out_, root, "the org file", kOrgKeys);
    if (auto roles = r.mapping("roles", true)) {
      for (const auto& kv : *roles) {
        if (!kv.first.IsScalar()) continue;
        Role role;
        role.key = kv.first.Scalar();
        std::string thing = "role " + quote(role.key);
        if (org.role(role.key) != nullptr) continue;  // a duplicate key, reported already
        if (!kv.second.IsMap()) {
          out_.error(kv.second.IsNull() ? doc_.at(kv.first) : doc_.at(kv.second),
                     thing + " must be a mapping with a title");
        } else {
          MapReader rr(doc_, out_, kv.second, thing, kRoleKeys);
          role.title = rr.text("title", true).value_or("");
          rr.text("description");
        }
        org.roles.push_back(std::move(role));
      }
    }
    std::vector<std::string> role_keys;
    for (const auto& role : org.roles) role_keys.push_back(role.key);
    if (auto people = r.list("people", true)) {
      for (const auto& item : *people) {
        if (!item.IsMap()) {
          out_.error(doc_.at(item), "each person in the org file must be a mapping");
          continue;
        }
        MapReader pr(doc_, out_, item, name_of(item, "login", "person", "a person"), kPersonKeys);
        Person p;
        auto login = pr.text("login", true);
        if (login) p.login = *login;
        p.name = pr.text("name", true).value_or("");
        for (const Ref& role : refs(pr, "roles", true, "a role or a list of roles")) {
          if (org.role(role.name) == nullptr) {
            out_.error(role.where, "unknown role " + quote(role.name) + did_you_mean(role.name, role_keys));
          }
          p.roles.push_back(role.name);
        }
        for (const Ref& os : refs(pr, "os_login", false, "an OS login or a list of them")) {
          if (const Person* other = person_by_os_login(org, os.name)) {
            out_.error(os.where, "OS login " + quote(os.name) + " is already " + quote(other->login) + "'s");
            continue;
          }
          p.os_logins.push_back(os.name);
        }
        if (!login) continue;
        if (org.person(p.login) != nullptr) {
          out_.error(pr.value_at("login"), "duplicate login " + quote(p.login));
          continue;
        }
        org.people.push_back(std::move(p));
      }
    }
    if (auto access = r.mapping("access")) access_of(*access, role_keys, org.access);
    return org;
  }

  // An OS login already claimed by someone: os_login: first, else the login itself.
  static const Person* person_by_os_login(const Org& org, const std::string& os) {
    for (const auto& p : org.people)
      for (const auto& o : p.os_logins)
        if (o == os) return &p;
    return nullptr;
  }

  void access_of(const YAML::Node& node, const std::vector<std::string>& role_keys, Access& a) {
    MapReader r(doc_, out_, node, "access", kAccessKeys);
    if (auto mode = r.text("identity")) {
      if (*mode == "os-login") {
        a.identity = IdentityMode::os_login;
      } else if (*mode == "asserted") {
        a.identity = IdentityMode::asserted;
      } else {
        out_.error(r.value_at("identity"),
                   "identity of access must be os-login or asserted, not " + quote(*mode));
      }
    }
    auto roles = [&](const std::string& k) {
      std::vector<std::string> out;
      for (const Ref& role : refs(r, k, false, "a role or a list of roles")) {
        if (std::find(role_keys.begin(), role_keys.end(), role.name) == role_keys.end()) {
          out_.error(role.where, "unknown role " + quote(role.name) + did_you_mean(role.name, role_keys));
          continue;
        }
        out.push_back(role.name);
      }
      return out;
    };
    a.admin = roles("admin");
    a.auditors = roles("auditors");
    if (r.given("clients")) a.clients = roles("clients");
  }

  std::optional<ProcessDraft> process(const YAML::Node& root) {
    ProcessDraft d;
    d.path = doc_.path();
    Process& p = d.process;
    p.file = doc_.file();
    MapReader r(doc_, out_, root, name_of(root, "process", "process", "the process"), kProcessKeys);
    auto key = r.text("process", true);
    if (key) {
      p.key = *key;
      if (!valid_process_key(p.key)) {
        out_.error(r.value_at("process"), "process key " + quote(p.key) +
                                              " must use only lowercase letters, digits and '-'");
      }
    }
    p.title = r.text("title", true).value_or("");
    p.section = r.text("section").value_or("");
    d.owner = r.ref("owner", true);
    p.owner = d.owner.name;
    p.description = r.text("description").value_or("");
    if (auto vars = r.mapping("variables")) {
      for (const auto& kv : *vars) {
        if (!kv.first.IsScalar()) continue;
        Ref name{kv.first.Scalar(), doc_.at(kv.first)};
        if (p.variable(name.name) != nullptr) continue;  // a duplicate key, reported already
        if (auto f = field(kv.second, name, r.thing())) p.variables.push_back(std::move(*f));
      }
    }
    if (r.given("priority")) p.priority = priority(r.value("priority"), r.thing(), d.reads);
    if (auto start = r.mapping("start")) p.schedule = schedule(*start, r.thing(), d);
    if (auto steps = r.list("steps", true)) {
      if (steps->size() == 0) out_.error(doc_.at(*steps), "steps of " + r.thing() + " must not be empty");
      std::set<std::string> ids;
      int number = 0;
      for (const auto& item : *steps) {
        ++number;
        Step step;
        StepDraft sd;
        if (!this->step(item, number, r.thing(), step, sd)) continue;
        if (!ids.insert(step.id).second) {
          out_.error(step.where, "duplicate step id " + quote(step.id) + " in " + r.thing());
        }
        p.steps.push_back(std::move(step));
        d.steps.push_back(std::move(sd));
      }
    }
    if (!key) return std::nullopt;
    return d;
  }

 private:
  void check_name(const Field& f, const std::string& thing) {
    if (valid_field_name(f.name)) return;
    out_.error(f.where, "the name of " + thing +
                            " must start with a letter and use only letters, digits and '_'");
  }

  // A scalar or a list of scalars, as Refs.
  std::vector<Ref> refs(const MapReader& r, const std::string& k, bool required, const std::string& what) {
    std::vector<Ref> out;
    if (!r.given(k)) {
      if (required) r.missing(k);
      return out;
    }
    const YAML::Node& v = r.value(k);
    if (v.IsScalar()) {
      out.push_back(Ref{v.Scalar(), doc_.at(v)});
      return out;
    }
    bool ok = v.IsSequence() && v.size() > 0;
    if (ok) {
      for (const auto& item : v) ok = ok && item.IsScalar();
    }
    if (!ok) {
      out_.error(doc_.at(v), k + " of " + r.thing() + " must be " + what);
      return out;
    }
    for (const auto& item : v) out.push_back(Ref{item.Scalar(), doc_.at(item)});
    return out;
  }

  bool step(const YAML::Node& item, int number, const std::string& process, Step& step, StepDraft& sd) {
    if (!item.IsMap()) {
      out_.error(doc_.at(item), "step #" + std::to_string(number) + " of " + process + " must be a mapping");
      return false;
    }
    step.where = doc_.at(item);
    MapReader r(doc_, out_, item,
                name_of(item, "id", "step", "step #" + std::to_string(number) + " of " + process),
                kStepKeys);
    auto id = r.text("id", true);
    if (!id) return false;
    step.id = *id;
    if (step.id == "end") {
      out_.error(r.value_at("id"), "step id \"end\" is reserved for the end of a path");
    } else if (step.id.empty()) {
      out_.error(r.value_at("id"), "step id must not be empty");
    }
    const std::string& thing = r.thing();
    step.title = r.text("title", true).value_or("");
    sd.actors = refs(r, "actor", true, "a role or a list of roles");
    for (const auto& a : sd.actors) step.actors.push_back(a.name);
    if (auto sign = r.text("sign")) {
      if (*sign == "all") {
        step.sign = Sign::all;
      } else if (*sign != "any") {
        out_.error(r.value_at("sign"), "sign of " + thing + " must be any or all");
      }
    }
    step.description = r.text("description").value_or("");
    sd.instructions = r.ref("instructions");
    step.instructions_path = sd.instructions.name;
    sd.form = r.ref("form");
    sd.handler = r.ref("do");
    step.handler = sd.handler.name;
    if (!sd.form.name.empty() && step.is_service()) {
      out_.error(doc_.at(r.key("form")), thing + " is a service step (do: " + step.handler +
                                             ") and cannot have a form");
    }
    if (r.given("call")) {
      step.call = call(r.value("call"), thing);
      if (!step.handler.empty()) out_.error(doc_.at(r.key("call")), thing + " has both do: and call:; a step does one");
      if (!sd.form.name.empty())
        out_.error(doc_.at(r.key("call")), thing + " calls a process and cannot have a form");
    }
    if (auto with = r.mapping("with")) {
      sd.with_where = doc_.at(*with);
      step.with = to_json(*with);
      if (!step.is_service()) {
        out_.error(doc_.at(r.key("with")), thing + " has with: but no do: or call:");
      }
      template_reads(*with, sd);
    }
    if (r.given("on_enter")) {
      if (step.is_service()) {
        out_.error(doc_.at(r.key("on_enter")),
                   thing + " is a service step; on_enter: belongs to a person's step (use do: alone)");
      } else if (!r.value("on_enter").IsMap()) {
        out_.error(doc_.at(r.value("on_enter")), "on_enter of " + thing + " must be a mapping with do: and with:");
      } else {
        MapReader e(doc_, out_, r.value("on_enter"), "on_enter of " + thing, kOnEnterKeys);
        sd.handler = e.ref("do");
        step.handler = sd.handler.name;
        if (step.handler.empty()) e.missing("do");
        step.on_enter = true;
        if (auto with = e.mapping("with")) {
          sd.with_where = doc_.at(*with);
          step.with = to_json(*with);
          template_reads(*with, sd);
        }
        if (e.given("retry")) step.retry = retry(e.value("retry"), "retry of on_enter of " + thing);
      }
    }
    if (r.given("retry")) {
      if (step.handler.empty() || step.on_enter) {
        out_.error(doc_.at(r.key("retry")), thing + " has retry: but no do: to retry");
      } else {
        step.retry = retry(r.value("retry"), "retry of " + thing);
      }
    }
    if (auto join = r.text("join")) {
      sd.join_where = r.value_at("join");
      if (*join == "all") {
        step.join = true;
      } else {
        out_.error(r.value_at("join"), "join of " + thing + " must be all");
      }
    }
    if (r.given("wait")) step.wait = wait(r.value("wait"), "wait of " + thing, sd);
    if (r.given("priority")) step.priority = priority(r.value("priority"), thing, sd.reads);
    if (r.given("deadline")) {
      sd.deadline_where = doc_.at(r.key("deadline"));
      step.deadline = deadline(r.value("deadline"), thing, sd);
      if (step.is_service()) {
        out_.error(sd.deadline_where, thing + " is a service step (do: " + step.handler +
                                          ") and cannot have a deadline; only a person's task falls due");
      }
    }
    if (auto esc = r.list("escalate")) {
      sd.escalate_where = doc_.at(r.key("escalate"));
      if (!r.given("deadline")) {
        out_.error(sd.escalate_where, thing + " has escalate: but no deadline: to trigger it");
      }
      for (const auto& item : *esc) {
        if (auto e = escalation(item, thing, sd)) step.escalate.push_back(std::move(*e));
      }
    }
    if (!r.given("next")) {
      r.missing("next");
    } else {
      next(r.value("next"), thing, step, sd);
    }
    return true;
  }

  // `retry: 3` or `retry: {max: 3, backoff: 30s}`.
  Retry retry(const YAML::Node& n, const std::string& what) {
    Retry out;
    auto count = [&](const YAML::Node& v) {
      int k = -1;
      if (v.IsScalar()) {
        try {
          size_t used = 0;
          k = std::stoi(v.Scalar(), &used);
          if (used != v.Scalar().size()) k = -1;
        } catch (const std::exception&) {
          k = -1;
        }
      }
      if (k < 0 || k > 100) {
        out_.error(doc_.at(v), what + " must be a number of retries from 0 to 100");
        return;
      }
      out.max = k;
    };
    if (n.IsScalar()) {
      count(n);
      return out;
    }
    if (!n.IsMap()) {
      out_.error(doc_.at(n), what + " must be a number of retries or a mapping with max: and backoff:");
      return out;
    }
    MapReader r(doc_, out_, n, what, kRetryKeys);
    if (r.given("max")) count(r.value("max"));
    if (r.given("backoff")) {
      auto d = parse_duration(r.value("backoff").IsScalar() ? r.value("backoff").Scalar() : std::string());
      if (!d.ok() || *d <= 0) {
        out_.error(r.value_at("backoff"), "backoff of " + what + " must be a duration such as 30s, 5m or 1h");
      } else {
        out.backoff_seconds = *d;
      }
    }
    return out;
  }

  // `call: PROCESS` or `call: {process: PROCESS, wait: true, outputs: [var, ...]}`.
  std::optional<Call> call(const YAML::Node& n, const std::string& what) {
    Call c;
    c.where = doc_.at(n);
    if (n.IsScalar()) {
      c.process = n.Scalar();
    } else if (n.IsMap()) {
      MapReader r(doc_, out_, n, "call of " + what, kCallKeys);
      c.process = r.text("process", true).value_or("");
      c.wait = r.boolean("wait").value_or(false);
      if (auto outs = r.list("outputs")) {
        for (const auto& o : *outs) {
          if (!o.IsScalar() || !valid_field_name(o.Scalar())) {
            out_.error(doc_.at(o), "outputs of call of " + what + " must name variables");
            continue;
          }
          c.outputs.push_back(o.Scalar());
        }
        if (!c.wait && !c.outputs.empty())
          out_.error(doc_.at(r.key("outputs")), "call of " + what + " has outputs: but does not wait: for the process to end");
      }
    } else {
      out_.error(doc_.at(n), "call of " + what + " must be a process key or a mapping with process:");
      return std::nullopt;
    }
    if (c.process.empty()) {
      out_.error(doc_.at(n), "call of " + what + " must name a process");
      return std::nullopt;
    }
    return c;
  }

  // A duration: `24h`, `2d`, `8 working hours`, `1 working day`.
  std::optional<Span> span(const YAML::Node& n, const std::string& what) {
    if (!n.IsScalar()) {
      out_.error(doc_.at(n), what + " must be a duration such as 24h, 2d or 8 working hours");
      return std::nullopt;
    }
    auto sp = parse_span(n.Scalar());
    if (!sp.ok()) {
      out_.error(doc_.at(n), what + ": " + sp.error().message);
      return std::nullopt;
    }
    return *sp;
  }

  // A variable that holds a moment, read by wait/deadline.
  std::optional<std::string> moment_variable(const YAML::Node& n, const std::string& what,
                                             const char* kind, std::vector<Read>& reads) {
    if (!n.IsScalar() || !valid_field_name(n.Scalar())) {
      out_.error(doc_.at(n), what + " must name a date or datetime variable");
      return std::nullopt;
    }
    Read read{n.Scalar(), doc_.at(n), false, kind, true};
    reads.push_back(std::move(read));
    return n.Scalar();
  }

  // `wait: 2d` or `wait: {for: ..., until: var, window: name}`.
  std::optional<Wait> wait(const YAML::Node& n, const std::string& what, StepDraft& sd) {
    Wait w;
    w.where = doc_.at(n);
    if (n.IsScalar()) {
      w.span = span(n, what);
      if (!w.span) return std::nullopt;
      return w;
    }
    if (!n.IsMap()) {
      out_.error(doc_.at(n), what + " must be a duration or a mapping with for:, until: or window:");
      return std::nullopt;
    }
    MapReader r(doc_, out_, n, what, kWaitKeys);
    if (r.given("for")) w.span = span(r.value("for"), "for of " + what);
    if (r.given("until")) w.until = moment_variable(r.value("until"), "until of " + what, "wait", sd.reads).value_or("");
    if (auto win = r.ref("window"); !win.name.empty()) {
      w.window = win.name;
      sd.windows.push_back(win);
    }
    if (!r.given("for") && !r.given("until") && !r.given("window")) {
      out_.error(doc_.at(n), what + " needs for:, until: or window:");
      return std::nullopt;
    }
    if (r.given("for") && r.given("until")) {
      out_.error(doc_.at(r.key("until")), what + " has both for: and until:; give one of them");
    }
    return w;
  }

  // `deadline: 24h` or `{within: 24h, calendar: working|calendar}` or `{at: var}`.
  std::optional<Deadline> deadline(const YAML::Node& n, const std::string& thing, StepDraft& sd) {
    Deadline dl;
    dl.where = doc_.at(n);
    const std::string what = "deadline of " + thing;
    if (n.IsScalar()) {
      dl.span = span(n, what);
      if (!dl.span) return std::nullopt;
      return dl;
    }
    if (!n.IsMap()) {
      out_.error(doc_.at(n), what + " must be a duration or a mapping with within: or at:");
      return std::nullopt;
    }
    MapReader r(doc_, out_, n, what, kDeadlineKeys);
    if (r.given("within")) dl.span = span(r.value("within"), "within of " + what);
    if (r.given("at")) dl.at = moment_variable(r.value("at"), "at of " + what, "deadline", sd.reads).value_or("");
    if (r.given("within") == r.given("at")) {
      out_.error(doc_.at(n), what + " needs exactly one of within: or at:");
      return std::nullopt;
    }
    if (auto cal = r.text("calendar")) {
      if (*cal != "working" && *cal != "calendar") {
        out_.error(r.value_at("calendar"), "calendar of " + what + " must be working or calendar");
      } else if (!r.given("within")) {
        out_.error(r.value_at("calendar"), "calendar of " + what + " applies to within:, not to at:");
      } else if (dl.span && *cal == "working" && dl.span->unit == Span::Unit::seconds) {
        dl.span->unit = Span::Unit::working_seconds;  // `{within: 24h, calendar: working}`
      } else if (dl.span && *cal == "calendar" && dl.span->working()) {
        out_.error(r.value_at("calendar"), what + " says calendar: calendar but within: is working time");
      }
    }
    if (!dl.span && dl.at.empty()) return std::nullopt;
    return dl;
  }

  std::optional<Priority> priority_level(const YAML::Node& n, const std::string& what) {
    if (n.IsScalar()) {
      if (auto p = parse_priority(n.Scalar())) return p;
      out_.error(doc_.at(n), what + " must be low, normal, high or urgent" +
                                 did_you_mean(n.Scalar(), kPriorityNames));
      return std::nullopt;
    }
    out_.error(doc_.at(n), what + " must be low, normal, high or urgent");
    return std::nullopt;
  }

  // `priority: high` or `[{if: vip, then: high}, {else: normal}]`.
  std::vector<PriorityRule> priority(const YAML::Node& n, const std::string& thing, std::vector<Read>& reads) {
    std::vector<PriorityRule> rules;
    const std::string what = "priority of " + thing;
    if (!n.IsSequence()) {
      if (auto level = priority_level(n, what)) rules.push_back(PriorityRule{std::nullopt, *level, doc_.at(n)});
      return rules;
    }
    size_t index = 0;
    for (const auto& item : n) {
      ++index;
      if (!item.IsMap()) {
        out_.error(doc_.at(item), "each rule of " + what + " must be {if: ..., then: LEVEL} or {else: LEVEL}");
        continue;
      }
      MapReader r(doc_, out_, item, "a rule of " + what, kPriorityRuleKeys);
      PriorityRule rule;
      rule.where = doc_.at(item);
      if (r.has("else")) {
        if (r.has("if") || r.has("then")) out_.error(rule.where, "a rule of " + what + " has else together with if or then");
        if (index != n.size()) out_.error(doc_.at(r.key("else")), "the else rule of " + what + " must be the last one");
        if (!r.given("else")) {
          r.missing("else");
          continue;
        }
        if (auto level = priority_level(r.value("else"), "else of " + what)) rule.level = *level;
        rules.push_back(std::move(rule));
        continue;
      }
      if (!r.given("then")) {
        r.missing("then");
        continue;
      }
      auto level = priority_level(r.value("then"), "then of " + what);
      StepDraft tmp;
      auto cond = condition(r, what, tmp);
      for (auto& rd : tmp.reads) reads.push_back(std::move(rd));
      if (!level) continue;
      rule.level = *level;
      rule.condition = cond ? std::move(*cond) : Expr();
      rules.push_back(std::move(rule));
    }
    return rules;
  }

  // One action of escalate:.
  std::optional<Escalation> escalation(const YAML::Node& n, const std::string& thing, StepDraft& sd) {
    const std::string what = "an action of escalate: of " + thing;
    if (!n.IsMap()) {
      out_.error(doc_.at(n), what + " must be a mapping: {notify: ROLE}, {reassign: ROLE}, {priority: LEVEL} or {goto: STEP}");
      return std::nullopt;
    }
    MapReader r(doc_, out_, n, what, kEscalationKeys);
    Escalation e;
    e.where = doc_.at(n);
    int kinds = 0;
    for (const char* k : {"notify", "reassign", "priority", "goto"}) kinds += r.has(k) ? 1 : 0;
    if (kinds != 1) {
      out_.error(e.where, what + " must have exactly one of notify:, reassign:, priority: or goto:");
      return std::nullopt;
    }
    if (r.has("text") && !r.has("notify")) out_.error(doc_.at(r.key("text")), "text: of " + what + " belongs with notify:");
    if (r.has("notify") || r.has("reassign")) {
      const std::string key = r.has("notify") ? "notify" : "reassign";
      e.kind = key == "notify" ? Escalation::Kind::notify : Escalation::Kind::reassign;
      Ref role = r.ref(key, true);
      if (role.name.empty()) return std::nullopt;
      e.role = role.name;
      sd.escalation_roles.push_back(role);
      if (auto text = r.text("text")) {
        e.text = *text;
        // Besides the instance's variables, the text may name the task:
        // {task}, {step}, {title}, {due}.
        StepDraft tmp;
        template_reads(r.value("text"), tmp);
        for (auto& rd : tmp.reads)
          if (rd.name != "task" && rd.name != "step" && rd.name != "title" && rd.name != "due")
            sd.reads.push_back(std::move(rd));
      }
      return e;
    }
    if (r.has("priority")) {
      e.kind = Escalation::Kind::priority;
      auto level = priority_level(r.value("priority"), "priority of " + what);
      if (!level) return std::nullopt;
      e.level = *level;
      return e;
    }
    e.kind = Escalation::Kind::go;
    if (!r.given("goto")) {
      r.missing("goto");
      return std::nullopt;
    }
    auto t = target(r.value("goto"), "goto of " + what);
    if (!t) return std::nullopt;
    e.target = t->name;
    sd.targets.push_back(*t);
    return e;
  }

  // `start: {every: week, on: fri, at: "14:00" | window: review, variables: {...}}`.
  std::optional<Schedule> schedule(const YAML::Node& n, const std::string& thing, ProcessDraft& d) {
    const std::string what = "start of " + thing;
    MapReader r(doc_, out_, n, what, kScheduleKeys);
    Schedule s;
    s.where = doc_.at(n);
    bool ok = true;
    auto every = r.text("every", true);
    if (!every) return std::nullopt;
    if (*every == "day") {
      s.every = Schedule::Every::day;
    } else if (*every == "working day" || *every == "working_day") {
      s.every = Schedule::Every::working_day;
    } else if (*every == "week") {
      s.every = Schedule::Every::week;
    } else {
      out_.error(r.value_at("every"), "every of " + what + " must be day, working day or week" +
                                          did_you_mean(*every, {"day", "working day", "week"}));
      ok = false;
    }
    if (auto on = r.text("on")) {
      auto it = std::find(kWeekdayNames.begin(), kWeekdayNames.end(), *on);
      if (it == kWeekdayNames.end()) {
        out_.error(r.value_at("on"), "on of " + what + " must be a weekday: mon, tue, wed, thu, fri, sat or sun" +
                                         did_you_mean(*on, kWeekdayNames));
        ok = false;
      } else {
        s.weekday = static_cast<int>(it - kWeekdayNames.begin()) + 1;
      }
      if (s.every != Schedule::Every::week) out_.error(r.value_at("on"), "on: of " + what + " is for every: week");
    } else if (ok && s.every == Schedule::Every::week) {
      r.missing("on");
      ok = false;
    }
    if (auto at = r.text("at")) {
      if (auto sec = parse_clock(*at)) {
        s.at = *sec;
      } else {
        out_.error(r.value_at("at"), "at of " + what + " must be a local time HH:MM, such as \"14:00\"");
        ok = false;
      }
    }
    if (auto win = r.ref("window"); !win.name.empty()) {
      s.window = win.name;
      d.windows.push_back(win);
      if (r.given("at")) out_.error(r.value_at("window"), what + " has both at: and window:; give one of them");
    } else if (!r.given("at")) {
      out_.error(s.where, what + " needs at: (a local time) or window: (a window of the calendar)");
      ok = false;
    }
    if (auto vars = r.mapping("variables")) {
      for (const auto& kv : *vars) {
        if (!kv.first.IsScalar()) continue;
        const Field* f = d.process.variable(kv.first.Scalar());
        if (f == nullptr) {
          std::vector<std::string> names;
          for (const auto& v : d.process.variables) names.push_back(v.name);
          out_.error(doc_.at(kv.first), "unknown variable " + quote(kv.first.Scalar()) + " in variables of " + what +
                                            did_you_mean(kv.first.Scalar(), names));
          ok = false;
          continue;
        }
        if (!kv.second.IsScalar()) {
          out_.error(doc_.at(kv.second), "variable " + quote(f->name) + " of " + what + " must be a single value");
          ok = false;
          continue;
        }
        auto v = parse_field_value(*f, kv.second.Scalar());
        if (!v.ok()) {
          out_.error(doc_.at(kv.second), "in variables of " + what + ": " + v.error().message);
          ok = false;
          continue;
        }
        s.variables[f->name] = std::move(*v);
      }
    }
    for (const auto& v : d.process.variables) {
      if (v.required && !v.default_value && !s.variables.count(v.name)) {
        out_.error(s.where, what + " must give the required variable " + quote(v.name) + " under variables:");
        ok = false;
      }
    }
    if (!ok) return std::nullopt;
    return s;
  }

  void template_reads(const YAML::Node& n, StepDraft& sd) {
    if (n.IsScalar()) {
      const std::string& text = n.Scalar();
      for (const auto& name : template_variables(text)) {
        size_t at = text.find("{" + name);
        Location where = at == std::string::npos ? doc_.at(n) : doc_.inside(n, at + 1);
        sd.reads.push_back(Read{name, where, true, {}, false});
      }
    } else if (n.IsSequence()) {
      for (const auto& item : n) template_reads(item, sd);
    } else if (n.IsMap()) {
      for (const auto& kv : n) template_reads(kv.second, sd);
    }
  }

  // A target: a scalar step id or `end`.
  std::optional<Ref> target(const YAML::Node& n, const std::string& what) {
    if (!n.IsScalar()) {
      out_.error(doc_.at(n), what + " must be a step id or end");
      return std::nullopt;
    }
    return Ref{n.Scalar(), doc_.at(n)};
  }

  void next(const YAML::Node& n, const std::string& thing, Step& step, StepDraft& sd) {
    Next& next = step.next;
    next.where = doc_.at(n);
    sd.next_where = next.where;
    if (n.IsScalar()) {
      sd.targets.push_back(Ref{n.Scalar(), next.where});
      if (n.Scalar() == "end") {
        next.kind = NextKind::end;
      } else {
        next.kind = NextKind::step;
        next.target = n.Scalar();
      }
      return;
    }
    if (n.IsMap()) {
      next.kind = NextKind::parallel;
      std::string split = "the parallel split of " + thing;
      MapReader r(doc_, out_, n, split, {"all"});
      auto list = r.list("all", true);
      if (!list) return;
      std::set<std::string> seen;
      for (const auto& item : *list) {
        auto t = target(item, "each branch of " + split);
        if (!t) continue;
        if (t->name == "end") {
          out_.error(t->where, "a branch of " + split + " must be a step, not end");
          continue;
        }
        if (!seen.insert(t->name).second) {
          out_.error(t->where, split + " lists step " + quote(t->name) + " twice");
          continue;
        }
        next.all.push_back(t->name);
        sd.targets.push_back(*t);
      }
      if (list->size() < 2) out_.error(doc_.at(*list), split + " needs at least two branches");
      return;
    }
    if (!n.IsSequence()) {
      out_.error(next.where, "next of " + thing +
                                 " must be a step id, end, a list of if/goto branches or {all: [...]}");
      return;
    }
    next.kind = NextKind::choice;
    std::string branch_thing = "a branch of " + thing;
    size_t count = n.size();
    size_t index = 0;
    bool has_else = false;
    for (const auto& item : n) {
      ++index;
      if (!item.IsMap()) {
        out_.error(doc_.at(item), "each branch of " + thing + " must be a mapping: {if: ..., goto: ...} or {else: ...}");
        continue;
      }
      MapReader r(doc_, out_, item, branch_thing, kBranchKeys);
      Branch b;
      b.where = doc_.at(item);
      if (r.has("else")) {
        if (r.has("if") || r.has("goto")) {
          out_.error(b.where, branch_thing + " has else together with if or goto");
        }
        if (has_else) {
          out_.error(doc_.at(r.key("else")), thing + " has more than one else branch");
        } else if (index != count) {
          out_.error(doc_.at(r.key("else")), "the else branch of " + thing + " must be the last one");
        }
        has_else = true;
        if (!r.given("else")) {
          r.missing("else");
          continue;
        }
        auto t = target(r.value("else"), "else of " + thing);
        if (!t) continue;
        b.target = t->name;
        if (r.given("wait")) b.wait = wait(r.value("wait"), "wait of " + branch_thing, sd);
        sd.targets.push_back(*t);
        next.branches.push_back(std::move(b));
        continue;
      }
      if (!r.has("if")) {
        out_.error(b.where, branch_thing + " needs if: and goto:, or else:");
        continue;
      }
      auto cond = condition(r, thing, sd);
      if (!r.given("goto")) {
        r.missing("goto");
        continue;
      }
      auto t = target(r.value("goto"), "goto of " + branch_thing);
      if (!t) continue;
      // A condition that did not parse (reported) stays empty; the branch
      // is kept so its target is still checked and reachable.
      b.condition = cond ? std::move(*cond) : Expr();
      b.target = t->name;
      if (r.given("wait")) b.wait = wait(r.value("wait"), "wait of " + branch_thing, sd);
      sd.targets.push_back(*t);
      next.branches.push_back(std::move(b));
    }
    if (!has_else) {
      out_.error(next.where, "the exclusive choice of " + thing + " has no else branch; add one as the last entry");
    }
  }

  // Parses the `if:` of a branch; expression errors point inside the file.
  std::optional<Expr> condition(const MapReader& r, const std::string& thing, StepDraft& sd) {
    auto text = r.text("if", true);
    if (!text) return std::nullopt;
    const YAML::Node& node = r.value("if");
    auto e = parse_expr(*text);
    if (!e.ok()) {
      size_t offset = byte_offset(*text, e.error().where.column);
      out_.error(doc_.inside(node, offset), "in the condition of " + thing + ": " + e.error().message);
      return std::nullopt;
    }
    for (const auto& name : e->variables()) {
      auto at = find_word(*text, name);
      sd.reads.push_back(Read{name, at ? doc_.inside(node, *at) : doc_.at(node), false, {}, false});
    }
    return std::move(e).value();
  }

  const Doc& doc_;
  Reporter& out_;
};

// Where the documents of a YAML file start: the first node of the second
// document, and a document that starts where the one before it did.
struct DocumentStarts {
  int count = 0;
  std::optional<YAML::Mark> second;
  std::optional<YAML::Mark> stuck;
};

// yaml-cpp 0.7's LoadAll never returns on a "," at the top level of a block
// document: its parser stops at the token without consuming it and yields
// an empty document there again and again, each one kept, until memory runs
// out (found by fuzz_loader; a 4-line file took 2.8 GB). So a file's
// documents are first walked as parser events, which build nothing, up to
// the start of its second document or to the point where no progress is
// made, and only the first document is built into nodes (YAML::Load).
// Throws what yaml-cpp's parser throws.
DocumentStarts find_document_starts(const std::string& text) {
  class Handler : public YAML::EventHandler {
   public:
    explicit Handler(DocumentStarts& out) : out_(out) {}
    void OnDocumentStart(const YAML::Mark&) override { first_node_ = true; }
    void OnDocumentEnd() override {}
    void OnNull(const YAML::Mark& m, YAML::anchor_t) override { node(m); }
    void OnAlias(const YAML::Mark& m, YAML::anchor_t) override { node(m); }
    void OnScalar(const YAML::Mark& m, const std::string&, YAML::anchor_t, const std::string&) override { node(m); }
    void OnSequenceStart(const YAML::Mark& m, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
      node(m);
    }
    void OnSequenceEnd() override {}
    void OnMapStart(const YAML::Mark& m, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
      node(m);
    }
    void OnMapEnd() override {}

   private:
    void node(const YAML::Mark& m) {
      if (!first_node_) return;
      first_node_ = false;
      if (++out_.count == 2) out_.second = m;
      if (last_ && last_->pos == m.pos) out_.stuck = m;
      last_ = m;
    }
    DocumentStarts& out_;
    bool first_node_ = false;
    std::optional<YAML::Mark> last_;
  };
  DocumentStarts out;
  std::istringstream in(text);
  YAML::Parser parser(in);
  Handler handler(out);
  // Three documents tell a second one from a parser that makes no progress.
  while (out.count < 3 && !out.stuck && parser.HandleNextDocument(handler)) {
  }
  return out;
}

// What one YAML file turned out to be.
struct Parsed {
  std::optional<Org> org;
  std::optional<Form> form;
  std::optional<ProcessDraft> process;
  // An indicators file (top-level key `indicators:`): read by
  // loader_indicators.cpp once the processes are known.
  bool indicators = false;
  // A calendar file (top-level key `calendar:`): read by loader_calendar.cpp.
  bool calendar = false;
};

// `check_text`: refuse a file that is not UTF-8 text, and look for a second
// document and a stray "," (find_document_starts). On for what validate and
// deploy read; off when a stored definition is reloaded, so that one deployed
// before the text check still loads, and because deploy stored only files of
// one document: the events pass costs about as much as YAML::Load, and every
// command reloads its definition. YAML::Load alone reads one document and
// cannot loop.
Parsed parse_file(const Doc& doc, const std::string& text, Reporter& out, bool check_text = false) {
  Parsed result;
  if (auto bad = check_text ? loader_detail::find_bad_text(text) : std::nullopt) {
    out.error(doc.at_offset(bad->offset), bad->message);
    return result;
  }
  YAML::Node root;
  std::optional<YAML::Mark> second;
  try {
    DocumentStarts starts = check_text ? find_document_starts(text) : DocumentStarts{};
    if (starts.stuck) {
      const YAML::Mark& m = *starts.stuck;
      char c = m.pos >= 0 && static_cast<size_t>(m.pos) < text.size() ? text[m.pos] : ',';
      out.error(doc.at(m), std::string("YAML syntax error: unexpected \"") + c + "\" outside a [ ] list or { } mapping");
      return result;
    }
    if (starts.count > 1) second = starts.second;
    root = YAML::Load(text);
  } catch (const YAML::DeepRecursion& e) {
    // yaml-cpp's own guard (its message is just "bad file").
    out.error(e.mark.line >= 0 ? doc.at(e.mark) : doc.start(),
              "the document is nested more than " + std::to_string(kMaxDepth) + " levels deep");
    return result;
  } catch (const YAML::ParserException& e) {
    Location where = e.mark.line >= 0 ? doc.at(e.mark) : doc.start();
    std::string hint;
    if (doc.tab_indented(e.mark.line) && e.msg.find("tab") == std::string::npos) {
      hint = " (the line is indented with a tab; YAML indents with spaces only)";
    }
    out.error(where, "YAML syntax error: " + e.msg + hint);
    return result;
  } catch (const YAML::Exception& e) {
    out.error(doc.start(), std::string("YAML error: ") + e.what());
    return result;
  } catch (const std::exception& e) {
    out.error(doc.start(), std::string("cannot read YAML: ") + e.what());
    return result;
  }
  if (!root.IsDefined() || root.IsNull()) {
    out.error(doc.start(), "the file is empty; expected a process, a form or the org");
    return result;
  }
  if (second) {
    out.error(doc.at(*second), "a file holds one YAML document; remove the second one");
  }
  try {
    TreeChecker checker(doc, out, check_text);
    if (!checker.check(root)) return result;
    if (!root.IsMap()) {
      out.error(doc.at(root), "the file must be a mapping with a top-level key process:, form: or roles:");
      return result;
    }
    FileParser parser(doc, out);
    if (root["process"]) {
      result.process = parser.process(root);
    } else if (root["form"]) {
      result.form = parser.form(root);
    } else if (root["roles"]) {
      result.org = parser.org(root);
    } else if (root["indicators"]) {
      result.indicators = true;
    } else if (root["calendar"]) {
      result.calendar = true;
    } else {
      std::string hint;
      for (const auto& kv : root) {
        if (kv.first.IsScalar() && hint.empty()) hint = did_you_mean(kv.first.Scalar(), kTopKeys);
      }
      out.error(doc.start(), "the file has none of the top-level keys process:, form:, roles:, indicators: or calendar:" + hint);
    }
  } catch (const YAML::Exception& e) {
    out.error(doc.start(), std::string("YAML error: ") + e.what());
  }
  return result;
}

void sort_problems(std::vector<Error>& problems) {
  std::stable_sort(problems.begin(), problems.end(), [](const Error& a, const Error& b) {
    return std::tie(a.where.file, a.where.line, a.where.column) <
           std::tie(b.where.file, b.where.line, b.where.column);
  });
}

std::string hash_sources(const SourceSet& s) {
  JsonObject o;
  for (const auto& [path, text] : s.files) o.emplace(path, Json(text));
  return sha256_hex(Json(std::move(o)).dump());
}

// The parsed content of a whole SourceSet.
struct Loaded {
  std::optional<Org> org;
  std::string org_path;
  std::map<std::string, Form> forms;
  std::map<std::string, std::string> form_paths;
  std::vector<ProcessDraft> drafts;
  std::string indicators_path;  // empty when none
  std::string calendar_path;    // empty when none
  bool check_text = false;      // see parse_file
};

void check_calls(const Loaded& l, Reporter& out);

Loaded parse_all(const SourceSet& sources, std::vector<Error>& problems, bool check_text = false) {
  Loaded l;
  l.check_text = check_text;
  Reporter out(problems);
  std::map<std::string, std::string> process_paths;
  for (const auto& [path, text] : sources.files) {
    if (!is_yaml_path(path)) continue;
    Doc doc(path, display_name(sources, path), text);
    Parsed p = parse_file(doc, text, out, check_text);
    if (p.org) {
      if (l.org) {
        out.error(doc.start(), "a second org file; the org is already defined in " +
                                   display_name(sources, l.org_path));
      } else {
        l.org = std::move(p.org);
        l.org_path = path;
      }
    }
    if (p.form) {
      auto [it, fresh] = l.form_paths.emplace(p.form->key, path);
      if (!fresh) {
        out.error(p.form->where, "duplicate form " + quote(p.form->key) + "; it is already defined in " +
                                     display_name(sources, it->second));
      } else {
        l.forms.emplace(p.form->key, std::move(*p.form));
      }
    }
    if (p.indicators) {
      if (!l.indicators_path.empty()) {
        out.error(doc.start(), "a second indicators file; indicators are already defined in " +
                                   display_name(sources, l.indicators_path));
      } else {
        l.indicators_path = path;
      }
    }
    if (p.calendar) {
      if (!l.calendar_path.empty()) {
        out.error(doc.start(), "a second calendar file; the calendar is already defined in " +
                                   display_name(sources, l.calendar_path));
      } else {
        l.calendar_path = path;
      }
    }
    if (p.process) {
      auto [it, fresh] = process_paths.emplace(p.process->process.key, path);
      if (!fresh) {
        out.error(doc.start(), "duplicate process " + quote(p.process->process.key) +
                                   "; it is already defined in " + display_name(sources, it->second));
      } else {
        l.drafts.push_back(std::move(*p.process));
      }
    }
  }
  check_calls(l, out);
  return l;
}

// A `call:` names a process of the bundle, gives only its variables and every
// required one. Checked when the set holds more than one process: a single
// process file validated on its own cannot know the others.
void check_calls(const Loaded& l, Reporter& out) {
  if (l.drafts.size() < 2) return;
  std::map<std::string, const Process*> by_key;
  std::vector<std::string> keys;
  for (const auto& d : l.drafts) {
    by_key.emplace(d.process.key, &d.process);
    keys.push_back(d.process.key);
  }
  for (const auto& d : l.drafts) {
    for (const auto& step : d.process.steps) {
      if (!step.call) continue;
      auto it = by_key.find(step.call->process);
      if (it == by_key.end()) {
        out.error(step.call->where, "step " + quote(step.id) + " calls process " + quote(step.call->process) +
                                        ", which is not in the bundle" + did_you_mean(step.call->process, keys));
        continue;
      }
      const Process& child = *it->second;
      if (step.with.is_object()) {
        for (const auto& [k, v] : step.with.as_object()) {
          if (child.variable(k) == nullptr)
            out.error(step.call->where, "step " + quote(step.id) + " gives variable " + quote(k) + ", which process " +
                                            quote(child.key) + " does not have");
        }
      }
      for (const auto& v : child.variables) {
        const bool given = step.with.is_object() && step.with.as_object().count(v.name) > 0;
        if (v.required && !given && !v.default_value)
          out.error(step.call->where, "step " + quote(step.id) + " calls process " + quote(child.key) +
                                          " without its required variable " + quote(v.name));
      }
    }
  }
}

// The directory a process's relative paths (exec's `run:`) resolve against:
// the bundle's root as the user gave it; when there is none (the current
// directory, or several directories given at once, whose files are keyed by
// their own directory), the process file's own directory.
std::string bundle_dir(const SourceSet& sources, const std::string& process_path) {
  if (!sources.root.empty()) return sources.root;
  size_t slash = process_path.rfind('/');
  return slash == std::string::npos ? std::string(".") : process_path.substr(0, slash);
}

// At deploy (and validate): asks each handler step's handler what it must
// record about the world (HandlerCatalog::pin) and returns {STEP_ID: PINNED}
// for the steps that answered. The answers are set on the steps too.
JsonObject pin_steps(ProcessDraft& d, const SourceSet& sources, const HandlerCatalog& handlers,
                     std::vector<Error>& problems) {
  JsonObject pinned;
  const std::string dir = bundle_dir(sources, d.path);
  for (size_t i = 0; i < d.process.steps.size(); ++i) {
    Step& step = d.process.steps[i];
    if (step.handler.empty() || !handlers.has(step.handler)) continue;
    std::vector<std::string> found;
    Json pin = handlers.pin(step.handler, step.with, dir, found);
    const StepDraft& sd = d.steps[i];
    Location at = sd.with_where.line > 0 ? sd.with_where : sd.handler.where;
    for (auto& m : found) problems.push_back(make_error(ErrorCode::invalid, "step " + quote(step.id) + ": " + m, at));
    if (!pin.is_null()) {
      step.pinned = pin;
      pinned.emplace(step.id, std::move(pin));
    }
  }
  return pinned;
}

// On reload: gives each step back what was pinned for it at deploy.
Status restore_pins(Process& p, const SourceSet& sources) {
  auto it = sources.files.find(kPinnedFile);
  if (it == sources.files.end()) return {};
  Result<Json> pinned = parse_json(it->second);
  if (!pinned || !pinned->is_object())
    return make_error(ErrorCode::integrity, std::string("the stored ") + kPinnedFile + " of process " +
                                                quote(p.key) + " is not a JSON object");
  for (Step& step : p.steps) {
    auto found = pinned->as_object().find(step.id);
    if (found != pinned->as_object().end()) step.pinned = found->second;
  }
  return {};
}

// Validates a draft and packs it with the sources it was compiled from. When
// `deploying`, handlers pin what their steps depend on (pin_steps) and that
// goes into the sources as kPinnedFile; otherwise (a stored version
// reloaded) the pins come from that file, and nothing is looked at anew.
LoadedProcess finish(ProcessDraft& d, const SourceSet& sources, const Loaded& l, const Org* org,
                     const HandlerCatalog* handlers, const WorkingCalendar* calendar,
                     std::vector<Error>& problems, bool deploying) {
  loader_detail::ValidateContext ctx;
  ctx.check_text = l.check_text;
  ctx.calendar = calendar;
  ctx.sources = &sources;
  ctx.org = org;
  ctx.forms = &l.forms;
  ctx.form_paths = &l.form_paths;
  ctx.handlers = handlers;
  std::set<std::string> used = loader_detail::validate_process(d, ctx, problems);
  used.insert(d.path);
  LoadedProcess lp;
  lp.sources.root = sources.root;
  for (const auto& path : used) {
    auto it = sources.files.find(path);
    if (it != sources.files.end()) lp.sources.files.emplace(path, it->second);
  }
  if (deploying && handlers != nullptr) {
    JsonObject pinned = pin_steps(d, sources, *handlers, problems);
    if (!pinned.empty()) lp.sources.files[kPinnedFile] = Json(std::move(pinned)).dump();
  } else if (!deploying) {
    auto it = sources.files.find(kPinnedFile);
    if (it != sources.files.end()) lp.sources.files.emplace(it->first, it->second);
    if (Status s = restore_pins(d.process, sources); !s.ok()) problems.push_back(s.error());
  }
  lp.hash = hash_sources(lp.sources);
  lp.process = std::make_shared<const Process>(std::move(d.process));
  return lp;
}

Error first_problem(std::vector<Error> problems) {
  sort_problems(problems);
  Error e = problems.front();
  if (problems.size() > 1) {
    e.message += " (and " + std::to_string(problems.size() - 1) + " more problem" +
                 (problems.size() > 2 ? "s" : "") + ")";
  }
  return e;
}

}  // namespace

LoadReport load_bundle(const SourceSet& sources, const HandlerCatalog* handlers) {
  LoadReport report;
  Loaded l = parse_all(sources, report.problems, /*check_text=*/true);
  if (l.org) {
    report.bundle.org = *l.org;
    report.bundle.org_source = sources.files.at(l.org_path);
  } else if (!l.drafts.empty()) {
    report.problems.push_back(
        make_error(ErrorCode::invalid, "no org.yaml in the bundle: roles cannot be checked"));
  }
  const Org* org = l.org ? &*l.org : nullptr;
  // The calendar: from its file, or the default (which has no windows).
  report.bundle.calendar = default_calendar();
  if (!l.calendar_path.empty()) {
    const std::string& text = sources.files.at(l.calendar_path);
    CalendarLoad cl = load_calendar(display_name(sources, l.calendar_path), text, read_system_zone);
    report.problems.insert(report.problems.end(), cl.problems.begin(), cl.problems.end());
    report.bundle.calendar = std::move(cl.calendar);
    report.bundle.calendar_source = text;
  }
  std::vector<LoadedProcess> processes;
  for (auto& d : l.drafts) {
    processes.push_back(
        finish(d, sources, l, org, handlers, &report.bundle.calendar, report.problems, /*deploying=*/true));
  }
  {
    std::vector<const Process*> all;
    for (const auto& lp : processes) all.push_back(lp.process.get());
    for (auto& e : check_call_nesting(all, {})) report.problems.push_back(std::move(e));
  }
  if (!l.indicators_path.empty()) {
    // Checked against every process of the bundle, and the org.
    IndicatorContext ictx;
    for (const auto& lp : processes) ictx.processes.push_back(lp.process.get());
    ictx.org = org;
    const std::string& text = sources.files.at(l.indicators_path);
    IndicatorReport ir = load_indicators(display_name(sources, l.indicators_path), text, ictx);
    report.problems.insert(report.problems.end(), ir.problems.begin(), ir.problems.end());
    report.bundle.indicators_source = text;
  }
  // A process whose own file has problems is left out: it may be
  // incomplete in ways the rest of the system does not expect.
  std::set<std::string> bad_files;
  for (const auto& e : report.problems) bad_files.insert(e.where.file);
  for (auto& lp : processes) {
    if (!lp.process->steps.empty() && !bad_files.count(lp.process->file)) {
      report.bundle.processes.push_back(std::move(lp));
    }
  }
  report.bundle.forms = std::move(l.forms);
  sort_problems(report.problems);
  return report;
}

Result<LoadedProcess> load_process(const SourceSet& sources, const Org& org,
                                   const HandlerCatalog* handlers) {
  std::vector<Error> problems;
  Loaded l = parse_all(sources, problems);
  if (l.drafts.size() != 1) {
    if (!problems.empty()) return first_problem(std::move(problems));
    return make_error(ErrorCode::invalid, "the sources hold " + std::to_string(l.drafts.size()) +
                                              " processes; expected exactly one");
  }
  LoadedProcess lp = finish(l.drafts.front(), sources, l, &org, handlers, nullptr, problems, /*deploying=*/false);
  if (!problems.empty()) return first_problem(std::move(problems));
  return lp;
}

Result<Org> load_org(const std::string& path, const std::string& text) {
  std::vector<Error> problems;
  Reporter out(problems);
  Doc doc(path, path, text);
  Parsed p = parse_file(doc, text, out);
  if (!problems.empty()) return first_problem(std::move(problems));
  if (!p.org) {
    return make_error(ErrorCode::invalid, "the file is not an org file (no top-level key roles:)",
                      doc.start());
  }
  return std::move(*p.org);
}

}  // namespace reglament
