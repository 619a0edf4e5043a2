// Computing indicators from the event log. Parsing is in loader_indicators.cpp.
//
// Each instance's events become a timeline: every event with its instant,
// the actor it is attributed to, and the instance's variables just after
// it. Each indicator (and window of a split report) keeps an accumulator
// that takes one timeline at a time, so the log is never held whole;
// nothing here depends on the order instances or events come in.

#include "engine/indicators.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>

#include <fmt/format.h>

namespace reglament {

std::string_view to_string(Period p) {
  switch (p) {
    case Period::day: return "day";
    case Period::week: return "week";
    case Period::month: return "month";
  }
  return "week";
}

std::string_view to_string(GroupBy g) {
  switch (g) {
    case GroupBy::none: return "none";
    case GroupBy::actor: return "actor";
    case GroupBy::client: return "client";
    case GroupBy::process: return "process";
  }
  return "none";
}

std::string_view to_string(MeasureKind k) {
  switch (k) {
    case MeasureKind::count: return "count";
    case MeasureKind::ratio: return "ratio";
    case MeasureKind::duration: return "duration";
    case MeasureKind::share_within: return "share_within";
  }
  return "count";
}

std::optional<Period> parse_period(std::string_view s) {
  for (Period p : {Period::day, Period::week, Period::month}) {
    if (to_string(p) == s) return p;
  }
  return std::nullopt;
}

std::optional<GroupBy> parse_group_by(std::string_view s) {
  for (GroupBy g : {GroupBy::none, GroupBy::actor, GroupBy::client, GroupBy::process}) {
    if (to_string(g) == s) return g;
  }
  return std::nullopt;
}

const Indicator* IndicatorSet::indicator(std::string_view code) const {
  for (const auto& i : indicators) {
    if (i.code == code) return &i;
  }
  return nullptr;
}

const Control* IndicatorSet::control(std::string_view code) const {
  for (const auto& c : controls) {
    if (c.code == code) return &c;
  }
  return nullptr;
}

int64_t IndicatorSet::lookahead() const {
  int64_t out = 0;
  for (const auto& i : indicators) {
    if (i.measure.kind == MeasureKind::share_within) out = std::max(out, i.measure.within);
  }
  return out;
}

namespace {

// One event of an instance's timeline.
struct Point {
  const Event* event = nullptr;
  int64_t at = 0;       // epoch seconds
  std::string actor;    // attributed (see compute() in the header)
  std::shared_ptr<const JsonObject> vars;  // the variables just after the event
};

struct Timeline {
  std::string instance;
  std::string process;
  std::vector<Point> points;  // in seq order
};

std::string text_of(const Json& v) {
  if (v.is_null()) return "";
  if (v.is_string()) return v.as_string();
  return v.dump();
}

void merge(JsonObject& vars, const Json& values) {
  if (!values.is_object()) return;
  for (const auto& [k, v] : values.as_object()) vars[k] = v;
}

// The timeline of one instance from its events in seq order; empty when
// nothing of it happened by `now`.
Result<Timeline> build_timeline(const std::vector<const LogEvent*>& list, int64_t now) {
  Timeline t;
  if (!list.empty()) t.instance = list.front()->instance;
  auto vars = std::make_shared<JsonObject>();
  std::map<std::string, std::string> step_actor;  // step -> who completed its last task
  std::string last_actor;                          // who completed the last task
  for (const LogEvent* le : list) {
    const Event& e = le->event;
    auto at = parse_moment(e.at);
    if (!at.ok()) {
      return make_error(ErrorCode::invalid, fmt::format("event {} of instance {} has a bad time: {}", le->seq,
                                                        le->instance, at.error().message));
    }
    // The log is as of `now`: what a later clock recorded is not known yet.
    if (at->epoch > now) break;
    Point p;
    p.event = &e;
    p.at = at->epoch;
    p.actor = e.actor;
    const Json* changes = nullptr;
    switch (e.type) {
      case EventType::instance_started:
        t.process = e.data.str("process");
        changes = &e.data.get("variables");
        break;
      case EventType::task_completed:
        step_actor[e.step] = e.actor;
        last_actor = e.actor;
        changes = &e.data.get("values");
        break;
      case EventType::service_completed:
      case EventType::child_returned:
        changes = &e.data.get("outputs");
        break;
      case EventType::step_completed: {
        auto it = step_actor.find(e.step);
        p.actor = it == step_actor.end() ? "" : it->second;
        break;
      }
      case EventType::instance_completed:
        p.actor = last_actor;
        break;
      default:
        break;
    }
    if (changes != nullptr && changes->is_object() && !changes->as_object().empty()) {
      auto next = std::make_shared<JsonObject>(*vars);
      merge(*next, *changes);
      vars = std::move(next);
    }
    p.vars = vars;
    t.points.push_back(std::move(p));
  }
  return t;
}

bool contains(const std::vector<std::string>& list, const std::string& s) {
  return std::find(list.begin(), list.end(), s) != list.end();
}

// A condition that cannot be evaluated (ordering a number against text)
// does not hold, as a branch condition would not.
bool holds(const std::optional<Expr>& where, const JsonObject& vars) {
  if (!where) return true;
  auto h = eval_condition(*where, vars);
  return h.ok() && *h;
}

bool matches(const EventFilter& f, const Timeline& t, const Point& p) {
  const Event& e = *p.event;
  if (e.type != f.event) return false;
  if (!f.processes.empty() && !contains(f.processes, t.process)) return false;
  if (!f.steps.empty() && !contains(f.steps, e.step)) return false;
  if (!f.branch.empty()) {
    const Json& b = e.data.get("branch");
    if (!b.is_string() || b.as_string() != f.branch) return false;
  }
  if (!f.next.empty()) {
    const Json& next = e.data.get("next");
    bool found = false;
    if (next.is_array()) {
      for (const auto& n : next.as_array()) found = found || (n.is_string() && n.as_string() == f.next);
    }
    if (!found) return false;
  }
  if (!f.role.empty() && e.data.str("role") != f.role) return false;
  return holds(f.where, *p.vars);
}

// Is `p` the point `name` ("start", "end" or a step id) of its instance?
bool is_point(const std::string& name, const Point& p) {
  const Event& e = *p.event;
  if (name == kStartPoint) return e.type == EventType::instance_started;
  if (name == kEndPoint) return e.type == EventType::instance_completed;
  return e.type == EventType::step_completed && e.step == name;
}

std::string group_of(GroupBy by, const Timeline& t, const Point& p) {
  switch (by) {
    case GroupBy::none: return "";
    case GroupBy::actor: return p.actor;
    case GroupBy::client: {
      auto it = p.vars->find("client");
      return it == p.vars->end() ? "" : text_of(it->second);
    }
    case GroupBy::process: return t.process;
  }
  return "";
}

double round2(double v) { return std::round(v * 100.0) / 100.0; }

// Collects per-group tallies; the whole is kept under nullopt.
template <typename T>
class Groups {
 public:
  explicit Groups(GroupBy by) : by_(by) {}
  T& whole() { return whole_; }
  T& group(const std::string& g) { return groups_[g]; }
  bool grouped() const { return by_ != GroupBy::none; }
  const T& whole() const { return whole_; }
  const std::map<std::string, T>& groups() const { return groups_; }

