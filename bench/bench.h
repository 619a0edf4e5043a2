// The benchmark suite (issue 7): the workloads, the figures they produce, and
// what they share. docs/performance.md explains every figure and how to
// reproduce the table; scripts/bench.sh is the one command that prints it.
//
// A plain timed harness rather than Google Benchmark: most figures are not
// "time per iteration" but tasks/s over a whole workload, latency
// percentiles, bytes per instance or peak memory of a child process, and all
// of them go into one table next to a target and the peer's figure.
//
// Every workload drives the engine through its public API, as the CLI does:
// Runtime::start / execute (or execute_batch) over a SqliteStore on a file,
// with form values given as text, exactly as `--set name=value` passes them.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "engine/json.h"
#include "engine/loader.h"
#include "engine/runtime.h"
#include "handlers/registry.h"
#include "storage/sqlite_store.h"

namespace reglament::bench {

// ---- Figures ------------------------------------------------------------------

enum class Better { higher, lower };

// One number of the table.
struct Figure {
  std::string workload;  // "1 step throughput"
  std::string name;      // "tasks/s, WAL + NORMAL"
  double value = 0;
  std::string unit;      // "tasks/s", "ms", "events/s", "B", "MiB", "x"
  std::optional<double> target;
  Better better = Better::higher;
  std::string peer_key;  // a mode of the peer's JSON ("normal", "full"), or empty
  std::string note;      // shown under the table
};

// The median of each figure over repeated runs of the same workload (figures
// are matched by position; the notes of the first run are kept).
std::vector<Figure> medians(const std::vector<std::vector<Figure>>& runs);

// ---- Sizes --------------------------------------------------------------------

// Every size a workload takes. The defaults are the full run of
// scripts/bench.sh; smoke() is the CI run: every code path, in seconds.
struct Sizes {
  int w0_commits = 20000;           // single-row commits, NORMAL (FULL: 1/40; bulk: 10x)
  int w1_instances = 10000;         // workload 1, WAL + NORMAL
  int w1_full_instances = 500;      // workload 1, WAL + FULL
  int w1_window = 64;               // instances in flight (people working at once)
  int w2_instances = 10000;         // workload 2
  int w2_batch = 100;               // commands per batch
  int w3_tasks = 1000000;           // workload 3: open tasks
  int w3_people = 200;
  int w3_queries = 1000;            // inbox pages timed
  int w3_claims = 200;              // claims timed
  int w4_min_events = 1000000;      // workload 4 replays at least this many events
  int w5_instances = 100000;        // workload 5: instances in the database
  int w5_runs = 20;                 // `reglament complete` processes timed
  std::vector<int> w6_sizes = {1000, 10000, 100000};
  int repeat = 3;

  static Sizes smoke();
  // Applies "name=value", the name as the member above is called
  // ("w1_instances=500", "w6_sizes=1000,10000"). Errors: invalid.
  Status set(const std::string& assignment);
};

// ---- Support ------------------------------------------------------------------

// Monotonic seconds.
double now_seconds();
// User + system CPU seconds this process has used.
double cpu_seconds();

// The p-th percentile (0..100) of `samples` (sorted in place).
double percentile(std::vector<double>& samples, double p);

// A simulated clock for commands: one ISO-8601 timestamp (+03:00) per call,
// one second apart, starting 2026-01-05T09:00:00+03:00.
class Clock {
 public:
  explicit Clock(int64_t start_offset = 0) : tick_(start_offset) {}
  std::string next();
  static std::string at(int64_t seconds_after_start);

 private:
  int64_t tick_;
};

// The handlers the CLI registers (notify, set).
const Registry& handlers();

// The bundled regulation's section 3.1 (processes/incoming-request.yaml with
// the org chart, forms and scripts beside it), loaded and validated.
Result<Bundle> incoming_request_bundle(const std::string& source_dir);

// A generated bundle for the inbox at scale: `roles` roles, `people` people
// (person i holds role i mod roles; every fifth person a second one), and one
// single-step process "queue-<role>" per role.
Result<Bundle> inbox_bundle(int roles, int people);

// Opens (creating) a database file, with the handlers set as the CLI sets
// them, and deploys `bundle` into it unless it is already there.
Result<std::unique_ptr<SqliteStore>> open_deployed(const std::string& path, const Bundle& bundle);

// Removes a database file and its -wal/-shm companions.
void remove_database(const std::string& path);
// Bytes of a database file plus its -wal file.
uintmax_t database_bytes(const std::string& path);

// ---- Driving incoming-request -------------------------------------------------

// What a run of instances through 3.1 did.
struct DriveResult {
  int64_t instances = 0;  // completed
  int64_t tasks = 0;      // user tasks completed + service tasks run
  int64_t commands = 0;   // runtime calls (start + complete)
  double seconds = 0;
  double cpu_seconds = 0;  // user + system time of this process meanwhile
  std::vector<double> latencies;  // seconds per command (per batch when batched)
};

// Drives `instances` instances of incoming-request to the end, VIP and
// regular alternating, `window` of them in flight at a time. Per command
// (batch == 0): every start and complete is its own Runtime call and its own
// transaction. Batched (batch > 0): each round gives every instance in flight
// its next command, all in one execute_batch of at most `batch` commands.
// Errors: the first command that failed (none should).
Result<DriveResult> drive_incoming(Runtime& rt, Clock& clock, int instances, int window, int batch,
                                   bool keep_latencies);

// ---- Child processes ----------------------------------------------------------

struct ChildResult {
  int exit_code = -1;
  double seconds = 0;
  int64_t max_rss_kib = 0;  // wait4's peak: counts the parent's memory the child held before exec
  std::string out;          // its stdout when captured
};

// Runs `argv` (argv[0] a path), waits, and measures it. stdout is captured
// when `capture`, else sent to /dev/null; stderr is passed through.
Result<ChildResult> run_child(const std::vector<std::string>& argv, bool capture);

// ---- Workloads ------------------------------------------------------------------

// Where a workload works and what it may use.
struct Env {
  std::filesystem::path dir;   // scratch directory for databases
  std::string source_dir;      // the repository (processes/)
  std::string reglament;       // path of the built `reglament` CLI
  std::string self;            // path of this program (for child processes)
  Sizes sizes;
  bool smoke = false;
  bool keep = false;           // --keep: leave each workload's database behind
};

// After a workload: removes its database (remove_database), unless --keep
// asked to leave it for a look with sqlite3.
void done_with_database(const Env& env, const std::string& path);

using Workload = std::function<Result<std::vector<Figure>>(const Env&)>;

Result<std::vector<Figure>> sqlite_ceilings(const Env& env);     // 0
Result<std::vector<Figure>> step_throughput(const Env& env);     // 1
Result<std::vector<Figure>> group_commit(const Env& env);        // 2
Result<std::vector<Figure>> inbox_at_scale(const Env& env);      // 3
Result<std::vector<Figure>> replay_and_verify(const Env& env);   // 4 (needs 6's largest database)
Result<std::vector<Figure>> cli_round_trip(const Env& env);      // 5 (needs 6's largest database)
Result<std::vector<Figure>> footprint(const Env& env);           // 6

// The child side of workload 6: drives `instances` instances into `db`
// (batched) and prints {"instances","tasks","db_bytes","seconds","peak_kib"}
// as JSON, peak_kib being its own VmHWM.
int footprint_child(const Env& env, const std::string& db, int instances);

// The path of the database workload 6 leaves at size n, for 4 and 5.
std::string footprint_database(const Env& env, int n);

}  // namespace reglament::bench
