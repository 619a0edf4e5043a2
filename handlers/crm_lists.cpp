// The weekly lists of 3.5 (calls.plan, clients.review, requests.planned,
// clients.issues): read the whole client database, answer with a list as an
// output variable; calls.plan also starts one outbound call per entry.

#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <tuple>

#include "handlers/crm.h"

namespace reglament {

namespace {

using namespace crm_internal;

constexpr int64_t kDaySeconds = 86400;

// The company of a client id, or null when the id is unknown.
Json company_of(const std::map<int64_t, Client>& clients, int64_t id) {
  auto it = clients.find(id);
  return it == clients.end() ? Json() : Json(it->second.company);
}

const Json& field(const CrmRow& row, std::string_view name) {
  static const Json kNull;
  auto it = row.fields.find(name);
  return it == row.fields.end() ? kNull : it->second;
}

bool is_open_item(const CrmRow& row) { return !is_set(field(row, "closed_at")); }
bool is_open_complaint(const CrmRow& row) { return as_text(field(row, "status")) != "resolved"; }

// Rows with the day or moment a list orders them by.
using KeyedRows = std::vector<std::pair<int64_t, const CrmRow*>>;

// By key, then by row id: the same list whatever order the book gives rows in.
void sort_keyed(KeyedRows& rows) {
  std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
    return std::tie(a.first, a.second->id) < std::tie(b.first, b.second->id);
  });
}

// The outputs of a list handler: the list and how many entries it holds.
HandlerResult list_result(std::string_view list_name, std::string_view count_name, JsonArray list) {
  HandlerResult r;
  r.outputs[std::string(count_name)] = Json(static_cast<int64_t>(list.size()));
  r.outputs[std::string(list_name)] = Json(std::move(list));
  return r;
}

// ---- calls.plan ----------------------------------------------------------------

// The gap as seconds: a duration ("30d", "P30D"), or a bare number of days.
std::optional<int64_t> gap_seconds(const Json& v) {
  if (auto days = as_integer(v)) return *days > 0 ? std::optional<int64_t>(*days * kDaySeconds) : std::nullopt;
  if (!v.is_string()) return std::nullopt;
  auto d = parse_duration(v.as_string());
  if (!d.ok()) return std::nullopt;
  return *d;
}

// A planned contact on `day` of next week: that day when it is a working
// day, else the next working day of the week, else the week's last one.
int64_t planned_call_day(const Week& week, int64_t day) {
  for (int64_t d : week.working)
    if (d >= day) return d;
  return week.last_working();
}

class CallsPlanHandler : public TaskHandler {
 public:
  HandlerResult run(const HandlerCall& call) const override {
    auto crm = begin_call(*this, call, NeedsNow::yes);
    if (!crm.ok()) return HandlerResult::failure(crm.error().message);
    const Now& now = *crm->now;
    const WorkingCalendar& cal = now.calendar();
    Week week = next_week(cal, now.today);
    int64_t gap = crm->with.has("a_class_gap") ? *gap_seconds(crm->with.get("a_class_gap")) : 30 * kDaySeconds;
    // Class A customers not contacted since this moment are called.
    int64_t cutoff = cal.zone.to_utc(days_to_civil(week.monday), 0) - gap;

    auto clients = clients_by_id(crm->book);
    if (!clients.ok()) return HandlerResult::failure(clients.error().message);
    std::set<int64_t> open;
    auto items = crm->book.rows("items", 0);
    if (!items.ok()) return HandlerResult::failure(items.error().message);
    for (const auto& row : *items)
      if (is_open_item(row)) open.insert(row.client);
    auto complaints = crm->book.rows("complaints", 0);
    if (!complaints.ok()) return HandlerResult::failure(complaints.error().message);
    for (const auto& row : *complaints)
      if (is_open_complaint(row)) open.insert(row.client);

    struct Entry {
      int64_t day = 0;
      int64_t client = 0;
      std::string_view reason;
    };
    std::vector<Entry> list;
    for (const auto& [id, c] : *clients) {
      std::optional<Entry> pick;
      // The earliest day wins; on the same day, the first reason considered.
      auto consider = [&](int64_t day, std::string_view reason) {
        if (!pick || day < pick->day) pick = Entry{day, id, reason};
      };
      if (auto day = parse_day(c.next_contact); day && week.contains(*day))
        consider(planned_call_day(week, *day), "planned");
      if (c.abc_class == "A") {
        auto contacts = crm->book.rows("contacts", id);
        if (!contacts.ok()) return HandlerResult::failure(contacts.error().message);
        std::optional<int64_t> latest;
        for (const auto& row : *contacts)
          if (auto at = parse_epoch(field(row, "at")); at && (!latest || *at > *latest)) latest = at;
        if (!latest || *latest < cutoff) consider(week.first_working(), "a-class");
      }
      if (open.count(id)) consider(week.first_working(), "open-question");
      if (pick) list.push_back(*pick);
    }
    std::sort(list.begin(), list.end(),
              [](const Entry& a, const Entry& b) { return std::tie(a.day, a.client) < std::tie(b.day, b.client); });

    std::string process = text(crm->with, "process", "outbound-call");
    JsonArray calls, starts;
    for (const auto& e : list) {
      Json entry = Json::object();
      entry["client_id"] = Json(e.client);
      entry["client"] = company_of(*clients, e.client);
      entry["call_on"] = Json(format_day(e.day));
      entry["reason"] = Json(e.reason);
      Json start = Json::object();
      start["process"] = Json(process);
      start["variables"] = entry;
      starts.push_back(std::move(start));
      calls.push_back(std::move(entry));
    }
    HandlerResult r = list_result("call_list", "calls", std::move(calls));
    r.starts = std::move(starts);
    return r;
  }