 private:
  GroupBy by_;
  T whole_{};
  std::map<std::string, T> groups_;
};

// Adds to the whole and, when grouping, to the group.
template <typename T, typename F>
void tally(Groups<T>& g, const std::string& group, F&& add) {
  add(g.whole());
  if (g.grouped()) add(g.group(group));
}

template <typename T, typename F>
std::vector<Figure> figures_of(const Groups<T>& g, F&& figure) {
  std::vector<Figure> out;
  out.push_back(figure(g.whole()));
  for (const auto& [name, v] : g.groups()) {
    Figure f = figure(v);
    f.group = name;
    out.push_back(std::move(f));
  }
  return out;
}

bool in_window(int64_t at, int64_t from, int64_t to) { return at >= from && at < to; }

// Seconds per unit of a duration indicator (validated by the loader).
double seconds_per_unit(const std::string& unit) {
  if (unit == "d" || unit == "дн" || unit == "дн.") return 86400;
  if (unit == "min" || unit == "мин" || unit == "мин.") return 60;
  return 3600;
}

double statistic(std::vector<double> xs, Stat stat, int percentile) {
  std::sort(xs.begin(), xs.end());
  size_t n = xs.size();
  switch (stat) {
    case Stat::min: return xs.front();
    case Stat::max: return xs.back();
    case Stat::mean: {
      double sum = 0;
      for (double x : xs) sum += x;
      return sum / static_cast<double>(n);
    }
    case Stat::median:
      return n % 2 == 1 ? xs[n / 2] : (xs[n / 2 - 1] + xs[n / 2]) / 2;
    case Stat::percentile: {
      // Nearest rank: the smallest value with at least p% of the samples at
      // or below it.
      size_t rank = static_cast<size_t>(std::ceil(percentile / 100.0 * static_cast<double>(n)));
      return xs[std::clamp<size_t>(rank, 1, n) - 1];
    }
  }
  return 0;
}

// Calls `pair(anchor, end_or_null)` for every `from` point of the instance:
// each is paired with the first `to` point after it; a `from` point while
// one is open is ignored (a loop does not restart the clock). Pairs whose
// instance fails the measure's `where` are left out.
template <typename F>
void pairs(const Measure& m, const Timeline& t, F&& pair) {
  const Point* open = nullptr;
  for (const auto& p : t.points) {
    if (open != nullptr && is_point(m.to, p)) {
      if (holds(m.where, *p.vars)) pair(*open, &p);
      open = nullptr;
    } else if (open == nullptr && is_point(m.from, p)) {
      open = &p;
    }
  }
  if (open != nullptr && holds(m.where, *t.points.back().vars)) pair(*open, nullptr);
}

// One indicator over one window, fed one instance's timeline at a time.
// Counts and tallies are sums over instances and a duration's samples are
// sorted before their statistic, so the order instances come in does not
// change a figure.
class Accumulator {
 public:
  Accumulator(const Indicator& ind, int64_t from, int64_t to, int64_t now, GroupBy by)
      : ind_(&ind), from_(from), to_(to), now_(now), by_(by), counts_(by), ratios_(by), samples_(by), shares_(by) {}

