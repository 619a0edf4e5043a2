// The SQLite store: the event log, deployed definitions, the org chart and the
// projections the CLI reads (instances, open tasks, service jobs, outbox).
//
// The schema is documented in storage/README.md. Every write is one
// transaction (BEGIN IMMEDIATE, WAL mode): events and the projections they
// imply are committed together or not at all. Projections are a cache of the
// log, and can be recomputed from the events alone.
//
// SQLiteCpp types stay out of this header (pimpl); every SQLite exception is
// caught here and returned as an Error.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/abc.h"
#include "engine/core.h"
#include "engine/crm.h"
#include "engine/handler.h"
#include "engine/loader.h"
#include "engine/store.h"

namespace reglament {

struct DeployedRow {
  std::string process;
  int version = 0;
  std::string hash;
  std::string title;
  int steps = 0;
  std::string deployed_at;
};

struct DeployChange {
  std::string process;
  int version = 0;
  std::string hash;
  bool changed = false;  // false: identical to the latest version, nothing written
};

struct InboxRow {
  std::string task;
  std::string instance;
  std::string process;
  int version = 0;
  std::string step;
  std::string title;  // the step's title
  std::vector<std::string> roles;
  std::string claimed_by;  // empty when unclaimed
  std::string since;       // when the task was created
  std::string client;      // the instance's `client` variable, if any
  Priority priority = Priority::normal;
  std::string due;         // empty: no deadline
  int64_t due_epoch = 0;   // when `due` is set
};

struct InstanceRow {
  std::string instance;
  std::string process;
  int version = 0;
  std::string status;
  std::string started;
  std::string updated;
  std::vector<std::string> current;
  std::string client;
};

struct StoredEvent {
  int64_t seq = 0;  // 1-based within the instance
  std::string instance;
  Event event;
};

struct OutboxRow {
  int64_t id = 0;
  std::string instance;
  std::string step;
  std::string to;
  std::string text;
  std::string at;
};

// A service job out of retries, waiting for a person (`reglament incidents`).
struct IncidentRow {
  std::string job;  // the incident's id is its job's
  std::string instance;
  std::string process;
  std::string step;
  std::string handler;
  int attempts = 0;
  std::string error;
  std::string since;  // when the job was scheduled
};

// A step that started another instance (`call:` or a handler's starts).
struct LinkRow {
  std::string parent;
  std::string job;
  int index = 0;
  std::string process;  // the child's
  std::string child;    // empty until it is started
  bool wait = false;    // the step waits for the child to end
  bool returned = false;
};

// A finished, verified backup (`reglament backup`).
struct BackupReport {
  std::string path;        // where the copy is
  int64_t bytes = 0;       // its size
  int64_t pages = 0;       // database pages copied
  int64_t instances = 0;   // instances the audit of the copy checked
  int64_t events = 0;      // events it checked
};

struct StoreAccess;

class SqliteStore : public EventStore {
 public:
  // Opens (creating if needed) the database at `path` (":memory:" for tests),
  // applies the schema, sets WAL and a busy timeout. Errors: a file that is not
  // a reglament database, or one from a newer schema version. A store is
  // for one thread at a time: its connection is opened without SQLite's
  // per-call mutex, and its caches are not synchronised.
  static Result<std::unique_ptr<SqliteStore>> open(const std::string& path);
  ~SqliteStore() override;

  // EventStore
  Result<std::vector<Event>> events(const std::string& instance) override;
  Result<Deployed> definition(const std::string& process, int version) override;
  Result<Org> org() override;
  // The deployed org.yaml as it was deployed. Errors: not_found before the
  // first deploy.
  Result<std::string> org_text();
  Result<std::string> next_instance_id() override;
  Status append(const Deployed& def, const InstanceState& after, int64_t expected_seq,
                const std::vector<Event>& events) override;
  Result<std::vector<std::string>> instances_with_pending_jobs() override;
  Result<std::vector<std::string>> instances_due(int64_t now) override;
  Result<std::optional<int64_t>> next_due() override;
  Result<std::shared_ptr<const WorkingCalendar>> calendar() override;
  Result<std::vector<Scheduled>> scheduled_processes() override;
  Result<std::vector<PendingStart>> pending_starts(const std::string& parent) override;
  Result<std::vector<PendingReturn>> pending_returns(const std::string& child) override;
  const ClientBook* client_book() override;
  // Group commit: BEGIN IMMEDIATE ... COMMIT around many appends, each append
  // then a savepoint of its own (see EventStore).
  Status begin_batch() override;
  Status commit_batch() override;
  void rollback_batch() override;

  // Handlers used to recompile stored definitions (for `do:` checks); may be
  // null. Set once after open.
  void set_handlers(const HandlerCatalog* handlers);

  // Deploys every process of the bundle and its org chart in one transaction.
  // A process whose hash equals its latest version's is left alone.
  Result<std::vector<DeployChange>> deploy(const Bundle& bundle, const std::string& at);

