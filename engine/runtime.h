// The runtime: load state, decide, append, then run the service steps the
// command reached. It is the only place where commands meet the store and
// the handlers, and it knows nothing of SQLite or the command line.
//
// Each command is one transaction (EventStore::append). A service step that a
// command reaches runs after that transaction commits, and its result is
// recorded as a command of its own (RecordServiceResult) in a transaction of
// its own, so a crash between the two leaves a scheduled job that
// `run_pending` (the CLI's `tick`) picks up later: never lost, never doubled.
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "engine/core.h"
#include "engine/handler.h"
#include "engine/store.h"

namespace reglament {

struct Outcome {
  InstanceState state;        // after the command and the service steps it ran
  std::vector<Event> events;  // everything appended, in order
  // Other instances the command moved through `call:` and handler starts:
  // children it started, parents it returned to (each with its own service
  // steps run).
  std::vector<Outcome> linked;
  // Children this command's steps asked for that could not be started now
  // (their process is not deployed, their variables are refused): the
  // command itself stands, the start stays pending and `tick` tries again.
  std::vector<Error> link_problems;
};

// A command for Runtime::execute_batch. `process` names the process to start
// (its latest version) when the body is StartInstance; it is ignored otherwise.
struct BatchCommand {
  Command command;
  std::string process;
};

class Runtime {
 public:
  Runtime(EventStore& store, const Handlers& handlers) : store_(store), handlers_(handlers) {}

  // Starts the latest version of `process`.
  Result<Outcome> start(const std::string& process, JsonObject variables, const std::string& actor,
                        const std::string& at);

  // Claim, unclaim or complete: `cmd.instance` may be empty, it is taken from
  // the task id. Runs the service steps the command reached.
  Result<Outcome> execute(Command cmd);

  // Group commit, for a worker or a bulk import: runs `commands` in order and
  // commits the events of all of them in one transaction
  // (EventStore::begin_batch / commit_batch), then runs the service steps they
  // reached and records those results in one more transaction per round.
  // Each command keeps its own guarantees: a rejected one (invalid, forbidden,
  // not found, conflict) appends nothing and leaves the others alone, and a
  // later command sees what an earlier one of the same batch did. The answer
  // holds one result per command, in order. An error for the whole batch means
  // that its transaction did not commit: nothing of it was written. A store
  // error while recording service results leaves those jobs scheduled, as a
  // crash would, for run_pending.
  Result<std::vector<Result<Outcome>>> execute_batch(std::vector<BatchCommand> commands);

  // Runs every pending service job of every instance once (the CLI's `tick`).
  // With `problems`, a command rejected for one instance (its last event is
  // later than `at`, say) is collected there and the others go on; without,
  // it is the answer.
  Result<std::vector<Outcome>> run_pending(const std::string& at, std::vector<Error>* problems = nullptr);

  // Ends the waits and passes the deadlines due at `at`, instance by
  // instance (FireTimers), then runs the service steps that reached.
  // Another worker firing the same timer meanwhile is not an error: the
  // timer fires once, in whichever transaction commits first.
  // `problems` as for run_pending.
  Result<std::vector<Outcome>> fire_due(const std::string& at, std::vector<Error>* problems = nullptr);

  // Starts the scheduled processes whose occurrence is due at `at`: at most
  // one start per process per call (a worker that was down catches up with
  // one start for the latest occurrence missed), never twice for one
  // occurrence (EventStore::append refuses a second start of it).
  Result<std::vector<Outcome>> start_scheduled(const std::string& at);

  // Starts the children steps asked for and returns ended children to the
  // parents that wait for them, where a crash (or a refusal) left that
  // undone. `instance` empty: every instance (the CLI's `tick`).
  Result<std::vector<Outcome>> run_links(const std::string& at, std::vector<Error>* problems = nullptr);

  // Everything due at `at`, in this order: scheduled starts, waits and
  // deadlines, service jobs left pending or due for a retry, links left
  // pending (the CLI's `tick`).
  struct TickReport {
    std::vector<Outcome> started;
    std::vector<Outcome> fired;
    std::vector<Outcome> jobs;
    std::vector<Outcome> links;
    // Instances whose due work was refused (each message names the
    // instance); the rest was done. Store errors fail the whole tick instead.
    std::vector<Error> problems;
  };
  Result<TickReport> tick(const std::string& at);

  // The current state of an instance, rebuilt from its events.
  Result<InstanceState> load(const std::string& instance);

 private:
  // Decides and appends one command, deciding again on a concurrent change.
  // `process` names the definition for StartInstance and is ignored otherwise.
  // `org` and `calendar`, when given, are used instead of asking the store
  // (a batch reads them once: nothing can deploy while the batch holds the
  // write lock).
  Result<Outcome> commit(Command cmd, const std::string& process, const Org* org = nullptr,
                         const WorkingCalendar* calendar = nullptr);
  // commit, then run the service steps it reached, then its links.
  Result<Outcome> submit(Command cmd, const std::string& process);
  Status run_jobs(Outcome& out, const std::string& at);
  // Starts the children out's events asked for and returns out's instance to
  // its parent when it ended; their outcomes go to out.linked.
  Status follow_links(Outcome& out, const std::string& at, int depth);
  Status start_child(const EventStore::PendingStart& p, const std::string& at, Outcome& out, int depth);
  Status return_child(const EventStore::PendingReturn& p, const std::string& at, Outcome& out, int depth);
  // The command that records `job` as an incident, not run, because the
  // instance ran too many service steps in one go (kMaxServiceRunsPerCommand).
  static Command runaway_incident(const InstanceState& state, const Job& job, const std::string& at);
  // Whether `process` may be started: invalid when it runs into a call at once
  // and its calls, over the latest deployed versions, form a cycle or nest
  // deeper than kMaxCallDepth.
  Status check_call_nesting(const Process& process);
  // Runs the handler of `job` and returns its result as the command to record.
  Result<Command> service_command(const InstanceState& state, const Job& job, const std::string& at);
  // run_jobs for the outcomes of a batch, one transaction per round of jobs.
  void run_jobs_batched(std::vector<Result<Outcome>>& results, const std::vector<std::string>& ats);
  // Fills in cmd.instance from the task or job id when it is empty.
  static Status resolve_instance(Command& cmd);
  static std::string task_of(const Command& cmd);
  // Keeps `state` as the latest known state of its instance (drops it once
  // the instance is no longer active).
  void remember(const InstanceState& state);

  EventStore& store_;
  const Handlers& handlers_;

  // The state after this runtime's last append or read, per active instance:
  // a cache, so a command does not read and replay the whole log. It is never
  // trusted blindly: append() checks that the stored log still holds exactly
  // state.seq events, so an entry that another writer made stale costs one
  // conflict and a fresh read. A batch whose commit fails clears it. (A batch
  // opened on the store by someone else and rolled back after this runtime
  // appended inside it would leave entries ahead of the log: do not reuse the
  // runtime after that.)
  static constexpr size_t kMaxCachedStates = 4096;
  std::unordered_map<std::string, InstanceState> states_;
};

}  // namespace reglament