  void add(const Timeline& t) {
    const Measure& m = ind_->measure;
    switch (m.kind) {
      case MeasureKind::count:
        for (const auto& p : t.points) {
          if (!in_window(p.at, from_, to_) || !matches(m.count, t, p)) continue;
          tally(counts_, group_of(by_, t, p), [](int64_t& n) { ++n; });
        }
        return;
      case MeasureKind::ratio:
        for (const auto& p : t.points) {
          if (!in_window(p.at, from_, to_)) continue;
          if (matches(m.numerator, t, p)) tally(ratios_, group_of(by_, t, p), [](Pair& x) { ++x.num; });
          if (matches(m.denominator, t, p)) tally(ratios_, group_of(by_, t, p), [](Pair& x) { ++x.den; });
        }
        return;
      case MeasureKind::duration: {
        if (t.process != m.process) return;
        const double unit = seconds_per_unit(ind_->unit);
        pairs(m, t, [&](const Point& a, const Point* b) {
          if (b == nullptr || !in_window(b->at, from_, to_)) return;
          const double d = static_cast<double>(b->at - a.at) / unit;
          tally(samples_, group_of(by_, t, a), [d](std::vector<double>& xs) { xs.push_back(d); });
        });
        return;
      }
      case MeasureKind::share_within:
        if (t.process != m.process) return;
        pairs(m, t, [&](const Point& a, const Point* b) {
          if (!in_window(a.at, from_, to_)) return;
          const int64_t deadline = a.at + m.within;
          const bool met = b != nullptr && b->at <= deadline;
          const bool missed = !met && deadline <= now_;
          tally(shares_, group_of(by_, t, a),
                [met, missed](Tally& x) { ++(met ? x.met : missed ? x.missed : x.pending); });
        });
        return;
    }
  }

