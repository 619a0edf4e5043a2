// reglament — run a regulation written as YAML and work its tasks.
//
// main() only wires the subcommands (cli/cmd_*.h) to the global options and
// turns parse errors into exit code 2; every command lives in its own pair
// of files.
#include <exception>
#include <iostream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/cmd_backup.h"
#include "cli/cmd_claim.h"
#include "cli/cmd_clients.h"
#include "cli/cmd_complete.h"
#include "cli/cmd_definitions.h"
#include "cli/cmd_demo.h"
#include "cli/cmd_deploy.h"
#include "cli/cmd_graph.h"
#include "cli/cmd_history.h"
#include "cli/cmd_incidents.h"
#include "cli/cmd_inbox.h"
#include "cli/cmd_instances.h"
#include "cli/cmd_outbox.h"
#include "cli/cmd_refusals.h"
#include "cli/cmd_replay.h"
#include "cli/cmd_report.h"
#include "cli/cmd_seal.h"
#include "cli/cmd_show.h"
#include "cli/cmd_start.h"
#include "cli/cmd_tick.h"
#include "cli/cmd_worker.h"
#include "cli/cmd_timeline.h"
#include "cli/cmd_unclaim.h"
#include "cli/cmd_users.h"
#include "cli/cmd_validate.h"
#include "cli/cmd_verify.h"
#include "cli/common.h"
#include "engine/utf8.h"

namespace {

// Every argument is text that may end up stored and shown to someone else:
// valid UTF-8, no control characters but tab and newline (no terminal
// escapes). Errors: invalid, naming the argument.
reglament::Status check_argument(int index, std::string_view arg) {
  using namespace reglament;
  for (size_t i = 0; i < arg.size();) {
    const size_t at = i;
    const int32_t cp = next_code_point(arg, i);
    if (cp < 0)
      return make_error(ErrorCode::invalid, fmt::format("argument {} is not valid UTF-8 (byte 0x{:02X} at position {})",
                                                        index, static_cast<unsigned char>(arg[at]), at + 1));
    if ((cp < 0x20 && cp != '\t' && cp != '\n' && cp != '\r') || (cp >= 0x7F && cp < 0xA0))
      return make_error(ErrorCode::invalid,
                        fmt::format("argument {} holds the control character U+{:04X} at position {}; only tab and "
                                    "newline are allowed",
                                    index, static_cast<uint32_t>(cp), at + 1));
  }
  return {};
}

}  // namespace

int main(int argc, char** argv) {
  using namespace reglament;
  for (int i = 1; i < argc; ++i)
    if (Status st = check_argument(i, argv[i]); !st.ok()) return fail(st.error());
  Ctx ctx;
  CLI::App app{"reglament — run a regulation written as YAML and work its tasks", "reglament"};
  app.require_subcommand(1);
  // Global options may follow the subcommand: `reglament inbox --as ivanova`.
  app.fallthrough();
  // A repeated global option takes its last value, so scripts can override a
  // base command line (`$R --as ivanova ... --as petrov`).
  app.add_option("--db", ctx.db, "Database file (default reglament.db)")
      ->envname("REGLAMENT_DB")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.add_option("--as", ctx.user, "Act as this user (default: the OS login)")
      ->check(not_empty("to act as the person of your OS login"))
      ->envname("REGLAMENT_USER")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.add_flag("--json", ctx.json, "Print JSON for scripts instead of tables");
  app.add_option("--now", ctx.now,
                 "The current time, ISO-8601 with offset (default: the clock)")
      ->check(not_empty("to use the clock"))
      ->envname("REGLAMENT_NOW")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.footer("Exit codes: 0 ok, 2 invalid input, 3 not found, 4 conflict, 5 not permitted, "
             "6 integrity failure, 1 other.\nSee docs/cli.md.");

  setup_validate(app, ctx);
  setup_deploy(app, ctx);
  setup_definitions(app, ctx);
  setup_graph(app, ctx);
  setup_users(app, ctx);
  setup_start(app, ctx);
  setup_instances(app, ctx);
  setup_inbox(app, ctx);
  setup_show(app, ctx);
  setup_claim(app, ctx);
  setup_unclaim(app, ctx);
  setup_complete(app, ctx);
  setup_history(app, ctx);
  setup_replay(app, ctx);
  setup_timeline(app, ctx);
  setup_verify(app, ctx);
  setup_seal(app, ctx);
  setup_backup(app, ctx);
  setup_outbox(app, ctx);
  setup_report(app, ctx);
  setup_clients(app, ctx);
  setup_incidents(app, ctx);
  setup_refusals(app, ctx);
  setup_tick(app, ctx);
  setup_worker(app, ctx);
  setup_demo(app, ctx);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // CLI11 reports a mistyped command as "a subcommand is required"; name it.
    for (int i = 1; i < argc; ++i) {
      std::string arg = argv[i];
      if (arg == "--db" || arg == "--as" || arg == "--now") {
        ++i;
        continue;
      }
      if (arg.rfind("-", 0) == 0) continue;
      bool known = false;
      for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; }))
        if (sub->check_name(arg)) known = true;
      if (!known) {
        std::cerr << shorten_quoted("reglament: unknown command \"" + arg + "\"; see reglament --help") << '\n';
        return kExitInvalid;
      }
      break;
    }
    std::cerr << shorten_quoted(std::string("reglament: ") + e.what() + "; see reglament --help") << '\n';
    return kExitInvalid;
  }

  if (Status st = finish_globals(ctx); !st.ok()) return fail(st.error());
  if (!ctx.action) return fail(ErrorCode::invalid, "no command given; see reglament --help");
  try {
    const int code = ctx.action();
    // A refused command is recorded: who tried what (docs/reliability.md).
    // So is whatever someone outside the org chart tried (an OS account the
    // org does not know, or an unknown --as).
    if (code == static_cast<int>(ErrorCode::forbidden) ||
        (code == static_cast<int>(ErrorCode::not_found) && ctx.acting_outsider()))
      record_refusal(ctx, argc, argv);
    return code;
  } catch (const std::exception& e) {
    return fail(ErrorCode::internal, std::string("unexpected failure: ") + e.what());
  }
}
