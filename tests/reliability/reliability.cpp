// Reliability harness: drives the built `reglament` binary against a
// database and checks the promises of the design under two kinds of stress.
//
//   reglament_reliability crash --bin PATH --source-dir DIR [--kills 200] [--kills-per-db 250]
//                               [--seed S] [--dir D]
//   reglament_reliability concurrency --bin PATH --source-dir DIR [--seconds 20] [--users 4]
//                                     [--workers 2] [--seed S] [--dir D]
//
// crash: a single driver runs a mixed workload (starts of every process, both
// branches of 3.1, claims, completions with form values from `inbox --json`,
// service steps, waits and deadlines moved by `--now` and `tick`) and SIGKILLs
// commands while they run. After each kill: `PRAGMA integrity_check`,
// `reglament verify`, and the killed instance's history (every completion the
// driver saw acknowledged is there exactly once, no task completed twice, a
// killed completion is there at most once and, when absent, a retry succeeds).
// At the end it ticks and completes until every instance is completed, and
// checks every history. Every --kills-per-db kills it starts a new database,
// so that the long form's checks stay as cheap as the short form's.
//
// concurrency: users (separate processes per command, managers ivanova and
// petrov) race to claim and complete the same tasks while `reglament worker`
// processes fire waits, deadlines and a scheduled start on the system clock.
// A loser must get exit 4 and one clear sentence, never "busy"/"locked".
//
// Exit 0 when every invariant held; 1 with "reliability: VIOLATION: ..." when
// one did not (the database is kept and its path printed); 2 for bad arguments.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <fmt/format.h>

#include "engine/json.h"

extern char** environ;

