#include "cli/cmd_clients.h"

#include <cmath>
#include <map>
#include <memory>
#include <utility>

#include <fmt/format.h>

#include "engine/abc.h"
#include "engine/crm.h"
#include "engine/names.h"

namespace reglament {

namespace {

// The options `add` and `edit` share.
void add_field_options(CLI::App* sub, ClientFieldOptions& f, bool editing) {
  sub->add_option("--company", f.company, editing ? "New company name" : "Company name, e.g. \"ООО «Ромашка»\"");
  sub->add_option("--contact", f.contact, "Contact person");
  sub->add_option("--phone", f.phone, "Phone number");
  sub->add_option("--email", f.email, "E-mail address");
  sub->add_option("--regular-since", f.regular_since, "Regular customer since (YYYY-MM-DD)");
  sub->add_flag("--vip", f.vip, "Mark as VIP");
  if (editing) sub->add_flag("--no-vip", f.no_vip, "Remove the VIP mark");
  sub->add_option("--manager", f.manager, "Login of the responsible manager (see reglament users)");
  sub->add_option("--next-contact", f.next_contact, "Planned next contact (YYYY-MM-DD)");
  sub->add_option("--notes", f.notes, "Free-form notes");
}

// Registers `name` with its options struct; the callback sets the action.
template <class Options>
CLI::App* add_verb(CLI::App* parent, Ctx& ctx, const char* name, const char* help, std::shared_ptr<Options> opt,
                   int (*run)(Ctx&, const Options&)) {
  CLI::App* sub = parent->add_subcommand(name, help);
  sub->callback([&ctx, opt, run] { ctx.action = [&ctx, opt, run] { return run(ctx, *opt); }; });
  return sub;
}

std::string trim(std::string_view s) {
  const size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return "";
  const size_t e = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(b, e - b + 1));
}

// A calendar day written YYYY-MM-DD.
std::optional<CivilDate> parse_day(std::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return std::nullopt;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9})
    if (s[i] < '0' || s[i] > '9') return std::nullopt;
  auto num = [&](size_t at, size_t len) {
    int v = 0;
    for (size_t i = at; i < at + len; ++i) v = v * 10 + (s[i] - '0');
    return v;
  };
  CivilDate d{num(0, 4), static_cast<unsigned>(num(5, 2)), static_cast<unsigned>(num(8, 2))};
  if (d.month < 1 || d.month > 12 || d.day < 1 || d.day > month_length(d.year, d.month)) return std::nullopt;
  return d;
}

Status check_day(std::string_view option, const std::string& value) {
  if (parse_day(value)) return {};
  return make_error(ErrorCode::invalid,
                    fmt::format("{} \"{}\" is not a date; write it as YYYY-MM-DD, e.g. 2026-12-01", option, value));
}

Result<int64_t> parse_client_id(const std::string& text) {
  int64_t id = 0;
  bool ok = !text.empty() && text.size() <= 18;
  for (char ch : text) {
    if (ch < '0' || ch > '9') ok = false;
    if (ok) id = id * 10 + (ch - '0');
  }
  if (!ok || id < 1) {
    return make_error(ErrorCode::invalid,
                      fmt::format("\"{}\" is not a client id; see reglament clients list", text));
  }
  return id;
}

// The client with that id, or not_found "no client 42".
Result<Client> load_client(SqliteStore& store, int64_t id) {
  auto c = store.clients().client(id);
  if (!c) return c.error();
  if (!c->has_value()) {
    return make_error(ErrorCode::not_found, fmt::format("no client {}; see reglament clients list", id));
  }
  return **c;
}

