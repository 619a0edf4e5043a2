// What the runtime needs from storage. storage/ implements it on SQLite; tests
// may implement it in memory. The engine declares it so that it depends on
// nothing outside itself.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engine/core.h"
#include "engine/crm.h"
#include "engine/model.h"
#include "engine/result.h"

namespace reglament {

// A deployed version of a process.
struct Deployed {
  std::shared_ptr<const Process> process;
  int version = 0;
  std::string hash;
};

class EventStore {
 public:
  virtual ~EventStore() = default;

  // The events of one instance, in order; empty when there is no such instance.
  virtual Result<std::vector<Event>> events(const std::string& instance) = 0;

  // A deployed version; version 0 means the latest. not_found when absent.
  virtual Result<Deployed> definition(const std::string& process, int version) = 0;

  // The current org chart.
  virtual Result<Org> org() = 0;

  // An id no instance has yet. Two callers may race for the same id; append
  // then fails with `conflict` for the loser, who asks again.
  virtual Result<std::string> next_instance_id() = 0;

  // Appends `events` to the instance whose stored log holds `expected_seq`
  // events, and updates every projection from `after`, in one transaction:
  // all of it or none. conflict when the log has moved on meanwhile.
  virtual Status append(const Deployed& def, const InstanceState& after, int64_t expected_seq,
                        const std::vector<Event>& events) = 0;

  // Instances with service jobs still to run (scheduled, or failed and due for
  // another attempt), oldest first.
  virtual Result<std::vector<std::string>> instances_with_pending_jobs() = 0;

  // ---- Time (engine/README.md, "Time") -----------------------------------------
  // The defaults suit a store without timers: nothing is ever due.

  // Active instances with a wait or a deadline due at or before `now`
  // (seconds since the epoch), the earliest due first.
  virtual Result<std::vector<std::string>> instances_due(int64_t now) {
    return std::vector<std::string>{};
  }
  // The earliest moment a wait or deadline of any active instance falls due.
  virtual Result<std::optional<int64_t>> next_due() { return std::optional<int64_t>{}; }

  // The deployed working calendar; default_calendar() when none is deployed.
  // Shared, not copied: it is asked for on every command.
  virtual Result<std::shared_ptr<const WorkingCalendar>> calendar() {
    static const auto kDefault = std::make_shared<const WorkingCalendar>(default_calendar());
    return kDefault;
  }

  // The latest version of every process that has a scheduled start, and the
  // moment its occurrences are counted from: the last occurrence started, or,
  // before the first, when that version was deployed.
  struct Scheduled {
    Deployed def;
    int64_t since = 0;
  };
  virtual Result<std::vector<Scheduled>> scheduled_processes() { return std::vector<Scheduled>{}; }

  // ---- Calls and the client database (engine/README.md, "Calls") --------------
  // The defaults suit a store without either.

  // A child a step asked for (ServiceCompleted's `starts`) that has not been
  // started yet: a crash between the parent's commit and the child's leaves
  // one. Storage refuses a second child for the same (parent, job, index).
  struct PendingStart {
    std::string parent, job;
    int index = 0;
    std::string process;
    JsonObject variables;
  };
  // `parent` empty: of every instance.
  virtual Result<std::vector<PendingStart>> pending_starts(const std::string& parent) {
    return std::vector<PendingStart>{};
  }
  // A child that has ended while its parent's step waits for it, not yet
  // returned to the parent (ChildReturned).
  struct PendingReturn {
    std::string parent, job, child;
  };
  // `child` empty: of every instance.
  virtual Result<std::vector<PendingReturn>> pending_returns(const std::string& child) {
    return std::vector<PendingReturn>{};
  }
  // The client database handlers read; null when the store has none.
  virtual const ClientBook* client_book() { return nullptr; }

  // ---- Group commit (Runtime::execute_batch) ----------------------------------
  // Between begin_batch() and commit_batch() every append joins one
  // transaction, so many commands cost one durable commit. Each append still
  // succeeds or fails whole: a failed append leaves nothing behind and does
  // not undo the appends before it. Reads in between see the batch's own
  // appends. commit_batch() makes all of them durable at once, or none (on
  // error the batch is rolled back); rollback_batch() discards them.
  // REQUIRES: batches do not nest; every begin_batch() that succeeded is
  // followed by exactly one commit_batch() or rollback_batch().
  // The defaults suit a store whose appends are durable one by one: each
  // append stays its own transaction.
  virtual Status begin_batch() { return {}; }
  virtual Status commit_batch() { return {}; }
  virtual void rollback_batch() {}
};

}  // namespace reglament
