// The deployments chain and the client_log chain (storage/chains.h).

#include "storage/chains.h"

#include <SQLiteCpp/Statement.h>

#include "engine/json.h"
#include "engine/sha256.h"
#include "storage/crm.h"
#include "storage/schema_internal.h"

namespace reglament::storage_internal {

const char* const kDeploymentsSchema = R"sql(
CREATE TABLE deployments (
  seq          INTEGER PRIMARY KEY,
  kind         TEXT    NOT NULL,
  name         TEXT    NOT NULL,
  version      INTEGER NOT NULL,
  content_hash TEXT    NOT NULL,
  at           TEXT    NOT NULL,
  hash         TEXT    NOT NULL
);
CREATE TRIGGER deployments_append_only_update BEFORE UPDATE ON deployments
BEGIN
  SELECT RAISE(ABORT, 'deployments are append-only');
END;
CREATE TRIGGER deployments_append_only_delete BEFORE DELETE ON deployments
BEGIN
  SELECT RAISE(ABORT, 'deployments are append-only');
END;
)sql";

std::vector<std::pair<std::string, std::string>> deployment_guard_triggers() {
  return triggers_in(kDeploymentsSchema);
}

namespace {

Json text_or_null(const std::string& s) { return s.empty() ? Json() : Json(s); }

}  // namespace

std::string link_hash(const std::string& previous, const Json& row) {
  return sha256_hex(previous + "\n" + row.dump());
}

std::string deployment_hash(const std::string& previous, const Deployment& d) {
  Json j = Json::object();
  j["seq"] = d.seq;
  j["kind"] = d.kind;
  j["name"] = d.name;
  j["version"] = d.version;
  j["content_hash"] = d.content_hash;
  j["at"] = d.at;
  return link_hash(previous, j);
}

void record_deployment(SQLite::Database& db, Deployment d) {
  std::string previous;
  {
    SQLite::Statement last(db, "SELECT seq, hash FROM deployments ORDER BY seq DESC LIMIT 1");
    if (last.executeStep()) {
      d.seq = last.getColumn(0).getInt64() + 1;
      previous = last.getColumn(1).getString();
    } else {
      d.seq = 1;
    }
  }
  d.hash = deployment_hash(previous, d);
  SQLite::Statement q(db,
                      "INSERT INTO deployments (seq, kind, name, version, content_hash, at, hash) "
                      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
  q.bind(1, d.seq);
  q.bind(2, d.kind);
  q.bind(3, d.name);
  q.bind(4, d.version);
  q.bind(5, d.content_hash);
  q.bind(6, d.at);
  q.bind(7, d.hash);
  q.exec();
}

std::string client_log_hash(const std::string& previous, const ClientLogRow& r) {
  Json j = Json::object();
  j["seq"] = r.seq;
  j["at"] = r.at;
  j["actor"] = text_or_null(r.actor);
  j["instance"] = text_or_null(r.instance);
  j["step"] = text_or_null(r.step);
  j["record"] = r.record;
  j["row_id"] = r.row_id;
  return link_hash(previous, j);
}

ClientLogRow client_log_row(SQLite::Statement& q) {
  return ClientLogRow{q.getColumn(0).getInt64(),     q.getColumn(1).getString(), text_or_empty(q.getColumn(2)),
                      text_or_empty(q.getColumn(3)), text_or_empty(q.getColumn(4)), q.getColumn(5).getString(),
                      q.getColumn(6).getInt64()};
}

void create_chains(SQLite::Database& db) {
  create_deployments(db);
  chain_client_log(db);
}

void create_deployments(SQLite::Database& db) {
  db.exec(kDeploymentsSchema);
  std::vector<Deployment> found;
  {
    SQLite::Statement q(db, "SELECT process, version, hash, deployed_at FROM definitions "
                            "ORDER BY deployed_at, process, version");
    while (q.executeStep()) {
      found.push_back(Deployment{0, "definition", q.getColumn(0).getString(), q.getColumn(1).getInt64(),
                                 q.getColumn(2).getString(), q.getColumn(3).getString(), ""});
    }
  }
  {
    SQLite::Statement q(db, "SELECT source, loaded_at FROM org WHERE id = 1");
    if (q.executeStep()) {
      found.push_back(Deployment{0, "org", "org", 0, sha256_hex(q.getColumn(0).getString()),
                                 q.getColumn(1).getString(), ""});
    }
  }
  {
    SQLite::Statement q(db, "SELECT name, source, deployed_at FROM documents ORDER BY name");
    while (q.executeStep()) {
      found.push_back(Deployment{0, "document", q.getColumn(0).getString(), 0, sha256_hex(q.getColumn(1).getString()),
                                 q.getColumn(2).getString(), ""});
    }
  }
  for (Deployment& d : found) record_deployment(db, std::move(d));
}

void chain_client_log(SQLite::Database& db) {
  // client_log gets its chain. The rows already there are chained as they
  // stand, with the update guard lifted for this one transaction and put back
  // with the text the schema gives it (the audit compares that text).
  // A client_log created by this build's kCrmSchema has the column already.
  if (db.execAndGet("SELECT count(*) FROM pragma_table_info('client_log') WHERE name = 'hash'").getInt() == 0) {
    db.exec("ALTER TABLE client_log ADD COLUMN hash TEXT NOT NULL DEFAULT ''");
  }
  if (db.execAndGet("SELECT count(*) FROM client_log").getInt64() == 0) return;
  std::string guard;
  for (const auto& [name, sql] : crm_guard_triggers()) {
    if (name == "client_log_append_only_update") guard = sql;
  }
  db.exec("DROP TRIGGER client_log_append_only_update");
  std::vector<std::pair<int64_t, std::string>> hashes;
  {
    SQLite::Statement q(db, "SELECT seq, at, actor, instance, step, record, row_id FROM client_log ORDER BY seq");
    std::string previous;
    while (q.executeStep()) {
      const ClientLogRow r = client_log_row(q);
      previous = client_log_hash(previous, r);
      hashes.emplace_back(r.seq, previous);
    }
  }
  SQLite::Statement set(db, "UPDATE client_log SET hash = ?2 WHERE seq = ?1");
  for (const auto& [seq, hash] : hashes) {
    set.reset();
    set.bind(1, seq);
    set.bind(2, hash);
    set.exec();
  }
  db.exec(guard + ";");
}

}  // namespace reglament::storage_internal
