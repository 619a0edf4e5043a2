// `reglament backup FILE` — copies the database to the new file FILE with
// SQLite's online backup (other commands keep working meanwhile), then proves
// the copy: SQLite's integrity check, and the whole audit of `verify` run on
// the copy. Prints "backed up to FILE: N bytes, verified (I instances, E
// events)". FILE must not exist (exit 2); a copy that does not verify is not
// kept and exits 6.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "cli/common.h"

namespace reglament {

struct BackupOptions {
  std::string file;  // the new file
};

void setup_backup(CLI::App& app, Ctx& ctx);
int run_backup(Ctx& ctx, const BackupOptions& opt);

}  // namespace reglament
