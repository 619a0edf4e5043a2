// The handlers that look a customer up and write what a step learned about
// it (clients.find, clients.add, clients.record, requests.add,
// complaints.resolve), and the helpers all client-database handlers share.

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "engine/expr.h"
#include "engine/names.h"
#include "handlers/crm.h"

namespace reglament {

namespace crm_internal {

namespace {

std::string key_list(std::initializer_list<std::string_view> keys) {
  std::string out;
  size_t i = 0;
  for (auto key : keys) {
    if (i > 0) out += i + 1 == keys.size() ? " and " : ", ";
    out += fmt::format("`{}:`", key);
    ++i;
  }
  return out;
}

// The offset of `minutes` as "+03:00", for a fallback zone's name.
std::string offset_name(int minutes) {
  int a = minutes < 0 ? -minutes : minutes;
  return fmt::format("{}{:02}:{:02}", minutes < 0 ? '-' : '+', a / 60, a % 60);
}

}  // namespace

std::vector<std::string> unknown_keys(std::string_view handler, const Json& with,
                                      std::initializer_list<std::string_view> keys) {
  std::vector<std::string> problems;
  if (with.is_null()) return problems;
  if (!with.is_object()) {
    problems.push_back(fmt::format("{} needs a mapping in `with:`", handler));
    return problems;
  }
  for (const auto& [key, value] : with.as_object()) {
    if (std::find(keys.begin(), keys.end(), key) != keys.end()) continue;
    if (keys.size() == 0)
      problems.push_back(fmt::format("{} takes nothing in `with:`, not `{}:`", handler, key));
    else
      problems.push_back(fmt::format("{} takes {} in `with:`, not `{}:`", handler, key_list(keys), key));
  }
  return problems;
}

std::optional<bool> as_flag(const Json& v) {
  if (v.is_bool()) return v.as_bool();
  if (!v.is_string()) return std::nullopt;
  const std::string& s = v.as_string();
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  return std::nullopt;
}

std::optional<double> as_number(const Json& v) {
  if (v.is_number()) return v.as_double();
  if (!v.is_string() || v.as_string().empty()) return std::nullopt;
  // from_chars, not strtod: the text is YAML's, whatever the C locale says.
  const std::string& s = v.as_string();
  double d = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return d;
}

std::optional<int64_t> as_integer(const Json& v) {
  if (v.is_integer()) return v.as_int();
  if (!v.is_string() || v.as_string().empty()) return std::nullopt;
  const std::string& s = v.as_string();
  int64_t i = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), i);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return i;
}

void check_flag(std::vector<std::string>& problems, std::string_view handler, const Json& with, std::string_view key) {
  if (with.is_object() && with.has(key) && !as_flag(with.get(key)))
    problems.push_back(fmt::format("{}: `{}:` must be true or false", handler, key));
}

void check_text(std::vector<std::string>& problems, std::string_view handler, const Json& with, std::string_view key,
                bool required) {
  const Json& v = with.get(key);
  if (!with.has(key)) {
    if (required) problems.push_back(fmt::format("{} needs `{}:` in `with:`", handler, key));
    return;
  }
  if (!v.is_string() || v.as_string().empty())
    problems.push_back(fmt::format("{}: `{}:` must be non-empty text", handler, key));
}

bool flag(const Json& with, std::string_view key, bool fallback) {
  auto f = as_flag(with.get(key));
  return f ? *f : fallback;
}

std::string text(const Json& with, std::string_view key, std::string_view fallback) {
  const Json& v = with.get(key);
  return v.is_string() ? v.as_string() : std::string(fallback);
}

const Json& with_of(const HandlerCall& call) {
  static const Json kEmpty = Json::object();
  return call.with != nullptr ? *call.with : kEmpty;
}

const JsonObject& variables_of(const HandlerCall& call) {
  static const JsonObject kEmpty;
  return call.variables != nullptr ? *call.variables : kEmpty;
}

Result<Now> now_of(const HandlerCall& call) {
  auto moment = parse_moment(call.at);
  if (!moment.ok())
    return make_error(ErrorCode::invalid,
                      fmt::format("the moment of the run \"{}\" is not ISO-8601 with an offset", call.at));
  Now now;
  now.epoch = moment->epoch;
  if (call.calendar != nullptr) {
    now.shared = call.calendar;
  } else {
    WorkingCalendar cal = default_calendar();
    cal.zone = TimeZone::fixed(moment->offset_minutes * 60, offset_name(moment->offset_minutes));
    now.own = std::move(cal);
  }
  now.today = now.calendar().zone.local_date(now.epoch);
  return now;
}