namespace reglament::reliability {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

bool contains(const std::string& hay, const std::string& needle) { return hay.find(needle) != std::string::npos; }

std::string lower_ascii(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

std::string first_line(const std::string& s) {
  auto nl = s.find('\n');
  return nl == std::string::npos ? s : s.substr(0, nl);
}

// A message with its numbers (ids, times) and the users' logins taken out,
// so that messages of one kind count together.
std::string shape_of(const std::string& message) {
  std::string shape;
  for (char ch : message) {
    if (std::isdigit(static_cast<unsigned char>(ch))) {
      if (shape.empty() || shape.back() != '#') shape += '#';
    } else {
      shape += ch;
    }
  }
  for (const char* login : {"ivanova", "petrov"})
    for (size_t at; (at = shape.find(login)) != std::string::npos;) shape.replace(at, std::strlen(login), "USER");
  return shape;
}

// ---------------------------------------------------------------------------
// Time: the driver's clock is seconds since the epoch, printed in Moscow time
// (the calendar's zone) like a user would type it.

constexpr int64_t kMoscow = 3 * 3600;

std::string iso(int64_t epoch) {
  time_t t = static_cast<time_t>(epoch + kMoscow);
  struct tm tm {};
  gmtime_r(&t, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}+03:00", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min, tm.tm_sec);
}

std::string iso_date(int64_t epoch) { return iso(epoch).substr(0, 10); }

// "2026-11-24T09:00:00+03:00", "…Z", "…+0300", optional fraction; nullopt otherwise.
std::optional<int64_t> parse_iso(const std::string& s) {
  int y, mo, d, h, mi, sec = 0;
  if (s.size() < 16 || std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d", &y, &mo, &d, &h, &mi) != 5) return std::nullopt;
  size_t at = 16;
  if (at < s.size() && s[at] == ':') {
    sec = std::atoi(s.substr(at + 1, 2).c_str());
    at += 3;
  }
  if (at < s.size() && s[at] == '.')
    while (++at < s.size() && std::isdigit(static_cast<unsigned char>(s[at]))) {
    }
  int64_t offset = 0;
  if (at < s.size() && (s[at] == '+' || s[at] == '-')) {
    int oh = std::atoi(s.substr(at + 1, 2).c_str());
    size_t m = s[at + 3] == ':' ? at + 4 : at + 3;
    int om = std::atoi(s.substr(m, 2).c_str());
    offset = (oh * 3600 + om * 60) * (s[at] == '-' ? -1 : 1);
  } else if (at >= s.size() || s[at] != 'Z') {
    return std::nullopt;
  }
  struct tm tm {};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  return static_cast<int64_t>(timegm(&tm)) - offset;
}

int64_t wall_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// ---------------------------------------------------------------------------
// Processes: spawn without waiting, wait, or kill after a delay.

struct Output {
  int code = -1;        // the exit code, or 128 + signal
  bool killed = false;  // ended by our SIGKILL
  std::string out;
  std::string err;
  double ms = 0;
};

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class Spawner {
 public:
  struct Child {
    pid_t pid = -1;
    std::string out_path;
    std::string err_path;
    Clock::time_point t0;
    std::string spawn_error;
  };

  Spawner(std::string program, fs::path io_dir) : program_(std::move(program)), io_dir_(std::move(io_dir)) {
    fs::create_directories(io_dir_);
    // Our environment minus REGLAMENT_*: every command says what it means.
    for (char** e = environ; *e; ++e)
      if (std::string(*e).rfind("REGLAMENT_", 0) != 0) env_.emplace_back(*e);
    for (auto& e : env_) envp_.push_back(e.data());
    envp_.push_back(nullptr);
  }

  // Starts `program args...` with stdout and stderr going to files; returns at once.
  Child spawn(const std::vector<std::string>& args) const {
    Child c;
    uint64_t n = counter_.fetch_add(1);
    c.out_path = (io_dir_ / fmt::format("{}.out", n)).string();
    c.err_path = (io_dir_ / fmt::format("{}.err", n)).string();
    std::vector<std::string> argv_s{program_};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, c.out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&fa, 2, c.err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    c.t0 = Clock::now();
    int rc = posix_spawn(&c.pid, program_.c_str(), &fa, nullptr, argv.data(), envp_.data());
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
      c.pid = -1;
      c.spawn_error = fmt::format("cannot run {}: {}", program_, std::strerror(rc));
    }
    return c;
  }

  Output wait(Child& c) const {
    Output o;
    if (c.pid < 0) {
      o.code = 127;
      o.err = c.spawn_error;
      return o;
    }
    int status = 0;
    while (waitpid(c.pid, &status, 0) < 0 && errno == EINTR) {
    }
    o.ms = seconds_since(c.t0) * 1000.0;
    if (WIFEXITED(status)) {
      o.code = WEXITSTATUS(status);
    } else {
      o.code = 128 + WTERMSIG(status);
      o.killed = WTERMSIG(status) == SIGKILL;
    }
    o.out = slurp(c.out_path);
    o.err = slurp(c.err_path);
    std::error_code ec;
    fs::remove(c.out_path, ec);
    fs::remove(c.err_path, ec);
    return o;
  }

  Output run(const std::vector<std::string>& args) const {
    Child c = spawn(args);
    Output o = wait(c);
    account(args, o);
    return o;
  }

  // Starts the command, sleeps `delay`, SIGKILLs it. `killed` tells whether
  // the signal ended it (false: it had exited by itself before).
  Output run_and_kill(const std::vector<std::string>& args, std::chrono::microseconds delay) const {
    Child c = spawn(args);
    if (c.pid > 0) {
      if (delay.count() > 0) std::this_thread::sleep_for(delay);
      kill(c.pid, SIGKILL);  // a zombie ignores it; wait() then sees its own exit
    }
    Output o = wait(c);
    account({args.empty() ? "" : args[0] + (o.killed ? " (killed)" : "")}, o);
    return o;
  }

  // Commands run so far: subcommand -> (count, total milliseconds), for the summary.
  std::string profile() const {
    std::lock_guard lock(mu_);
    std::string s;
    for (const auto& [name, v] : profile_)
      s += fmt::format("{}{} {} ({:.0f} ms)", s.empty() ? "" : ", ", name, v.first, v.second / v.first);
    return s;
  }

 private:
  void account(const std::vector<std::string>& args, const Output& o) const {
    std::lock_guard lock(mu_);
    auto& v = profile_[args.empty() ? "" : args[0]];
    ++v.first;
    v.second += o.ms;
  }

  std::string program_;
  fs::path io_dir_;
  mutable std::mutex mu_;
  mutable std::map<std::string, std::pair<int, double>> profile_;
  std::vector<std::string> env_;
  std::vector<char*> envp_;
  mutable std::atomic<uint64_t> counter_{0};
};

// ---------------------------------------------------------------------------
// What one instance's history says, and what is wrong in it on its own.

struct TaskFacts {
  std::string step;
  int completed = 0;
  std::string completed_by;
  int deadlines = 0;  // DeadlinePassed
  std::string due;    // from TaskCreated
  bool cancelled = false;
};

struct InstanceFacts {
  std::string id;
  size_t events = 0;
  bool completed = false;  // InstanceCompleted seen
  std::string scheduled_for;
  bool has_parent = false;  // started by a step of another instance
  std::map<std::string, TaskFacts> tasks;
  std::map<std::string, std::string> timer_due;  // TimerStarted: timer -> due
  std::map<std::string, int> timer_fired;        // TimerFired: timer -> count
  std::vector<std::string> problems;
};

InstanceFacts read_history(const std::string& id, const Json& history) {
  InstanceFacts f;
  f.id = id;
  if (!history.is_array()) {
    f.problems.push_back(fmt::format("history of instance {} is not a JSON array", id));
    return f;
  }
  std::map<std::string, std::string> claimed_by;  // task -> login holding the claim
  int64_t expected_seq = 1;
  for (const Json& e : history.as_array()) {
    ++f.events;
    const int64_t seq = e.integer("seq", -1);
    if (seq != expected_seq)
      f.problems.push_back(fmt::format("instance {}: event seq {} where {} was expected", id, seq, expected_seq));
    expected_seq = seq + 1;
    const std::string type = e.str("type");
    const std::string actor = e.get("actor").is_string() ? e.get("actor").as_string() : "";
    const Json& data = e.get("data");
    const std::string task = data.str("task");
    if (type == "InstanceStarted") {
      f.scheduled_for = data.str("scheduled_for");
      f.has_parent = data.get("parent").is_object();
    } else if (type == "InstanceCompleted") {
      f.completed = true;
    } else if (type == "TaskCreated") {
      f.tasks[task].step = e.str("step");
      f.tasks[task].due = data.str("due");
    } else if (type == "TaskClaimed") {
      if (!claimed_by[task].empty())
        f.problems.push_back(fmt::format("instance {} seq {}: task {} claimed by {} while {} held the claim", id,
                                         seq, task, actor, claimed_by[task]));
      claimed_by[task] = actor;
    } else if (type == "TaskUnclaimed" || type == "TaskReassigned") {
      claimed_by[task].clear();
    } else if (type == "TaskCompleted") {
      TaskFacts& t = f.tasks[task];
      if (++t.completed > 1)
        f.problems.push_back(fmt::format("instance {} seq {}: task {} completed a second time (by {}, first by {})",
                                         id, seq, task, actor, t.completed_by));
      else
        t.completed_by = actor;
      if (!claimed_by[task].empty() && claimed_by[task] != actor)
        f.problems.push_back(fmt::format("instance {} seq {}: task {} completed by {} while claimed by {}", id, seq,
                                         task, actor, claimed_by[task]));
    } else if (type == "TaskCancelled") {
      f.tasks[task].cancelled = true;
    } else if (type == "DeadlinePassed") {
      TaskFacts& t = f.tasks[task];
      if (++t.deadlines > 1)
        f.problems.push_back(fmt::format("instance {} seq {}: the deadline of task {} passed twice", id, seq, task));
      if (t.completed > 0)
        f.problems.push_back(
            fmt::format("instance {} seq {}: the deadline of task {} passed after its completion", id, seq, task));
    } else if (type == "TimerStarted") {
      f.timer_due[data.str("timer")] = data.str("due");
    } else if (type == "TimerFired") {
      if (++f.timer_fired[data.str("timer")] > 1)
        f.problems.push_back(fmt::format("instance {} seq {}: timer {} fired twice", id, seq, data.str("timer")));
    }
  }
  return f;
}

// ---------------------------------------------------------------------------
// Shared helpers.

struct Person {
  std::string login;
  std::vector<std::string> roles;
  bool has(const std::string& role) const { return std::find(roles.begin(), roles.end(), role) != roles.end(); }
};

std::optional<Json> parse(const std::string& text) {
  auto j = parse_json(text);
  if (!j.ok()) return std::nullopt;
  return *j;
}

std::string integrity_check(const std::string& db) {
  try {
    SQLite::Database conn(db, SQLite::OPEN_READONLY);
    SQLite::Statement q(conn, "PRAGMA integrity_check");
    std::string result;
    while (q.executeStep()) result += (result.empty() ? "" : "; ") + q.getColumn(0).getString();
    return result;
  } catch (const std::exception& e) {
    return std::string("cannot run integrity_check: ") + e.what();
  }
}

// One number from the database (read only); `fallback` when NULL or on error.
int64_t query_int(const std::string& db, const std::string& sql, int64_t fallback) {
  try {
    SQLite::Database conn(db, SQLite::OPEN_READONLY);
    SQLite::Statement q(conn, sql);
    if (q.executeStep() && !q.getColumn(0).isNull()) return q.getColumn(0).getInt64();
  } catch (const std::exception&) {
  }
  return fallback;
}

const std::vector<std::string> kClients = {
    "ООО «Ромашка»", "АО «Уралмет»", "ООО Альфа",       "ИП Сидоренко",   "ООО «Бета»",      "ЗАО Гамма-Трейд",
    "ООО Дельта",    "АО «Север»",   "ООО «Южный порт»", "ООО Восток",     "ПАО «Ладога»",    "ООО «Кедр»",
    "ООО Тайга",     "АО Енисей",    "ООО «Печора»",     "ООО Онега",
};

// Values for the required fields of an inbox entry's form.
struct FillPolicy {
  int64_t now = 0;
  double complaint_share = 0;  // reason=complaint (3.1 hands over to 3.4)
  double resolved_share = 1;   // 3.4.10 resolved=true (otherwise it waits a working day and repeats)
};

std::vector<std::string> form_values(const Json& form, std::mt19937_64& rng, const FillPolicy& p) {
  std::vector<std::string> sets;
  if (!form.is_array()) return sets;
  auto coin = [&](double share) { return std::uniform_real_distribution<double>(0, 1)(rng) < share; };
  auto pick = [&](size_t n) { return static_cast<size_t>(std::uniform_int_distribution<size_t>(0, n - 1)(rng)); };
  for (const Json& field : form.as_array()) {
    if (field.get("required") != Json(true)) continue;
    const std::string name = field.str("name");
    const std::string type = field.str("type");
    std::string value;
    if (type == "bool") {
      value = name == "resolved" ? (coin(p.resolved_share) ? "true" : "false") : (coin(0.5) ? "true" : "false");
    } else if (type == "number") {
      value = std::to_string(1 + pick(500));
    } else if (type == "date") {
      value = iso_date(p.now + static_cast<int64_t>(3 + pick(10)) * 86400);
    } else if (type == "datetime") {
      value = iso(p.now);
    } else if (type == "choice") {
      std::vector<std::string> options;
      const Json& opts = field.get("options");
      if (opts.is_array())
        for (const Json& o : opts.as_array())
          if (o.is_string() && !(name == "reason" && o.as_string() == "complaint")) options.push_back(o.as_string());
      if (name == "reason" && coin(p.complaint_share)) options = {"complaint"};
      value = options.empty() ? "" : options[pick(options.size())];
    } else {
      value = fmt::format("Значение {} для {}", pick(1000), name);
    }
    sets.push_back("--set");
    sets.push_back(name + "=" + value);
  }
  return sets;
}

// ---------------------------------------------------------------------------
// crash

struct CrashOptions {
  std::string bin;
  std::string source_dir;
  int kills = 200;
  int kills_per_db = 250;
  uint64_t seed = 0;
  std::string dir;
};

class CrashTest {
 public:
  CrashTest(const CrashOptions& o, fs::path dir) : o_(o), dir_(std::move(dir)), sp_(o.bin, dir_ / "io"), rng_(o.seed) {}

  int run() {
    t0_ = Clock::now();
    double workload_s = 0, finishing_s = 0;
    // A fresh database every --kills-per-db kills, so that verify after each
    // kill stays cheap in the long form; each one is finished and checked.
    for (int round = 1; kills_ < o_.kills; ++round) {
      db_ = (dir_ / fmt::format("crash-{}.db", round)).string();
      now_ = kEpoch;
      known_.clear();
      acks_.clear();
      ++databases_;
      Output d = sp_.run(cmd({"deploy", o_.source_dir + "/processes"}, "sidorova"));
      if (d.code != 0) violation("deploy failed (exit " + std::to_string(d.code) + "): " + d.err);
      if (people_.empty()) load_people();
      const int target = std::min(o_.kills, kills_ + o_.kills_per_db);
      auto t = Clock::now();
      while (kills_ < target) step();
      workload_s += seconds_since(t);
      t = Clock::now();
      finish_everything();
      final_checks();
      finishing_s += seconds_since(t);
      simulated_days_ += static_cast<double>(now_ - kEpoch) / 86400.0;
      if (o_.kills > o_.kills_per_db)
        std::cerr << fmt::format("crash: {} kills, database {} finished and checked, {:.0f} s\n", kills_, round,
                                 seconds_since(t0_));
    }
    if (branch_vip_ + branch_regular_ >= 10 && (branch_vip_ == 0 || branch_regular_ == 0))
      violation(fmt::format("3.1 took the VIP branch {} times and the regular one {} times: the workload misses one",
                            branch_vip_, branch_regular_));

    const double elapsed = seconds_since(t0_);
    fmt::print("crash: seed {}, {} database(s) in {}\n", o_.seed, databases_, dir_.string());
    fmt::print("kills: {} mid-flight (of {} attempts; {} had exited before the signal)\n", kills_, kill_attempts_,
               kill_attempts_ - kills_);
    fmt::print("kills by command: start {}, complete {}, claim {}, tick {}\n", killed_by_["start"],
               killed_by_["complete"], killed_by_["claim"], killed_by_["tick"]);
    fmt::print("killed completions: {} committed before the kill, {} absent and retried successfully\n",
               killed_committed_, killed_retried_);
    fmt::print("commands acknowledged: {} (start {}, complete {}, claim {}, tick {}); reads {}\n", acked_total(),
               acked_["start"], acked_["complete"], acked_["claim"], acked_["tick"], reads_);
    fmt::print("invariant checks: {} after kills (integrity_check + verify + history of the killed instance)\n",
               checks_);
    fmt::print("completions checked: {} acknowledged completions, each found exactly once at the end ({} checks in "
               "all); events checked: {}; instances finished: {}\n",
               acks_total_, completion_checks_, events_checked_, finished_);
    fmt::print("3.1 branches: VIP (3.1.2-3.1.5) {}, regular (3.1.6-3.1.8) {}\n", branch_vip_, branch_regular_);
    fmt::print("commands run (average time): {}\n", sp_.profile());
    fmt::print("finishing: {} rounds of tick and complete, {} incidents retried; simulated time {:.0f} days\n",
               rounds_, incidents_retried_, simulated_days_);
    fmt::print("elapsed: {:.1f} s (workload with kills {:.1f} s, finishing and final checks {:.1f} s)\n", elapsed,
               workload_s, finishing_s);
    fmt::print("crash: ok\n");
    return 0;
  }

 private:
  struct Ack {
    std::string instance;
    std::string user;
  };

  [[noreturn]] void violation(const std::string& what) {
    std::cerr << "reliability: VIOLATION: " << what << "\n"
              << "reliability: crash test, seed " << o_.seed << ", after " << kills_ << " kills; database kept at "
              << db_ << "\n";
    std::exit(1);
  }

  std::vector<std::string> cmd(std::vector<std::string> args, const std::string& user) const {
    args.insert(args.end(), {"--db", db_, "--now", iso(now_), "--as", user});
    return args;
  }

  bool coin(double share) { return std::uniform_real_distribution<double>(0, 1)(rng_) < share; }
  size_t pick(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }
  int64_t between(int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(rng_); }
  int acked_total() { return acked_["start"] + acked_["complete"] + acked_["claim"] + acked_["tick"]; }

  void load_people() {
    Output u = sp_.run(cmd({"users", "--json"}, "sidorova"));
    auto j = parse(u.out);
    if (u.code != 0 || !j || !j->is_array()) violation("users --json failed: " + u.err);
    for (const Json& p : j->as_array()) {
      Person person{p.str("user"), {}};
      const Json& roles = p.get("roles");
      if (roles.is_array())
        for (const Json& r : roles.as_array()) person.roles.push_back(r.as_string());
      people_.push_back(person);
      if (person.has("manager")) managers_.push_back(person.login);
    }
    if (managers_.empty()) violation("the org chart has no manager");
  }

  // A read: must succeed; parsed JSON.
  Json read_json(std::vector<std::string> args, const std::string& user) {
    args.push_back("--json");
    ++reads_;
    Output r = sp_.run(cmd(args, user));
    auto j = parse(r.out);
    if (r.code != 0 || !j) violation(fmt::format("reglament {} as {} failed (exit {}): {}", args[0], user, r.code, r.err));
    return *j;
  }

  // A command that writes; with `try_kill`, SIGKILLed while it runs (if it
  // has not exited by then: `killed` says which).
  Output mutate(const std::string& kind, const std::vector<std::string>& args, bool try_kill) {
    Output out;
    if (try_kill) {
      // Sleep somewhere within the time this kind of command usually takes
      // (past its first fifth: loading the program is not what is tested).
      double typical = typical_ms_.count(kind) ? typical_ms_[kind] : 20.0;
      auto delay = std::chrono::microseconds(between(static_cast<int64_t>(typical * 200.0),
                                                     static_cast<int64_t>(typical * 1000.0)));
      ++kill_attempts_;
      out = sp_.run_and_kill(args, delay);
      if (out.killed) {
        ++kills_;
        ++killed_by_[kind];
        return out;
      }
    } else {
      out = sp_.run(args);
    }
    if (!out.killed && out.code == 0) {
      double& t = typical_ms_[kind];
      t = t == 0 ? out.ms : 0.8 * t + 0.2 * out.ms;
    }
    return out;
  }

  void expect_ok(const std::string& what, const Output& out) {
    if (out.code != 0) violation(fmt::format("{} exited {}: {}", what, out.code, first_line(out.err)));
  }

  // --- the workload -------------------------------------------------------

  void step() {
    now_ += between(30, 300);
    const bool kill = coin(0.7);
    const int64_t active = query_int(db_, "SELECT count(*) FROM instances WHERE status = 'active'", 0);
    double r = std::uniform_real_distribution<double>(0, 1)(rng_);
    if (active < 6) r *= 0.3;  // keep work in the database
    if (r < 0.22 && active < 30) return op_start(kill);
    if (r < 0.32) return op_claim(kill);
    if (r < 0.80) return op_complete(kill);
    return op_tick(kill);
  }

  void op_start(bool kill) {
    static const std::vector<std::pair<std::string, int>> kProcesses = {
        {"incoming-request", 60}, {"outbound-call", 20}, {"agent-notification", 10}, {"complaint", 10}};
    int w = static_cast<int>(pick(100));
    std::string process;
    for (auto& [p, weight] : kProcesses) {
      if (w < weight) {
        process = p;
        break;
      }
      w -= weight;
    }
    std::vector<std::string> args{"start", process, "--set", "client=" + kClients[pick(kClients.size())]};
    if (process == "incoming-request") {
      // VIP, regular, VIP, regular, the client database decides: in turn,
      // not by a coin, so that the short form (about a dozen 3.1 instances
      // under the sanitizers) always meets both branches. With a coin, seed
      // 472788 started one VIP instance of eleven and the ASan run, whose
      // kills land differently, finished none.
      const int turn = incoming_started_++ % 5;
      if (turn == 0 || turn == 2)
        args.insert(args.end(), {"--set", "vip=true"});
      else if (turn == 1 || turn == 3)
        args.insert(args.end(), {"--set", "vip=false"});  // otherwise the client database decides
    } else if (process == "outbound-call" && coin(0.5)) {
      args.insert(args.end(), {"--set", "call_on=" + iso_date(now_ + between(0, 3) * 86400)});
    } else if (process == "agent-notification") {
      args.insert(args.end(), {"--set", "agent=volkov"});
    }
    args.push_back("--json");
    const std::string user = managers_[pick(managers_.size())];
    Output out = mutate("start", cmd(args, user), kill);
    if (out.killed) return after_kill("start", "", "");
    expect_ok("start " + process, out);
    auto j = parse(out.out);
    if (!j) violation("start --json printed no JSON: " + out.out);
    known_.insert(j->str("instance"));
    ++acked_["start"];
  }

  // The open tasks, read straight from the inbox projection (storage/README.md):
  // one query instead of an `inbox` run per person.
  struct OpenTask {
    std::string task, instance, key, step;  // key: process/version/step, for the form cache
    std::string claimed_by;
    std::vector<std::string> roles;
  };

  std::vector<OpenTask> open_tasks() {
    std::vector<OpenTask> out;
    try {
      SQLite::Database conn(db_, SQLite::OPEN_READONLY);
      SQLite::Statement q(conn,
                          "SELECT t.task, t.instance, t.process || '/' || t.version || '/' || t.step, t.step, "
                          "ifnull(t.claimed_by, ''), group_concat(r.role, ',') "
                          "FROM tasks t JOIN task_roles r ON r.task = t.task GROUP BY t.task ORDER BY t.task");
      while (q.executeStep()) {
        OpenTask t{q.getColumn(0).getString(), q.getColumn(1).getString(), q.getColumn(2).getString(),
                   q.getColumn(3).getString(), q.getColumn(4).getString(), {}};
        std::stringstream roles(q.getColumn(5).getString());
        for (std::string r; std::getline(roles, r, ',');) t.roles.push_back(r);
        out.push_back(std::move(t));
      }
    } catch (const std::exception& e) {
      violation(std::string("cannot read the open tasks: ") + e.what());
    }
    return out;
  }

  std::vector<std::string> instance_ids() {
    std::vector<std::string> ids;
    try {
      SQLite::Database conn(db_, SQLite::OPEN_READONLY);
      SQLite::Statement q(conn, "SELECT id FROM instances ORDER BY CAST(id AS INTEGER)");
      while (q.executeStep()) ids.push_back(q.getColumn(0).getString());
    } catch (const std::exception& e) {
      violation(std::string("cannot read the instances: ") + e.what());
    }
    return ids;
  }

  // Who acts on `t`: the person holding its claim, else someone with one of its roles.
  std::string actor_for(const OpenTask& t) {
    if (!t.claimed_by.empty()) return t.claimed_by;
    std::vector<std::string> holders;
    for (const Person& p : people_)
      for (const auto& r : t.roles)
        if (p.has(r)) {
          holders.push_back(p.login);
          break;
        }
    return holders.empty() ? "" : holders[pick(holders.size())];
  }

  // The task's form as `inbox --json` shows it to `user` (cached per step of a version).
  Json form_of(const OpenTask& t, const std::string& user) {
    auto it = forms_.find(t.key);
    if (it != forms_.end()) return it->second;
    const Json inbox = read_json({"inbox"}, user);
    for (const Json& e : inbox.as_array())
      forms_[e.str("process") + "/" + std::to_string(e.integer("version")) + "/" + e.str("step")] = e.get("form");
    it = forms_.find(t.key);
    if (it == forms_.end()) violation(fmt::format("task {} is not in the inbox of {}", t.task, user));
    return it->second;
  }

  // A random open task someone may act on; nullopt when none.
  std::optional<OpenTask> some_task(std::string& user, bool unclaimed_only) {
    std::vector<OpenTask> tasks;
    for (auto& t : open_tasks())
      if (!unclaimed_only || t.claimed_by.empty()) tasks.push_back(std::move(t));
    if (tasks.empty()) return std::nullopt;
    OpenTask t = tasks[pick(tasks.size())];
    user = actor_for(t);
    if (user.empty()) return std::nullopt;
    return t;
  }

  void op_claim(bool kill) {
    std::string user;
    auto task = some_task(user, true);
    if (!task) return op_tick(kill);
    const std::string& id = task->task;
    Output out = mutate("claim", cmd({"claim", id}, user), kill);
    if (out.killed) return after_kill("claim", task->instance, id);
    expect_ok(fmt::format("claim {} as {}", id, user), out);
    ++acked_["claim"];
  }

  void op_complete(bool kill) {
    std::string user;
    auto task = some_task(user, false);
    if (!task) return op_tick(kill);
    const std::string id = task->task;
    const std::string instance = task->instance;
    FillPolicy policy{now_, 0.1, 0.7};
    std::vector<std::string> args{"complete", id};
    auto sets = form_values(form_of(*task, user), rng_, policy);
    args.insert(args.end(), sets.begin(), sets.end());
    args.push_back("--json");
    Output out = mutate("complete", cmd(args, user), kill);
    if (!out.killed) {
      expect_ok(fmt::format("complete {} as {}", id, user), out);
      acks_[id] = {instance, user};
      ++acked_["complete"];
      return;
    }
    after_kill("complete", instance, id);
    // The killed completion is there at most once (check_instance saw to
    // that); when absent, the same command again must succeed.
    InstanceFacts f = check_instance(instance);
    auto it = f.tasks.find(id);
    if (it != f.tasks.end() && it->second.completed == 1) {
      if (it->second.completed_by != user)
        violation(fmt::format("killed completion of {} by {} shows as completed by {}", id, user,
                              it->second.completed_by));
      ++killed_committed_;
      acks_[id] = {instance, user};
      return;
    }
    Output again = sp_.run(cmd(args, user));
    if (again.code == 0) {
      ++killed_retried_;
      acks_[id] = {instance, user};
      ++acked_["complete"];
      return;
    }
    if (again.code == 4 && contains(again.err, "already completed")) {
      // Not in the history a moment ago, completed now: nothing else in this
      // single driver could have completed it in between.
      violation(fmt::format("task {} was absent from the history after the kill, yet its retry says: {}", id,
                            first_line(again.err)));
    }
    violation(fmt::format("retrying the killed completion of {} as {} exited {}: {}", id, user, again.code,
                          first_line(again.err)));
  }

  void op_tick(bool kill) {
    // Move the clock: a few minutes, to the next due moment, or hours on.
    double r = std::uniform_real_distribution<double>(0, 1)(rng_);
    int64_t next_due = query_int(db_, "SELECT min(due_epoch) FROM timers", 0);
    if (r < 0.4)
      now_ += between(60, 1800);
    else if (r < 0.8 && next_due > now_)
      now_ = std::min(next_due + between(0, 600), now_ + 3 * 86400);
    else
      now_ += between(3600, 20 * 3600);
    Output out = mutate("tick", cmd({"tick", "--json"}, "sidorova"), kill);
    if (out.killed) return after_kill("tick", "", "");
    expect_ok("tick", out);
    ++acked_["tick"];
  }

  // --- checks ---------------------------------------------------------------

  void check_storage(const std::string& when) {
    std::string ic = integrity_check(db_);
    if (ic != "ok") violation("PRAGMA integrity_check " + when + ": " + ic);
    Output v = sp_.run(cmd({"verify"}, "sidorova"));
    if (v.code != 0)
      violation(fmt::format("reglament verify {} exited {}: {}{}", when, v.code, v.out, v.err));
  }

  InstanceFacts check_instance(const std::string& instance) {
    const Json history = read_json({"history", instance}, "sidorova");
    InstanceFacts f = read_history(instance, history);
    if (!f.problems.empty()) violation(f.problems.front());
    events_checked_ += f.events;
    for (const auto& [task, ack] : acks_) {
      if (ack.instance != instance) continue;
      ++completion_checks_;
      auto it = f.tasks.find(task);
      int n = it == f.tasks.end() ? 0 : it->second.completed;
      if (n != 1)
        violation(fmt::format("acknowledged completion of task {} by {} appears {} times in the history of {}", task,
                              ack.user, n, instance));
      if (it->second.completed_by != ack.user)
        violation(fmt::format("acknowledged completion of task {} by {} is recorded as by {}", task, ack.user,
                              it->second.completed_by));
    }
    return f;
  }

  void after_kill(const std::string& kind, const std::string& instance, const std::string& task) {
    ++checks_;
    const std::string when = fmt::format("after kill #{} ({} {})", kills_, kind, task.empty() ? instance : task);
    check_storage(when);
    // (A killed completion's instance is checked by op_complete.)
    if (!instance.empty() && kind != "complete") check_instance(instance);
    if (kind == "start") {
      // A killed start may have created an instance (and run part of its first steps).
      for (const std::string& id : instance_ids())
        if (known_.insert(id).second) check_instance(id);
    } else if (kind == "tick") {
      // Restarting: the same tick again finishes what the killed one left.
      Output again = sp_.run(cmd({"tick"}, "sidorova"));
      expect_ok("tick after a killed tick", again);
    }
  }

  // Tick and complete until every instance is completed ("restarting
  // finishes every instance").
  void finish_everything() {
    int idle_rounds = 0;
    for (int round = 0; round < 2000; ++round) {
      ++rounds_;
      now_ += 60;
      Output t = sp_.run(cmd({"tick"}, "sidorova"));
      expect_ok("tick while finishing", t);
      int done = 0;
      for (const OpenTask& task : open_tasks()) {
        const std::string user = actor_for(task);
        if (user.empty()) violation(fmt::format("nobody holds a role of task {} ({})", task.task, task.key));
        std::vector<std::string> args{"complete", task.task};
        auto sets = form_values(form_of(task, user), rng_, FillPolicy{now_, 0, 1});
        args.insert(args.end(), sets.begin(), sets.end());
        Output out = sp_.run(cmd(args, user));
        if (out.code != 0)
          violation(fmt::format("complete {} as {} while finishing exited {}: {}", task.task, user, out.code,
                                first_line(out.err)));
        acks_[task.task] = {task.instance, user};
        ++acked_["complete"];
        ++done;
      }
      // Incidents (a handler out of retries) wait for a person: retry them.
      const Json incidents = read_json({"incidents"}, "sidorova");
      for (const Json& inc : incidents.as_array()) {
        Output r = sp_.run(cmd({"retry", inc.str("incident")}, "sidorova"));
        expect_ok("retry " + inc.str("incident"), r);
        ++incidents_retried_;
        ++done;
      }
      const int64_t active = query_int(db_, "SELECT count(*) FROM instances WHERE status = 'active'", -1);
      if (active == 0) return;
      if (done > 0) {
        idle_rounds = 0;
        continue;
      }
      // Nothing to do by hand: the rest waits for time.
      const int64_t next_due = query_int(db_, "SELECT min(due_epoch) FROM timers", 0);
      if (next_due > now_) now_ = next_due + 1;
      if (++idle_rounds > 5)
        violation(fmt::format("{} instances stay active with no task, no incident and nothing due", active));
    }
    violation("instances still active after 2000 rounds of tick and complete");
  }

  void final_checks() {
    check_storage("at the end");
    const Json listed = read_json({"instances"}, "sidorova");
    std::set<std::string> checked;
    for (const Json& i : listed.as_array()) {
      const std::string id = i.str("instance");
      if (i.str("status") != "completed")
        violation(fmt::format("instance {} ({}) is {} after finishing", id, i.str("process"), i.str("status")));
      InstanceFacts f = check_instance(id);
      if (!f.completed) violation(fmt::format("instance {} has no InstanceCompleted event", id));
      for (const auto& [timer, due] : f.timer_due) {
        auto it = f.timer_fired.find(timer);
        if (it == f.timer_fired.end() || it->second != 1)
          violation(fmt::format("instance {}: timer {} (due {}) did not fire exactly once", id, timer, due));
      }
      checked.insert(id);
      ++finished_;
      if (i.str("process") == "incoming-request") {
        bool vip = false, regular = false;
        for (const auto& [task, facts] : f.tasks) {
          vip = vip || facts.step == "3.1.2";
          regular = regular || facts.step == "3.1.6";
        }
        branch_vip_ += vip;
        branch_regular_ += regular;
      }
    }
    for (const auto& [task, ack] : acks_)
      if (!checked.count(ack.instance))
        violation(fmt::format("acknowledged completion of {}: instance {} is not listed", task, ack.instance));
    acks_total_ += static_cast<int64_t>(acks_.size());
  }

  static constexpr int64_t kEpoch = 1795413600;  // 2026-11-23T09:00:00+03:00, a Monday

  CrashOptions o_;
  fs::path dir_;
  std::string db_;
  Spawner sp_;
  std::mt19937_64 rng_;
  Clock::time_point t0_;
  int64_t now_ = 0;
  std::vector<Person> people_;
  std::vector<std::string> managers_;
  std::set<std::string> known_;
  std::map<std::string, Ack> acks_;  // task -> acknowledged completion
  std::map<std::string, double> typical_ms_;
  std::map<std::string, Json> forms_;  // process/version/step -> form, from `inbox --json`
  std::map<std::string, int> killed_by_;
  std::map<std::string, int> acked_;
  int kills_ = 0;
  int kill_attempts_ = 0;
  int killed_committed_ = 0;
  int killed_retried_ = 0;
  int reads_ = 0;
  int checks_ = 0;
  int incidents_retried_ = 0;
  int rounds_ = 0;
  int databases_ = 0;
  double simulated_days_ = 0;
  int64_t acks_total_ = 0;
  int branch_vip_ = 0, branch_regular_ = 0;
  int incoming_started_ = 0;  // 3.1 starts attempted, for their turn of vip
  int finished_ = 0;
  int64_t completion_checks_ = 0;
  int64_t events_checked_ = 0;
};

// ---------------------------------------------------------------------------
// concurrency

struct ConcurrencyOptions {
  std::string bin;
  std::string source_dir;
  int seconds = 20;
  int users = 4;
  int workers = 2;
  uint64_t seed = 0;
  std::string dir;
};

class ConcurrencyTest {
 public:
  ConcurrencyTest(const ConcurrencyOptions& o, fs::path dir)
      : o_(o), dir_(std::move(dir)), db_((dir_ / "concurrency.db").string()), sp_(o.bin, dir_ / "io") {}

  int run() {
    const auto t_setup = Clock::now();
    setup();
    const double setup_s = seconds_since(t_setup);

    // The race: users and workers at once, on the system clock.
    const auto t0 = Clock::now();
    deadline_ = t0 + std::chrono::seconds(o_.seconds);
    std::vector<Spawner::Child> workers;
    for (int w = 0; w < o_.workers; ++w)
      workers.push_back(sp_.spawn({"worker", "--db", db_, "--as", "sidorova", "--for",
                                   fmt::format("{}s", o_.seconds + 1), "--max-sleep", "1s"}));
    const std::vector<std::string> logins = {"ivanova", "petrov"};
    std::vector<std::thread> threads;
    for (int u = 0; u < o_.users; ++u)
      threads.emplace_back([this, u, &logins] { user_loop(logins[u % logins.size()], o_.seed + 101 * (u + 1)); });
    for (auto& t : threads) t.join();
    const double race_s = seconds_since(t0);
    int worker_ticks = 0, worker_busy = 0;
    for (size_t n = 0; n < workers.size(); ++n) {
      Output out = sp_.wait(workers[n]);
      std::ofstream(dir_ / fmt::format("worker-{}.log", n + 1)) << out.out << out.err;
      if (out.code != 0)
        add_violation(fmt::format("a worker exited {}: {}", out.code, first_line(out.err)));
      auto at = out.out.rfind("after ");
      const int ticks = at == std::string::npos ? 0 : std::atoi(out.out.c_str() + at + 6);
      worker_ticks += ticks;
      // Woken by every commit, a worker ticks a few dozen times a second at
      // most; hundreds mean it finds something due that it never does.
      if (ticks > 300 * (o_.seconds + 1))
        add_violation(fmt::format("worker {} spun: {} ticks in {} s", n + 1, ticks, o_.seconds + 1));
      std::istringstream lines(out.err);
      for (std::string line; std::getline(lines, line);) {
        if (contains(lower_ascii(line), "busy") || contains(lower_ascii(line), "locked"))
          ++worker_busy;
        else if (!line.empty())
          add_violation("a worker reported: " + line);
      }
    }
    const int64_t stop = wall_now();

    const auto t_check = Clock::now();
    const Totals totals = final_checks(stop);
    const double check_s = seconds_since(t_check);

    fmt::print("concurrency: seed {}, database {}\n", o_.seed, db_);
    fmt::print("setup: {} instances started up front ({} incoming-request, {} outbound-call waiting, {} complaint "
               "at 3.4.5 with deadlines over the run), {:.1f} s\n",
               setup_instances_, setup_incoming_, setup_calls_, setup_complaints_, setup_s);
    fmt::print("users: {} threads ({}), workers: {} (`reglament worker`, system clock), {:.1f} s\n", o_.users,
               o_.users >= 2 ? "ivanova and petrov" : "ivanova", o_.workers, race_s);
    const int64_t ops = stats_.claims + stats_.completes + stats_.starts;
    fmt::print("operations: {} writes ({} claim, {} complete, {} start) + {} inbox reads; {:.1f} writes/s, {:.1f} "
               "commands/s\n",
               ops, stats_.claims, stats_.completes, stats_.starts, stats_.reads, ops / race_s,
               (ops + stats_.reads) / race_s);
    fmt::print("conflicts (exit 4): {} ({} claims, {} completions); completions acknowledged: {}; claims held: {}\n",
               stats_.conflicts, stats_.claim_conflicts, stats_.complete_conflicts, stats_.completed_ok,
               stats_.claimed_ok);
    for (const auto& [shape, n] : conflict_shapes_) fmt::print("  {} × {}\n", n, shape);
    fmt::print("workers: {} ticks, {} busy reports on their stderr (retried)\n", worker_ticks, worker_busy);
    fmt::print("timers: {} waits fired, {} deadlines passed, {} scheduled starts\n", totals.timers_fired,
               totals.deadlines, totals.scheduled);
    fmt::print("checked: {} instances, {} events, {} completions ({:.1f} s)\n", totals.instances, totals.events,
               totals.completions, check_s);
    if (!violations_.empty()) {
      int total = 0;
      for (const auto& [shape, v] : violations_) {
        total += v.first;
        std::cerr << "reliability: VIOLATION: " << v.second
                  << (v.first > 1 ? fmt::format(" (and {} more like it)", v.first - 1) : "") << "\n";
      }
      std::cerr << "reliability: concurrency test, seed " << o_.seed << ": " << total
                << " violations; database and worker logs kept in " << dir_.string() << "\n";
      return 1;
    }
    fmt::print("concurrency: ok\n");
    return 0;
  }

 private:
  struct Totals {
    int64_t instances = 0, events = 0, completions = 0, timers_fired = 0, deadlines = 0, scheduled = 0;
  };
  struct Stats {
    int64_t claims = 0, completes = 0, starts = 0, reads = 0, conflicts = 0, claim_conflicts = 0,
            complete_conflicts = 0, completed_ok = 0, claimed_ok = 0;
  };
  struct Ack {
    std::string instance;
    std::string user;
  };

  void add_violation(const std::string& v) {
    std::lock_guard lock(mu_);
    auto& [count, example] = violations_[shape_of(v)];
    if (count++ == 0) example = v;
  }

  // `reglament args... --db DB --as USER [--now T]`, must exit 0.
  Output setup_cmd(std::vector<std::string> args, const std::string& user, int64_t at) {
    args.insert(args.end(), {"--db", db_, "--as", user, "--now", iso(at)});
    Output out = sp_.run(args);
    if (out.code != 0) {
      std::cerr << "reliability: setup: reglament " << args[0] << " exited " << out.code << ": " << out.err;
      std::exit(1);
    }
    return out;
  }

  Json setup_json(std::vector<std::string> args, const std::string& user, int64_t at) {
    args.push_back("--json");
    Output out = setup_cmd(args, user, at);
    auto j = parse(out.out);
    if (!j) {
      std::cerr << "reliability: setup: reglament " << args[0] << " printed no JSON\n";
      std::exit(1);
    }
    return *j;
  }

  // The next task of a `complete`/`start --json` answer on `step`.
  static std::string next_task(const Json& answer, const std::string& step) {
    const Json& tasks = answer.get("tasks");
    if (tasks.is_array())
      for (const Json& t : tasks.as_array())
        if (t.str("step") == step) return t.str("task");
    return "";
  }

  // Instances up front, written in the past so that the workers find waits,
  // deadlines and one scheduled start due: deployed 11 days ago (the weekly
  // review's latest occurrence is due), outbound calls 10 days ago (their
  // calling window is over), complaints at 3.4.5 created a day minus a bit
  // ago (their 24-hour deadlines fall due during the run).
  void setup() {
    const int64_t now = wall_now();
    setup_cmd({"deploy", o_.source_dir + "/processes"}, "sidorova", now - 11 * 86400);
    const int n_incoming = 12 * o_.users, n_calls = 20, n_complaints = 12;
    for (int i = 0; i < n_calls; ++i) {
      Json s = setup_json({"start", "outbound-call", "--set", "client=" + kClients[i % kClients.size()]}, "ivanova",
                          now - 10 * 86400 + i);
      started_.insert(s.str("instance"));
      ++setup_calls_;
    }
    for (int i = 0; i < n_complaints; ++i) {
      // 3.4.5 is due 24 hours after it appears: spread over the run.
      const int64_t at = now - 86400 + (o_.seconds * (i + 1)) / (n_complaints + 1);
      Json s = setup_json({"start", "complaint", "--set", "client=" + kClients[i % kClients.size()]}, "petrov", at);
      started_.insert(s.str("instance"));
      std::string t = next_task(s, "3.4.1");
      Json c1 = setup_json({"complete", t, "--set", "substance=Опоздание поставки", "--set", "result=needs-time",
                            "--set", "needs_legal=false"},
                           "petrov", at);
      Json c2 = setup_json({"complete", next_task(c1, "3.4.2")}, "petrov", at);
      Json c3 = setup_json({"complete", next_task(c2, "3.4.4"), "--set", "responsible=Петров О. И."}, "sidorova", at);
      setup_tasks_.insert({t, next_task(c1, "3.4.2"), next_task(c2, "3.4.4")});
      if (next_task(c3, "3.4.5").empty()) {
        std::cerr << "reliability: setup: complaint did not reach 3.4.5\n";
        std::exit(1);
      }
      ++setup_complaints_;
    }
    for (int i = 0; i < n_incoming; ++i) {
      std::vector<std::string> args{"start", "incoming-request", "--set", "client=" + kClients[i % kClients.size()],
                                    "--set", i % 2 ? "vip=true" : "vip=false"};
      started_.insert(setup_json(args, i % 2 ? "ivanova" : "petrov", now - 3600).str("instance"));
      ++setup_incoming_;
    }
    setup_instances_ = setup_calls_ + setup_complaints_ + setup_incoming_;
  }

  // Checks a user command's outcome; true when it succeeded.
  bool judge(const std::string& what, const Output& out, bool& conflict) {
    conflict = false;
    const std::string err = lower_ascii(out.err);
    if (contains(err, "busy") || contains(err, "locked"))
      add_violation(fmt::format("{}: a user saw \"{}\" (exit {})", what, first_line(out.err), out.code));
    if (out.code == 0) return true;
    if (out.code == 4) {
      conflict = true;
      {
        std::lock_guard lock(mu_);
        ++conflict_shapes_[shape_of(first_line(out.err))];
      }
      const bool one_sentence = out.err.rfind("reglament: ", 0) == 0 && out.err.find('\n') == out.err.size() - 1;
      if (!one_sentence) add_violation(fmt::format("{}: exit 4 without one clear sentence: {}", what, out.err));
      return false;
    }
    add_violation(fmt::format("{}: exit {}: {}", what, out.code, first_line(out.err)));
    return false;
  }

  void user_loop(const std::string& login, uint64_t seed) {
    std::mt19937_64 rng(seed);
    auto coin = [&](double share) { return std::uniform_real_distribution<double>(0, 1)(rng) < share; };
    auto base = [&](std::vector<std::string> args) {
      args.insert(args.end(), {"--db", db_, "--as", login});
      return args;
    };
    while (Clock::now() < deadline_) {
      Output inbox = sp_.run(base({"inbox", "--json", "--limit", "20"}));
      bool conflict = false;
      {
        std::lock_guard lock(mu_);
        ++stats_.reads;
      }
      if (!judge("inbox as " + login, inbox, conflict)) continue;
      auto j = parse(inbox.out);
      std::vector<Json> tasks;
      if (j && j->is_array())
        for (const Json& t : j->as_array())
          if (t.str("step") != "3.4.5") tasks.push_back(t);  // the workers' deadlines
      if (tasks.size() < 3) {
        // Running low: a customer calls in.
        Output s = sp_.run(base({"start", "incoming-request", "--set",
                                 "client=" + kClients[rng() % kClients.size()], "--set",
                                 coin(0.5) ? "vip=true" : "vip=false", "--json"}));
        const bool started = judge("start as " + login, s, conflict);
        auto sj = parse(s.out);
        std::lock_guard lock(mu_);
        ++stats_.starts;
        if (started && sj) started_.insert(sj->str("instance"));
        if (tasks.empty()) continue;
      }
      // Mostly the first task in inbox order: the one every user goes for.
      const Json& task = coin(0.7) ? tasks[0] : tasks[rng() % std::min<size_t>(3, tasks.size())];
      const std::string id = task.str("task");
      const std::string instance = task.str("instance");
      bool claimed = false;
      if (coin(0.5)) {
        Output c = sp_.run(base({"claim", id}));
        claimed = judge(fmt::format("claim {} as {}", id, login), c, conflict);
        std::lock_guard lock(mu_);
        ++stats_.claims;
        if (claimed) ++stats_.claimed_ok;
        if (conflict) ++stats_.conflicts, ++stats_.claim_conflicts;
        if (!claimed) continue;
      }
      std::vector<std::string> args{"complete", id};
      auto sets = form_values(task.get("form"), rng, FillPolicy{wall_now(), 0, 1});
      args.insert(args.end(), sets.begin(), sets.end());
      Output c = sp_.run(base(args));
      bool ok = judge(fmt::format("complete {} as {}", id, login), c, conflict);
      std::lock_guard lock(mu_);
      // Holding the claim, only the same person (another thread of the same
      // login) may have completed it meanwhile: checked against the history.
      if (claimed && !ok) lost_after_claim_.push_back({id, instance, login});
      ++stats_.completes;
      if (ok) {
        ++stats_.completed_ok;
        if (acks_.count(id))
          add_violation(fmt::format("task {} acknowledged twice: to {} and to {}", id, acks_[id].user, login));
        acks_[id] = {instance, login};
      }
      if (conflict) ++stats_.conflicts, ++stats_.complete_conflicts;
    }
  }

  Json read_json(std::vector<std::string> args) {
    args.insert(args.end(), {"--json", "--db", db_, "--as", "sidorova"});
    Output out = sp_.run(args);
    auto j = parse(out.out);
    if (out.code != 0 || !j) {
      add_violation(fmt::format("reglament {} exited {}: {}", args[0], out.code, first_line(out.err)));
      return Json::array();
    }
    return *j;
  }

  // Every instance's history after the race. `stop`: when the workers ended.
  Totals final_checks(int64_t stop) {
    Totals t;
    std::string ic = integrity_check(db_);
    if (ic != "ok") add_violation("PRAGMA integrity_check: " + ic);
    Output v = sp_.run({"verify", "--db", db_, "--as", "sidorova"});
    if (v.code != 0) add_violation(fmt::format("reglament verify exited {}: {}{}", v.code, v.out, v.err));

    const Json listed = read_json({"instances"});
    std::set<std::string> seen;
    std::map<std::string, std::string> occurrences;  // scheduled_for -> instance
    for (const Json& i : listed.as_array()) {
      const std::string id = i.str("instance");
      seen.insert(id);
      const Json history = read_json({"history", id});
      InstanceFacts f = read_history(id, history);
      ++t.instances;
      t.events += static_cast<int64_t>(f.events);
      for (const auto& p : f.problems) add_violation(p);
      if (!f.scheduled_for.empty()) {
        ++t.scheduled;
        if (occurrences.count(f.scheduled_for))
          add_violation(fmt::format("the occurrence {} started twice: instances {} and {}", f.scheduled_for,
                                    occurrences[f.scheduled_for], id));
        occurrences[f.scheduled_for] = id;
      }
      // Each wait whose moment came before the workers stopped fired exactly once.
      for (const auto& [timer, due] : f.timer_due) {
        auto at = parse_iso(due);
        int fired = f.timer_fired.count(timer) ? f.timer_fired.at(timer) : 0;
        t.timers_fired += fired;
        if (at && *at < stop - 2 && fired != 1)
          add_violation(fmt::format("instance {}: wait {} due {} fired {} times", id, timer, due, fired));
      }
      // Each 3.4.5 deadline (the users leave those tasks alone) passed exactly once.
      for (const auto& [task, facts] : f.tasks) {
        t.deadlines += facts.deadlines;
        auto at = parse_iso(facts.due);
        if (facts.step == "3.4.5" && facts.completed == 0 && at && *at < stop - 2 && facts.deadlines != 1)
          add_violation(fmt::format("instance {}: deadline of task {} due {} passed {} times", id, task, facts.due,
                                    facts.deadlines));
      }
      // Nothing a user was refused was written: every start and completion in
      // the log was acknowledged (or done in the setup, or by the engine).
      if (!started_.count(id) && f.scheduled_for.empty() && !f.has_parent)
        add_violation(fmt::format("instance {} exists, but no start of it was acknowledged", id));
      for (const auto& [task, facts] : f.tasks)
        if (facts.completed > 0 && !acks_.count(task) && !setup_tasks_.count(task))
          add_violation(fmt::format("task {} is completed by {} in the history, but no completion was acknowledged",
                                    task, facts.completed_by));
      for (const auto& lost : lost_after_claim_) {
        if (lost.instance != id) continue;
        auto it = f.tasks.find(lost.task);
        std::string by = it == f.tasks.end() ? "" : it->second.completed_by;
        if (by != lost.user)
          add_violation(fmt::format("{} held the claim of task {} yet could not complete it, and it was completed by "
                                    "\"{}\"",
                                    lost.user, lost.task, by));
      }
      for (const auto& [task, ack] : acks_) {
        if (ack.instance != id) continue;
        ++t.completions;
        auto it = f.tasks.find(task);
        int n = it == f.tasks.end() ? 0 : it->second.completed;
        if (n != 1)
          add_violation(fmt::format("acknowledged completion of {} by {} appears {} times", task, ack.user, n));
        else if (it->second.completed_by != ack.user)
          add_violation(fmt::format("acknowledged completion of {} by {} is recorded as by {}", task, ack.user,
                                    it->second.completed_by));
      }
    }
    for (const auto& [task, ack] : acks_)
      if (!seen.count(ack.instance)) add_violation(fmt::format("instance {} of task {} is not listed", ack.instance, task));
    if (t.scheduled > 1) add_violation(fmt::format("{} scheduled starts where one was due", t.scheduled));
    return t;
  }

  ConcurrencyOptions o_;
  fs::path dir_;
  std::string db_;
  Spawner sp_;
  Clock::time_point deadline_;
  std::mutex mu_;
  Stats stats_;
  std::map<std::string, Ack> acks_;
  struct Lost {
    std::string task, instance, user;
  };
  std::vector<Lost> lost_after_claim_;
  std::set<std::string> started_;      // instances whose start was acknowledged (setup included)
  std::set<std::string> setup_tasks_;  // tasks completed by the setup
  std::map<std::string, int> conflict_shapes_;
  std::map<std::string, std::pair<int, std::string>> violations_;  // shape -> count, first example
  int setup_instances_ = 0, setup_incoming_ = 0, setup_calls_ = 0, setup_complaints_ = 0;
};

// ---------------------------------------------------------------------------
// main

int usage(const std::string& problem) {
  std::cerr << "reliability: " << problem << "\n"
            << "usage: reglament_reliability crash --bin PATH --source-dir DIR [--kills N] [--kills-per-db N] "
               "[--seed S] [--dir D]\n"
            << "       reglament_reliability concurrency --bin PATH --source-dir DIR [--seconds S] [--users U] "
               "[--workers W] [--seed S] [--dir D]\n";
  return 2;
}

// A fresh directory for the database: --dir (kept) or a temporary one
// (removed when the test passes).
fs::path work_dir(const std::string& given, const std::string& name, bool& temporary) {
  temporary = given.empty();
  fs::path dir = temporary ? fs::temp_directory_path() / fmt::format("reglament-{}-{}", name, getpid()) : fs::path(given);
  // Only what a previous run of this harness left there.
  fs::remove_all(dir / "io");
  if (fs::is_directory(dir))
    for (const auto& entry : fs::directory_iterator(dir)) {
      const std::string f = entry.path().filename().string();
      if ((f.rfind("crash-", 0) == 0 || f.rfind("concurrency.db", 0) == 0 || f.rfind("worker-", 0) == 0) &&
          entry.is_regular_file())
        fs::remove(entry.path());
    }
  fs::create_directories(dir);
  return dir;
}

int main_impl(int argc, char** argv) {
  if (argc < 2) return usage("name a test: crash or concurrency");
  const std::string test = argv[1];
  if (test != "crash" && test != "concurrency") return usage("unknown test \"" + test + "\"");
  std::map<std::string, std::string> opts;
  const std::set<std::string> known = test == "crash"
                                          ? std::set<std::string>{"--bin", "--source-dir", "--kills", "--kills-per-db",
                                                                  "--seed", "--dir"}
                                          : std::set<std::string>{"--bin", "--source-dir", "--seconds", "--users",
                                                                  "--workers", "--seed", "--dir"};
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    if (!known.count(a)) return usage("unknown option \"" + a + "\" for " + test);
    if (i + 1 >= argc) return usage("option " + a + " needs a value");
    opts[a] = argv[++i];
  }
  if (!opts.count("--bin") || !opts.count("--source-dir")) return usage("--bin and --source-dir are required");
  if (!fs::exists(opts["--bin"])) return usage("no reglament binary at " + opts["--bin"]);
  if (!fs::exists(fs::path(opts["--source-dir"]) / "processes"))
    return usage("no processes/ under " + opts["--source-dir"]);
  auto number = [&](const std::string& name, long long fallback, long long min) -> std::optional<long long> {
    if (!opts.count(name)) return fallback;
    char* end = nullptr;
    long long v = std::strtoll(opts[name].c_str(), &end, 10);
    if (end == opts[name].c_str() || *end != '\0' || v < min) return std::nullopt;
    return v;
  };
  auto seed = number("--seed", static_cast<long long>(std::random_device{}() % 1000000), 0);
  if (!seed) return usage("--seed must be a non-negative integer");
  signal(SIGPIPE, SIG_IGN);

  bool temporary = false;
  int rc = 0;
  fs::path dir;
  if (test == "crash") {
    auto kills = number("--kills", 200, 1), per_db = number("--kills-per-db", 250, 1);
    if (!kills || !per_db) return usage("--kills and --kills-per-db must be positive integers");
    CrashOptions o{opts["--bin"],
                   opts["--source-dir"],
                   static_cast<int>(*kills),
                   static_cast<int>(*per_db),
                   static_cast<uint64_t>(*seed),
                   opts["--dir"]};
    dir = work_dir(o.dir, "crash", temporary);
    rc = CrashTest(o, dir).run();
  } else {
    auto seconds = number("--seconds", 20, 1), users = number("--users", 4, 1), workers = number("--workers", 2, 0);
    if (!seconds || !users || !workers) return usage("--seconds and --users must be positive, --workers not negative");
    ConcurrencyOptions o{opts["--bin"], opts["--source-dir"], static_cast<int>(*seconds), static_cast<int>(*users),
                         static_cast<int>(*workers), static_cast<uint64_t>(*seed), opts["--dir"]};
    dir = work_dir(o.dir, "concurrency", temporary);
    rc = ConcurrencyTest(o, dir).run();
  }
  if (rc == 0 && temporary) fs::remove_all(dir);
  return rc;
}

}  // namespace
}  // namespace reglament::reliability

int main(int argc, char** argv) { return reglament::reliability::main_impl(argc, argv); }
