// The indicators file (top-level key `indicators:`) -> IndicatorSet, with every
// problem located at file:line:column. One of the loader files allowed to
// include yaml-cpp; every yaml-cpp exception is caught here.
//
// In a bundle, loader.cpp has already checked the tree (duplicate keys, depth,
// aliases) before it hands the text over; this file reads the meaning and
// checks the references against the bundle's processes and org.

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/indicators.h"
#include "engine/loader_internal.h"
#include "engine/loader_places.h"

namespace reglament {

using loader_detail::did_you_mean;
using loader_detail::is_continuation;
using loader_detail::Places;
using loader_detail::quote;

namespace {

const std::vector<std::string> kTopKeys = {"indicators", "controls", "title", "description"};
const std::vector<std::string> kIndicatorKeys = {"code",  "title", "unit",     "period",       "goal", "description",
                                                 "by",    "count", "ratio",    "duration",     "share_within"};
const std::vector<std::string> kMeasureKeys = {"count", "ratio", "duration", "share_within"};
const std::vector<std::string> kFilterKeys = {"event", "process", "step", "branch", "next", "role", "where"};
const std::vector<std::string> kRatioKeys = {"numerator", "denominator"};
const std::vector<std::string> kDurationKeys = {"process", "from", "to", "stat", "where"};
const std::vector<std::string> kShareKeys = {"process", "from", "to", "within", "where"};
const std::vector<std::string> kControlKeys = {"code", "title", "period", "role", "on", "description"};
const std::vector<std::string> kEventNames = {"InstanceStarted", "StepCompleted", "TaskCompleted",
                                              "InstanceCompleted"};
const std::vector<std::string> kPeriods = {"day", "week", "month"};
const std::vector<std::string> kGroupings = {"actor", "client", "process"};
const std::vector<std::string> kStats = {"median", "mean", "min", "max", "p90", "p95"};
const std::vector<std::string> kDurationUnits = {"h", "ч", "d", "дн", "min", "мин"};
const std::vector<std::string> kWeekdays = {"monday", "tuesday", "wednesday", "thursday",
                                            "friday", "saturday", "sunday"};


// Byte offset of 1-based character column `column` in `text`.
size_t byte_offset(std::string_view text, int column) {
  size_t i = 0;
  for (int c = 1; c < column && i < text.size(); ++c) {
    ++i;
    while (i < text.size() && is_continuation(text[i])) ++i;
  }
  return i;
}

// The keys of one mapping; unknown keys are reported when it is made.
class Keys {
 public:
  Keys(const Places& places, std::vector<Error>& problems, const YAML::Node& map, std::string thing,
       const std::vector<std::string>& known)
      : places_(places), problems_(problems), map_(map), thing_(std::move(thing)) {
    for (const auto& kv : map) {
      if (!kv.first.IsScalar()) continue;
      const std::string& k = kv.first.Scalar();
      if (std::find(known.begin(), known.end(), k) == known.end()) {
        error(places_.at(kv.first), "unknown key " + quote(k) + " in " + thing_ + did_you_mean(k, known));
        continue;
      }
      entries_.emplace(k, std::make_pair(kv.first, kv.second));  // a duplicate reads as the first
    }
  }

  const std::string& thing() const { return thing_; }
  bool given(const std::string& k) const { return entries_.count(k) > 0 && !entries_.at(k).second.IsNull(); }
  const YAML::Node& value(const std::string& k) const { return entries_.at(k).second; }
  const YAML::Node& key(const std::string& k) const { return entries_.at(k).first; }
  Location at(const std::string& k) const { return places_.at(value(k)); }

  void error(const Location& where, std::string message) const {
    problems_.push_back(make_error(ErrorCode::invalid, std::move(message), where));
  }
  void missing(const std::string& k) const {
    error(places_.at(map_), "missing required key " + quote(k) + " in " + thing_);
  }

  std::optional<std::string> text(const std::string& k, bool required = false) const {
    if (!given(k)) {
      if (required) missing(k);
      return std::nullopt;
    }
    if (!value(k).IsScalar()) {
      error(at(k), k + " of " + thing_ + " must be text");
      return std::nullopt;
    }
    return value(k).Scalar();
  }

