// The audit of a database file: is the log as it was written, do the tables
// derived from it agree with it, and is it still what a seal recorded?
//
//   auto report = verify_log(store, {});          // every instance
//   if (!report->ok()) ...report->findings...     // each one located
//   auto seal = seal_log(store, now);             // seal->digest: write it down
//   verify_log(store, {.against = digest});       // later: nothing before it changed
//
// What is checked (storage/README.md, "Audit"):
// - every instance's hash chain (engine/audit.h check_chain), and the
//   derived column at_utc of every event;
// - the state replayed from the events against the projections: the
//   instances row, open tasks with their claims and roles, open jobs, outbox;
// - rows of projections that name an instance with no events, and instance
//   ids handed out (meta next_instance) of which nothing remains;
// - each deployed definition against its content hash, and each instance's
//   first event against the definition it names;
// - the append-only triggers of events and seals, present and unaltered;
// - with a seal: every sealed head still in place, every sealed definition
//   unchanged, and the recorded seal itself giving its digest.
//
// - first of all, SQLite's own check of the file's pages (quick_check, or
//   integrity_check with `full`), naming each damaged table;
// - the deployments chain, and every deployed document (process versions,
//   org chart, calendar, indicators) against the hash its latest deployment
//   recorded (storage/chains.h);
// - the client_log chain, and every client table against the fold of its
//   records, row for row.
//
// Findings are data (AuditReport); an Error means the check itself could not
// run (the database could not be read, a malformed digest) — integrity when
// SQLite met a damaged page while reading.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/audit.h"
#include "engine/result.h"
#include "storage/sqlite_store.h"

namespace reglament {

struct AuditFinding {
  AuditKind kind = AuditKind::changed;
  std::string instance;  // empty when about the database as a whole
  int64_t seq = 0;       // the first bad event; 0 when not about one event
  std::string message;   // one sentence
};

// A seal as recorded in the seals table.
struct SealRecord {
  std::string digest;  // 64 hex digits
  std::string at;      // when it was taken
  int64_t instances = 0;
  int64_t events = 0;
};

struct AuditReport {
  int64_t instances = 0;  // instances checked
  int64_t events = 0;     // events checked
  std::vector<AuditFinding> findings;
  std::optional<SealRecord> seal;  // the seal checked against, when found

  bool ok() const { return findings.empty(); }
};

struct VerifyOptions {
  std::string instance;  // check this instance only; empty: every instance
  // A seal digest, or a prefix of at least 8 of its hex digits: also prove
  // that nothing the seal covers changed. Empty: no seal.
  std::string against;
  // SQLite's full integrity_check (every index against its table) instead of
  // its quick_check (every page readable and well-formed), which is the default.
  bool full = false;
};

// Errors: invalid (a malformed or ambiguous digest), not_found (`instance`
// never existed), internal or conflict from the database.
Result<AuditReport> verify_log(SqliteStore& store, const VerifyOptions& options);

// Verifies the whole log and, when it verifies, records and returns a seal of
// it as it is now, taken at `at`. In one transaction, so the seal covers
// exactly the log that was verified.
// Errors: integrity when the log does not verify (naming the first finding).
Result<SealRecord> seal_log(SqliteStore& store, const std::string& at);

// Every recorded seal, oldest first.
Result<std::vector<SealRecord>> recorded_seals(SqliteStore& store);

}  // namespace reglament