// Checks what a person typed for `add` or `edit` and turns it into the
// fields of a client.add or client.update record.
Result<JsonObject> client_record_fields(SqliteStore& store, const ClientFieldOptions& f, bool editing) {
  JsonObject out;
  auto text = [](const std::optional<std::string>& v) { return v ? std::optional<std::string>(trim(*v)) : v; };
  if (auto company = text(f.company)) {
    if (company->empty()) return make_error(ErrorCode::invalid, "--company must not be empty");
    out["company"] = *company;
  }
  if (auto contact = text(f.contact)) out["contact"] = *contact;
  if (auto phone = text(f.phone)) {
    if (!phone->empty() && normalize_phone(*phone).empty()) {
      return make_error(ErrorCode::invalid,
                        fmt::format("--phone \"{}\" has too few digits to be a phone number", *phone));
    }
    out["phone"] = *phone;
  }
  if (auto email = text(f.email)) {
    const size_t at = email->find('@');
    if (!email->empty() && (at == std::string::npos || at == 0 || at + 1 == email->size())) {
      return make_error(ErrorCode::invalid, fmt::format("--email \"{}\" is not an e-mail address", *email));
    }
    out["email"] = *email;
  }
  if (auto since = text(f.regular_since)) {
    if (!since->empty())
      if (Status st = check_day("--regular-since", *since); !st) return st.error();
    out["regular_since"] = *since;
  }
  if (auto next = text(f.next_contact)) {
    if (!next->empty())
      if (Status st = check_day("--next-contact", *next); !st) return st.error();
    out["next_contact"] = *next;
  }
  if (auto manager = text(f.manager)) {
    if (!manager->empty()) {
      auto org = store.org();
      if (!org) return org.error();
      if (org->person(*manager) == nullptr) {
        return make_error(ErrorCode::invalid,
                          fmt::format("--manager \"{}\" is not a login of the org chart; see reglament users",
                                      *manager));
      }
    }
    out["manager"] = *manager;
  }
  if (auto notes = text(f.notes)) out["notes"] = *notes;
  if (f.vip && f.no_vip) return make_error(ErrorCode::invalid, "--vip and --no-vip contradict each other");
  if (f.vip) out["vip"] = true;
  if (f.no_vip) out["vip"] = false;
  if (!editing) {
    // Empty values of a new client are simply not given.
    for (auto it = out.begin(); it != out.end();) {
      it = it->second.is_string() && it->second.as_string().empty() ? out.erase(it) : std::next(it);
    }
  }
  return out;
}

// "1 234.5": volumes as people read them.
std::string number_text(double v) {
  if (std::fabs(v - std::round(v)) < 1e-9 && std::fabs(v) < 1e15) return fmt::format("{:.0f}", v);
  std::string s = fmt::format("{:.2f}", v);
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s;
}

std::string field_text(const CrmRow& row, std::string_view name) {
  auto it = row.fields.find(name);
  if (it == row.fields.end() || it->second.is_null()) return "";
  if (it->second.is_bool()) return it->second.as_bool() ? "yes" : "no";
  if (it->second.is_number()) return number_text(it->second.as_double());
  return value_text(it->second);
}

Json row_json(const CrmRow& row) {
  Json j = Json(row.fields);
  j["id"] = row.id;
  j["client"] = row.client;
  return j;
}

std::string vip_text(const Client& c) {
  if (c.vip) return "yes";
  return c.abc_class == "A" ? "A" : "";
}

// "key        value" lines with the values in one column.
void print_fields(const std::vector<std::pair<std::string, std::string>>& rows) {
  int width = 0;
  for (const auto& [k, v] : rows) width = std::max(width, display_width(k));
  for (const auto& [k, v] : rows) {
    std::string line = k + std::string(width - display_width(k) + 2, ' ') + v;
    while (!line.empty() && line.back() == ' ') line.pop_back();
    print_line(line);
  }
}

// A section of `show`: its title, then the table indented, or "  —".
void print_section(const std::string& title, const TextTable& table) {
  print_line(title + ":");
  if (table.empty()) {
    print_line("  —");
    return;
  }
  const std::string text = table.render();
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    print_line("  " + text.substr(start, end - start));
    start = end + 1;
  }
}

// Applies the records as ctx.user at ctx.now, if the user may change clients.
Result<std::vector<int64_t>> record(Ctx& ctx, SqliteStore& store, std::vector<Json> records) {
  if (auto st = check_clients(ctx); !st.ok()) return st.error();
  return store.record_clients(records, ctx.now, ctx.user);
}

}  // namespace

