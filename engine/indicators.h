// Indicators and control methods as data (sections 5 and 6 of the
// regulation), and computing them from the event log.
//
// An indicators file (top-level key `indicators:`, processes/indicators.yaml)
// names each indicator by its code (ПП1, КР1 …) and gives its formula as a
// measure over what the engine recorded:
//   count         events of one kind (a process started, a step or task
//                 completed, an instance completed), filtered by process,
//                 step, branch taken and a condition over the variables;
//   ratio         one count over another;
//   duration      time between two points of an instance (its start, a step
//                 completed, its end), summarised by median, mean, pNN …;
//   share_within  the share of instances where the second point came within
//                 a given time of the first (a deadline met).
// The same file lists the control methods under `controls:`: who checks what
// how often. docs/indicators.md describes every key.
//
// Computing is pure: compute() gets the events (as the store read them), the
// period and "now", and returns figures. It looks only at the events, so a
// report for a past period never changes (see compute() for the one case of
// a deadline still running).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core.h"
#include "engine/expr.h"
#include "engine/model.h"
#include "engine/result.h"
#include "engine/time.h"

namespace reglament {

enum class Period { day, week, month };
// How figures are split into groups: by the person who acted, by the
// instance's `client` variable, by process.
enum class GroupBy { none, actor, client, process };
enum class MeasureKind { count, ratio, duration, share_within };
enum class Stat { median, mean, min, max, percentile };

// "day", "week", "month"; "none", "actor", "client", "process";
// "count", "ratio", "duration", "share_within".
std::string_view to_string(Period p);
std::string_view to_string(GroupBy g);
std::string_view to_string(MeasureKind k);
std::optional<Period> parse_period(std::string_view s);
std::optional<GroupBy> parse_group_by(std::string_view s);

// Which events a count counts. Empty lists and strings match anything.
struct EventFilter {
  EventType event = EventType::step_completed;  // one of InstanceStarted,
                                                // StepCompleted, TaskCompleted,
                                                // InstanceCompleted
  std::vector<std::string> processes;
  std::vector<std::string> steps;
  std::string branch;  // StepCompleted: the condition text that chose the path, or "else"
  std::string next;    // StepCompleted: a step (or "end") the path went to
  std::string role;    // TaskCompleted: the role the person acted in
  std::optional<Expr> where;  // over the instance's variables just after the event
};

// A point in an instance's life: "start" (InstanceStarted), "end"
// (InstanceCompleted) or a step id (its StepCompleted).
inline constexpr std::string_view kStartPoint = "start";
inline constexpr std::string_view kEndPoint = "end";

struct Measure {
  MeasureKind kind = MeasureKind::count;
  EventFilter count;        // count
  EventFilter numerator;    // ratio
  EventFilter denominator;  // ratio
  std::string process;      // duration, share_within
  std::string from;         // duration, share_within: "start" or a step id
  std::string to;           // duration, share_within: a step id or "end"
  Stat stat = Stat::median;  // duration
  int percentile = 50;       // duration with Stat::percentile (1..99)
  int64_t within = 0;        // share_within: seconds
  // duration, share_within: which instances count, over the variables just
  // after the `to` point (or, without one yet, the latest known).
  std::optional<Expr> where;
};

struct Indicator {
  std::string code;   // "ПП1"
  std::string title;  // Russian
  std::string unit;   // "%" makes ratio and share_within percentages; a
                      // duration's unit is h|ч, d|дн, min|мин
  Period period = Period::week;
  std::string goal;   // "Ц1", optional
  std::string description;
  GroupBy by = GroupBy::none;  // the grouping when the report names none
  Measure measure;
  Location where;
};

struct Control {
  std::string code;   // "ОМ2"
  std::string title;
  Period period = Period::week;
  std::string role;   // the responsible role, from org.yaml
  std::string description;
  int weekday = 1;    // week: the day it is due, 1 = Monday … 7 = Sunday
  int month_day = 1;  // month: the day it is due, 1..31 (clamped to the
                      // month's length); 0 = the last day
  bool workdays = false;  // day: Monday to Friday only
  Location where;
};

struct IndicatorSet {
  std::vector<Indicator> indicators;
  std::vector<Control> controls;