  // A scalar or a non-empty list of scalars, with their places.
  std::vector<std::pair<std::string, Location>> texts(const std::string& k) const {
    std::vector<std::pair<std::string, Location>> out;
    if (!given(k)) return out;
    const YAML::Node& v = value(k);
    if (v.IsScalar()) {
      out.emplace_back(v.Scalar(), places_.at(v));
      return out;
    }
    bool ok = v.IsSequence() && v.size() > 0;
    if (ok) {
      for (const auto& item : v) ok = ok && item.IsScalar();
    }
    if (!ok) {
      error(at(k), k + " of " + thing_ + " must be text or a list of text");
      return out;
    }
    for (const auto& item : v) out.emplace_back(item.Scalar(), places_.at(item));
    return out;
  }

 private:
  const Places& places_;
  std::vector<Error>& problems_;
  YAML::Node map_;
  std::string thing_;
  std::map<std::string, std::pair<YAML::Node, YAML::Node>> entries_;
};

std::string name_of(const YAML::Node& map, const char* key, const std::string& prefix,
                    const std::string& fallback) {
  if (!map.IsMap()) return fallback;
  for (const auto& kv : map) {
    if (kv.first.IsScalar() && kv.first.Scalar() == key && kv.second.IsScalar()) {
      return prefix + " " + quote(kv.second.Scalar());
    }
  }
  return fallback;
}

bool valid_code(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c == ' ' || c == '\t' || c == ',' || c == '\n') return false;
  }
  return true;
}

// Every step a path may go to from `step` ("end" included).
std::vector<std::string> targets_of(const Step& step) {
  const Next& n = step.next;
  switch (n.kind) {
    case NextKind::end: return {"end"};
    case NextKind::step: return {n.target};
    case NextKind::parallel: return n.all;
    case NextKind::choice: {
      std::vector<std::string> out;
      for (const auto& b : n.branches) out.push_back(b.target);
      return out;
    }
  }
  return {};
}

// Every variable a process may set: start variables, form fields, outputs
// of `set` steps.
std::set<std::string> variables_of(const Process& p) {
  std::set<std::string> out;
  for (const auto& v : p.variables) out.insert(v.name);
  for (const auto& s : p.steps) {
    if (s.form) {
      for (const auto& f : s.form->fields) out.insert(f.name);
    }
    if (s.handler == "set" && s.with.is_object()) {
      for (const auto& [k, v] : s.with.as_object()) out.insert(k);
    }
  }
  return out;
}

class IndicatorParser {
 public:
  IndicatorParser(const Places& places, const IndicatorContext& ctx, std::vector<Error>& problems)
      : places_(places), ctx_(ctx), problems_(problems) {
    for (const Process* p : ctx.processes) process_keys_.push_back(p->key);
  }

  IndicatorSet file(const YAML::Node& root) {
    IndicatorSet set;
    Keys k(places_, problems_, root, "the indicators file", kTopKeys);
    k.text("title");
    k.text("description");
    if (!k.given("indicators")) {
      k.missing("indicators");
    } else if (!k.value("indicators").IsSequence()) {
      k.error(k.at("indicators"), "indicators must be a list");
    } else {
      for (const auto& item : k.value("indicators")) {
        if (auto i = indicator(item)) set.indicators.push_back(std::move(*i));
      }
    }
    if (k.given("controls")) {
      if (!k.value("controls").IsSequence()) {
        k.error(k.at("controls"), "controls must be a list");
      } else {
        for (const auto& item : k.value("controls")) {
          if (auto c = control(item)) set.controls.push_back(std::move(*c));
        }
      }
    }
    return set;
  }

 private:
  void error(const Location& where, std::string message) {
    problems_.push_back(make_error(ErrorCode::invalid, std::move(message), where));
  }

  // Reads `code`, checks its form and that no other indicator or control
  // has it.
  std::optional<std::string> code(const Keys& k) {
    auto c = k.text("code", true);
    if (!c) return std::nullopt;
    if (!valid_code(*c)) {
      error(k.at("code"), "code " + quote(*c) + " of " + k.thing() + " must be one word (no spaces or commas)");
    } else if (auto [it, fresh] = codes_.emplace(*c, k.at("code").line); !fresh) {
      error(k.at("code"), "duplicate code " + quote(*c) + "; it is already used at line " + std::to_string(it->second));
    }
    return c;
  }