void setup_clients(CLI::App& app, Ctx& ctx) {
  CLI::App* clients = app.add_subcommand("clients", "The regular-customer database: list, show, add, edit, find, "
                                                    "record a request, ABC analysis");
  clients->require_subcommand(1);

  auto list = std::make_shared<ClientsListOptions>();
  CLI::App* sub = add_verb(clients, ctx, "list", "List the clients", list, &run_clients_list);
  sub->add_option("--manager", list->manager, "Only the clients of this manager (login)");
  sub->add_option("--class", list->cls, "Only the clients of this ABC class")
      ->check(CLI::IsMember({"A", "B", "C"}));
  sub->add_flag("--vip", list->vip, "Only VIP clients (marked VIP, or class A)");

  auto show = std::make_shared<ClientsShowOptions>();
  sub = add_verb(clients, ctx, "show", "Show a client with its contacts, requests, complaints and open items", show,
                 &run_clients_show);
  sub->add_option("id", show->id, "Client id")->required();

  auto add = std::make_shared<ClientsAddOptions>();
  sub = add_verb(clients, ctx, "add", "Add a client", add, &run_clients_add);
  add_field_options(sub, add->fields, false);

  auto edit = std::make_shared<ClientsEditOptions>();
  sub = add_verb(clients, ctx, "edit", "Change a client's fields (an empty value clears one)", edit,
                 &run_clients_edit);
  sub->add_option("id", edit->id, "Client id")->required();
  add_field_options(sub, edit->fields, true);

  auto find = std::make_shared<ClientsFindOptions>();
  sub = add_verb(clients, ctx, "find", "Find clients by company name, contact person or phone", find,
                 &run_clients_find);
  sub->add_option("query", find->query, "What to look for, e.g. \"ромашка ооо\" or a phone number")->required();
  sub->add_option("--limit", find->limit, "At most this many matches (default 10)")->check(at_least(1));

  auto request = std::make_shared<ClientsRequestOptions>();
  sub = add_verb(clients, ctx, "request", "Record a client's request (form 7.3) taken outside a process", request,
                 &run_clients_request);
  sub->add_option("id", request->id, "Client id")->required();
  sub->add_option("--volume", request->volume, "Volume of the request")->required()->check(at_least(0));
  sub->add_option("--date", request->date, "Date of the request (YYYY-MM-DD; default: the day of --now)");
  sub->add_option("--status", request->status, "new, accepted (default), done or cancelled")
      ->check(CLI::IsMember({"new", "accepted", "done", "cancelled"}));
  sub->add_option("--contact-person", request->contact_person, "Contact person (default: the client's)");
  sub->add_option("--delivery", request->delivery, "pickup or delivery")
      ->check(CLI::IsMember({"pickup", "delivery"}));
  sub->add_option("--delivery-date", request->delivery_date, "Date of delivery (YYYY-MM-DD)");
  sub->add_option("--delivery-place", request->delivery_place, "Place of delivery");
  sub->add_option("--conditions", request->conditions, "Additional conditions");

  auto item = std::make_shared<ClientsItemOptions>();
  sub = add_verb(clients, ctx, "item", "Record a client's debt or open question (listed by 3.5.4)", item,
                 &run_clients_item);
  sub->add_option("id", item->id, "Client id")->required();
  sub->add_option("--kind", item->kind, "debt or question")->required()->check(CLI::IsMember({"debt", "question"}));
  sub->add_option("--text", item->text, "What it is about")->required();
  sub->add_option("--amount", item->amount, "Amount owed (for a debt)")->check(at_least(0));

  auto close_item = std::make_shared<ClientsCloseItemOptions>();
  sub = add_verb(clients, ctx, "close-item", "Close a debt or question: it is settled", close_item,
                 &run_clients_close_item);
  sub->add_option("item", close_item->item, "Item id (see clients show)")->required();

  auto abc = std::make_shared<ClientsAbcOptions>();
  sub = add_verb(clients, ctx, "abc", "ABC analysis: class every client by its share of accepted request volume",
                 abc, &run_clients_abc);
  sub->add_option("--from", abc->from, "First day of the period (YYYY-MM-DD, inclusive; default: the beginning)");
  sub->add_option("--to", abc->to, "End of the period (YYYY-MM-DD, exclusive; default: open)");
  sub->add_option("--a", abc->a, "Share of the volume made by class A, percent (default 80)");
  sub->add_option("--b", abc->b, "Share of the volume made by class B, percent (default 15)");
  sub->add_flag("--dry-run", abc->dry_run, "Compute and print the classes without storing them");
}