  std::vector<std::string> check(const Json& with) const override {
    auto problems = unknown_keys("calls.plan", with, {"process", "a_class_gap", "window"});
    check_text(problems, "calls.plan", with, "process", false);
    if (with.has("a_class_gap") && !gap_seconds(with.get("a_class_gap")))
      problems.push_back(fmt::format("calls.plan: `a_class_gap:` must be a duration such as 30d, not {}",
                                     with.get("a_class_gap").dump()));
    return problems;
  }

  std::vector<std::string> outputs(const Json&) const override { return {"call_list", "calls"}; }
};

// ---- clients.review ------------------------------------------------------------

class ClientsReviewHandler : public TaskHandler {
 public:
  HandlerResult run(const HandlerCall& call) const override {
    auto crm = begin_call(*this, call, NeedsNow::yes);
    if (!crm.ok()) return HandlerResult::failure(crm.error().message);
    const Now& now = *crm->now;
    int64_t days = crm->with.has("days") ? *as_integer(crm->with.get("days")) : 7;
    int64_t from = now.epoch - days * kDaySeconds;

    auto clients = clients_by_id(crm->book);
    if (!clients.ok()) return HandlerResult::failure(clients.error().message);
    auto contacts = crm->book.rows("contacts", 0);
    if (!contacts.ok()) return HandlerResult::failure(contacts.error().message);
    KeyedRows found;  // (at, row)
    for (const auto& row : *contacts)
      if (auto at = parse_epoch(field(row, "at")); at && *at > from && *at <= now.epoch) found.emplace_back(*at, &row);
    sort_keyed(found);

    JsonArray records;
    for (const auto& [at, row] : found) {
      Json entry = Json::object();
      entry["client_id"] = Json(row->client);
      entry["client"] = company_of(*clients, row->client);
      entry["kind"] = field(*row, "kind");
      entry["at"] = field(*row, "at");
      entry["instance"] = field(*row, "instance");
      records.push_back(std::move(entry));
    }
    return list_result("week_records", "records", std::move(records));
  }

  std::vector<std::string> check(const Json& with) const override {
    auto problems = unknown_keys("clients.review", with, {"days"});
    if (with.has("days")) {
      auto days = as_integer(with.get("days"));
      if (!days || *days <= 0)
        problems.push_back(fmt::format("clients.review: `days:` must be a whole number of days above 0, not {}",
                                       with.get("days").dump()));
    }
    return problems;
  }

  std::vector<std::string> outputs(const Json&) const override { return {"week_records", "records"}; }
};

// ---- requests.planned ----------------------------------------------------------

