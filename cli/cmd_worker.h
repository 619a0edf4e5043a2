// `reglament worker` — `tick` continuously, on the system clock: does what is
// due, then sleeps until the next wait, deadline or scheduled start falls
// due, waking early when another process writes to the database (inotify on
// its directory) and stopping cleanly on SIGINT or SIGTERM. Several workers
// may serve one database: each timer fires once (the core's optimistic
// append) and each scheduled occurrence starts once (schedule_runs).
#pragma once

#include <CLI/CLI.hpp>

#include "cli/common.h"

namespace reglament {

struct WorkerOptions {
  std::string max_sleep = "60s";  // the longest sleep without a wake-up
  std::string run_for;            // stop after this long (for tests and cron); empty: until a signal
};

void setup_worker(CLI::App& app, Ctx& ctx);
int run_worker(Ctx& ctx, const WorkerOptions& opt);

}  // namespace reglament
