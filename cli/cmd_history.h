// `reglament history INSTANCE` — every event of an instance, in order, or
// (--variables) every value each variable took; filters by actor, step and
// time; as a table, JSON or CSV.
//
// Also the output helpers the audit commands share (timeline, replay,
// verify): --format, RFC 4180 CSV, and time bounds typed by people.
#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cli/common.h"
#include "engine/core.h"
#include "storage/sqlite_store.h"

namespace reglament {

struct HistoryOptions {
  std::string instance;
  std::string format;      // table (default), json, csv; --json means json
  std::string actor;       // only events by this login
  std::string step;        // only events about this step id
  std::string since;       // only events at or after this time
  std::string until;       // only events before this time
  bool variables = false;  // the values of the variables instead of the events
};

void setup_history(CLI::App& app, Ctx& ctx);
int run_history(Ctx& ctx, const HistoryOptions& opt);

// A one-line summary of an event's data for people ("task 12.3 for manager").
std::string event_summary(const Event& e);

// ---- Shared by the audit commands -------------------------------------------

enum class OutputFormat { table, json, csv };

// --format (table, json, csv; empty: table) combined with the global --json,
// which means json. Errors: invalid for another name, or for --json with
// --format table|csv.
Result<OutputFormat> output_format(const Ctx& ctx, const std::string& format);
// Registers --format on a subcommand.
void add_format_option(CLI::App* sub, std::string& format);

// A time typed for --since/--until/--from/--to/--at as an ISO-8601
// timestamp ready to compare as an instant: a timestamp with an offset as
// given; a date (2026-11-23, its midnight) or a date and time without an
// offset, read in the UTC offset of --now. Empty stays empty.
// Errors: invalid, naming `option`.
Result<std::string> time_bound(const Ctx& ctx, std::string_view option, const std::string& text);

// True when `at` lies in [from, to) as instants; an empty bound is open.
// REQUIRES: from and to came from time_bound.
bool in_period(const std::string& at, const std::string& from, const std::string& to);

// The JSON of one stored event: {"seq","at","actor","type","step","data","format"}
// (`history --json`; scripts rely on these names).
Json event_json(const StoredEvent& e);

}  // namespace reglament