int run_clients_list(Ctx& ctx, const ClientsListOptions& opt) {
  auto store = ctx.store();
  if (!store) return fail(store.error());
  if (auto st = check_person(ctx); !st.ok()) return fail(st.error());
  auto all = (*store)->clients().clients();
  if (!all) return fail(all.error());
  std::vector<Client> shown;
  for (Client& c : *all) {
    if (!opt.manager.empty() && c.manager != opt.manager) continue;
    if (!opt.cls.empty() && c.abc_class != opt.cls) continue;
    if (opt.vip && !c.effective_vip()) continue;
    shown.push_back(std::move(c));
  }
  if (ctx.json) {
    Json out = Json::array();
    for (const Client& c : shown) out.push_back(client_json(c));
    print_json(out);
    return kExitOk;
  }
  if (shown.empty()) {
    const bool filtered = !opt.manager.empty() || !opt.cls.empty() || opt.vip;
    print_line(filtered ? "no clients match" : "no clients yet; add one with reglament clients add --company NAME");
    return kExitOk;
  }
  TextTable t({"id", "company", "contact", "phone", "class", "vip", "manager", "next contact"});
  t.set_max_width(1, 40);
  t.set_max_width(2, 28);
  for (const Client& c : shown) {
    t.add({std::to_string(c.id), c.company, c.contact, c.phone, c.abc_class, vip_text(c), c.manager, c.next_contact});
  }
  print_text(t.render());
  return kExitOk;
}

int run_clients_show(Ctx& ctx, const ClientsShowOptions& opt) {
  auto id = parse_client_id(opt.id);
  if (!id) return fail(id.error());
  auto store = ctx.store();
  if (!store) return fail(store.error());
  if (auto st = check_person(ctx); !st.ok()) return fail(st.error());
  auto c = load_client(**store, *id);
  if (!c) return fail(c.error());
  const ClientBook& book = (*store)->clients();
  std::map<std::string, std::vector<CrmRow>> rows;
  for (const char* table : {"contacts", "requests", "complaints", "items"}) {
    auto r = book.rows(table, *id);
    if (!r) return fail(r.error());
    rows[table] = std::move(r).value();
  }
  std::vector<CrmRow> open_items;
  for (CrmRow& r : rows["items"]) {
    if (field_text(r, "closed_at").empty()) open_items.push_back(std::move(r));
  }

  if (ctx.json) {
    Json out = Json::object();
    out["client"] = client_json(*c);
    for (const char* table : {"contacts", "requests", "complaints"}) {
      Json list = Json::array();
      for (const CrmRow& r : rows[table]) list.push_back(row_json(r));
      out[table] = std::move(list);
    }
    Json items = Json::array();
    for (const CrmRow& r : open_items) items.push_back(row_json(r));
    out["items"] = std::move(items);
    print_json(out);
    return kExitOk;
  }

  print_line(fmt::format("client {}: {}", c->id, c->company));
  std::string cls = c->abc_class.empty() ? "—" : c->abc_class + (c->abc_at.empty() ? "" : " (computed " + c->abc_at + ")");
  std::string vip = c->vip ? "yes" : c->abc_class == "A" ? "yes (class A)" : "no";
  print_fields({
      {"contact", c->contact},
      {"phone", c->phone},
      {"email", c->email},
      {"regular since", c->regular_since},
      {"class", cls},
      {"vip", vip},
      {"manager", c->manager},
      {"next contact", c->next_contact},
      {"notes", c->notes},
      {"added", c->created_at},
      {"updated", c->updated_at},
  });

  TextTable contacts({"id", "at", "by", "kind", "note", "instance"});
  contacts.set_max_width(4, kTitleWidth);
  for (const CrmRow& r : rows["contacts"]) {
    contacts.add({std::to_string(r.id), short_time(field_text(r, "at")), field_text(r, "actor"), field_text(r, "kind"),
                  field_text(r, "note"), field_text(r, "instance")});
  }
  print_section("contacts", contacts);

  TextTable requests({"id", "date", "volume", "status", "delivery", "delivery date", "instance"});
  for (const CrmRow& r : rows["requests"]) {
    requests.add({std::to_string(r.id), field_text(r, "date"), field_text(r, "volume"), field_text(r, "status"),
                  field_text(r, "delivery"), field_text(r, "delivery_date"), field_text(r, "instance")});
  }
  print_section("requests", requests);

  TextTable complaints({"id", "date", "substance", "result", "legal", "status", "instance"});
  complaints.set_max_width(2, kTitleWidth);
  for (const CrmRow& r : rows["complaints"]) {
    complaints.add({std::to_string(r.id), field_text(r, "date"), field_text(r, "substance"), field_text(r, "result"),
                    field_text(r, "needs_legal"), field_text(r, "status"), field_text(r, "instance")});
  }
  print_section("complaints", complaints);

  TextTable items({"id", "kind", "text", "amount", "opened"});
  items.set_max_width(2, kTitleWidth);
  for (const CrmRow& r : open_items) {
    items.add({std::to_string(r.id), field_text(r, "kind"), field_text(r, "text"), field_text(r, "amount"),
               short_time(field_text(r, "opened_at"))});
  }
  print_section("open items", items);
  return kExitOk;
}

