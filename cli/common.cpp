#include "cli/common.h"

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <set>

#include <fmt/format.h>

#include "engine/access.h"
#include "engine/utf8.h"
#include "storage/refusals.h"

namespace reglament {

// ---- Ctx ------------------------------------------------------------------

Result<SqliteStore*> Ctx::store(bool create) {
  if (identity_error_) return *identity_error_;
  if (store_) return store_.get();
  if (!create && db != ":memory:") {
    std::error_code ec;
    if (!std::filesystem::exists(db, ec)) {
      return make_error(ErrorCode::not_found,
                        fmt::format("database \"{}\" does not exist; run `reglament deploy` first "
                                    "or name another with --db",
                                    db));
    }
  }
  if (!create && db != ":memory:") {
    // SQLite takes an empty file for an empty database and would create the
    // schema in it; only deploy and demo initialise a database.
    std::error_code ec;
    if (std::filesystem::is_regular_file(db, ec) && std::filesystem::file_size(db, ec) == 0 && !ec) {
      return make_error(ErrorCode::not_found,
                        fmt::format("database \"{}\" is an empty file; run `reglament deploy` to initialise it", db));
    }
  }
  auto opened = SqliteStore::open(db);
  if (!opened) return opened.error();
  store_ = std::move(opened.value());
  store_->set_handlers(&handlers());
  // Who is acting is known once the org chart is: until the first deploy
  // there is none, and the asserted name stands.
  if (auto org = store_->org()) {
    auto who = resolve_identity(*org, os_login, asserted);
    if (!who) {
      identity_error_ = who.error();
      return who.error();
    }
    user = *who;
    // Under os-login the time of what a person does is the system's, not
    // theirs to choose: --now could backdate events or, given to `tick`,
    // hold every scheduled start back until then.
    if (org->access.identity == IdentityMode::os_login && !now_from_clock) {
      now = system_now();  // the refusal is recorded at the real time
      now_from_clock = true;
      identity_error_ = make_error(ErrorCode::forbidden,
                                   "--now (or REGLAMENT_NOW) is refused: this organisation takes identity from the "
                                   "OS login (org.yaml access: identity: os-login), and then a command's time is "
                                   "the system clock");
      return *identity_error_;
    }
  } else if (org.error().code != ErrorCode::not_found) {
    return org.error();
  }
  return store_.get();
}

Result<std::vector<std::string>> Ctx::owners() {
  auto st = store();
  if (!st) return st.error();
  auto org = (*st)->org();
  if (!org) return org.error();
  std::vector<std::string> out;
  if (!org->access.admin.empty()) return out;  // not consulted
  auto rows = (*st)->definitions();
  if (!rows) return rows.error();
  std::map<std::string, int> latest;
  for (const auto& r : *rows) latest[r.process] = std::max(latest[r.process], r.version);
  DefinitionCache defs(**st);
  for (const auto& [key, version] : latest) {
    auto p = defs.get(key, version);
    if (!p) return p.error();
    const std::string& owner = (*p)->owner;
    if (!owner.empty() && std::find(out.begin(), out.end(), owner) == out.end()) out.push_back(owner);
  }
  return out;
}

// ---- Access ---------------------------------------------------------------

namespace {

// The org and the owner roles every check needs.
struct AccessInputs {
  Org org;
  std::vector<std::string> owners;
};

Result<AccessInputs> access_inputs(Ctx& ctx) {
  auto st = ctx.store();
  if (!st) return st.error();
  auto org = (*st)->org();
  if (!org) return org.error();
  auto owners = ctx.owners();
  if (!owners) return owners.error();
  return AccessInputs{std::move(*org), std::move(*owners)};
}

}  // namespace

Status check_admin(Ctx& ctx, const std::string& what) {
  auto st = ctx.store();
  if (!st) return st.error();
  if (auto org = (*st)->org(); !org && org.error().code == ErrorCode::not_found) return {};
  auto in = access_inputs(ctx);
  if (!in) return in.error();
  return may_administer(in->org, ctx.user, in->owners, what);
}

Status check_audit(Ctx& ctx, const std::string& what) {
  auto in = access_inputs(ctx);
  if (!in) return in.error();
  return may_audit(in->org, ctx.user, in->owners, what);
}

Status check_see(Ctx& ctx, const Process& process) {
  auto in = access_inputs(ctx);
  if (!in) return in.error();
  return may_see(in->org, ctx.user, process, in->owners);
}

bool can_see(Ctx& ctx, const Process& process) {
  auto in = access_inputs(ctx);
  return in && reglament::can_see(in->org, ctx.user, process, in->owners);
}

bool Visibility::operator()(const std::string& process, int version) {
  auto key = std::make_pair(process, version);
  if (auto it = seen_.find(key); it != seen_.end()) return it->second;
  bool visible = false;
  if (auto st = ctx_.store()) {
    auto def = (*st)->definition(process, version);
    visible = def && def->process && can_see(ctx_, *def->process);
  }
  seen_.emplace(key, visible);
  return visible;
}

Status check_see_instance(Ctx& ctx, const Event& started) {
  auto st = ctx.store();
  if (!st) return st.error();
  auto def = (*st)->definition(started.data.str("process"), static_cast<int>(started.data.integer("version")));
  if (!def) return def.error();
  if (!def->process) return make_error(ErrorCode::internal, "the store returned no definition");
  return check_see(ctx, *def->process);
}

Status check_start(Ctx& ctx, const Process& process) {
  auto in = access_inputs(ctx);
  if (!in) return in.error();
  return may_start(in->org, ctx.user, process, in->owners);
}

Status check_clients(Ctx& ctx) {
  auto in = access_inputs(ctx);
  if (!in) return in.error();
  return may_edit_clients(in->org, ctx.user, in->owners);
}

Status check_person(Ctx& ctx) {
  auto st = ctx.store();
  if (!st) return st.error();
  auto org = (*st)->org();
  if (!org) return org.error();
  return is_person(*org, ctx.user);
}

bool Ctx::acting_outsider() {
  if (!store_ || user.empty()) return false;
  auto org = store_->org();
  return org && org->person(user) == nullptr;
}

const Registry& Ctx::handlers() {
  if (!handlers_) handlers_ = builtin_handlers();
  return *handlers_;
}

// The account the kernel says runs us, not $USER, which anyone may set.
static std::string os_account() {
  if (const passwd* pw = getpwuid(getuid()); pw != nullptr && pw->pw_name != nullptr) return pw->pw_name;
  return "";
}

Status finish_globals(Ctx& ctx) {
  ctx.asserted = ctx.user;
  ctx.os_login = os_account();
  if (ctx.user.empty()) ctx.user = ctx.os_login;
  if (ctx.now.empty()) {
    ctx.now = system_now();
    ctx.now_from_clock = true;
  } else {
    auto t = parse_moment(ctx.now);
    if (!t) return make_error(ErrorCode::invalid, fmt::format("--now {}", t.error().message));
  }
  if (ctx.db.empty()) return make_error(ErrorCode::invalid, "--db must name a database file");
  return {};
}

// ---- Refusals -------------------------------------------------------------

namespace {

// An argument as a shell would need it to mean the same, for the record.
std::string shell_word(const std::string& a) {
  if (!a.empty() && a.find_first_of(" \t\n'\"\\$`;&|<>()*?[]{}~#!") == std::string::npos) return a;
  std::string out = "'";
  for (char c : a) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

}  // namespace

void record_refusal(Ctx& ctx, int argc, char** argv) {
  SqliteStore* store = ctx.opened_store();
  if (store == nullptr) return;  // refused before the database was opened: nowhere to write
  Refusal r;
  r.at = ctx.now;
  r.actor = ctx.user.empty() ? ctx.asserted : ctx.user;
  r.os_login = ctx.os_login;
  for (int i = 1; i < argc; ++i) {
    if (i > 1) r.command += ' ';
    r.command += shell_word(argv[i]);
  }
  r.instance = ctx.subject;
  r.reason = last_failure();
  // A read-only file, a full disk or a busy database keeps the record from
  // being written: the refusal stands, and the person is told it is not on
  // record (an administrator reading `refusals` will not see it).
  if (auto written = reglament::record_refusal(*store, std::move(r)); !written)
    std::cerr << shorten_quoted("reglament: the refusal could not be recorded in the database: " +
                                written.error().message)
              << '\n';
}

// ---- Errors and output ----------------------------------------------------

int exit_code(ErrorCode code) {
  switch (code) {
    case ErrorCode::internal:
    case ErrorCode::invalid:
    case ErrorCode::not_found:
    case ErrorCode::conflict:
    case ErrorCode::forbidden:
    case ErrorCode::integrity:
      return static_cast<int>(code);
  }
  return kExitOther;
}

static std::string& last_failure_text() {
  static std::string text;
  return text;
}

const std::string& last_failure() { return last_failure_text(); }

std::string shorten_quoted(std::string_view message) {
  std::string out;
  size_t i = 0;
  while (i < message.size()) {
    const size_t open = message.find('"', i);
    const size_t close = open == std::string_view::npos ? open : message.find('"', open + 1);
    if (close == std::string_view::npos) break;
    out.append(message.substr(i, open - i));
    out += quote_for_message(message.substr(open + 1, close - open - 1));
    i = close + 1;
  }
  out.append(message.substr(std::min(i, message.size())));
  return out;
}

int fail(const Error& e) {
  Error shown = e;
  shown.message = shorten_quoted(e.message);
  last_failure_text() = shown.message;
  // A place in a definition file leads the line, as compilers do, so editors
  // can jump to it; everything else is prefixed with the program's name.
  if (shown.where.known()) {
    std::cerr << shown.str() << '\n';
  } else {
    std::cerr << "reglament: " << shown.message << '\n';
  }
  return exit_code(e.code);
}

int fail(ErrorCode code, const std::string& message) { return fail(make_error(code, message)); }

void print_json(const Json& j) { std::cout << j.pretty() << '\n'; }

void print_text(std::string_view text) { std::cout << text; }

void print_line(std::string_view text) { std::cout << terminal_text(text, true) << '\n'; }

std::string terminal_text(std::string_view s, bool multiline) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const size_t start = i;
    const int32_t cp = next_code_point(s, i);
    if (cp < 0) {
      out += fmt::format("\\x{:02x}", static_cast<unsigned char>(s[start]));
    } else if ((cp == '\n' || cp == '\t') && multiline) {
      out += static_cast<char>(cp);
    } else if (cp < 0x20 || cp == 0x7F) {
      out += fmt::format("\\x{:02x}", cp);
    } else if (cp >= 0x80 && cp <= 0x9F) {
      out += fmt::format("\\u{:04x}", cp);
    } else {
      out.append(s.substr(start, i - start));
    }
  }
  return out;
}