  std::vector<Figure> figures() const {
    const Measure& m = ind_->measure;
    const bool percent = ind_->unit == "%";
    switch (m.kind) {
      case MeasureKind::count:
        return figures_of(counts_, [](int64_t n) {
          Figure f;
          f.count = n;
          f.value = static_cast<double>(n);
          return f;
        });
      case MeasureKind::ratio:
        return figures_of(ratios_, [percent](const Pair& x) {
          Figure f;
          f.count = x.num;
          f.of = x.den;
          if (x.den > 0)
            f.value = round2(static_cast<double>(x.num) / static_cast<double>(x.den) * (percent ? 100 : 1));
          return f;
        });
      case MeasureKind::duration:
        return figures_of(samples_, [&m](const std::vector<double>& xs) {
          Figure f;
          f.count = static_cast<int64_t>(xs.size());
          if (!xs.empty()) f.value = round2(statistic(xs, m.stat, m.percentile));
          return f;
        });
      case MeasureKind::share_within:
        return figures_of(shares_, [percent](const Tally& x) {
          Figure f;
          f.count = x.met;
          f.of = x.met + x.missed;
          f.pending = x.pending;
          if (*f.of > 0)
            f.value = round2(static_cast<double>(x.met) / static_cast<double>(*f.of) * (percent ? 100 : 1));
          return f;
        });
    }
    return {};
  }

 private:
  struct Pair {
    int64_t num = 0, den = 0;
  };
  struct Tally {
    int64_t met = 0, missed = 0, pending = 0;
  };

  const Indicator* ind_;
  int64_t from_, to_, now_;
  GroupBy by_;
  // The one of these the measure's kind uses.
  Groups<int64_t> counts_;
  Groups<Pair> ratios_;
  Groups<std::vector<double>> samples_;
  Groups<Tally> shares_;
};

// The first moment of the period of kind `p` that holds `t` (in t's offset).
Moment period_start(Period p, const Moment& t) {
  CivilDate d = local_date(t);
  switch (p) {
    case Period::day: break;
    case Period::week: d = days_to_civil(civil_to_days(d) - (iso_weekday(d) - 1)); break;
    case Period::month: d.day = 1; break;
  }
  return local_midnight(d, t.offset_minutes);
}

Moment period_after(Period p, const Moment& start) {
  CivilDate d = local_date(start);
  switch (p) {
    case Period::day: d = days_to_civil(civil_to_days(d) + 1); break;
    case Period::week: d = days_to_civil(civil_to_days(d) + 7); break;
    case Period::month:
      d.day = 1;
      if (++d.month > 12) {
        d.month = 1;
        ++d.year;
      }
      break;
  }
  return local_midnight(d, start.offset_minutes);
}

}  // namespace

struct IndicatorComputer::Impl {
  struct Window {
    const Indicator* indicator;
    Moment from;
    Moment to;
  };
  int64_t now = 0;
  std::vector<Window> windows;
  std::vector<Accumulator> accumulators;  // one per window