int run_clients_add(Ctx& ctx, const ClientsAddOptions& opt) {
  if (!opt.fields.company || trim(*opt.fields.company).empty()) {
    return fail(ErrorCode::invalid, "clients add needs --company NAME");
  }
  auto store = ctx.store();
  if (!store) return fail(store.error());
  auto fields = client_record_fields(**store, opt.fields, false);
  if (!fields) return fail(fields.error());
  Json rec(std::move(fields).value());
  rec["op"] = "client.add";
  auto ids = record(ctx, **store, {rec});
  if (!ids) return fail(ids.error());
  const int64_t id = ids->front();
  if (ctx.json) {
    Json out = Json::object();
    out["client"] = id;
    print_json(out);
    return kExitOk;
  }
  print_line(fmt::format("client {} added", id));
  return kExitOk;
}

int run_clients_edit(Ctx& ctx, const ClientsEditOptions& opt) {
  auto id = parse_client_id(opt.id);
  if (!id) return fail(id.error());
  auto store = ctx.store();
  if (!store) return fail(store.error());
  auto fields = client_record_fields(**store, opt.fields, true);
  if (!fields) return fail(fields.error());
  if (fields->empty()) {
    return fail(ErrorCode::invalid,
                "clients edit needs something to change: --company, --contact, --phone, --email, --regular-since, "
                "--vip/--no-vip, --manager, --next-contact or --notes");
  }
  if (auto c = load_client(**store, *id); !c) return fail(c.error());
  Json rec(std::move(fields).value());
  rec["op"] = "client.update";
  rec["client"] = *id;
  auto ids = record(ctx, **store, {rec});
  if (!ids) return fail(ids.error());
  if (ctx.json) {
    Json out = Json::object();
    out["client"] = *id;
    print_json(out);
    return kExitOk;
  }
  print_line(fmt::format("client {} updated", *id));
  return kExitOk;
}

int run_clients_find(Ctx& ctx, const ClientsFindOptions& opt) {
  const std::string query = trim(opt.query);
  if (query.empty()) return fail(ErrorCode::invalid, "clients find needs something to look for");
  auto store = ctx.store();
  if (!store) return fail(store.error());
  if (auto st = check_person(ctx); !st.ok()) return fail(st.error());
  auto matches = (*store)->clients().find(query, opt.limit);
  if (!matches) return fail(matches.error());
  if (ctx.json) {
    Json out = Json::array();
    for (const ClientMatch& m : *matches) {
      Json j = client_json(m.client);
      j["score"] = m.score;
      out.push_back(std::move(j));
    }
    print_json(out);
    return kExitOk;
  }
  if (matches->empty()) {
    print_line(fmt::format("no client matches \"{}\"", query));
    return kExitOk;
  }
  TextTable t({"id", "company", "contact", "phone", "class", "score"});
  t.set_max_width(1, 40);
  t.set_max_width(2, 28);
  for (const ClientMatch& m : *matches) {
    t.add({std::to_string(m.client.id), m.client.company, m.client.contact, m.client.phone, m.client.abc_class,
           fmt::format("{:.2f}", m.score)});
  }
  print_text(t.render());
  return kExitOk;
}

