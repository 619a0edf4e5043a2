// The regular-customer database (the CRM) as the engine sees it: the rows,
// the changes to them as data, and the read-only view handlers get.
//
// Every change to the client database is a *record*: a JSON object with an
// `op` and its fields (see docs/handlers.md, "Client database records"). A
// handler never writes; it returns records, the runtime puts them in the
// step's ServiceCompleted event, and storage applies them in the same
// transaction as that event. A person's `reglament clients add|edit` is a
// record too, logged with its actor. So the tables are a projection of the
// records, and every change has a who, a when and, for a step, an instance.
//
// Records (`op`; `client` is a client id, or give `company` to name the
// client by its company name, matched after normalize_company()):
//   client.add       company*, contact, phone, email, regular_since, vip,
//                    manager, next_contact, notes
//   client.update    client|company, then any field of client.add
//   client.classify  client, class ("A"|"B"|"C"), computed_at
//   contact.add      client|company, kind, note, instance, step   (at, actor
//                    come from the event)
//   request.add      client|company, instance, fields of form 7.3, status
//   request.update   request, status
//   complaint.add    client|company, instance, fields of form 7.4, status
//   complaint.update complaint, status
//   item.add         client|company, kind ("debt"|"question"), text, amount
//   item.close       item
//   report.add       form (a report form's name), values (object), instance,
//                    step: one line of a report form (steps x.x.11 and the like)
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/json.h"
#include "engine/result.h"

namespace reglament {

struct Client {
  int64_t id = 0;
  std::string company;        // "ООО «Ромашка»"
  std::string contact;        // contact person
  std::string phone;
  std::string email;
  std::string regular_since;  // YYYY-MM-DD
  std::string abc_class;      // "A" | "B" | "C" | "" (never computed)
  std::string abc_at;         // when the class was computed
  bool vip = false;           // set by a person; A-class counts as VIP too
  std::string manager;        // login of the responsible manager
  std::string next_contact;   // YYYY-MM-DD, planned next contact
  std::string notes;
  std::string created_at;
  std::string updated_at;

  // VIP as step 3.1 sees it: the person's flag, or class A.
  bool effective_vip() const { return vip || abc_class == "A"; }
};

// One row of contacts, requests, complaints or open items: the fields as a
// JSON object (names as in storage/README.md), with its id and client.
struct CrmRow {
  int64_t id = 0;
  int64_t client = 0;
  JsonObject fields;
};

struct ClientMatch {
  Client client;
  double score = 0;  // 1 = the same after normalisation; > 0.5 shown by `find`
};

// Read-only view of the client database, for handlers and the CLI. Reads see
// committed data only: a handler runs outside any transaction.
class ClientBook {
 public:
  virtual ~ClientBook() = default;
  virtual Result<std::vector<Client>> clients() const = 0;  // by id
  virtual Result<std::optional<Client>> client(int64_t id) const = 0;
  // Best matches first, on company name, contact person and phone
  // (engine/names.h); at most `limit`.
  virtual Result<std::vector<ClientMatch>> find(std::string_view query, int limit) const = 0;
  // table: "contacts" | "requests" | "complaints" | "items"; client 0 = all.
  virtual Result<std::vector<CrmRow>> rows(std::string_view table, int64_t client) const = 0;
  // The clients whose company name is this one after normalize_company()
  // (the same customer, as records name it), by id. The default scans
  // clients(); a store answers it from an index, so a step that looks up a
  // known customer costs the same at ten clients and at a hundred thousand.
  virtual Result<std::vector<Client>> named(std::string_view company) const;
};

// The client record as JSON (every field above, by its name).
Json client_json(const Client& c);

}  // namespace reglament
