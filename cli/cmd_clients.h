// `reglament clients …` — the regular-customer database (engine/crm.h):
//   clients list [--manager LOGIN] [--class A|B|C] [--vip]
//   clients show ID
//   clients add --company NAME [--contact --phone --email --regular-since
//               --vip --manager --next-contact --notes]
//   clients edit ID [the same options; --no-vip]
//   clients find QUERY [--limit N]
//   clients request ID --volume N [--date D] [--status S] [form 7.3 fields]
//   clients abc [--from DATE] [--to DATE] [--a 80] [--b 15] [--dry-run]
// Every change is a client database record (client.add, client.update,
// request.add, client.classify) applied by SqliteStore::record_clients in
// one transaction and logged with --as and --now.
#pragma once

#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "cli/common.h"

namespace reglament {

struct ClientsListOptions {
  std::string manager;  // only this manager's clients
  std::string cls;      // only this ABC class
  bool vip = false;     // only VIP clients (the flag, or class A)
};

// The client fields `add` and `edit` take; nullopt = not given. In `edit`,
// "" clears a field (except the company).
struct ClientFieldOptions {
  std::optional<std::string> company, contact, phone, email, regular_since, manager, next_contact, notes;
  bool vip = false;
  bool no_vip = false;
};

struct ClientsAddOptions {
  ClientFieldOptions fields;
};

struct ClientsEditOptions {
  std::string id;
  ClientFieldOptions fields;
};

struct ClientsShowOptions {
  std::string id;
};

struct ClientsFindOptions {
  std::string query;
  int limit = 10;
};

// A request (form 7.3) taken by phone or in person, outside any instance.
struct ClientsRequestOptions {
  std::string id;
  double volume = 0;
  std::string date;    // default: the day of --now
  std::string status = "accepted";
  std::optional<std::string> contact_person, delivery_date, delivery, delivery_place, conditions;
};

// A debt or an open question about a client (the lists of 3.5.4), and its closing.
struct ClientsItemOptions {
  std::string id;  // the client
  std::string kind;
  std::string text;
  std::optional<double> amount;
};
struct ClientsCloseItemOptions {
  std::string item;
};

struct ClientsAbcOptions {
  std::string from;  // YYYY-MM-DD, inclusive; empty: open
  std::string to;    // YYYY-MM-DD, exclusive; empty: open
  double a = 80;
  double b = 15;
  bool dry_run = false;
};

void setup_clients(CLI::App& app, Ctx& ctx);

int run_clients_list(Ctx& ctx, const ClientsListOptions& opt);
int run_clients_show(Ctx& ctx, const ClientsShowOptions& opt);
int run_clients_add(Ctx& ctx, const ClientsAddOptions& opt);
int run_clients_edit(Ctx& ctx, const ClientsEditOptions& opt);
int run_clients_find(Ctx& ctx, const ClientsFindOptions& opt);
int run_clients_request(Ctx& ctx, const ClientsRequestOptions& opt);
int run_clients_abc(Ctx& ctx, const ClientsAbcOptions& opt);
int run_clients_item(Ctx& ctx, const ClientsItemOptions& opt);
int run_clients_close_item(Ctx& ctx, const ClientsCloseItemOptions& opt);

}  // namespace reglament