  Status add(std::vector<const LogEvent*>& list) {
    std::sort(list.begin(), list.end(), [](const LogEvent* a, const LogEvent* b) { return a->seq < b->seq; });
    auto t = build_timeline(list, now);
    if (!t.ok()) return t.error();
    if (t->points.empty()) return {};
    for (Accumulator& a : accumulators) a.add(*t);
    return {};
  }
};

IndicatorComputer::IndicatorComputer(const IndicatorSet& set, const ReportQuery& q) : impl_(std::make_unique<Impl>()) {
  impl_->now = q.now.epoch;
  for (const auto& ind : set.indicators) {
    GroupBy by = q.by.value_or(ind.by);
    std::vector<std::pair<Moment, Moment>> windows{{q.from, q.to}};
    if (q.split) {
      auto parts = split_period(ind.period, q.from, q.to);
      if (parts.size() > 1) windows.insert(windows.end(), parts.begin(), parts.end());
    }
    for (const auto& [from, to] : windows) {
      impl_->windows.push_back(Impl::Window{&ind, from, to});
      impl_->accumulators.emplace_back(ind, from.epoch, to.epoch, q.now.epoch, by);
    }
  }
}

IndicatorComputer::~IndicatorComputer() = default;
IndicatorComputer::IndicatorComputer(IndicatorComputer&&) noexcept = default;
IndicatorComputer& IndicatorComputer::operator=(IndicatorComputer&&) noexcept = default;

Status IndicatorComputer::add(const std::vector<LogEvent>& events) {
  std::vector<const LogEvent*> list;
  list.reserve(events.size());
  for (const LogEvent& e : events) list.push_back(&e);
  return impl_->add(list);
}

std::vector<IndicatorFigures> IndicatorComputer::figures() const {
  std::vector<IndicatorFigures> out;
  for (size_t i = 0; i < impl_->windows.size(); ++i) {
    IndicatorFigures f;
    f.code = impl_->windows[i].indicator->code;
    f.from = impl_->windows[i].from;
    f.to = impl_->windows[i].to;
    f.figures = impl_->accumulators[i].figures();
    out.push_back(std::move(f));
  }
  return out;
}

Result<std::vector<IndicatorFigures>> compute(const IndicatorSet& set, const std::vector<LogEvent>& events,
                                              const ReportQuery& q) {
  std::map<std::string, std::vector<const LogEvent*>> by_instance;
  for (const auto& e : events) by_instance[e.instance].push_back(&e);
  IndicatorComputer computer(set, q);
  for (auto& [id, list] : by_instance) {
    if (Status st = computer.impl_->add(list); !st.ok()) return st.error();
  }
  return computer.figures();
}

std::vector<std::pair<Moment, Moment>> split_period(Period p, const Moment& from, const Moment& to) {
  std::vector<std::pair<Moment, Moment>> out;
  if (to.epoch <= from.epoch) return out;
  Moment end{to.epoch, from.offset_minutes};
  Moment start = period_start(p, from);
  while (start.epoch < end.epoch) {
    Moment next = period_after(p, start);
    Moment a = start.epoch < from.epoch ? from : start;
    Moment b = next.epoch > end.epoch ? end : next;
    out.emplace_back(a, b);
    start = next;
  }
  return out;
}

std::vector<CivilDate> due_dates(const Control& c, const Moment& from, const Moment& to) {
  std::vector<CivilDate> out;
  if (to.epoch <= from.epoch) return out;
  // Every day whose span [midnight, next midnight) overlaps [from, to).
  int64_t first = civil_to_days(local_date(from));
  int64_t last = civil_to_days(local_date(Moment{to.epoch - 1, from.offset_minutes}));
  for (int64_t day = first; day <= last; ++day) {
    CivilDate d = days_to_civil(day);
    bool due = false;
    switch (c.period) {
      case Period::day: due = !c.workdays || iso_weekday(d) <= 5; break;
      case Period::week: due = iso_weekday(d) == c.weekday; break;
      case Period::month: {
        unsigned length = month_length(d.year, d.month);
        unsigned target = c.month_day == 0 ? length : std::min<unsigned>(static_cast<unsigned>(c.month_day), length);
        due = d.day == target;
        break;
      }
    }
    if (due) out.push_back(d);
  }
  return out;
}

}  // namespace reglament