int64_t Week::first_working() const { return working.empty() ? monday : working.front(); }
int64_t Week::last_working() const { return working.empty() ? monday + 4 : working.back(); }

Week next_week(const WorkingCalendar& cal, const CivilDate& today) {
  Week w;
  w.monday = civil_to_days(today) + (8 - iso_weekday(today));
  w.sunday = w.monday + 6;
  for (int64_t d = w.monday; d <= w.sunday; ++d)
    if (cal.is_working_day(days_to_civil(d))) w.working.push_back(d);
  return w;
}

std::optional<int64_t> parse_day(std::string_view text) {
  if (text.size() < 10) return std::nullopt;
  auto m = parse_moment(text, 0);
  if (!m.ok()) return std::nullopt;
  return civil_to_days(local_date(*m));
}

std::optional<int64_t> json_day(const Json& v) {
  if (!v.is_string()) return std::nullopt;
  return parse_day(std::string_view(v.as_string()));
}

std::string format_day(int64_t day) { return format_date(days_to_civil(day)); }

std::optional<int64_t> parse_epoch(const Json& v) {
  if (!v.is_string()) return std::nullopt;
  auto m = parse_moment(v.as_string());
  if (!m.ok()) return std::nullopt;
  return m->epoch;
}

const Json& variable(const JsonObject& vars, std::string_view name) {
  static const Json kNull;
  auto it = vars.find(name);
  return it == vars.end() ? kNull : it->second;
}

bool is_set(const Json& v) { return !v.is_null() && !(v.is_string() && v.as_string().empty()); }

std::string as_text(const Json& v) {
  if (v.is_null()) return "";
  if (v.is_string()) return v.as_string();
  return v.dump();
}

Result<const ClientBook*> book_of(const HandlerCall& call) {
  if (call.clients == nullptr) return make_error(ErrorCode::internal, "the client database is not available");
  return call.clients;
}

Result<CrmCall> begin_call(const TaskHandler& self, const HandlerCall& call, NeedsNow needs_now) {
  const Json& with = with_of(call);
  if (auto p = self.check(with); !p.empty()) return make_error(ErrorCode::invalid, p.front());
  auto book = book_of(call);
  if (!book.ok()) return book.error();
  std::optional<Now> now;
  if (needs_now == NeedsNow::yes) {
    auto n = now_of(call);
    if (!n.ok()) return n.error();
    now = std::move(*n);
  }
  return CrmCall{with, **book, variables_of(call), std::move(now)};
}

Result<std::map<int64_t, Client>> clients_by_id(const ClientBook& book) {
  auto all = book.clients();
  if (!all.ok()) return all.error();
  std::map<int64_t, Client> out;
  for (auto& c : *all) out.emplace(c.id, std::move(c));
  return out;
}

Result<std::optional<Client>> exact_client(const ClientBook& book, std::string_view company) {
  // The same customer is the same company name, as storage resolves
  // `company` (find() would also match contact persons and phones).
  auto named = book.named(company);
  if (!named.ok()) return named.error();
  if (named->empty()) return std::optional<Client>();
  return std::optional<Client>(std::move(named->front()));  // the lowest id
}

Result<Customer> find_customer(const ClientBook& book, const JsonObject& vars) {
  Customer who;
  const Json& id = variable(vars, "client_id");
  if (!id.is_null()) {
    auto n = as_integer(id);
    if (!n)
      return make_error(ErrorCode::invalid,
                        fmt::format("the variable `client_id` holds {}, not a client id", id.dump()));
    auto c = book.client(*n);
    if (!c.ok()) return c.error();
    if (!c->has_value())
      return make_error(ErrorCode::not_found,
                        fmt::format("client {} (the variable `client_id`) is not in the client database", *n));
    who.known = std::move(**c);
    who.company = who.known->company;
    return who;
  }
  std::string name = as_text(variable(vars, "client"));
  if (name.empty())
    return make_error(ErrorCode::invalid, "the instance names no customer: neither `client_id` nor `client` is set");
  auto c = exact_client(book, name);
  if (!c.ok()) return c.error();
  who.known = std::move(*c);
  who.company = who.known ? who.known->company : name;
  return who;
}

void refer(Json& record, const Customer& who) {
  if (who.known)
    record["client"] = Json(who.known->id);
  else
    record["company"] = Json(who.company);
}