  Period period(const Keys& k) {
    auto p = k.text("period", true);
    if (!p) return Period::week;
    auto parsed = parse_period(*p);
    if (!parsed) {
      error(k.at("period"), "period of " + k.thing() + " must be day, week or month, not " + quote(*p) +
                                did_you_mean(*p, kPeriods));
      return Period::week;
    }
    return *parsed;
  }

  std::optional<Indicator> indicator(const YAML::Node& item) {
    if (!item.IsMap()) {
      error(places_.at(item), "each indicator must be a mapping with code, title, unit, period and a measure");
      return std::nullopt;
    }
    Indicator ind;
    ind.where = places_.at(item);
    Keys k(places_, problems_, item, name_of(item, "code", "indicator", "an indicator"), kIndicatorKeys);
    auto c = code(k);
    ind.title = k.text("title", true).value_or("");
    ind.unit = k.text("unit", true).value_or("");
    ind.period = period(k);
    ind.goal = k.text("goal").value_or("");
    ind.description = k.text("description").value_or("");
    if (auto by = k.text("by")) {
      auto g = parse_group_by(*by);
      if (!g || *g == GroupBy::none) {
        error(k.at("by"), "by of " + k.thing() + " must be actor, client or process" + did_you_mean(*by, kGroupings));
      } else {
        ind.by = *g;
      }
    }
    std::vector<std::string> given;
    for (const auto& m : kMeasureKeys) {
      if (k.given(m)) given.push_back(m);
    }
    if (given.empty()) {
      error(ind.where, k.thing() + " needs a measure: one of count, ratio, duration or share_within");
    } else if (given.size() > 1) {
      error(places_.at(k.key(given[1])), k.thing() + " has more than one measure (" + given[0] + " and " +
                                             given[1] + "); keep one");
    } else {
      measure(k, given[0], ind);
    }
    if (!c) return std::nullopt;
    ind.code = *c;
    return ind;
  }

  void measure(const Keys& k, const std::string& kind, Indicator& ind) {
    Measure& m = ind.measure;
    const YAML::Node& v = k.value(kind);
    std::string thing = kind + " of " + k.thing();
    if (!v.IsMap()) {
      error(places_.at(v), thing + " must be a mapping");
      return;
    }
    if (kind == "count") {
      m.kind = MeasureKind::count;
      m.count = filter(v, thing);
    } else if (kind == "ratio") {
      m.kind = MeasureKind::ratio;
      Keys r(places_, problems_, v, thing, kRatioKeys);
      for (const char* part : {"numerator", "denominator"}) {
        EventFilter& f = std::string(part) == "numerator" ? m.numerator : m.denominator;
        if (!r.given(part)) {
          r.missing(part);
        } else if (!r.value(part).IsMap()) {
          error(r.at(part), std::string(part) + " of " + thing + " must be a mapping like count:");
        } else {
          f = filter(r.value(part), std::string(part) + " of " + thing);
        }
      }
    } else {
      bool duration = kind == "duration";
      m.kind = duration ? MeasureKind::duration : MeasureKind::share_within;
      Keys r(places_, problems_, v, thing, duration ? kDurationKeys : kShareKeys);
      span(r, m);
      if (duration) {
        stat(r, m);
        if (std::find(kDurationUnits.begin(), kDurationUnits.end(), ind.unit) == kDurationUnits.end() &&
            k.given("unit")) {
          error(k.at("unit"), "the unit of a duration must be h, ч, d, дн, min or мин, not " + quote(ind.unit));
        }
      } else if (auto w = r.text("within", true)) {
        auto secs = parse_duration(*w);
        if (!secs.ok()) {
          error(r.at("within"), "within of " + thing + ": " + secs.error().message);
        } else {
          m.within = *secs;
        }
      }
    }
  }

