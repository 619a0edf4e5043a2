#include "cli/cmd_report.h"

#include <algorithm>
#include <memory>

#include <fmt/format.h>

#include "cli/csv.h"

namespace reglament {

void setup_report(CLI::App& app, Ctx& ctx) {
  auto opt = std::make_shared<ReportOptions>();
  CLI::App* sub = app.add_subcommand(
      "report", "Compute the regulation's indicators for a period and list the control checks due");
  sub->add_option("codes", opt->codes, "Indicator or control codes (default: all), e.g. ПП1 КР2");
  sub->add_option("--from", opt->from, "Start of the period (inclusive): ISO-8601 or YYYY-MM-DD")->required();
  sub->add_option("--to", opt->to, "End of the period (exclusive): ISO-8601 or YYYY-MM-DD")->required();
  sub->add_option("--by", opt->by, "Group the figures by actor, client or process")
      ->check(CLI::IsMember({"actor", "client", "process"}));
  sub->add_option("--format", opt->format, "table (default), csv or json")
      ->check(CLI::IsMember({"table", "csv", "json"}));
  sub->add_flag("--split", opt->split, "Also show each day, week or month (the indicator's period) separately");
  sub->callback([&ctx, opt] { ctx.action = [&ctx, opt] { return run_report(ctx, *opt); }; });
}

namespace {

// What a group without a name (an engine step's actor, an instance without a
// client) is called in every format.
constexpr std::string_view kNoName = "—";

std::string group_name(const Figure& f) {
  if (!f.group) return "";
  return f.group->empty() ? std::string(kNoName) : *f.group;
}

// The value as JSON: counts are integers, everything else is a real.
Json value_json(const Indicator& ind, const Figure& f) {
  if (!f.value) return Json();
  if (ind.measure.kind == MeasureKind::count) return Json(static_cast<int64_t>(*f.value));
  return Json(*f.value);
}

Json optional_int(const std::optional<int64_t>& v) { return v ? Json(*v) : Json(); }

// Table text of a number: "3", "50", "33.33"; "—" for nothing.
std::string figure_text(const Indicator& ind, const Figure& f) {
  if (!f.value) return std::string(kNoName);
  if (ind.measure.kind == MeasureKind::count) return std::to_string(static_cast<int64_t>(*f.value));
  return fmt::format("{}", *f.value);
}

std::string detail_text(const Indicator& ind, const Figure& f) {
  switch (ind.measure.kind) {
    case MeasureKind::count: return "";
    case MeasureKind::ratio: return fmt::format("{} of {}", f.count, f.of.value_or(0));
    case MeasureKind::duration: return fmt::format("{} measured", f.count);
    case MeasureKind::share_within: {
      std::string out = fmt::format("{} of {} within {}", f.count, f.of.value_or(0),
                                    format_duration(ind.measure.within));
      if (f.pending.value_or(0) > 0) out += fmt::format(", {} pending", *f.pending);
      return out;
    }
  }
  return "";
}

// "2026-11-02 … 2026-11-08" for a period of whole days, else the instants.
std::string period_text(const Moment& from, const Moment& to) {
  Moment last{to.epoch - 1, from.offset_minutes};
  bool whole_days = local_midnight(local_date(from), from.offset_minutes) == from &&
                    local_midnight(local_date(Moment{to.epoch, from.offset_minutes}), from.offset_minutes).epoch ==
                        to.epoch;
  if (whole_days) {
    std::string a = format_date(local_date(from));
    std::string b = format_date(local_date(last));
    return a == b ? a : a + " … " + b;
  }
  return format_moment(from) + " … " + format_moment(Moment{to.epoch, from.offset_minutes});
}

struct Due {
  const Control* control;
  std::vector<CivilDate> dates;
};

Json report_json(const IndicatorSet& set, const std::vector<IndicatorFigures>& figures,
                 const std::vector<Due>& due, const ReportQuery& q, const ReportOptions& opt) {
  Json out = Json::object();
  out["from"] = format_moment(q.from);
  out["to"] = format_moment(q.to);
  out["now"] = format_moment(q.now);
  out["by"] = opt.by ? Json(*opt.by) : Json();
  Json inds = Json::array();
  for (const IndicatorFigures& f : figures) {
    const Indicator* ind = set.indicator(f.code);
    Json j = Json::object();
    j["code"] = ind->code;
    j["title"] = ind->title;
    j["unit"] = ind->unit;
    j["period"] = std::string(to_string(ind->period));
    j["goal"] = nullable(ind->goal);
    j["measure"] = std::string(to_string(ind->measure.kind));
    j["from"] = format_moment(f.from);
    j["to"] = format_moment(f.to);
    Json rows = Json::array();
    for (const Figure& fig : f.figures) {
      Json r = Json::object();
      r["group"] = fig.group ? Json(group_name(fig)) : Json();
      r["value"] = value_json(*ind, fig);
      r["count"] = fig.count;
      r["of"] = optional_int(fig.of);
      r["pending"] = optional_int(fig.pending);
      rows.push_back(std::move(r));
    }
    j["figures"] = std::move(rows);
    inds.push_back(std::move(j));
  }
  out["indicators"] = std::move(inds);
  Json controls = Json::array();
  for (const Due& d : due) {
    Json j = Json::object();
    j["code"] = d.control->code;
    j["title"] = d.control->title;
    j["period"] = std::string(to_string(d.control->period));
    j["role"] = d.control->role;
    Json dates = Json::array();
    for (const CivilDate& c : d.dates) dates.push_back(format_date(c));
    j["due"] = std::move(dates);
    controls.push_back(std::move(j));
  }
  out["controls"] = std::move(controls);
  return out;
}

void print_table(const IndicatorSet& set, const std::vector<IndicatorFigures>& figures, const std::vector<Due>& due,
                 const ReportQuery& q, const ReportOptions& opt) {
  std::string head = "indicators for " + period_text(q.from, q.to);
  if (opt.by) head += " by " + *opt.by;
  print_line(head);
  if (figures.empty()) {
    print_line("no indicators selected");
  } else {
    std::vector<std::string> headers{"code", "title"};
    if (opt.split) headers.push_back("period");
    for (const char* h : {"group", "value", "unit", "detail"}) headers.push_back(h);
    TextTable t(headers);
    t.set_max_width(1, kTitleWidth);
    std::string last_code;  // the title is shown once per indicator
    for (const IndicatorFigures& f : figures) {
      const Indicator* ind = set.indicator(f.code);
      bool first = f.code != last_code;
      last_code = f.code;
      for (const Figure& fig : f.figures) {
        std::vector<std::string> row{ind->code, first ? ind->title : ""};
        if (opt.split) row.push_back(period_text(f.from, f.to));
        row.push_back(fig.group ? group_name(fig) : "all");
        row.push_back(figure_text(*ind, fig));
        row.push_back(ind->unit);
        row.push_back(detail_text(*ind, fig));
        t.add(std::move(row));
        first = false;
      }
    }
    print_text(t.render());
  }
  if (due.empty()) return;
  print_line("");
  print_line("control checks due");
  TextTable c({"code", "title", "role", "period", "due"});
  c.set_max_width(1, kTitleWidth);
  for (const Due& d : due) {
    std::vector<std::string> dates;
    for (const CivilDate& day : d.dates) dates.push_back(format_date(day));
    c.add({d.control->code, d.control->title, d.control->role, std::string(to_string(d.control->period)),
           dates.empty() ? std::string("not due") : join_strings(dates, ", ")});
  }
  print_text(c.render());
}

}  // namespace

std::string report_csv(const IndicatorSet& set, const std::vector<IndicatorFigures>& figures) {
  std::string out = csv_record({"code", "title", "unit", "period", "from", "to", "group", "value", "count", "of",
                                "pending"});
  for (const IndicatorFigures& f : figures) {
    const Indicator* ind = set.indicator(f.code);
    if (ind == nullptr) continue;
    for (const Figure& fig : f.figures) {
      Json v = value_json(*ind, fig);
      std::vector<std::string> cells{
          ind->code,
          ind->title,
          ind->unit,
          std::string(to_string(ind->period)),
          format_moment(f.from),
          format_moment(f.to),
          group_name(fig),
          v.is_null() ? "" : v.dump(),
          std::to_string(fig.count),
          fig.of ? std::to_string(*fig.of) : "",
          fig.pending ? std::to_string(*fig.pending) : "",
      };
      out += csv_record(cells);
    }
  }
  return out;
}

int run_report(Ctx& ctx, const ReportOptions& opt) {
  // Bare dates are read in the offset of --now (the user's clock).
  auto now = parse_moment(ctx.now);
  if (!now) return fail(ErrorCode::invalid, "--now: " + now.error().message);
  auto from = parse_moment(opt.from, now->offset_minutes);
  if (!from) return fail(ErrorCode::invalid, "--from: " + from.error().message);
  auto to = parse_moment(opt.to, now->offset_minutes);
  if (!to) return fail(ErrorCode::invalid, "--to: " + to.error().message);
  if (to->epoch <= from->epoch) {
    return fail(ErrorCode::invalid, fmt::format("--to {} must be later than --from {}", opt.to, opt.from));
  }

  auto store = ctx.store();
  if (!store) return fail(store.error());
  if (auto st = check_audit(ctx, "compute the indicators"); !st.ok()) return fail(st.error());
  auto doc = (*store)->document("indicators");
  if (!doc) return fail(doc.error());
  if (!doc->has_value()) {
    return fail(ErrorCode::not_found, "no indicators are deployed; add indicators.yaml to the bundle and deploy");
  }
  auto all = parse_indicators("indicators.yaml (deployed)", **doc);
  if (!all) return fail(all.error());

  // The codes asked for, in the order of the file.
  IndicatorSet set;
  if (opt.codes.empty()) {
    set = *all;
  } else {
    for (const auto& code : opt.codes) {
      if (all->indicator(code) == nullptr && all->control(code) == nullptr) {
        std::vector<std::string> known;
        for (const auto& i : all->indicators) known.push_back(i.code);
        for (const auto& c : all->controls) known.push_back(c.code);
        return fail(ErrorCode::not_found, fmt::format("no indicator or control \"{}\"; the deployed codes are {}",
                                                      code, join_strings(known, ", ")));
      }
    }
    auto wanted = [&](const std::string& code) {
      return std::find(opt.codes.begin(), opt.codes.end(), code) != opt.codes.end();
    };
    for (const auto& i : all->indicators) {
      if (wanted(i.code)) set.indicators.push_back(i);
    }
    for (const auto& c : all->controls) {
      if (wanted(c.code)) set.controls.push_back(c);
    }
  }

  ReportQuery q;
  q.from = *from;
  q.to = Moment{to->epoch, from->offset_minutes};
  q.now = *now;
  q.split = opt.split;
  if (opt.by) q.by = parse_group_by(*opt.by);

  // Everything before the end of the period, and as far past it as a
  // deadline may reach: instances that began earlier still count. Read one
  // instance at a time, so memory does not grow with the log.
  IndicatorComputer computer(set, q);
  if (!set.indicators.empty()) {
    std::vector<LogEvent> events;
    Status read = (*store)->each_instance_log(
        format_moment(Moment{q.to.epoch + set.lookahead(), 0}), [&](std::vector<StoredEvent>& rows) {
          events.clear();
          for (StoredEvent& r : rows) events.push_back(LogEvent{std::move(r.instance), r.seq, std::move(r.event)});
          return computer.add(events);
        });
    if (!read.ok()) return fail(read.error());
  }
  const std::vector<IndicatorFigures> figures = computer.figures();

  std::vector<Due> due;
  for (const auto& c : set.controls) due.push_back(Due{&c, due_dates(c, q.from, q.to)});

  std::string format = ctx.json ? "json" : opt.format;
  if (format == "json") {
    print_json(report_json(set, figures, due, q, opt));
  } else if (format == "csv") {
    print_text(report_csv(set, figures));
  } else {
    print_table(set, figures, due, q, opt);
  }
  return kExitOk;
}

}  // namespace reglament
