// Describing what a command did, for the commands that change an instance
// (start, claim, unclaim, complete, tick, demo): the steps it reached, the
// service steps it ran, and the tasks now open.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "cli/common.h"
#include "engine/core.h"
#include "engine/json.h"
#include "engine/model.h"
#include "engine/runtime.h"

namespace reglament {

// One run of a service step's handler, as recorded in an outcome's events.
struct ServiceRun {
  std::string instance;
  std::string job;
  std::string step;
  std::string handler;
  bool ok = true;
  std::string error;  // when !ok
  int attempt = 0;    // when !ok
};

// The service runs in `out.events`, in order.
std::vector<ServiceRun> service_runs(const Outcome& out);

// "ran 3.1.4 Уведомить Центр продаж о VIP-заявке (notify)" or
// "3.1.4 … (notify) failed: <error> (attempt 2)".
std::string describe_run(const ServiceRun& run, const Process* process);
Json run_json(const ServiceRun& run);

// "next: 3.1.5 Обеспечить обслуживание…" while the instance is active,
// "instance #12 completed" once it is not.
std::string next_text(const InstanceState& state, const Process* process);

// [{"task","step","title","roles","claimed_by"}] for the open tasks.
Json open_tasks_json(const InstanceState& state, const Process* process);

// The instances a command moved besides its own (children started through
// `call:` or a handler, parents returned to), depth first: as JSON
// [{"instance","process","status","started","current"}] and as lines.
Json linked_json(const Outcome& out);
std::vector<std::string> linked_lines(const Outcome& out);
// Each child that could not be started yet, as a warning on stderr (the
// command itself succeeded; the exit code stays 0).
void warn_link_problems(const Outcome& out);

// Runs a claim, unclaim or complete of `task` as ctx.user at ctx.now and
// prints the result: "completed 12.3 (3.1.3 Принять заявку клиента); next: …"
// or, with --json, {"task","instance","step","status","current","tasks",
// "services"}. Returns the exit code.
int run_task_command(Ctx& ctx, const std::string& task, CommandBody body, std::string_view verb);

}  // namespace reglament