namespace {

// A record `op` about the customer: {op, client | company}.
Json customer_record(std::string_view op, const Customer& who) {
  Json r = Json::object();
  r["op"] = Json(op);
  refer(r, who);
  return r;
}

// A client.add record without the optional fields: a new client is a regular
// one from the day it is added.
Json client_add_record(std::string_view company, const CivilDate& today) {
  Json r = Json::object();
  r["op"] = Json("client.add");
  r["company"] = Json(company);
  r["regular_since"] = Json(format_date(today));
  return r;
}

}  // namespace

Json new_client_record(const Customer& who, const JsonObject& vars, const CivilDate& today) {
  Json r = client_add_record(who.company, today);
  const Json& contact = variable(vars, "contact_person");
  if (is_set(contact)) r["contact"] = Json(as_text(contact));
  return r;
}

namespace {

// The fields of form 7.3 and 7.4 (processes/forms/request.yaml, complaint.yaml).
constexpr std::string_view kRequestFields[] = {"date",       "manager",       "company",  "contact_person",
                                               "volume",     "delivery_date", "delivery", "delivery_place",
                                               "conditions", "filled_at"};
constexpr std::string_view kComplaintFields[] = {"date",        "manager",         "company",          "contact_person",
                                                 "substance",   "customer_demand", "manager_proposal", "result",
                                                 "needs_legal", "filled_at"};

// A record of form values: the set fields, then the customer (a new
// customer's `company` names the client, so it replaces the form's).
template <size_t N>
Json form_record(std::string_view op, const std::string_view (&fields)[N], const Customer& who, const JsonObject& vars,
                 const std::string& instance, std::string_view status) {
  Json r = Json::object();
  r["op"] = Json(op);
  for (auto f : fields)
    if (is_set(variable(vars, f))) r[f] = variable(vars, f);
  refer(r, who);
  r["instance"] = Json(instance);
  r["status"] = Json(status);
  return r;
}

}  // namespace

std::optional<Json> request_record(const Customer& who, const JsonObject& vars, const std::string& instance,
                                   std::string_view status) {
  if (!is_set(variable(vars, "volume"))) return std::nullopt;
  return form_record("request.add", kRequestFields, who, vars, instance, status);
}

std::optional<Json> complaint_record(const Customer& who, const JsonObject& vars, const std::string& instance) {
  if (!is_set(variable(vars, "substance"))) return std::nullopt;
  bool resolved = as_flag(variable(vars, "resolved")).value_or(false);
  return form_record("complaint.add", kComplaintFields, who, vars, instance, resolved ? "resolved" : "open");
}

}  // namespace crm_internal

namespace {

using namespace crm_internal;

// ---- clients.find --------------------------------------------------------------

class ClientsFindHandler : public TaskHandler {
 public:
  HandlerResult run(const HandlerCall& call) const override {
    auto crm = begin_call(*this, call, NeedsNow::no);
    if (!crm.ok()) return HandlerResult::failure(crm.error().message);
    const Json& with = crm->with;

    std::string query = render_template(text(with, "query", "{client}"), crm->vars);
    double min_score = as_number(with.get("min_score")).value_or(0.9);
    std::optional<ClientMatch> best;
    if (query.find_first_not_of(" \t\r\n") != std::string::npos) {
      // A customer named exactly is found through the index; only a loose
      // query scans the database.
      auto named = crm->book.named(query);
      if (!named.ok()) return HandlerResult::failure(named.error().message);
      if (!named->empty()) best = ClientMatch{std::move(named->front()), 1.0};
    }
    if (!best && query.find_first_not_of(" \t\r\n") != std::string::npos) {
      auto matches = crm->book.find(query, 5);
      if (!matches.ok()) return HandlerResult::failure(matches.error().message);
      // The best score, the lowest id among equals: the same answer whatever
      // order the book lists ties in.
      for (const auto& m : *matches)
        if (!best || m.score > best->score || (m.score == best->score && m.client.id < best->client.id)) best = m;
    }
    bool known = best && best->score >= min_score;

    HandlerResult r;
    r.outputs["known"] = Json(known);
    r.outputs["client_id"] = known ? Json(best->client.id) : Json();
    r.outputs["client_name"] = known ? Json(best->client.company) : Json();
    r.outputs["client_manager"] = known && !best->client.manager.empty() ? Json(best->client.manager) : Json();
    // A person who said at the start whether the customer is a VIP is right.
    if (flag(with, "set_vip", false) && variable(crm->vars, "vip").is_null())
      r.outputs["vip"] = Json(known && best->client.effective_vip());
    return r;
  }

