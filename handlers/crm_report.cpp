// What the steps report: a line of a report form (report.record) and the state
// of the client database for the deputy director (clients.check).

#include <fmt/format.h>

#include <map>
#include <set>

#include "engine/names.h"
#include "handlers/crm.h"

namespace reglament {

namespace {

using namespace crm_internal;

// ---- report.record -----------------------------------------------------------

class ReportRecordHandler : public TaskHandler {
 public:
  HandlerResult run(const HandlerCall& call) const override {
    const Json& with = with_of(call);
    if (auto p = check(with); !p.empty()) return HandlerResult::failure(p.front());
    const JsonObject& vars = variables_of(call);

    JsonObject values;
    if (with.has("fields")) {
      const Json& fields = with.get("fields");
      for (const auto& name : fields.as_array()) values[name.as_string()] = variable(vars, name.as_string());
    } else {
      values = vars;
    }
    Json record = Json::object();
    record["op"] = Json("report.add");
    record["form"] = Json(with.str("form"));
    record["values"] = Json(std::move(values));
    record["instance"] = Json(call.instance);
    record["step"] = Json(call.step);
    HandlerResult r;
    r.records.push_back(std::move(record));
    return r;
  }

  std::vector<std::string> check(const Json& with) const override {
    auto problems = unknown_keys("report.record", with, {"form", "fields"});
    check_text(problems, "report.record", with, "form", true);
    if (with.has("fields")) {
      const Json& fields = with.get("fields");
      bool ok = fields.is_array();
      if (ok)
        for (const auto& f : fields.as_array()) ok = ok && f.is_string() && !f.as_string().empty();
      if (!ok) problems.push_back("report.record: `fields:` must be a list of variable names");
    }
    return problems;
  }
};

// ---- clients.check -------------------------------------------------------------

bool blank(const std::string& s) { return s.find_first_not_of(" \t\r\n") == std::string::npos; }

// At most this many problems are spelled out in the message.
constexpr size_t kMessageProblems = 10;

class ClientsCheckHandler : public TaskHandler {
 public:
  HandlerResult run(const HandlerCall& call) const override {
    auto crm = begin_call(*this, call, NeedsNow::yes);
    if (!crm.ok()) return HandlerResult::failure(crm.error().message);
    const Now& now = *crm->now;
    int64_t today = civil_to_days(now.today);
    auto clients = clients_by_id(crm->book);
    if (!clients.ok()) return HandlerResult::failure(clients.error().message);

    JsonArray problems;
    auto add = [&](const Client& c, std::string problem) {
      Json p = Json::object();
      p["client_id"] = Json(c.id);
      p["client"] = Json(c.company);
      p["problem"] = Json(std::move(problem));
      problems.push_back(std::move(p));
    };
    // Earlier clients by normalised name and phone, to find duplicates.
    std::map<std::string, std::vector<int64_t>> by_name, by_phone;
    for (const auto& [id, c] : *clients) {
      if (blank(c.manager)) add(c, "нет ответственного менеджера");
      if (blank(c.contact) && blank(c.phone)) add(c, "нет контактного лица и телефона");
      if (!blank(c.next_contact)) {
        auto day = parse_day(c.next_contact);
        if (!day)
          add(c, fmt::format("дата следующего контакта не распознана: «{}»", c.next_contact));
        else if (*day < today)
          add(c, fmt::format("запланированный контакт {} просрочен", format_day(*day)));
      }

      std::string name = normalize_company(c.company);
      std::string phone = normalize_phone(c.phone);
      std::set<int64_t> same_name, same_phone;
      if (!name.empty())
        if (auto it = by_name.find(name); it != by_name.end()) same_name.insert(it->second.begin(), it->second.end());
      if (!phone.empty())
        if (auto it = by_phone.find(phone); it != by_phone.end())
          same_phone.insert(it->second.begin(), it->second.end());
      std::set<int64_t> earlier = same_name;
      earlier.insert(same_phone.begin(), same_phone.end());
      for (int64_t other : earlier) {
        bool n = same_name.count(other) > 0, p = same_phone.count(other) > 0;
        add(c, fmt::format("дубликат клиента №{} ({}): {}", other, clients->at(other).company,
                           n && p ? "совпадают название и телефон"
                           : n    ? "совпадает название"
                                  : "совпадает телефон"));
      }
      if (!name.empty()) by_name[name].push_back(id);
      if (!phone.empty()) by_phone[phone].push_back(id);
    }

    std::string summary = fmt::format("Клиентов в БД: {}; несоответствий: {}", clients->size(), problems.size());
    for (size_t i = 0; i < problems.size() && i < kMessageProblems; ++i)
      summary += fmt::format("\n№{} {}: {}", problems[i].integer("client_id"), problems[i].str("client"),
                             problems[i].str("problem"));
    if (problems.size() > kMessageProblems) summary += fmt::format("\n… и ещё {}", problems.size() - kMessageProblems);

    HandlerResult r;
    Json message = Json::object();
    message["to"] = Json(text(crm->with, "to", "deputy-director"));
    message["text"] = Json(std::move(summary));
    r.messages.push_back(std::move(message));
    r.outputs["discrepancies"] = Json(!problems.empty());
    r.outputs["problems_count"] = Json(static_cast<int64_t>(problems.size()));
    r.outputs["problems"] = Json(std::move(problems));
    return r;
  }

  std::vector<std::string> check(const Json& with) const override {
    auto problems = unknown_keys("clients.check", with, {"to"});
    check_text(problems, "clients.check", with, "to", false);
    return problems;
  }

  std::vector<std::string> outputs(const Json&) const override {
    return {"discrepancies", "problems", "problems_count"};
  }
};

}  // namespace

std::unique_ptr<TaskHandler> make_report_record_handler() { return std::make_unique<ReportRecordHandler>(); }
std::unique_ptr<TaskHandler> make_clients_check_handler() { return std::make_unique<ClientsCheckHandler>(); }

}  // namespace reglament