  const Indicator* indicator(std::string_view code) const;
  const Control* control(std::string_view code) const;
  // The longest `within` of any share_within, in seconds (0 when none): how
  // far past a period's end the events it needs may lie.
  int64_t lookahead() const;
};

// ---- Loading (loader_indicators.cpp) -----------------------------------------

// What references are checked against. Empty / null: not checked.
struct IndicatorContext {
  std::vector<const Process*> processes;  // process keys, step ids, branches, variables
  const Org* org = nullptr;               // the roles of controls
};

struct IndicatorReport {
  IndicatorSet set;
  std::vector<Error> problems;  // code invalid, each with file:line:column

  bool ok() const { return problems.empty(); }
};

// Parses and validates an indicators file. `file` is how locations name it.
// Every problem is reported; `set` holds what could be read.
IndicatorReport load_indicators(const std::string& file, const std::string& text,
                                const IndicatorContext& ctx);

// The same without reference checks (for text deployed after validation).
// Errors: invalid, the first problem (and how many more there are).
Result<IndicatorSet> parse_indicators(const std::string& file, const std::string& text);

// ---- Computing ---------------------------------------------------------------

// One event of the log, as the store reads it.
struct LogEvent {
  std::string instance;
  int64_t seq = 0;  // 1-based within the instance
  Event event;
};

struct ReportQuery {
  Moment from;  // the period is [from, to)
  Moment to;
  Moment now;   // events after it are ignored; deadlines after it are pending
  std::optional<GroupBy> by;  // overrides every indicator's own `by`
  bool split = false;  // also one set of figures per calendar period of each
                       // indicator (day, week from Monday, month) in [from, to)
};

// One figure of an indicator: for everything, or for one group.
struct Figure {
  std::optional<std::string> group;  // nullopt: all together
  std::optional<double> value;       // nullopt: nothing to measure (no
                                     // samples, a zero denominator)
  int64_t count = 0;              // count: events; ratio: numerator;
                                  // duration: samples; share_within: met
  std::optional<int64_t> of;      // ratio: denominator; share_within: met + missed
  std::optional<int64_t> pending; // share_within: deadline not passed yet
};

struct IndicatorFigures {
  std::string code;
  Moment from;
  Moment to;
  std::vector<Figure> figures;  // all together first, then each group by name
};

// Computes every indicator of `set` over `events` (any order; all instances;
// at least every event before query.to + set.lookahead()).
//
// count and ratio count matching events in [from, to). duration takes, per
// instance, each `from` point paired with the first `to` point after it, and
// measures the pairs whose `to` lies in [from, to). share_within judges each
// `from` point in [from, to): met when the `to` point followed within the
// time; missed when that time ran out (by `now`) without it; pending
// otherwise — so a figure is final once now >= to + within.
// Groups: the actor of the counted event (for StepCompleted and
// InstanceCompleted: whoever completed the last task before it), of the
// `from` point for duration and share_within; the instance's `client`; its
// process. Values are rounded to two decimals.
// Errors: invalid when an event's time is not a timestamp.
Result<std::vector<IndicatorFigures>> compute(const IndicatorSet& set, const std::vector<LogEvent>& events,
                                              const ReportQuery& query);

// compute() fed one instance at a time, so that a report over a large log
// holds one instance's events at a time, not the log (`reglament report`
// reads the log instance by instance, SqliteStore::each_instance_log). The
// figures are compute()'s over the same events, whatever order the instances
// come in. `set` must outlive the computer.
class IndicatorComputer {
 public:
  IndicatorComputer(const IndicatorSet& set, const ReportQuery& query);
  ~IndicatorComputer();
  IndicatorComputer(IndicatorComputer&&) noexcept;
  IndicatorComputer& operator=(IndicatorComputer&&) noexcept;

  // The events of one instance (any order), each instance once; at least
  // every event before query.to + set.lookahead().
  // Errors: invalid when an event's time is not a timestamp.
  Status add(const std::vector<LogEvent>& events);
  std::vector<IndicatorFigures> figures() const;

 private:
  friend Result<std::vector<IndicatorFigures>> compute(const IndicatorSet&, const std::vector<LogEvent>&,
                                                       const ReportQuery&);
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The calendar periods of `p` that [from, to) overlaps, cut to [from, to);
// days start at midnight, weeks on Monday, months on the 1st, in from's offset.
std::vector<std::pair<Moment, Moment>> split_period(Period p, const Moment& from, const Moment& to);

// The days in [from, to) (in from's offset) on which the control is due.
std::vector<CivilDate> due_dates(const Control& c, const Moment& from, const Moment& to);

}  // namespace reglament