// ---- Values ---------------------------------------------------------------

CLI::Validator at_least(double min) {
  const std::string least = min == 0 ? "0 or more" : fmt::format("{} or more", min);
  return CLI::Validator(
      [min, least](std::string& text) -> std::string {
        char* end = nullptr;
        errno = 0;
        const double v = std::strtod(text.c_str(), &end);
        if (text.empty() || end != text.c_str() + text.size() || errno != 0 || !std::isfinite(v))
          return fmt::format("\"{}\" is not a number; it must be {}", text, least);
        if (v < min) return fmt::format("{} is too small; it must be {}", text, least);
        return "";
      },
      "NUMBER (" + least + ")");
}

CLI::Validator not_empty(const std::string& instead) {
  return CLI::Validator(
      [instead](std::string& text) -> std::string {
        return text.empty() ? "must not be empty; leave the option out " + instead : "";
      },
      "TEXT");
}

Result<JsonObject> parse_assignments(const std::vector<std::string>& items) {
  JsonObject out;
  for (const std::string& item : items) {
    size_t eq = item.find('=');
    if (eq == std::string::npos) {
      return make_error(ErrorCode::invalid,
                        fmt::format("--set \"{}\" must have the form NAME=VALUE", item));
    }
    std::string name = item.substr(0, eq);
    // Tolerate spaces around the name ("client = X" quoted as one argument).
    while (!name.empty() && std::isspace(static_cast<unsigned char>(name.back()))) name.pop_back();
    while (!name.empty() && std::isspace(static_cast<unsigned char>(name.front()))) name.erase(0, 1);
    if (name.empty()) {
      return make_error(ErrorCode::invalid, fmt::format("--set \"{}\" has no name before '='", item));
    }
    if (out.count(name) != 0) {
      return make_error(ErrorCode::invalid, fmt::format("--set gives \"{}\" more than once", name));
    }
    out.emplace(std::move(name), Json(item.substr(eq + 1)));
  }
  return out;
}

