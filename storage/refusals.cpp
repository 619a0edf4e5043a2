#include "storage/refusals.h"

#include <SQLiteCpp/Transaction.h>
#include <fmt/format.h>

#include "engine/json.h"
#include "storage/chains.h"
#include "storage/schema_internal.h"

namespace reglament {

namespace storage_internal {

const char* const kRefusalsSchema = R"sql(
CREATE TABLE refusals (
  seq      INTEGER PRIMARY KEY,
  at       TEXT NOT NULL,
  actor    TEXT NOT NULL,
  os_login TEXT NOT NULL,
  command  TEXT NOT NULL,
  instance TEXT,
  reason   TEXT NOT NULL,
  hash     TEXT NOT NULL
);
CREATE INDEX refusals_by_instance ON refusals (instance, seq) WHERE instance IS NOT NULL;
CREATE TRIGGER refusals_append_only_update BEFORE UPDATE ON refusals
BEGIN
  SELECT RAISE(ABORT, 'refusals are append-only');
END;
CREATE TRIGGER refusals_append_only_delete BEFORE DELETE ON refusals
BEGIN
  SELECT RAISE(ABORT, 'refusals are append-only');
END;
)sql";

std::vector<std::pair<std::string, std::string>> refusal_guard_triggers() {
  return triggers_in(kRefusalsSchema);
}

}  // namespace storage_internal

namespace {

using storage_internal::bind_text_or_null;
using storage_internal::text_or_empty;

// The chain link (storage_internal::link_hash) over the row's fields.
std::string chain_hash(const std::string& previous, const Refusal& r) {
  Json j = Json::object();
  j["seq"] = r.seq;
  j["at"] = r.at;
  j["actor"] = r.actor;
  j["os_login"] = r.os_login;
  j["command"] = r.command;
  j["instance"] = r.instance;
  j["reason"] = r.reason;
  return storage_internal::link_hash(previous, j);
}

Refusal row_of(SQLite::Statement& q) {
  Refusal r;
  r.seq = q.getColumn(0).getInt64();
  r.at = q.getColumn(1).getString();
  r.actor = q.getColumn(2).getString();
  r.os_login = q.getColumn(3).getString();
  r.command = q.getColumn(4).getString();
  r.instance = text_or_empty(q.getColumn(5));
  r.reason = q.getColumn(6).getString();
  r.hash = q.getColumn(7).getString();
  return r;
}

constexpr const char* kColumns = "seq, at, actor, os_login, command, instance, reason, hash";

}  // namespace

Result<Refusal> record_refusal(SqliteStore& store, Refusal r) {
  SQLite::Database& db = storage_internal::connection(store);
  try {
    SQLite::Transaction tx(db, SQLite::TransactionBehavior::IMMEDIATE);
    std::string previous;
    int64_t last = 0;
    {
      SQLite::Statement q(db, "SELECT seq, hash FROM refusals ORDER BY seq DESC LIMIT 1");
      if (q.executeStep()) {
        last = q.getColumn(0).getInt64();
        previous = q.getColumn(1).getString();
      }
    }
    r.seq = last + 1;
    r.hash = chain_hash(previous, r);
    SQLite::Statement ins(db, fmt::format("INSERT INTO refusals ({}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)", kColumns));
    ins.bind(1, r.seq);
    ins.bind(2, r.at);
    ins.bind(3, r.actor);
    ins.bind(4, r.os_login);
    ins.bind(5, r.command);
    bind_text_or_null(ins, 6, r.instance);
    ins.bind(7, r.reason);
    ins.bind(8, r.hash);
    ins.exec();
    tx.commit();
    return r;
  } catch (const SQLite::Exception& e) {
    return storage_internal::sqlite_error(e, storage_internal::path_of(store));
  }
}

Result<std::vector<Refusal>> refusals(SqliteStore& store, const std::string& instance) {
  SQLite::Database& db = storage_internal::connection(store);
  try {
    std::vector<Refusal> out;
    SQLite::Statement q(db, instance.empty()
                                ? fmt::format("SELECT {} FROM refusals ORDER BY seq", kColumns)
                                : fmt::format("SELECT {} FROM refusals WHERE instance = ?1 ORDER BY seq", kColumns));
    if (!instance.empty()) q.bind(1, instance);
    while (q.executeStep()) out.push_back(row_of(q));
    return out;
  } catch (const SQLite::Exception& e) {
    return storage_internal::sqlite_error(e, storage_internal::path_of(store));
  }
}

Result<std::vector<RefusalFinding>> check_refusals(SqliteStore& store) {
  auto rows = refusals(store);
  if (!rows) return rows.error();
  std::vector<RefusalFinding> out;
  std::string previous;
  int64_t expected = 1;
  for (const Refusal& r : *rows) {
    if (r.seq != expected) {
      out.push_back({r.seq, fmt::format("refusal {} follows refusal {}: the refusals between were removed", r.seq,
                                        expected - 1)});
      return out;  // every later hash depends on the missing ones
    }
    if (chain_hash(previous, r) != r.hash) {
      out.push_back({r.seq, fmt::format("refusal {} (by {} at {}) no longer matches its hash: it was changed, or "
                                        "an earlier one was",
                                        r.seq, r.actor, r.at)});
      return out;
    }
    previous = r.hash;
    ++expected;
  }
  return out;
}

}  // namespace reglament
