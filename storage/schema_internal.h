// Internal to storage/: opening a database file, recognising it as ours and
// creating the schema (documented in storage/README.md). Not a public header:
// it names SQLiteCpp types.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Exception.h>
#include <SQLiteCpp/Statement.h>

#include "engine/result.h"

namespace reglament {
class SqliteStore;
}

namespace reglament::storage_internal {

// The schema this build writes and reads. Stored in meta('schema_version').
inline constexpr int kSchemaVersion = 3;
// Stored in meta('application'); a file without it is someone else's database.
inline constexpr std::string_view kApplication = "reglament";

// True for the paths SQLite keeps in memory rather than in a file.
bool is_memory_path(const std::string& path);

// Creates `path` with permissions 0600 when it does not exist yet, so the
// database (and the -wal/-shm files SQLite derives from it) is private to its
// owner. Does nothing for in-memory paths or existing files.
Status create_private_file(const std::string& path);

// Makes a freshly opened connection ready: busy timeout, recognition of the
// file (refusing a non-SQLite file, another application's database or a newer
// schema), pragmas, and the schema itself when the file is empty.
// Errors: invalid for the refusals above; conflict or internal from SQLite.
Status prepare_database(SQLite::Database& db, const std::string& path);

// An SQLiteCpp exception as an Error: busy/locked become `conflict` (the
// caller may try again), everything else `internal`, naming `path`.
Error sqlite_error(const SQLite::Exception& e, const std::string& path);

// The triggers that keep the log and the seals append-only, as the schema
// creates them: name -> SQL text as sqlite_master holds it. The audit checks
// that each is present and unaltered.
std::vector<std::pair<std::string, std::string>> guard_triggers();
// The CREATE TRIGGER statements of a schema text, as guard_triggers() gives them.
std::vector<std::pair<std::string, std::string>> triggers_in(std::string_view schema);

// The store's connection and the path it was opened with, for the audit
// (storage/audit.cpp), which reads the tables as stored rather than through
// the store's caches. Defined in sqlite_store.cpp.
SQLite::Database& connection(SqliteStore& store);

// ---- Small SQL helpers shared by the store, the client database and the audit

// A cached statement in use: reset when taken and again when released, so a
// statement never keeps a read transaction open between calls (a forgotten
// one would pin an old snapshot and block checkpoints).
class Query {
 public:
  explicit Query(SQLite::Statement& s) : s_(s) { s_.tryReset(); }
  ~Query() { s_.tryReset(); }
  Query(const Query&) = delete;
  Query& operator=(const Query&) = delete;

  SQLite::Statement* operator->() { return &s_; }
  SQLite::Statement& operator*() { return s_; }

 private:
  SQLite::Statement& s_;
};

// Binds NULL for an empty text.
inline void bind_text_or_null(SQLite::Statement& s, int index, const std::string& text) {
  if (text.empty()) {
    s.bind(index);
  } else {
    s.bind(index, text);
  }
}

// The text of a column, empty for NULL.
inline std::string text_or_empty(const SQLite::Column& c) { return c.isNull() ? std::string() : c.getString(); }
const std::string& path_of(SqliteStore& store);

}  // namespace reglament::storage_internal
