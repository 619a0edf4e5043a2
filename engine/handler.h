// The interface service steps run through. Implementations live in handlers/;
// the engine only calls them. A handler never touches state: it gets the
// step's parameters and the instance's variables and returns output variables
// and outbox messages, or a failure. The runtime records what it returned as
// a command, so the result is an event like everything else.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "engine/calendar.h"
#include "engine/crm.h"
#include "engine/json.h"
#include "engine/loader.h"

namespace reglament {

struct HandlerCall {
  std::string instance;
  std::string process;
  std::string step;
  std::string job;              // stable across retries: use as idempotency key
  const Json* with = nullptr;   // the step's `with:` parameters as written
  const Json* pinned = nullptr; // what pin() recorded when the process was deployed; null or
                                // pointing to null when nothing was
  const JsonObject* variables = nullptr;
  std::string at;               // the moment of the run, ISO-8601
  int attempt = 1;              // 1 for the first run, 2 for the first retry, ...
  const ClientBook* clients = nullptr;          // read-only; null when there is none
  const WorkingCalendar* calendar = nullptr;    // the deployed calendar; never null in the runtime
};

struct HandlerResult {
  bool ok = true;
  JsonObject outputs;  // variables to set on the instance
  JsonArray messages;  // [{"to": ROLE|LOGIN, "text": ...}] written to the outbox
  JsonArray records;   // client database changes (engine/crm.h), applied with the step's event
  JsonArray starts;    // [{"process": KEY, "variables": {...}}]: instances to start as
                       // children of this step, after the step's event is committed
  std::string error;   // one sentence, when !ok

  static HandlerResult failure(std::string message) {
    HandlerResult r;
    r.ok = false;
    r.error = std::move(message);
    return r;
  }
};

class TaskHandler {
 public:
  virtual ~TaskHandler() = default;
  virtual HandlerResult run(const HandlerCall& call) const = 0;
  // Problems with `with:` found at load time, one sentence each.
  virtual std::vector<std::string> check(const Json& /*with*/) const { return {}; }
  // Variables a step with these parameters sets.
  virtual std::vector<std::string> outputs(const Json& /*with*/) const { return {}; }
  // What to record with the deployed definition (HandlerCatalog::pin in
  // engine/loader.h); it comes back as HandlerCall::pinned on every run.
  virtual Json pin(const Json& /*with*/, const std::string& /*bundle_dir*/,
                   std::vector<std::string>& /*problems*/) const {
    return Json();
  }
};

// The set of handlers the runtime may call, by the name used in `do:`.
class Handlers : public HandlerCatalog {
 public:
  // nullptr when no handler has that name.
  virtual const TaskHandler* find(std::string_view name) const = 0;
};

}  // namespace reglament