  void stat(const Keys& r, Measure& m) {
    auto s = r.text("stat");
    if (!s) return;  // median
    if (*s == "median") m.stat = Stat::median;
    else if (*s == "mean") m.stat = Stat::mean;
    else if (*s == "min") m.stat = Stat::min;
    else if (*s == "max") m.stat = Stat::max;
    else {
      int p = 0;
      bool ok = s->size() >= 2 && s->size() <= 3 && (*s)[0] == 'p';
      for (size_t i = 1; ok && i < s->size(); ++i) {
        ok = (*s)[i] >= '0' && (*s)[i] <= '9';
        p = p * 10 + ((*s)[i] - '0');
      }
      if (!ok || p < 1 || p > 99) {
        error(r.at("stat"), "stat of " + r.thing() + " must be median, mean, min, max or pNN (p90, p95 …), not " +
                                quote(*s) + did_you_mean(*s, kStats));
        return;
      }
      m.stat = Stat::percentile;
      m.percentile = p;
    }
  }

  // process, from and to of a duration or share_within.
  void span(const Keys& r, Measure& m) {
    auto process = r.text("process", true);
    const Process* p = nullptr;
    if (process) {
      m.process = *process;
      p = known_process(*process, r.at("process"));
    }
    auto from = r.text("from", true);
    auto to = r.text("to", true);
    if (from) {
      m.from = *from;
      if (*from == kEndPoint) {
        error(r.at("from"), "from of " + r.thing() + " cannot be end; use start or a step id");
      } else if (*from != kStartPoint && p != nullptr) {
        known_step(*p, *from, r.at("from"));
      }
    }
    if (to) {
      m.to = *to;
      if (*to == kStartPoint) {
        error(r.at("to"), "to of " + r.thing() + " cannot be start; use a step id or end");
      } else if (*to != kEndPoint && p != nullptr) {
        known_step(*p, *to, r.at("to"));
      }
    }
    if (from && to && *from == *to) {
      error(r.at("to"), "from and to of " + r.thing() + " are the same point " + quote(*to));
    }
    std::vector<const Process*> candidates;
    if (p != nullptr) candidates.push_back(p);
    m.where = where(r, candidates, p != nullptr, "process " + quote(m.process));
  }

  // `where:` parsed, its variables checked against `candidates` when `check`.
  std::optional<Expr> where(const Keys& k, const std::vector<const Process*>& candidates, bool check,
                            const std::string& setters) {
    auto w = k.text("where");
    if (!w) return std::nullopt;
    const YAML::Node& node = k.value("where");
    auto e = parse_expr(*w);
    if (!e.ok()) {
      error(places_.inside(node, byte_offset(*w, e.error().where.column)),
            "in where of " + k.thing() + ": " + e.error().message);
      return std::nullopt;
    }
    if (check) {
      std::set<std::string> vars;
      for (const Process* p : candidates) {
        auto v = variables_of(*p);
        vars.insert(v.begin(), v.end());
      }
      std::vector<std::string> list(vars.begin(), vars.end());
      for (const auto& name : e->variables()) {
        if (vars.count(name)) continue;
        size_t at = w->find(name);
        error(at == std::string::npos ? places_.at(node) : places_.inside(node, at),
              "where of " + k.thing() + " reads variable " + quote(name) + ", which is never set by " + setters +
                  did_you_mean(name, list));
      }
    }
    return std::move(e).value();
  }