int run_clients_request(Ctx& ctx, const ClientsRequestOptions& opt) {
  auto id = parse_client_id(opt.id);
  if (!id) return fail(id.error());
  if (!std::isfinite(opt.volume) || opt.volume < 0) {
    return fail(ErrorCode::invalid, "--volume must be a number, 0 or more");
  }
  std::string date = opt.date;
  if (date.empty()) {
    auto now = parse_moment(ctx.now);
    if (!now) return fail(now.error());
    date = format_date(local_date(*now));
  } else if (Status st = check_day("--date", date); !st) {
    return fail(st.error());
  }
  if (opt.delivery_date && !opt.delivery_date->empty())
    if (Status st = check_day("--delivery-date", *opt.delivery_date); !st) return fail(st.error());
  auto store = ctx.store();
  if (!store) return fail(store.error());
  auto c = load_client(**store, *id);
  if (!c) return fail(c.error());

  Json rec = Json::object();
  rec["op"] = "request.add";
  rec["client"] = *id;
  rec["status"] = opt.status;
  rec["date"] = date;
  rec["volume"] = opt.volume;
  rec["company"] = c->company;
  rec["manager"] = ctx.user;
  rec["filled_at"] = ctx.now;
  const std::string contact = opt.contact_person ? trim(*opt.contact_person) : c->contact;
  if (!contact.empty()) rec["contact_person"] = contact;
  const std::pair<const char*, const std::optional<std::string>*> optional_fields[] = {
      {"delivery", &opt.delivery},
      {"delivery_date", &opt.delivery_date},
      {"delivery_place", &opt.delivery_place},
      {"conditions", &opt.conditions},
  };
  for (const auto& [name, value] : optional_fields) {
    if (*value && !trim(**value).empty()) rec[name] = trim(**value);
  }
  auto ids = record(ctx, **store, {rec});
  if (!ids) return fail(ids.error());
  if (ctx.json) {
    Json out = Json::object();
    out["request"] = ids->front();
    out["client"] = *id;
    print_json(out);
    return kExitOk;
  }
  print_line(fmt::format("request {} recorded for client {} ({}): volume {}, {}, {}", ids->front(), *id, c->company,
                         number_text(opt.volume), date, opt.status));
  return kExitOk;
}

int run_clients_item(Ctx& ctx, const ClientsItemOptions& opt) {
  auto id = parse_client_id(opt.id);
  if (!id) return fail(id.error());
  const std::string text = trim(opt.text);
  if (text.empty()) return fail(ErrorCode::invalid, "--text must not be empty: say what the debt or question is");
  if (opt.amount && !std::isfinite(*opt.amount)) return fail(ErrorCode::invalid, "--amount must be a number");
  auto store = ctx.store();
  if (!store) return fail(store.error());
  auto c = load_client(**store, *id);
  if (!c) return fail(c.error());
  Json rec = Json::object();
  rec["op"] = "item.add";
  rec["client"] = *id;
  rec["kind"] = opt.kind;
  rec["text"] = text;
  if (opt.amount) rec["amount"] = *opt.amount;
  auto ids = record(ctx, **store, {rec});
  if (!ids) return fail(ids.error());
  if (ctx.json) {
    Json out = Json::object();
    out["item"] = ids->front();
    out["client"] = *id;
    print_json(out);
    return kExitOk;
  }
  print_line(fmt::format("{} {} recorded for client {} ({})", opt.kind, ids->front(), *id, c->company));
  return kExitOk;
}