  std::vector<std::string> check(const Json& with) const override {
    auto problems = unknown_keys("clients.find", with, {"query", "min_score", "set_vip"});
    check_text(problems, "clients.find", with, "query", false);
    check_flag(problems, "clients.find", with, "set_vip");
    if (with.is_object() && with.has("min_score")) {
      auto n = as_number(with.get("min_score"));
      if (!n || !(*n > 0 && *n <= 1))
        problems.push_back("clients.find: `min_score:` must be a number greater than 0 and at most 1");
    }
    return problems;
  }

  std::vector<std::string> outputs(const Json& with) const override {
    std::vector<std::string> out = {"known", "client_id", "client_name", "client_manager"};
    if (flag(with, "set_vip", false)) out.push_back("vip");
    return out;
  }
};

// ---- clients.add ---------------------------------------------------------------

class ClientsAddHandler : public TaskHandler {
 public:
  HandlerResult run(const HandlerCall& call) const override {
    auto crm = begin_call(*this, call, NeedsNow::yes);
    if (!crm.ok()) return HandlerResult::failure(crm.error().message);
    const Json& with = crm->with;

    std::string company = render_template(text(with, "company", "{client}"), crm->vars);
    if (company.find_first_not_of(" \t\r\n") == std::string::npos)
      return HandlerResult::failure(
          fmt::format("clients.add: the company name `{}` renders to nothing", text(with, "company", "{client}")));
    auto existing = exact_client(crm->book, company);
    if (!existing.ok()) return HandlerResult::failure(existing.error().message);

    HandlerResult r;
    if (*existing) {
      // Already there (a retry, or added meanwhile): nothing to write.
      r.outputs["client_added"] = Json(false);
      r.outputs["client_id"] = Json((*existing)->id);
      return r;
    }
    Json record = client_add_record(company, crm->now->today);
    for (const char* field : {"contact", "phone", "email", "manager", "notes"}) {
      if (!with.has(field)) continue;
      std::string value = render_template(text(with, field, ""), crm->vars);
      if (!value.empty()) record[field] = Json(std::move(value));
    }
    r.records.push_back(std::move(record));
    r.outputs["client_added"] = Json(true);
    // The id is given when storage applies the record, after this returns.
    r.outputs["client_id"] = Json();
    return r;
  }

  std::vector<std::string> check(const Json& with) const override {
    auto problems = unknown_keys("clients.add", with, {"company", "contact", "phone", "email", "manager", "notes"});
    for (const char* key : {"company", "contact", "phone", "email", "manager", "notes"})
      check_text(problems, "clients.add", with, key, false);
    return problems;
  }

  std::vector<std::string> outputs(const Json&) const override { return {"client_added", "client_id"}; }
};

// ---- clients.record ----------------------------------------------------------

constexpr std::string_view kContactKinds[] = {"call", "request", "complaint", "agent", "visit"};

class ClientsRecordHandler : public TaskHandler {
 public:
  HandlerResult run(const HandlerCall& call) const override {
    auto crm = begin_call(*this, call, NeedsNow::yes);
    if (!crm.ok()) return HandlerResult::failure(crm.error().message);
    const Json& with = crm->with;
    const JsonObject& vars = crm->vars;
    auto who = find_customer(crm->book, vars);
    if (!who.ok()) return HandlerResult::failure("clients.record: " + who.error().message);

    HandlerResult r;
    if (!who->known) r.records.push_back(new_client_record(*who, vars, crm->now->today));

    Json contact = customer_record("contact.add", *who);
    contact["kind"] = Json(with.str("kind"));
    if (with.has("note")) {
      std::string note = render_template(with.str("note"), vars);
      if (!note.empty()) contact["note"] = Json(std::move(note));
    }
    contact["instance"] = Json(call.instance);
    contact["step"] = Json(call.step);
    r.records.push_back(std::move(contact));

    const Json& next = variable(vars, "next_contact");
    if (is_set(next)) {
      auto day = json_day(next);
      if (!day)
        return HandlerResult::failure(
            fmt::format("clients.record: the variable `next_contact` holds {}, not a date YYYY-MM-DD", next.dump()));
      Json update = customer_record("client.update", *who);
      update["next_contact"] = Json(format_day(*day));
      r.records.push_back(std::move(update));
    }

    if (flag(with, "request", false))
      if (auto rec = request_record(*who, vars, call.instance, "accepted")) r.records.push_back(std::move(*rec));
    if (flag(with, "complaint", false))
      if (auto rec = complaint_record(*who, vars, call.instance)) r.records.push_back(std::move(*rec));
    return r;
  }

