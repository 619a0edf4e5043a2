// Internal to storage/: the two hash chains of schema 7, which put under a
// chain everything the engine decides from besides the event log.
//
// - `deployments`: one row per deployed document — a process version, the org
//   chart, the calendar, the indicators file — with the SHA-256 of its content
//   and the hash of the row before it. `verify` checks every stored document
//   against the latest hash deployed for it, and the seal covers the chain's
//   head, so an edit to anything deployed before a seal is caught.
// - `client_log.hash`: the client database's records chained the same way;
//   `verify` rebuilds every client table from the records and compares them.
//
// Both hashes are sha256_hex(previous hash + "\n" + the row's other columns as
// canonical JSON), "" before the first row, like refusals (storage/refusals.h).
// Not a public header: it names SQLiteCpp types.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>

#include "engine/json.h"

namespace reglament::storage_internal {

// One link of a hash chain: sha256_hex(previous + "\n" + row.dump()), where
// `row` is the row's other columns as canonical JSON and `previous` is the
// hash of the row before it ("" for the first). The rule of refusals,
// deployments and client_log alike.
std::string link_hash(const std::string& previous, const Json& row);

// The deployments table and its append-only triggers (schema 7).
extern const char* const kDeploymentsSchema;
std::vector<std::pair<std::string, std::string>> deployment_guard_triggers();

// What a deployment row records. `kind` is "definition" (name = the process
// key, version = its version, content_hash = definitions.hash), "org" (name
// "org") or "document" (name = the documents row: "calendar", "indicators");
// version is 0 for the last two, whose content_hash is sha256_hex(source).
struct Deployment {
  int64_t seq = 0;
  std::string kind;
  std::string name;
  int64_t version = 0;
  std::string content_hash;
  std::string at;
  std::string hash;  // the chain hash
};

std::string deployment_hash(const std::string& previous, const Deployment& d);

// Appends a deployment (seq and hash computed here) inside the caller's
// transaction. SQLite failures are thrown.
void record_deployment(SQLite::Database& db, Deployment d);

// The migration to schema 7, inside its transaction: creates `deployments`
// and fills it from what is stored now (every definitions row by deployed_at,
// process and version, then the org chart, then the documents by name — the
// chain starts at the migration and vouches for what was there then), and
// adds `client_log.hash` where it is missing (kCrmSchema has it), chaining
// the rows already there.
void create_chains(SQLite::Database& db);
// Its two parts.
void create_deployments(SQLite::Database& db);
void chain_client_log(SQLite::Database& db);

// One client_log row as its hash covers it. Empty actor, instance, step:
// NULL.
struct ClientLogRow {
  int64_t seq = 0;
  std::string at, actor, instance, step;
  std::string record;  // as stored: canonical JSON text
  int64_t row_id = 0;
};

std::string client_log_hash(const std::string& previous, const ClientLogRow& r);
// The row a statement stands on whose first seven columns are client_log's
// seq, at, actor, instance, step, record, row_id (NULL text read as empty).
ClientLogRow client_log_row(SQLite::Statement& q);

}  // namespace reglament::storage_internal