Json string_array(const std::vector<std::string>& items) {
  Json a = Json::array();
  for (const auto& s : items) a.push_back(Json(s));
  return a;
}

Json nullable(const std::string& s) { return s.empty() ? Json() : Json(s); }

std::string value_text(const Json& v) {
  if (v.is_string()) return v.as_string();
  return v.dump();
}

Json form_json(const Form* form) {
  Json fields = Json::array();
  if (form == nullptr) return fields;
  for (const Field& f : form->fields) {
    Json j = Json::object();
    j["name"] = f.name;
    j["title"] = f.title;
    j["type"] = std::string(to_string(f.type));
    j["required"] = f.required;
    j["options"] = string_array(f.options);
    if (f.default_value) j["default"] = *f.default_value;
    if (f.min) j["min"] = *f.min;
    if (f.max) j["max"] = *f.max;
    fields.push_back(std::move(j));
  }
  return fields;
}

std::string join_strings(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += sep;
    out += items[i];
  }
  return out;
}

// ---- Definitions ----------------------------------------------------------

Result<const Process*> DefinitionCache::get(const std::string& process, int version) {
  auto key = std::make_pair(process, version);
  if (auto it = cache_.find(key); it != cache_.end()) return it->second.get();
  auto d = store_.definition(process, version);
  if (!d) return d.error();
  if (!d->process) {
    return make_error(ErrorCode::internal,
                      fmt::format("the store returned no definition for {} v{}", process, version));
  }
  const Process* p = d->process.get();
  cache_.emplace(key, d->process);
  return p;
}