int run_clients_close_item(Ctx& ctx, const ClientsCloseItemOptions& opt) {
  auto id = parse_client_id(opt.item);
  if (!id) return fail(ErrorCode::invalid, fmt::format("\"{}\" is not an item id; see reglament clients show", opt.item));
  auto store = ctx.store();
  if (!store) return fail(store.error());
  Json rec = Json::object();
  rec["op"] = "item.close";
  rec["item"] = *id;
  auto ids = record(ctx, **store, {rec});
  if (!ids) return fail(ids.error());
  if (ctx.json) {
    Json out = Json::object();
    out["item"] = *id;
    print_json(out);
    return kExitOk;
  }
  print_line(fmt::format("item {} closed", *id));
  return kExitOk;
}

int run_clients_abc(Ctx& ctx, const ClientsAbcOptions& opt) {
  if (!opt.from.empty())
    if (Status st = check_day("--from", opt.from); !st) return fail(st.error());
  if (!opt.to.empty())
    if (Status st = check_day("--to", opt.to); !st) return fail(st.error());
  // Dates written YYYY-MM-DD compare as text.
  if (!opt.from.empty() && !opt.to.empty() && !(opt.from < opt.to)) {
    return fail(ErrorCode::invalid,
                fmt::format("--from {} must be before --to {} (the period ends before --to)", opt.from, opt.to));
  }
  auto store = ctx.store();
  if (!store) return fail(store.error());
  // Storing classes is a change to the client database, whether or not the
  // period has any volume to classify; a dry run only reads.
  if (auto st = opt.dry_run ? check_person(ctx) : check_clients(ctx); !st.ok()) return fail(st.error());
  auto volumes = (*store)->abc_volumes(opt.from, opt.to);
  if (!volumes) return fail(volumes.error());
  auto rows = classify_abc(*volumes, opt.a, opt.b);
  if (!rows) return fail(rows.error());
  auto all = (*store)->clients().clients();
  if (!all) return fail(all.error());
  std::map<int64_t, std::string> company;
  for (const Client& c : *all) company[c.id] = c.company;

  if (!opt.dry_run && !rows->empty()) {
    std::vector<Json> records;
    for (const AbcRow& r : *rows) {
      Json rec = Json::object();
      rec["op"] = "client.classify";
      rec["client"] = r.client;
      rec["class"] = std::string(1, r.cls);
      rec["computed_at"] = ctx.now;
      records.push_back(std::move(rec));
    }
    auto ids = record(ctx, **store, std::move(records));
    if (!ids) return fail(ids.error());
  }

  if (ctx.json) {
    Json out = Json::array();
    for (const AbcRow& r : *rows) {
      Json j = Json::object();
      j["client"] = r.client;
      j["company"] = company[r.client];
      j["class"] = std::string(1, r.cls);
      j["volume"] = r.volume;
      j["share"] = r.share;
      j["cumulative"] = r.cumulative;
      out.push_back(std::move(j));
    }
    print_json(out);
    return kExitOk;
  }
  if (rows->empty()) {
    print_line("no clients to classify; add some with reglament clients add --company NAME");
    return kExitOk;
  }
  TextTable t({"class", "id", "company", "volume", "share %", "cumulative %"});
  t.set_max_width(2, 40);
  std::map<char, int> counts;
  for (const AbcRow& r : *rows) {
    ++counts[r.cls];
    t.add({std::string(1, r.cls), std::to_string(r.client), company[r.client], number_text(r.volume),
           fmt::format("{:.1f}", r.share), fmt::format("{:.1f}", r.cumulative)});
  }
  print_text(t.render());
  const std::string period = opt.from.empty() && opt.to.empty() ? "all requests"
                             : fmt::format("requests dated {} … {}", opt.from.empty() ? "the beginning" : opt.from,
                                           opt.to.empty() ? "now" : "before " + opt.to);
  print_line(fmt::format("A {}, B {}, C {} ({}, A {:g}% / B {:g}% of the volume){}", counts['A'], counts['B'],
                         counts['C'], period, opt.a, opt.b,
                         opt.dry_run ? "; dry run: nothing stored" : "; classes stored"));
  return kExitOk;
}

}  // namespace reglament
