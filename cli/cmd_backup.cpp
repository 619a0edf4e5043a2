#include "cli/cmd_backup.h"

#include <fmt/format.h>

#include <memory>

namespace reglament {

void setup_backup(CLI::App& app, Ctx& ctx) {
  auto opt = std::make_shared<BackupOptions>();
  CLI::App* sub = app.add_subcommand("backup", "Copy the database to a new file while it is in use, and verify the copy");
  sub->add_option("file", opt->file, "The new file, e.g. reglament-2026-11-23.db")->required();
  sub->callback([&ctx, opt] { ctx.action = [&ctx, opt] { return run_backup(ctx, *opt); }; });
}

int run_backup(Ctx& ctx, const BackupOptions& opt) {
  auto store = ctx.store();
  if (!store) return fail(store.error());
  // A backup is every record of the database: for administrators only.
  if (Status st = check_admin(ctx, "back up the database"); !st.ok()) return fail(st.error());
  auto done = (*store)->backup(opt.file);
  if (!done) return fail(done.error());
  if (ctx.json) {
    Json out = Json::object();
    out["backup"] = done->path;
    out["bytes"] = done->bytes;
    out["pages"] = done->pages;
    out["verified"] = true;
    out["instances"] = done->instances;
    out["events"] = done->events;
    print_json(out);
  } else {
    print_line(fmt::format("backed up to {}: {} bytes, verified ({} instance{}, {} event{})", done->path, done->bytes,
                           done->instances, done->instances == 1 ? "" : "s", done->events,
                           done->events == 1 ? "" : "s"));
  }
  return kExitOk;
}

}  // namespace reglament