std::string step_label(const Process* process, const std::string& step_id) {
  if (step_id == "end") return "end";
  if (process != nullptr) {
    if (const Step* s = process->step(step_id)) return s->id + " " + s->title;
  }
  return step_id;
}

std::string step_labels(const Process* process, const std::vector<std::string>& ids) {
  std::vector<std::string> labels;
  labels.reserve(ids.size());
  for (const auto& id : ids) labels.push_back(step_label(process, id));
  return join_strings(labels, ", ");
}

// ---- Time -----------------------------------------------------------------

std::string system_now() {
  std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  return format_moment(Moment{static_cast<int64_t>(now), static_cast<int>(local.tm_gmtoff / 60)});
}

std::string short_time(const std::string& ts) {
  if (ts.size() < 16 || ts[10] != 'T') return ts;
  std::string out = ts.substr(0, 16);
  out[10] = ' ';
  return out;
}

// ---- Tables ---------------------------------------------------------------

namespace {

// The code point at `i` (advancing it) for width: an invalid byte counts as
// U+FFFD, one column, so that bad input still lines up.
char32_t displayed_code_point(std::string_view s, size_t& i) {
  const int32_t cp = next_code_point(s, i);
  return cp < 0 ? U'\uFFFD' : static_cast<char32_t>(cp);
}

int code_point_width(char32_t cp) {
  if (cp == 0) return 0;
  // Combining marks and zero-width characters.
  if ((cp >= 0x0300 && cp <= 0x036F) || (cp >= 0x0483 && cp <= 0x0489) ||
      (cp >= 0x1AB0 && cp <= 0x1AFF) || (cp >= 0x1DC0 && cp <= 0x1DFF) ||
      (cp >= 0x200B && cp <= 0x200F) || (cp >= 0x20D0 && cp <= 0x20FF) ||
      (cp >= 0xFE00 && cp <= 0xFE0F) || (cp >= 0xFE20 && cp <= 0xFE2F) || cp == 0xFEFF) {
    return 0;
  }
  // East Asian wide and fullwidth characters, and the common emoji blocks.
  if ((cp >= 0x1100 && cp <= 0x115F) || (cp >= 0x2E80 && cp <= 0x303E) ||
      (cp >= 0x3041 && cp <= 0x33FF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
      (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0xA000 && cp <= 0xA4CF) ||
      (cp >= 0xAC00 && cp <= 0xD7A3) || (cp >= 0xF900 && cp <= 0xFAFF) ||
      (cp >= 0xFE30 && cp <= 0xFE4F) || (cp >= 0xFF00 && cp <= 0xFF60) ||
      (cp >= 0xFFE0 && cp <= 0xFFE6) || (cp >= 0x1F300 && cp <= 0x1F64F) ||
      (cp >= 0x1F900 && cp <= 0x1F9FF) || (cp >= 0x20000 && cp <= 0x3FFFD)) {
    return 2;
  }
  return 1;
}

}  // namespace

int display_width(std::string_view s) {
  int w = 0;
  for (size_t i = 0; i < s.size();) w += code_point_width(displayed_code_point(s, i));
  return w;
}

std::string truncate_display(std::string_view s, int width) {
  if (display_width(s) <= width) return std::string(s);
  if (width <= 0) return "";
  // Keep as much as fits in width - 1 columns, then the ellipsis (width 1).
  int used = 0;
  size_t i = 0, keep = 0;
  while (i < s.size()) {
    size_t start = i;
    int w = code_point_width(displayed_code_point(s, i));
    if (used + w > width - 1) {
      i = start;
      break;
    }
    used += w;
    keep = i;
  }
  std::string out(s.substr(0, keep));
  // Do not leave a dangling space before the ellipsis.
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out + "…";
}

TextTable::TextTable(std::vector<std::string> headers)
    : headers_(std::move(headers)), max_(headers_.size(), 0) {}

void TextTable::set_max_width(size_t column, int width) {
  if (column < max_.size()) max_[column] = width;
}

void TextTable::add(std::vector<std::string> row) {
  row.resize(headers_.size());
  for (size_t c = 0; c < row.size(); ++c) {
    // Cells are one line: a newline or tab would break the alignment. Every
    // other control character is shown escaped (terminal_text), so that no
    // cell can drive the terminal.
    std::replace(row[c].begin(), row[c].end(), '\n', ' ');
    std::replace(row[c].begin(), row[c].end(), '\t', ' ');
    row[c] = terminal_text(row[c], false);
    if (max_[c] > 0) row[c] = truncate_display(row[c], max_[c]);
  }
  rows_.push_back(std::move(row));
}

std::string TextTable::render() const {
  std::vector<std::string> head;
  for (const auto& h : headers_) {
    std::string u = h;
    for (char& ch : u) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    head.push_back(std::move(u));
  }
  std::vector<int> widths(headers_.size(), 0);
  auto measure = [&](const std::vector<std::string>& row) {
    for (size_t c = 0; c < row.size(); ++c) widths[c] = std::max(widths[c], display_width(row[c]));
  };
  measure(head);
  for (const auto& r : rows_) measure(r);

  std::string out;
  auto emit = [&](const std::vector<std::string>& row) {
    std::string line;
    for (size_t c = 0; c < row.size(); ++c) {
      line += row[c];
      if (c + 1 < row.size()) line.append(widths[c] - display_width(row[c]) + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line;
    out += '\n';
  };
  emit(head);
  for (const auto& r : rows_) emit(r);
  return out;
}

}  // namespace reglament