  EventFilter filter(const YAML::Node& map, const std::string& thing) {
    EventFilter f;
    Keys k(places_, problems_, map, thing, kFilterKeys);
    if (auto e = k.text("event", true)) {
      auto t = parse_event_type(*e);
      if (!t || std::find(kEventNames.begin(), kEventNames.end(), *e) == kEventNames.end()) {
        error(k.at("event"), "event of " + thing + " must be InstanceStarted, StepCompleted, TaskCompleted or "
                             "InstanceCompleted, not " + quote(*e) + did_you_mean(*e, kEventNames));
      } else {
        f.event = *t;
      }
    }
    bool about_steps = f.event == EventType::step_completed || f.event == EventType::task_completed;

    std::vector<const Process*> candidates;
    bool processes_known = true;
    for (const auto& [name, where] : k.texts("process")) {
      f.processes.push_back(name);
      if (const Process* p = known_process(name, where)) {
        candidates.push_back(p);
      } else {
        processes_known = false;
      }
    }
    if (f.processes.empty()) {
      candidates = ctx_.processes;
    }
    bool check = !ctx_.processes.empty() && processes_known;

    std::vector<const Step*> steps;
    for (const auto& [id, where] : k.texts("step")) {
      f.steps.push_back(id);
      if (!about_steps) {
        error(where, "step of " + thing + " applies to StepCompleted and TaskCompleted only");
        continue;
      }
      if (!check) continue;
      std::vector<std::string> ids;
      size_t before = steps.size();
      for (const Process* p : candidates) {
        for (const auto& s : p->steps) {
          ids.push_back(s.id);
          if (s.id == id) steps.push_back(&s);
        }
      }
      if (steps.size() == before) {
        std::string in = f.processes.empty() ? "any process" : join(f.processes);
        error(where, "step " + quote(id) + " of " + thing + " is not a step of " + in + did_you_mean(id, ids));
      }
    }

    if (auto b = k.text("branch")) {
      f.branch = *b;
      if (f.event != EventType::step_completed || f.steps.empty()) {
        error(k.at("branch"), "branch of " + thing + " needs event StepCompleted and a step");
      } else if (check && !steps.empty()) {
        std::vector<std::string> texts;
        for (const Step* s : steps) {
          for (const auto& br : s->next.branches) texts.push_back(br.condition ? br.condition->text() : "else");
        }
        if (std::find(texts.begin(), texts.end(), *b) == texts.end()) {
          error(k.at("branch"), "branch " + quote(*b) + " of " + thing + " is not a condition of step " +
                                    join(f.steps) + (texts.empty() ? " (it has no exclusive choice)" : "") +
                                    did_you_mean(*b, texts));
        }
      }
    }
    if (auto n = k.text("next")) {
      f.next = *n;
      if (f.event != EventType::step_completed || f.steps.empty()) {
        error(k.at("next"), "next of " + thing + " needs event StepCompleted and a step");
      } else if (check && !steps.empty()) {
        std::vector<std::string> targets;
        for (const Step* s : steps) {
          for (const auto& t : targets_of(*s)) targets.push_back(t);
        }
        if (std::find(targets.begin(), targets.end(), *n) == targets.end()) {
          error(k.at("next"), "step " + join(f.steps) + " never goes to " + quote(*n) + did_you_mean(*n, targets));
        }
      }
    }
    if (auto role = k.text("role")) {
      f.role = *role;
      if (f.event != EventType::task_completed) {
        error(k.at("role"), "role of " + thing + " applies to TaskCompleted only");
      } else if (ctx_.org != nullptr && ctx_.org->role(*role) == nullptr) {
        error(k.at("role"), "unknown role " + quote(*role) + did_you_mean(*role, role_keys()));
      }
    }
    f.where = where(k, candidates, check,
                    f.processes.empty() ? std::string("any process") : "process " + join(f.processes));
    return f;
  }

  const Process* known_process(const std::string& key, const Location& where) {
    if (ctx_.processes.empty()) return nullptr;
    for (const Process* p : ctx_.processes) {
      if (p->key == key) return p;
    }
    error(where, "unknown process " + quote(key) + did_you_mean(key, process_keys_));
    return nullptr;
  }

  void known_step(const Process& p, const std::string& id, const Location& where) {
    if (p.step(id) != nullptr) return;
    std::vector<std::string> ids;
    for (const auto& s : p.steps) ids.push_back(s.id);
    error(where, "unknown step " + quote(id) + " of process " + quote(p.key) + did_you_mean(id, ids));
  }

