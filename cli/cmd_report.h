// `reglament report [CODE...] --from T --to T [--by actor|client|process]
// [--format table|csv|json] [--split]` — the regulation's indicators for a
// period, computed from the event log only, and the control checks due in it.
//
// The indicators are the deployed indicators.yaml (store.document
// "indicators"); see docs/indicators.md for the formulas and docs/cli.md for
// the output.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/common.h"
#include "engine/indicators.h"

namespace reglament {

struct ReportOptions {
  std::vector<std::string> codes;  // empty: every indicator and control
  std::string from;                // ISO-8601, or YYYY-MM-DD (midnight at --now's offset)
  std::string to;
  std::optional<std::string> by;   // actor | client | process
  std::string format = "table";    // table | csv | json (--json means json)
  bool split = false;              // also one row set per indicator period
};

void setup_report(CLI::App& app, Ctx& ctx);
int run_report(Ctx& ctx, const ReportOptions& opt);

// The CSV export (cli/csv.h: CRLF line endings, formula-like cells
// neutralised): a header record, then one record per figure.
//   code,title,unit,period,from,to,group,value,count,of,pending
std::string report_csv(const IndicatorSet& set, const std::vector<IndicatorFigures>& figures);

}  // namespace reglament
