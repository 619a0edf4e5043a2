// The built-in handlers over the client database (engine/crm.h): they read it
// through the call's ClientBook and answer with records, never writing. Pure
// functions of the call: no clock (the moment is `call.at`), no I/O.
//
// Parameters written in YAML arrive as text (`set_vip: true` is "true",
// `days: 7` is "7"); every handler accepts both the text and the JSON value.
// Dates in outputs are YYYY-MM-DD. "Next week" is the Monday..Sunday after
// the local date of `call.at` in the calendar's time zone; a record names its
// client by id (`client`) when it is in the database, else by `company`.
//
// Failures: a ClientBook error (its message), no ClientBook ("the client
// database is not available"), a `call.at` that is not ISO-8601, bad `with:`.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/calendar.h"
#include "engine/crm.h"
#include "engine/handler.h"
#include "engine/json.h"
#include "engine/result.h"
#include "engine/time.h"

namespace reglament {

// ---- crm_clients.cpp ---------------------------------------------------------

// `clients.find` (3.3.1; entering 3.1.1): with {query: TEMPLATE = "{client}",
// min_score: NUMBER in (0, 1] = 0.9, set_vip: BOOL = false}. Sets known (best
// score >= min_score), client_id, client_name, client_manager (null when not
// known); with set_vip, also vip = the client's effective_vip() (false when not
// known), unless the instance already holds a non-null `vip`.
std::unique_ptr<TaskHandler> make_clients_find_handler();

// `clients.add` (3.3.3): with {company: TEMPLATE = "{client}", contact, phone,
// email, manager, notes: TEMPLATE}. One client.add record (regular_since = the
// local date of `at`; empty fields left out) and client_added = true,
// client_id = null; or, when a client with that exact name (score 1) exists,
// no record, client_added = false and client_id = its id.
std::unique_ptr<TaskHandler> make_clients_add_handler();

// `clients.record` (3.1.10, 3.2.6, 3.3.6, 3.4.12): with {kind: call|request|
// complaint|agent|visit, note: TEMPLATE, request: BOOL, complaint: BOOL}.
// Records, in order: client.add when the customer is not in the database;
// contact.add; client.update next_contact when `next_contact` is set;
// request.add (form 7.3, status "accepted") when `request` and `volume` is
// set; complaint.add (form 7.4, status "open", or "resolved" when the variable
// `resolved` is true) when `complaint` and `substance` is set. No outputs.
std::unique_ptr<TaskHandler> make_clients_record_handler();

// `requests.add`: with {status: TEXT = "accepted"}. The request.add of
// clients.record alone (preceded by client.add when the customer is new).
// Fails when the variables hold no request (`volume` unset).
std::unique_ptr<TaskHandler> make_requests_add_handler();

// `complaints.resolve`: with {}. complaint.update status "resolved" for every
// complaint of this instance that is not resolved yet. Sets
// complaints_resolved (how many).
std::unique_ptr<TaskHandler> make_complaints_resolve_handler();

// ---- crm_lists.cpp -----------------------------------------------------------

// `calls.plan` (3.5.2): with {process: KEY = "outbound-call", a_class_gap:
// DURATION = "30d" (a bare number is days), window: ignored}. One call per
// client for next week, the earliest day winning: its planned next_contact
// (moved to the next working day of the week, else the week's last working
// day), class A without a contact in a_class_gap before next Monday, an open
// item or complaint (both on the week's first working day). Sets call_list
// [{client_id, client, call_on, reason: planned|a-class|open-question}] and
// calls; starts one `process` per call with {client, client_id, call_on,
// reason}.
std::unique_ptr<TaskHandler> make_calls_plan_handler();

// `clients.review` (3.5.1): with {days: INTEGER = 7}. Sets week_records
// [{client_id, client, kind, at, instance}] (contacts in (at - days, at], by
// time) and records (how many).
std::unique_ptr<TaskHandler> make_clients_review_handler();

// `requests.planned` (3.5.3): with {}. Sets planned_requests [{request,
// client_id, client, volume, delivery_date}] (accepted requests delivered next
// week, by date) and planned (how many).
std::unique_ptr<TaskHandler> make_requests_planned_handler();

// `clients.issues` (3.5.4): with {}. Sets issues [{client_id, client, kind:
// debt|question|complaint, text, amount?}] (open items and complaints, by
// client) and issues_count.
std::unique_ptr<TaskHandler> make_clients_issues_handler();

// ---- crm_report.cpp ----------------------------------------------------------

// `report.record` (x.x.11): with {form: NAME, fields: [VARIABLE...] = every
// variable}. One report.add record {form, values, instance, step}; a listed
// variable that is unset is recorded as null.
std::unique_ptr<TaskHandler> make_report_record_handler();

// `clients.check` (3.5.6): with {to: ROLE = deputy-director}. Sets
// discrepancies, problems [{client_id, client, problem}] and problems_count;
// one message to `to`: "Клиентов в БД: N; несоответствий: M" and up to ten
// problem lines. Problems: no manager; neither contact person nor phone; a
// next_contact before today (or not a date); duplicates (same normalised name
// or phone), reported once per pair on the later client.
std::unique_ptr<TaskHandler> make_clients_check_handler();

// ---- Shared by the files above (defined in crm_clients.cpp) ---------------

namespace crm_internal {

// `with:` --------------------------------------------------------------------

// "NAME takes `a:`, `b:` and `c:` in `with:`, not `x:`" for each unknown key,
// or "NAME needs a mapping in `with:`" when `with` is not an object.
std::vector<std::string> unknown_keys(std::string_view handler, const Json& with,
                                      std::initializer_list<std::string_view> keys);
// A boolean: JSON true/false, or the YAML text true/True/TRUE/false/...
std::optional<bool> as_flag(const Json& v);
// A number: JSON number, or decimal text ("0.9", "7").
std::optional<double> as_number(const Json& v);
// A whole number: JSON integer, or decimal digits.
std::optional<int64_t> as_integer(const Json& v);
// Appends a problem when `with[key]` is given and is not of the kind.
void check_flag(std::vector<std::string>& problems, std::string_view handler, const Json& with, std::string_view key);
void check_text(std::vector<std::string>& problems, std::string_view handler, const Json& with, std::string_view key,
                bool required);
// The value of `with[key]` (after check()), or the fallback when absent.
bool flag(const Json& with, std::string_view key, bool fallback);
std::string text(const Json& with, std::string_view key, std::string_view fallback);

// The call --------------------------------------------------------------------

// `call.with`, or an empty object; `call.variables`, or an empty set.
const Json& with_of(const HandlerCall& call);
const JsonObject& variables_of(const HandlerCall& call);

// The moment of the run and the calendar to read it in: the deployed one, or
// (when the call has none) Monday–Friday in the offset `at` is written in.
struct Now {
  int64_t epoch = 0;
  CivilDate today;  // the local date of `at`
  const WorkingCalendar& calendar() const { return own ? *own : *shared; }