  std::vector<std::string> check(const Json& with) const override {
    auto problems = unknown_keys("clients.record", with, {"kind", "note", "request", "complaint"});
    check_text(problems, "clients.record", with, "kind", true);
    const Json& kind = with.get("kind");
    if (kind.is_string() && !kind.as_string().empty() &&
        std::find(std::begin(kContactKinds), std::end(kContactKinds), kind.as_string()) == std::end(kContactKinds))
      problems.push_back(fmt::format(
          "clients.record: `kind:` must be call, request, complaint, agent or visit, not \"{}\"", kind.as_string()));
    check_text(problems, "clients.record", with, "note", false);
    check_flag(problems, "clients.record", with, "request");
    check_flag(problems, "clients.record", with, "complaint");
    return problems;
  }
};

// ---- requests.add --------------------------------------------------------------

class RequestsAddHandler : public TaskHandler {
 public:
  HandlerResult run(const HandlerCall& call) const override {
    auto crm = begin_call(*this, call, NeedsNow::yes);
    if (!crm.ok()) return HandlerResult::failure(crm.error().message);
    auto who = find_customer(crm->book, crm->vars);
    if (!who.ok()) return HandlerResult::failure("requests.add: " + who.error().message);
    auto rec = request_record(*who, crm->vars, call.instance, text(crm->with, "status", "accepted"));
    if (!rec)
      return HandlerResult::failure("requests.add: the instance holds no request (form 7.3): `volume` is not set");

    HandlerResult r;
    if (!who->known) r.records.push_back(new_client_record(*who, crm->vars, crm->now->today));
    r.records.push_back(std::move(*rec));
    return r;
  }

  std::vector<std::string> check(const Json& with) const override {
    auto problems = unknown_keys("requests.add", with, {"status"});
    check_text(problems, "requests.add", with, "status", false);
    return problems;
  }
};

// ---- complaints.resolve --------------------------------------------------------

class ComplaintsResolveHandler : public TaskHandler {
 public:
  HandlerResult run(const HandlerCall& call) const override {
    auto crm = begin_call(*this, call, NeedsNow::no);
    if (!crm.ok()) return HandlerResult::failure(crm.error().message);
    // Narrowed to the customer when the instance knows its id; the instance
    // is what identifies the complaint either way.
    int64_t client = as_integer(variable(crm->vars, "client_id")).value_or(0);
    auto rows = crm->book.rows("complaints", client);
    if (!rows.ok()) return HandlerResult::failure(rows.error().message);
    std::vector<int64_t> open;
    for (const auto& row : *rows) {
      auto it = row.fields.find("instance");
      auto status = row.fields.find("status");
      bool mine = it != row.fields.end() && it->second.is_string() && it->second.as_string() == call.instance;
      bool resolved =
          status != row.fields.end() && status->second.is_string() && status->second.as_string() == "resolved";
      if (mine && !resolved) open.push_back(row.id);
    }
    std::sort(open.begin(), open.end());

    HandlerResult r;
    for (int64_t id : open) {
      Json update = Json::object();
      update["op"] = Json("complaint.update");
      update["complaint"] = Json(id);
      update["status"] = Json("resolved");
      r.records.push_back(std::move(update));
    }
    r.outputs["complaints_resolved"] = Json(static_cast<int64_t>(open.size()));
    return r;
  }

  std::vector<std::string> check(const Json& with) const override {
    return unknown_keys("complaints.resolve", with, {});
  }

  std::vector<std::string> outputs(const Json&) const override { return {"complaints_resolved"}; }
};

}  // namespace

std::unique_ptr<TaskHandler> make_clients_find_handler() { return std::make_unique<ClientsFindHandler>(); }
std::unique_ptr<TaskHandler> make_clients_add_handler() { return std::make_unique<ClientsAddHandler>(); }
std::unique_ptr<TaskHandler> make_clients_record_handler() { return std::make_unique<ClientsRecordHandler>(); }
std::unique_ptr<TaskHandler> make_requests_add_handler() { return std::make_unique<RequestsAddHandler>(); }
std::unique_ptr<TaskHandler> make_complaints_resolve_handler() { return std::make_unique<ComplaintsResolveHandler>(); }

}  // namespace reglament