  // Reads for the CLI.
  Result<std::vector<DeployedRow>> definitions();
  // The stored files of one deployed version (version <= 0: the latest), as
  // deploy kept them, not compiled: for checking them against another org
  // chart before it replaces the current one. Errors: not_found; integrity
  // when the stored text is unreadable.
  struct StoredSources {
    int version = 0;
    std::string hash;
    SourceSet sources;
  };
  Result<StoredSources> definition_sources(const std::string& process, int version);
  // Open tasks any of `roles` may act on, in inbox order (oldest first).
  Result<std::vector<InboxRow>> inbox(const std::vector<std::string>& roles);
  Result<std::optional<InboxRow>> task(const std::string& task_id);
  Result<std::vector<InstanceRow>> instances(const std::optional<std::string>& process,
                                             const std::optional<std::string>& status);
  Result<std::vector<StoredEvent>> history(const std::string& instance);
  Result<std::vector<OutboxRow>> outbox();
  // Service jobs out of retries, oldest first.
  Result<std::vector<IncidentRow>> incidents();
  // The links of an instance, both ways: the children it started and the
  // parent that started it.
  Result<std::vector<LinkRow>> links(const std::string& instance);

  // Every event of every instance with from <= at < to, compared as instants
  // (offsets taken into account); an empty bound is open. Ordered by instant,
  // then instance, then seq. For `timeline`.
  Result<std::vector<StoredEvent>> events_between(const std::string& from, const std::string& to);
  // events_between, one event at a time from one statement (one read
  // transaction, one snapshot), never holding more than one: for a period
  // as long as the whole log. An error `each` returns stops the reading and
  // is returned; a bound that is not an instant is refused before reading.
  // `each` must not write through this store.
  Status each_event_between(const std::string& from, const std::string& to,
                            const std::function<Status(const StoredEvent& event)>& each);

  // The events with at < to (an instant, as events_between; empty: open),
  // one instance at a time: `each` gets an instance's events in seq order,
  // instances in key order, all read in one read transaction (one snapshot)
  // and never more than one instance's at once. An error `each` returns
  // stops the reading and is returned. `each` must not write through this
  // store. For `report`, whose memory then does not grow with the log.
  Status each_instance_log(const std::string& to,
                           const std::function<Status(std::vector<StoredEvent>& events)>& each);

  // The text of a bundle-wide document deployed beside the processes (now:
  // "indicators" — indicators.yaml), or nullopt when none was deployed.
  // deploy() stores Bundle::indicators_source under that name.
  Result<std::optional<std::string>> document(const std::string& name);

  // The first `limit` open tasks any of `roles` may act on, in inbox order:
  // one page of inbox(), read through the index that holds that order
  // (tasks_inbox_order), so a page costs the same at a thousand open tasks
  // and at a million.
  Result<std::vector<InboxRow>> inbox_page(const std::vector<std::string>& roles, int limit);

  // How durable each commit is. normal (the default: synchronous=NORMAL in
  // WAL mode) may lose the last commits on a power cut, never consistency;
  // full (synchronous=FULL) syncs the log at every commit.
  enum class Durability { normal, full };
  Status set_durability(Durability durability);

  // Copies the database to the new file `dest` with SQLite's online backup
  // (writers are held up for one step of a few hundred pages at most), then
  // proves the copy: PRAGMA integrity_check, and the copy opened as a
  // reglament database passes the whole audit (verify_log). Only then does
  // `dest` appear (0600); until then the copy has a temporary name beside it,
  // removed on failure. Defined in storage/backup.cpp.
  // Errors: invalid (`dest` exists, or its directory does not); integrity
  // (the copy does not verify — nothing is left at `dest`); conflict, internal.
  Result<BackupReport> backup(const std::string& dest);

  // ---- The client database (engine/crm.h; storage/README.md) ---------------
  // A read-only view of the committed client database, valid as long as the
  // store. Defined in storage/sqlite_store_crm.cpp.
  const ClientBook& clients();
  // Applies a person's client-database records (`clients add|edit|abc`) in one
  // transaction, each logged in client_log with `actor` and `at`. Answers the
  // id of the row each record wrote, in order. A record that fails (invalid,
  // not_found) fails the whole call and nothing is written.
  Result<std::vector<int64_t>> record_clients(const std::vector<Json>& records, const std::string& at,
                                              const std::string& actor);
  // Accepted request volume per client whose request date d has
  // from <= d < to (dates YYYY-MM-DD; an empty bound is open). Every client
  // appears, with 0 when it has no accepted request in the period.
  Result<std::vector<AbcInput>> abc_volumes(const std::string& from, const std::string& to);

 private:
  // `version`, or the latest deployed version of `process` when it is <= 0.
  // May throw SQLite::Exception (callers catch it).
  Result<int> latest_if_zero(const std::string& process, int version);
  // The audit (storage/audit.cpp) reads the tables as they are, not through
  // the caches; storage_internal::connection() gives it the connection.
  friend struct StoreAccess;
  struct Impl;
  explicit SqliteStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  std::unique_ptr<ClientBook> clients_;  // made on first use by clients()
};

}  // namespace reglament
