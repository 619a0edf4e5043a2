// Internal to storage/: opening a database file, recognising it as ours and
// creating the schema (documented in storage/README.md). Not a public header:
// it names SQLiteCpp types.
#pragma once

#include <cstdint>
#include <functional>
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
inline constexpr int kSchemaVersion = 7;
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
// A file opened `read_only` is only recognised: no pragma that writes, no
// schema created (invalid: it cannot be initialised) and no migration
// (invalid: it cannot be migrated while read-only).
Status prepare_database(SQLite::Database& db, const std::string& path, bool read_only = false);

// How a file is opened. A file this process may not write, or beside which
// it may not create the -wal and -shm files SQLite keeps (its directory is
// not writable and they are not there, writable, already), is opened
// read-only, so that the reading commands work on an auditor's copy or a
// mounted backup. When in addition the directory holds no -wal and -shm file
// and none can be created, no connection can be writing the file (WAL mode
// writes go through the -wal file), and SQLite, which cannot open a WAL file
// read-only without them, is told it is immutable.
enum class OpenMode { read_write, read_only, immutable };
OpenMode open_mode(const std::string& path);
// The name SQLite opens: `path`, or for `immutable` the URI
// file:PATH?immutable=1 (with '%', '?' and '#' escaped).
std::string open_name(const std::string& path, OpenMode mode);

// ---- Copies made with SQLite's online backup (storage/backup.cpp) ------------

// What a copy holds.
struct CopyStats {
  int64_t bytes = 0;  // size of the finished file
  int64_t pages = 0;  // database pages copied
};

// Checks a finished copy (open at `copy`, its temporary name) before it is
// moved into place; an error keeps it from ever appearing at the destination.
using CopyCheck = std::function<Status(const std::string& copy)>;

// Copies the database open on `source` to `dest` with SQLite's online backup
// API, a few hundred pages per step. The copy is written to a temporary file
// beside `dest` (created 0600), must pass PRAGMA integrity_check and then
// `check`, and only then is linked to `dest`, which is never replaced: an
// interrupted or refused copy leaves no file that looks complete.
// REQUIRES: `source` has no write transaction open (SQLite refuses to back up
// a connection in the middle of one).
// Errors: invalid (`dest` exists, or its directory does not); integrity (the
// copy fails the integrity check, or `check`'s own errors); conflict (the
// source stayed busy); internal (the file system, SQLite).
Result<CopyStats> copy_database(SQLite::Database& source, const std::string& dest, const CopyCheck& check);

// Before an existing file is migrated from schema `from_version`: copies
// `path` as it is now to `<path>.schema<N>.bak` (`<path>.schema<N>.1.bak`, .2,
// ... when that name is taken; none is ever overwritten), through a
// connection of its own. The caller holds the write lock, so the copy is
// exactly what is about to be migrated. Answers the backup's file name.
// Errors: those of copy_database; integrity when the copy is not of schema
// `from_version`.
Result<std::string> backup_before_migration(const std::string& path, int from_version);

// An SQLiteCpp exception as an Error: busy/locked become `conflict` (the
// caller may try again), everything else `internal`, naming `path`.
Error sqlite_error(const SQLite::Exception& e, const std::string& path);

// The triggers that keep the log and the seals append-only, as the schema
// creates them: name -> SQL text as sqlite_master holds it. The audit checks
// that each is present and unaltered.
std::vector<std::pair<std::string, std::string>> guard_triggers();
// Schema version 4: the refusals table (storage/refusals.cpp), and the
// triggers that keep it append-only.
extern const char* const kRefusalsSchema;
std::vector<std::pair<std::string, std::string>> refusal_guard_triggers();

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

// An instance's open tasks and jobs, as the store writes them and the audit
// compares them. Their ids are "<instance>.<n>", so they are the key range
// from "<instance>." up to "<instance>/" ('/' follows '.'), read through the
// primary key; the instance column is compared too, for an instance id that
// itself holds a dot. (Schema 5 dropped the indexes by instance for this.)
// ?1 is the instance id.
inline constexpr const char* kInstanceTaskRows =
    "SELECT task, process, version, step, title, roles_json, claimed_by, created_at, priority, due, due_epoch "
    "FROM tasks WHERE task >= ?1 || '.' AND task < ?1 || '/' AND instance = ?1";
inline constexpr const char* kInstanceJobRows =
    "SELECT job, step, handler, attempts, last_error, scheduled_at, incident, retry_at FROM jobs "
    "WHERE job >= ?1 || '.' AND job < ?1 || '/' AND instance = ?1";

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

// The text of column `i` of the statement's current row, empty for NULL,
// without a copy: valid until the statement steps, resets or is finalized.
// For rows read by the million (the event log), where a std::string per
// column would cost more than the read itself.
inline std::string_view column_text(const SQLite::Statement& q, int i) {
  const SQLite::Column c = q.getColumn(i);
  const char* p = c.getText(nullptr);  // before getBytes, as SQLite asks
  if (p == nullptr) return {};
  return {p, static_cast<size_t>(c.getBytes())};
}
const std::string& path_of(SqliteStore& store);

}  // namespace reglament::storage_internal
