// Copies of a database file with SQLite's online backup: `reglament backup`
// (SqliteStore::backup) and the automatic copy made before a migration
// (storage/README.md, "Backups").
//
// A copy is written under a temporary name beside its destination and only
// linked to the destination once it passed its checks, so a copy that was
// interrupted, or that does not verify, never sits under a name that looks
// complete.

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>

#include "storage/audit.h"
#include "storage/schema_internal.h"
#include "storage/sqlite_store.h"

namespace reglament {
namespace storage_internal {
namespace {

// Pages copied per step: 1 MiB at SQLite's default 4 KiB page. Each step is
// a short read transaction of its own; between steps the source is free.
constexpr int kPagesPerStep = 256;
// A commit by another connection restarts the copy from its first page. After
// this many restarts the rest is copied in one step (one read snapshot; in
// WAL mode that holds back no writer), so a busy database is still copied.
constexpr int kRestartsBeforeOneStep = 3;
// How long a step may keep finding the source busy, as the store's busy timeout.
constexpr int kBusyWaitMs = 10000;
constexpr int kBusySleepMs = 50;

// The temporary copy and the files SQLite derives from it, removed when this
// goes out of scope (after every connection to it is closed).
class TempCopy {
 public:
  explicit TempCopy(std::string path) : path_(std::move(path)) {}
  ~TempCopy() {
    for (const char* suffix : {"-wal", "-shm", "-journal", ""}) ::unlink((path_ + suffix).c_str());
  }
  TempCopy(const TempCopy&) = delete;
  TempCopy& operator=(const TempCopy&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string directory_of(const std::string& file) {
  const std::filesystem::path dir = std::filesystem::path(file).parent_path();
  return dir.empty() ? std::string(".") : dir.string();
}

// The destination must be a new file in an existing directory.
Status check_destination(const std::string& dest) {
  if (dest.empty()) return make_error(ErrorCode::invalid, "the backup needs a file name");
  if (is_memory_path(dest)) {
    return make_error(ErrorCode::invalid, fmt::format("\"{}\" is not a file name; name a file for the backup", dest));
  }
  const std::string dir = directory_of(dest);
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) {
      return make_error(ErrorCode::invalid,
                        fmt::format("cannot back up to {}: the directory {} does not exist", dest, dir));
    }
    return make_error(ErrorCode::internal,
                      fmt::format("cannot back up to {}: the directory {}: {}", dest, dir, std::strerror(errno)));
  }
  if (!S_ISDIR(st.st_mode)) {
    return make_error(ErrorCode::invalid, fmt::format("cannot back up to {}: {} is not a directory", dest, dir));
  }
  if (::lstat(dest.c_str(), &st) == 0) {
    return make_error(ErrorCode::invalid,
                      fmt::format("{} already exists; a backup never replaces a file, so name a new one", dest));
  }
  return {};
}

// Copies every page of `source` into `target` in steps. Answers the number
// of pages copied.
Result<int64_t> copy_pages(SQLite::Database& source, SQLite::Database& target, const std::string& dest) {
  sqlite3* to = target.getHandle();
  if (sqlite3_get_autocommit(source.getHandle()) == 0) {
    // SQLite would answer SQLITE_BUSY to every step: a bug in the caller.
    return make_error(ErrorCode::internal,
                      fmt::format("cannot back up to {} from inside a transaction", dest));
  }
  sqlite3_backup* backup = sqlite3_backup_init(to, "main", source.getHandle(), "main");
  if (backup == nullptr) {
    return make_error(ErrorCode::internal,
                      fmt::format("cannot start the backup to {}: {}", dest, sqlite3_errmsg(to)));
  }
  int pages = kPagesPerStep;
  int restarts = 0;
  int remaining_before = -1;
  int waited_ms = 0;
  int rc = SQLITE_OK;
  for (;;) {
    rc = sqlite3_backup_step(backup, pages);
    if (rc == SQLITE_DONE) break;
    if (rc == SQLITE_OK) {
      const int remaining = sqlite3_backup_remaining(backup);
      // Fewer than a step's pages gone since the last step: it started over.
      if (remaining_before >= 0 && remaining + kPagesPerStep > remaining_before &&
          ++restarts >= kRestartsBeforeOneStep) {
        pages = -1;
      }
      remaining_before = remaining;
      continue;
    }
    if ((rc == SQLITE_BUSY || rc == SQLITE_LOCKED) && waited_ms < kBusyWaitMs) {
      sqlite3_sleep(kBusySleepMs);
      waited_ms += kBusySleepMs;
      continue;
    }
    break;
  }
  const int64_t copied = sqlite3_backup_pagecount(backup);
  sqlite3_backup_finish(backup);
  if (rc == SQLITE_DONE) return copied;
  if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) {
    return make_error(ErrorCode::conflict, "the database is busy; try the backup again");
  }
  return make_error(ErrorCode::internal,
                    fmt::format("the backup to {} failed: {}", dest, sqlite3_errstr(rc)));
}

// PRAGMA integrity_check of the finished copy.
Status check_integrity(const std::string& copy, const std::string& dest) {
  SQLite::Database db(copy, SQLite::OPEN_READWRITE);
  SQLite::Statement q(db, "PRAGMA integrity_check");
  const std::string answer = q.executeStep() ? q.getColumn(0).getString() : std::string("no answer");
  if (answer == "ok") return {};
  return make_error(ErrorCode::integrity,
                    fmt::format("the copy for {} fails SQLite's integrity check ({}), so it was not kept", dest, answer));
}

// Gives the checked copy its final name, never replacing a file: a hard link
// fails when `dest` exists. Where the file system has no hard links, `dest`
// is checked again and the copy renamed.
Status move_into_place(const std::string& copy, const std::string& dest) {
  if (::link(copy.c_str(), dest.c_str()) != 0) {
    const int err = errno;
    if (err == EEXIST) {
      return make_error(ErrorCode::invalid,
                        fmt::format("{} appeared while the backup was being made; it was left as it was", dest));
    }
    if (err != EPERM && err != EOPNOTSUPP && err != EMLINK && err != ENOSYS) {
      return make_error(ErrorCode::internal, fmt::format("cannot create {}: {}", dest, std::strerror(err)));
    }
    struct stat st {};
    if (::lstat(dest.c_str(), &st) == 0) {
      return make_error(ErrorCode::invalid,
                        fmt::format("{} appeared while the backup was being made; it was left as it was", dest));
    }
    if (::rename(copy.c_str(), dest.c_str()) != 0) {
      return make_error(ErrorCode::internal, fmt::format("cannot create {}: {}", dest, std::strerror(errno)));
    }
  }
  // The new name survives a power cut only once its directory is synced.
  const int dir = ::open(directory_of(dest).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
  return {};
}

}  // namespace

Result<CopyStats> copy_database(SQLite::Database& source, const std::string& dest, const CopyCheck& check) {
  if (Status ok = check_destination(dest); !ok) return ok.error();
  // mkostemp creates the file with O_EXCL and mode 0600; SQLite keeps the
  // mode of an existing file and gives its -wal, -shm, -journal the same.
  std::string name = dest + ".partial-XXXXXX";
  const int fd = ::mkostemp(name.data(), O_CLOEXEC);
  if (fd < 0) {
    return make_error(ErrorCode::internal,
                      fmt::format("cannot create a file in {} for the backup: {}", directory_of(dest),
                                  std::strerror(errno)));
  }
  ::close(fd);
  TempCopy copy(name);
  CopyStats stats;
  try {
    {
      SQLite::Database target(copy.path(), SQLite::OPEN_READWRITE);
      Result<int64_t> pages = copy_pages(source, target, dest);
      if (!pages) return pages.error();
      stats.pages = *pages;
    }
    if (Status ok = check_integrity(copy.path(), dest); !ok) return ok.error();
  } catch (const SQLite::Exception& e) {
    return make_error(ErrorCode::internal, fmt::format("cannot write the backup {}: {}", dest, e.what()));
  }
  if (check) {
    if (Status ok = check(copy.path()); !ok) return ok.error();
  }
  if (Status moved = move_into_place(copy.path(), dest); !moved) return moved.error();
  struct stat st {};
  if (::stat(dest.c_str(), &st) == 0) stats.bytes = static_cast<int64_t>(st.st_size);
  return stats;  // `copy` now unlinks the temporary name; `dest` keeps the file
}

Result<std::string> backup_before_migration(const std::string& path, int from_version) {
  std::string name = fmt::format("{}.schema{}.bak", path, from_version);
  struct stat st {};
  for (int n = 1; ::lstat(name.c_str(), &st) == 0; ++n) {
    name = fmt::format("{}.schema{}.{}.bak", path, from_version, n);
  }
  auto same_schema = [&](const std::string& copy) -> Status {
    try {
      SQLite::Database db(copy, SQLite::OPEN_READWRITE);
      const std::string version =
          db.execAndGet("SELECT value FROM meta WHERE key = 'schema_version'").getString();
      if (version == std::to_string(from_version)) return {};
      return make_error(ErrorCode::integrity,
                        fmt::format("the copy holds schema {}, not {}", version, from_version));
    } catch (const SQLite::Exception& e) {
      return make_error(ErrorCode::integrity, fmt::format("the copy cannot be read: {}", e.what()));
    }
  };
  try {
    // A connection of its own: the caller's holds the write transaction, and
    // SQLite backs up no connection in the middle of one. This one reads the
    // last commit, which is what the caller is about to migrate.
    SQLite::Database source(path, SQLite::OPEN_READWRITE);
    source.setBusyTimeout(kBusyWaitMs);
    Result<CopyStats> copied = copy_database(source, name, same_schema);
    if (!copied) return copied.error();
    return name;
  } catch (const SQLite::Exception& e) {
    return sqlite_error(e, path);
  }
}

}  // namespace storage_internal

Result<BackupReport> SqliteStore::backup(const std::string& dest) {
  BackupReport out;
  out.path = dest;
  // The copy must be a reglament database that passes the same audit as
  // `reglament verify` (storage/audit.h), read from the copy itself.
  auto verified = [&](const std::string& copy) -> Status {
    Result<std::unique_ptr<SqliteStore>> opened = SqliteStore::open(copy);
    if (!opened) {
      return make_error(ErrorCode::integrity,
                        fmt::format("the copy for {} does not open as a reglament database ({}), so it was not kept",
                                    dest, opened.error().message));
    }
    Result<AuditReport> report = verify_log(**opened, VerifyOptions{});
    if (!report) return report.error();
    if (!report->ok()) {
      const size_t n = report->findings.size();
      return make_error(ErrorCode::integrity,
                        fmt::format("the copy for {} does not verify ({} problem{}, the first: {}), so it was not "
                                    "kept; see reglament verify",
                                    dest, n, n == 1 ? "" : "s", report->findings.front().message));
    }
    out.instances = report->instances;
    out.events = report->events;
    return {};
  };
  Result<storage_internal::CopyStats> copied =
      storage_internal::copy_database(storage_internal::connection(*this), dest, verified);
  if (!copied) return copied.error();
  out.bytes = copied->bytes;
  out.pages = copied->pages;
  return out;
}

}  // namespace reglament