  std::optional<Control> control(const YAML::Node& item) {
    if (!item.IsMap()) {
      error(places_.at(item), "each control must be a mapping with code, title, period and role");
      return std::nullopt;
    }
    Control c;
    c.where = places_.at(item);
    Keys k(places_, problems_, item, name_of(item, "code", "control", "a control"), kControlKeys);
    auto cd = code(k);
    c.title = k.text("title", true).value_or("");
    c.period = period(k);
    c.description = k.text("description").value_or("");
    if (auto role = k.text("role", true)) {
      c.role = *role;
      if (ctx_.org != nullptr && ctx_.org->role(*role) == nullptr) {
        error(k.at("role"), "unknown role " + quote(*role) + did_you_mean(*role, role_keys()));
      }
    }
    if (auto on = k.text("on")) due_day(k, *on, c);
    if (!cd) return std::nullopt;
    c.code = *cd;
    return c;
  }

  // `on:` — which day of its period a control is due.
  void due_day(const Keys& k, const std::string& on, Control& c) {
    switch (c.period) {
      case Period::day:
        if (on == "workdays") {
          c.workdays = true;
        } else {
          error(k.at("on"), "on of a daily " + k.thing() + " can only be workdays");
        }
        return;
      case Period::week: {
        auto it = std::find(kWeekdays.begin(), kWeekdays.end(), on);
        if (it == kWeekdays.end()) {
          error(k.at("on"), "on of a weekly " + k.thing() + " must be a weekday (monday … sunday), not " + quote(on) +
                                did_you_mean(on, kWeekdays));
        } else {
          c.weekday = static_cast<int>(it - kWeekdays.begin()) + 1;
        }
        return;
      }
      case Period::month: {
        if (on == "last") {
          c.month_day = 0;
          return;
        }
        int day = 0;
        bool ok = !on.empty() && on.size() <= 2;
        for (char ch : on) {  // at most two digits are read: no overflow
          ok = ok && ch >= '0' && ch <= '9';
          if (ok) day = day * 10 + (ch - '0');
        }
        if (!ok || day < 1 || day > 31) {
          error(k.at("on"), "on of a monthly " + k.thing() + " must be a day of the month (1 … 31) or last, not " +
                                quote(on));
        } else {
          c.month_day = day;
        }
        return;
      }
    }
  }

  std::vector<std::string> role_keys() const {
    std::vector<std::string> roles;
    if (ctx_.org != nullptr) {
      for (const auto& r : ctx_.org->roles) roles.push_back(r.key);
    }
    return roles;
  }

  static std::string join(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& s : items) out += (out.empty() ? "" : ", ") + quote(s);
    return out;
  }

  const Places& places_;
  const IndicatorContext& ctx_;
  std::vector<Error>& problems_;
  std::vector<std::string> process_keys_;
  std::map<std::string, int> codes_;  // code -> line
};

}  // namespace

IndicatorReport load_indicators(const std::string& file, const std::string& text, const IndicatorContext& ctx) {
  IndicatorReport report;
  Places places(file, text);
  auto problem = [&](const Location& where, std::string message) {
    report.problems.push_back(make_error(ErrorCode::invalid, std::move(message), where));
  };
  try {
    YAML::Node root = YAML::Load(text);
    if (!root.IsMap() || !root["indicators"]) {
      problem(places.start(), "an indicators file must be a mapping with the top-level key indicators:");
    } else {
      IndicatorParser parser(places, ctx, report.problems);
      report.set = parser.file(root);
    }
  } catch (const YAML::ParserException& e) {
    problem(e.mark.line >= 0 ? places.at(e.mark.line, e.mark.column) : places.start(),
            "YAML syntax error: " + e.msg);
  } catch (const YAML::Exception& e) {
    problem(places.start(), std::string("YAML error: ") + e.what());
  }
  std::stable_sort(report.problems.begin(), report.problems.end(), [](const Error& a, const Error& b) {
    return std::tie(a.where.line, a.where.column) < std::tie(b.where.line, b.where.column);
  });
  return report;
}

Result<IndicatorSet> parse_indicators(const std::string& file, const std::string& text) {
  IndicatorReport r = load_indicators(file, text, IndicatorContext{});
  if (r.ok()) return std::move(r.set);
  Error e = r.problems.front();
  if (r.problems.size() > 1) {
    e.message += " (and " + std::to_string(r.problems.size() - 1) + " more problem" +
                 (r.problems.size() > 2 ? "s" : "") + ")";
  }
  return e;
}

}  // namespace reglament
