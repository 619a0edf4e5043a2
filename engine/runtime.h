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
#include <vector>

#include "engine/core.h"
#include "engine/handler.h"
#include "engine/store.h"

namespace reglament {

struct Outcome {
  InstanceState state;        // after the command and the service steps it ran
  std::vector<Event> events;  // everything appended, in order
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

  // Runs every pending service job of every instance once (the CLI's `tick`).
  Result<std::vector<Outcome>> run_pending(const std::string& at);

  // The current state of an instance, rebuilt from its events.
  Result<InstanceState> load(const std::string& instance);

 private:
  // Decides and appends one command, deciding again on a concurrent change.
  // `process` names the definition for StartInstance and is ignored otherwise.
  Result<Outcome> commit(Command cmd, const std::string& process);
  // commit, then run the service steps it reached.
  Result<Outcome> submit(Command cmd, const std::string& process);
  Status run_jobs(Outcome& out, const std::string& at);
  static std::string task_of(const Command& cmd);

  EventStore& store_;
  const Handlers& handlers_;
};

}  // namespace reglament