class RequestsPlannedHandler : public TaskHandler {
 public:
  HandlerResult run(const HandlerCall& call) const override {
    auto crm = begin_call(*this, call, NeedsNow::yes);
    if (!crm.ok()) return HandlerResult::failure(crm.error().message);
    const Now& now = *crm->now;
    Week week = next_week(now.calendar(), now.today);

    auto clients = clients_by_id(crm->book);
    if (!clients.ok()) return HandlerResult::failure(clients.error().message);
    auto requests = crm->book.rows("requests", 0);
    if (!requests.ok()) return HandlerResult::failure(requests.error().message);
    KeyedRows found;  // (delivery day, row)
    for (const auto& row : *requests) {
      if (as_text(field(row, "status")) != "accepted") continue;
      if (auto day = json_day(field(row, "delivery_date")); day && week.contains(*day)) found.emplace_back(*day, &row);
    }
    sort_keyed(found);

    JsonArray planned;
    for (const auto& [day, row] : found) {
      Json entry = Json::object();
      entry["request"] = Json(row->id);
      entry["client_id"] = Json(row->client);
      entry["client"] = company_of(*clients, row->client);
      entry["volume"] = field(*row, "volume");
      entry["delivery_date"] = Json(format_day(day));
      planned.push_back(std::move(entry));
    }
    return list_result("planned_requests", "planned", std::move(planned));
  }

  std::vector<std::string> check(const Json& with) const override { return unknown_keys("requests.planned", with, {}); }

  std::vector<std::string> outputs(const Json&) const override { return {"planned_requests", "planned"}; }
};

// ---- clients.issues ------------------------------------------------------------

class ClientsIssuesHandler : public TaskHandler {
 public:
  HandlerResult run(const HandlerCall& call) const override {
    auto crm = begin_call(*this, call, NeedsNow::no);
    if (!crm.ok()) return HandlerResult::failure(crm.error().message);

    auto clients = clients_by_id(crm->book);
    if (!clients.ok()) return HandlerResult::failure(clients.error().message);
    auto items = crm->book.rows("items", 0);
    if (!items.ok()) return HandlerResult::failure(items.error().message);
    auto complaints = crm->book.rows("complaints", 0);
    if (!complaints.ok()) return HandlerResult::failure(complaints.error().message);

    // By client; within a client debts, questions, other items, complaints;
    // then by row id.
    struct Issue {
      int64_t client = 0;
      int rank = 0;
      int64_t id = 0;
      Json entry;
    };
    std::vector<Issue> issues;
    for (const auto& row : *items) {
      if (!is_open_item(row)) continue;
      std::string kind = as_text(field(row, "kind"));
      Json entry = Json::object();
      entry["kind"] = Json(kind);
      entry["text"] = Json(as_text(field(row, "text")));
      if (field(row, "amount").is_number()) entry["amount"] = field(row, "amount");
      issues.push_back({row.client, kind == "debt" ? 0 : kind == "question" ? 1 : 2, row.id, std::move(entry)});
    }
    for (const auto& row : *complaints) {
      if (!is_open_complaint(row)) continue;
      Json entry = Json::object();
      entry["kind"] = Json("complaint");
      entry["text"] = Json(as_text(field(row, "substance")));
      issues.push_back({row.client, 3, row.id, std::move(entry)});
    }
    std::sort(issues.begin(), issues.end(), [](const Issue& a, const Issue& b) {
      return std::tie(a.client, a.rank, a.id) < std::tie(b.client, b.rank, b.id);
    });

    JsonArray list;
    for (auto& issue : issues) {
      issue.entry["client_id"] = Json(issue.client);
      issue.entry["client"] = company_of(*clients, issue.client);
      list.push_back(std::move(issue.entry));
    }
    return list_result("issues", "issues_count", std::move(list));
  }

  std::vector<std::string> check(const Json& with) const override { return unknown_keys("clients.issues", with, {}); }

  std::vector<std::string> outputs(const Json&) const override { return {"issues", "issues_count"}; }
};

}  // namespace

std::unique_ptr<TaskHandler> make_calls_plan_handler() { return std::make_unique<CallsPlanHandler>(); }
std::unique_ptr<TaskHandler> make_clients_review_handler() { return std::make_unique<ClientsReviewHandler>(); }
std::unique_ptr<TaskHandler> make_requests_planned_handler() { return std::make_unique<RequestsPlannedHandler>(); }
std::unique_ptr<TaskHandler> make_clients_issues_handler() { return std::make_unique<ClientsIssuesHandler>(); }

}  // namespace reglament
