// Internal to storage/: the client database (engine/crm.h) on SQLite — its
// tables, the one function that changes them (a record, applied inside the
// caller's transaction), and the read-only ClientBook over a connection.
// Not a public header: it names SQLiteCpp types. Tables and columns are
// described in storage/README.md ("The client database").
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>

#include "engine/abc.h"
#include "engine/crm.h"
#include "engine/json.h"
#include "engine/names.h"
#include "engine/result.h"
#include "storage/schema_internal.h"

namespace reglament {

// CREATE TABLE / INDEX / TRIGGER statements of the client database: clients,
// contacts, requests, complaints, items, report_entries and client_log (with
// its append-only triggers), as this build writes them (client_log with the
// hash column of schema 7). Plain CREATE (no IF NOT EXISTS): run once, in the
// schema's transaction, on a new file or by the migration that adds them.
extern const char* const kCrmSchema;

// Schema 6: the client search index, client_keys (client, kind, key) — the
// client_keys() of engine/names.h for every client — so that a loose search
// (SqliteClientBook::find) reads the clients a query can match instead of
// all of them. Creates the table and fills it from `clients`; run once, in
// the schema's transaction.
void create_client_keys(SQLite::Database& db);

// The triggers kCrmSchema creates to keep client_log append-only: name -> SQL
// text as sqlite_master holds it (for the audit, like guard_triggers()).
std::vector<std::pair<std::string, std::string>> crm_guard_triggers();

// Who and when, for the records of one change: a step's ServiceCompleted
// event (instance and step set) or a person's `reglament clients` command
// (instance and step empty). An empty actor is stored as NULL (the engine).
struct CrmContext {
  std::string at;
  std::string actor;
  std::string instance;
  std::string step;
};

// The prepared statements of apply_crm_record over one connection (which
// must outlive it), by their SQL text: each is prepared once per connection
// instead of once per record (the ops build a few texts from their fields,
// a bounded set). A statement is reset when it is handed out and when its
// Query goes out of scope, so none stays open between uses.
class CrmStatements {
 public:
  explicit CrmStatements(SQLite::Database& db) : db_(db) {}
  CrmStatements(const CrmStatements&) = delete;
  CrmStatements& operator=(const CrmStatements&) = delete;

  SQLite::Database& db() const { return db_; }
  // The statement for `sql`, prepared on first use, its bindings cleared.
  storage_internal::Query operator()(const std::string& sql);

 private:
  SQLite::Database& db_;
  std::unordered_map<std::string, std::unique_ptr<SQLite::Statement>> statements_;
};

// Applies one record (engine/crm.h) inside the caller's transaction — it
// never begins or commits one — and appends its client_log row. Answers the
// id of the row written: the client's for client.*, else the contact's,
// request's, complaint's, item's or report entry's.
//
// The record is checked whole before anything is written, and its writes run
// under a savepoint, so a failing record leaves the database as it was:
//   invalid    not an object, unknown op, unknown or mistyped field, missing
//              required field (company of client.add, status of *.update, …),
//              a bad class or item kind, a negative volume or amount, several
//              clients with the given company name;
//   not_found  a client, request, complaint or item id that does not exist,
//              a company name that names no client;
//   conflict   client.add or a rename to a company name (after
//              normalize_company) another client already has; item.close of
//              a closed item.
// SQLite failures are thrown (SQLite::Exception) after rolling back the
// savepoint; the caller turns them into errors with sqlite_error().
Result<int64_t> apply_crm_record(CrmStatements& sql, const Json& record, const CrmContext& ctx);

namespace storage_internal {
// The CrmStatements of a store's connection, made on first use.
CrmStatements& crm_statements(SqliteStore& store);
}  // namespace storage_internal

// Accepted request volume per client (status 'accepted' or 'done'), for
// requests whose date d — the form's `date`, else the day of `at` — has
// from <= d < to (YYYY-MM-DD; an empty bound is open). Every client appears,
// by id, with 0 when it has none. Errors: invalid for a bound that is not a
// date. SQLite failures are thrown.
Result<std::vector<AbcInput>> crm_abc_volumes(SQLite::Database& db, const std::string& from,
                                              const std::string& to);

// The read-only client database over a connection (which must outlive it).
// Statements are prepared once and reset after every use, so no read
// transaction stays open between calls. SQLite failures come back as errors
// naming `path`.
class SqliteClientBook : public ClientBook {
 public:
  explicit SqliteClientBook(SQLite::Database& db, std::string path = ":memory:");
  ~SqliteClientBook() override;

  Result<std::vector<Client>> clients() const override;
  Result<std::optional<Client>> client(int64_t id) const override;
  // Every client scored with match_score() on company, contact and phone
  // (reading those three columns only; the full rows of the matches alone);
  // those above 0.5, best first, equal scores by id; at most `limit` (all
  // when limit <= 0).
  Result<std::vector<ClientMatch>> find(std::string_view query, int limit) const override;
  // table: "contacts" | "requests" | "complaints" | "items" | "reports"
  // (report entries, which belong to no client: `client` must be 0); by id.
  Result<std::vector<CrmRow>> rows(std::string_view table, int64_t client) const override;
  // Through the company_key index.
  Result<std::vector<Client>> named(std::string_view company) const override;

 private:
  SQLite::Statement& statement(const char* sql, size_t copy = 0) const;
  // The ids of the clients `matcher` may score above 0, ascending: those of
  // its cheapest group of key ranges (NameMatcher::key_ranges).
  std::vector<int64_t> candidates(const NameMatcher& matcher) const;

  SQLite::Database& db_;
  std::string path_;
  // By SQL text and copy: a search reads several ranges at once, each
  // through its own copy of the same statement.
  mutable std::map<std::pair<const char*, size_t>, std::unique_ptr<SQLite::Statement>> statements_;
};

}  // namespace reglament