  const WorkingCalendar* shared = nullptr;
  std::optional<WorkingCalendar> own;
};
// Errors: invalid when `at` is not ISO-8601 with an offset.
Result<Now> now_of(const HandlerCall& call);

// What every handler's run() starts from (but report.record's, which needs no
// database): `with:` that passed the handler's own check(), the client
// database, and the moment of the run when the handler reads it (one that
// does not is not failed by a bad `at`).
struct CrmCall {
  const Json& with;        // with_of(call)
  const ClientBook& book;
  const JsonObject& vars;  // variables_of(call)
  std::optional<Now> now;  // set with NeedsNow::yes
};
enum class NeedsNow { no, yes };
// Errors, the first that applies: the first problem self.check() finds in
// `with:` (invalid); no client database (book_of); with NeedsNow::yes, an `at`
// that is not ISO-8601 (now_of). The messages are theirs, unchanged.
Result<CrmCall> begin_call(const TaskHandler& self, const HandlerCall& call, NeedsNow needs_now);

// Next week: the days (since 1970-01-01, civil_to_days) of its Monday and
// Sunday, and its working days in order.
struct Week {
  int64_t monday = 0;
  int64_t sunday = 0;
  std::vector<int64_t> working;
  // The first / last working day; Monday / Friday when the week has none.
  int64_t first_working() const;
  int64_t last_working() const;
  bool contains(int64_t day) const { return day >= monday && day <= sunday; }
};
Week next_week(const WorkingCalendar& cal, const CivilDate& today);

// A date YYYY-MM-DD (or a moment, read in its own offset) as days since
// 1970-01-01; nullopt for anything else.
std::optional<int64_t> json_day(const Json& v);
std::optional<int64_t> parse_day(std::string_view text);
std::string format_day(int64_t day);
// An ISO-8601 moment's epoch seconds; nullopt when not one.
std::optional<int64_t> parse_epoch(const Json& v);

// Variables -------------------------------------------------------------------

// The variable, or a null when it is absent.
const Json& variable(const JsonObject& vars, std::string_view name);
// Set: neither absent, null nor empty text.
bool is_set(const Json& v);
// Text as is; other values JSON-encoded; null as "".
std::string as_text(const Json& v);

// The client database ----------------------------------------------------------

// The database, or an error saying it is not available.
Result<const ClientBook*> book_of(const HandlerCall& call);
// Every client by id.
Result<std::map<int64_t, Client>> clients_by_id(const ClientBook& book);
// The client whose name matches `company` exactly (score 1; the lowest id
// when several do), if any.
Result<std::optional<Client>> exact_client(const ClientBook& book, std::string_view company);

// The customer an instance is about: the variable `client_id` when set (which
// must exist), else the client named exactly like the variable `client`, else
// a new one named `company` (= `client`).
struct Customer {
  std::optional<Client> known;
  std::string company;  // known->company when known
};
// Errors: not_found for a client_id that is not in the database; invalid
// when neither `client_id` nor `client` is set.
Result<Customer> find_customer(const ClientBook& book, const JsonObject& vars);
// Adds "client": id or "company": name to a record.
void refer(Json& record, const Customer& who);
// The client.add record for a customer that is not in the database yet.
Json new_client_record(const Customer& who, const JsonObject& vars, const CivilDate& today);
// The request.add record of form 7.3 in the variables, or nullopt when
// `volume` is not set.
std::optional<Json> request_record(const Customer& who, const JsonObject& vars, const std::string& instance,
                                   std::string_view status);
// The complaint.add record of form 7.4 in the variables (status "resolved"
// when the variable `resolved` is true, else "open"), or nullopt when
// `substance` is not set.
std::optional<Json> complaint_record(const Customer& who, const JsonObject& vars, const std::string& instance);

}  // namespace crm_internal
}  // namespace reglament
