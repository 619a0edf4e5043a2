// `exec`: runs an external program for a service step.
//
//   do: exec
//   with:
//     run: [bin/reserve-stock, --warehouse, main]   # argv, literal: no shell
//     timeout: 2m                                  # default 30s; s, m, h, ms…
//     env: {STOCK_URL: "http://stock.local"}       # extra environment, literal
//     env: [STOCK_TOKEN]                           # or: names passed through
//     outputs: [reserved, reservation_id]          # the variables it may set
//
// The program gets one JSON object on stdin: instance, process, step, job,
// idempotency_key (= job, the same on every retry), attempt, at, with and
// variables; stdin is then closed. It answers with one JSON object on stdout:
// its members are the step's declared `outputs:` (any other name fails the
// step), besides `messages` ([{to, text}], to the outbox) and `records`
// (client database changes, engine/crm.h). Empty stdout sets nothing. A
// non-zero exit is a failure, with the first line of stderr as its reason.
//
// Why it is written this way:
// - The program is pinned when the process is deployed (pin()): `run:`'s
//   program is resolved against the bundle's directory (a bare name against
//   kSafePath), never against the caller's working directory or PATH, and
//   its canonical path and SHA-256 are recorded in the deployed definition,
//   so `verify` and seals cover them, with the bundle's directory, where the
//   program runs. Every run hashes the file again and refuses a changed one,
//   and execs the recorded path with posix_spawn (no search). What is left: a program swapped between the hash and the exec,
//   and whatever the program itself loads (a script's interpreter, its
//   libraries) — those are the host's to protect.
// - The environment is rebuilt, not inherited: PATH = kSafePath, LANG and TZ,
//   the names the step lists, its literal values. The caller's environment
//   holds its secrets and its PATH; neither is the program's business.
// - posix_spawn, not fork: safe in a multi-threaded process, and glibc
//   reports a missing or non-executable program as the call's result.
// - The child gets its own process group; a timeout or a flood of output
//   kills the whole group with SIGKILL, and so does a normal exit (no stray
//   background processes outlive the step). The leader is killed and
//   reaped only after its exit was seen without reaping it (waitid WNOWAIT),
//   so its pid, which is the group id, cannot have been reused.
// - A descendant can leave the group (setsid). On Linux this process is a
//   child subreaper (PR_SET_CHILD_SUBREAPER), so such orphans become its
//   children instead of init's; after the step every child that is not a
//   running step's program is killed and reaped (end_strays). That assumes
//   what is true of the CLI and the worker: the process running exec steps
//   has no children of its own besides them, and runs one step at a time.
// - stdin, stdout and stderr are served by one poll loop with non-blocking
//   ends, so a program that writes before it has read all of stdin, or fills
//   stderr, cannot deadlock us. SIGPIPE is blocked in this thread while we
//   write, and consumed if it arrived: a program that never reads stdin gives
//   EPIPE, which only ends the writing.
// - Every descriptor except 0, 1 and 2 is closed in the child; our pipe ends
//   are O_CLOEXEC anyway, so other threads' children do not inherit them.
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "engine/sha256.h"
#include "engine/time.h"
#include "engine/utf8.h"
#include "handlers/builtin.h"

namespace reglament {

namespace {

constexpr size_t kMaxStdout = size_t{1} << 20;  // 1 MiB
constexpr size_t kStderrKept = 1024;            // the head: the reason is its first line
constexpr size_t kReasonMax = 300;              // bytes of that line in the error
constexpr std::string_view kDefaultTimeout = "30s";
constexpr std::string_view kKeys[] = {"run", "timeout", "env", "outputs"};
// The PATH programs get, and where a bare program name in `run:` is looked
// up at deploy: system directories only, never the caller's PATH.
constexpr std::string_view kSafePath = "/usr/local/bin:/usr/bin:/bin";
constexpr std::string_view kDefaultLang = "C.UTF-8";

// ---------------------------------------------------------------- parameters

struct Spec {
  std::vector<std::string> argv;
  int64_t timeout_ms = 30'000;
  std::string timeout_text{kDefaultTimeout};
  std::vector<std::pair<std::string, std::string>> env;  // `env: {NAME: TEXT}`: literal values
  std::vector<std::string> pass;                         // `env: [NAME]`: taken from our environment
};

// A portable environment variable name: a letter or '_', then letters,
// digits and '_'.
bool plain_name(const std::string& name) {
  if (name.empty() || (name[0] >= '0' && name[0] <= '9')) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

// Names whose value, taken from whoever runs reglament, would change which
// code the program runs: the program search path and the dynamic loader's
// variables. A step may set them literally, never pass them through.
bool steers_code(const std::string& name) { return name == "PATH" || name.rfind("LD_", 0) == 0; }

// "500ms", or anything parse_duration reads ("30s", "2m", "PT1M").
std::optional<int64_t> parse_timeout_ms(std::string_view text) {
  if (text.size() > 2 && text.ends_with("ms")) {
    std::string_view digits = text.substr(0, text.size() - 2);
    if (digits.size() > 12 || !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return std::nullopt;
    int64_t ms = 0;
    for (char c : digits) ms = ms * 10 + (c - '0');
    if (ms <= 0) return std::nullopt;
    return ms;
  }
  auto seconds = parse_duration(text);
  if (!seconds.ok() || *seconds <= 0 || *seconds > INT64_MAX / 1000) return std::nullopt;
  return *seconds * 1000;
}

bool has_nul(const std::string& s) { return s.find('\0') != std::string::npos; }

// Reads `with:` into a Spec; every problem found is appended, one sentence
// each. Returns nullopt when there was any.
std::optional<Spec> read_spec(const Json& with, std::vector<std::string>& problems) {
  size_t before = problems.size();
  Spec spec;
  const Json& run = with.get("run");
  if (run.is_null()) {
    problems.push_back("exec needs `run:` in `with:`: the program to run and its arguments");
  } else if (run.is_string()) {
    spec.argv.push_back(run.as_string());
  } else if (run.is_array()) {
    const JsonArray& items = run.as_array();
    for (size_t i = 0; i < items.size(); ++i) {
      if (!items[i].is_string())
        problems.push_back(fmt::format("exec: item {} of `run:` must be text", i + 1));
      else
        spec.argv.push_back(items[i].as_string());
    }
  } else {
    problems.push_back("exec: `run:` must be a program name or a list of the program and its arguments");
  }
  if (problems.size() == before) {
    if (spec.argv.empty() || spec.argv[0].empty())
      problems.push_back("exec: `run:` must name a program to run");
    for (size_t i = 0; i < spec.argv.size(); ++i)
      if (has_nul(spec.argv[i]))
        problems.push_back(fmt::format("exec: item {} of `run:` contains a NUL character", i + 1));
  }

  const Json& timeout = with.get("timeout");
  if (!timeout.is_null()) {
    std::optional<int64_t> ms;
    if (timeout.is_string()) ms = parse_timeout_ms(timeout.as_string());
    if (ms) {
      spec.timeout_ms = *ms;
      spec.timeout_text = timeout.as_string();
    } else {
      problems.push_back(fmt::format("exec: `timeout:` {} is not a duration like 30s, 2m or 500ms",
                                     timeout.is_string() ? "\"" + timeout.as_string() + "\"" : timeout.dump()));
    }
  }

  const Json& env = with.get("env");
  if (!env.is_null()) {
    if (env.is_array()) {
      const JsonArray& names = env.as_array();
      for (size_t i = 0; i < names.size(); ++i) {
        if (!names[i].is_string() || !plain_name(names[i].as_string()))
          problems.push_back(fmt::format("exec: item {} of `env:` must be an environment variable name "
                                         "(letters, digits and _)",
                                         i + 1));
        else if (steers_code(names[i].as_string()))
          problems.push_back(fmt::format("exec: `env:` cannot pass `{}` through from the caller: it would let "
                                         "whoever runs the step choose what code runs; set it as a literal value "
                                         "(env: {{{}: ...}}) instead",
                                         names[i].as_string(), names[i].as_string()));
        else
          spec.pass.push_back(names[i].as_string());
      }
    } else if (!env.is_object()) {
      problems.push_back(
          "exec: `env:` must be a mapping of environment variable names to text, or a list of names to pass "
          "through");
    } else {
      for (const auto& [name, value] : env.as_object()) {
        if (name.empty() || name.find('=') != std::string::npos || has_nul(name))
          problems.push_back(fmt::format("exec: `{}` in `env:` is not a valid environment variable name", name));
        else if (!value.is_string())
          problems.push_back(fmt::format("exec: `env:` `{}` must be text", name));
        else if (has_nul(value.as_string()))
          problems.push_back(fmt::format("exec: `env:` `{}` contains a NUL character", name));
        else
          spec.env.emplace_back(name, value.as_string());
      }
    }
  }
  if (problems.size() != before) return std::nullopt;
  return spec;
}

// The names in `outputs:`, or a problem.
std::vector<std::string> declared_outputs(const Json& with, std::vector<std::string>* problems) {
  std::vector<std::string> names;
  const Json& outputs = with.get("outputs");
  if (outputs.is_null()) return names;
  bool bad = !outputs.is_array();
  if (!bad) {
    for (const Json& name : outputs.as_array()) {
      if (!name.is_string() || name.as_string().empty())
        bad = true;
      else
        names.push_back(name.as_string());
    }
  }
  if (bad && problems != nullptr) problems->push_back("exec: `outputs:` must be a list of variable names");
  return names;
}

// ------------------------------------------------------------------- process

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }
  int get() const { return fd_; }
  bool open() const { return fd_ >= 0; }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

// A pipe whose both ends are O_CLOEXEC and above 0..2, so that the child's
// dup2 onto 0, 1 and 2 never overwrites another of our ends (when this
// process was started with a standard descriptor closed).
bool make_pipe(Fd& read_end, Fd& write_end) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return false;
  for (int& fd : fds) {
    if (fd <= 2) {
      int moved = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
      ::close(fd);
      fd = moved;
    }
  }
  read_end.reset(fds[0]);
  write_end.reset(fds[1]);
  return read_end.open() && write_end.open();
}

void set_nonblocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

// Blocks SIGPIPE in this thread for its lifetime; a SIGPIPE our writes raised
// meanwhile is consumed before the old mask comes back.
class SigpipeBlock {
 public:
  SigpipeBlock() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    sigset_t pending;
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
  }
  ~SigpipeBlock() {
    if (!was_pending_) {
      sigset_t pending;
      sigpending(&pending);
      if (sigismember(&pending, SIGPIPE) == 1) {
        timespec zero{};
        while (sigtimedwait(&pipe_, nullptr, &zero) < 0 && errno == EINTR) {
        }
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  SigpipeBlock(const SigpipeBlock&) = delete;
  SigpipeBlock& operator=(const SigpipeBlock&) = delete;

 private:
  sigset_t pipe_;
  sigset_t old_;
  bool was_pending_ = false;
};

// ------------------------------------------------- descendants outside the group

// The programs of the steps running now, which end_strays must leave alone.
std::mutex g_leaders_mutex;
std::set<pid_t> g_leaders;

// Makes this process the reaper of its orphaned descendants (Linux), once.
void become_subreaper() {
#ifdef __linux__
  static std::once_flag once;
  std::call_once(once, [] { ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); });
#endif
}

// The parent pid in /proc/PID/stat, or -1. The command name (field 2) may
// hold spaces and parentheses: the fields after it follow the last ')'.
pid_t parent_of(const std::string& pid) {
  std::ifstream in("/proc/" + pid + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t close = stat.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream rest(stat.substr(close + 1));
  std::string state;
  long ppid = -1;
  rest >> state >> ppid;
  return rest ? static_cast<pid_t>(ppid) : -1;
}

// Kills and reaps every child of this process that is not a running step's
// program: after a step has ended, those are its descendants that left the
// process group and were reparented here (become_subreaper). Killing one
// reparents its own children here, so this repeats until none is left. A
// child's pid cannot be reused before it is reaped, so no stranger is hit.
void end_strays() {
#ifdef __linux__
  const pid_t self = ::getpid();
  for (int round = 0; round < 10'000; ++round) {
    // No child at all (the usual case): nothing to look for in /proc.
    siginfo_t info{};
    if (::waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) < 0 && errno == ECHILD) return;
    std::vector<pid_t> strays;
    std::error_code ec;
    for (std::filesystem::directory_iterator it("/proc", ec), end; !ec && it != end; it.increment(ec)) {
      const std::string name = it->path().filename().string();
      if (name.empty() || !std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; }))
        continue;
      if (parent_of(name) != self) continue;
      const pid_t pid = static_cast<pid_t>(std::stol(name));
      std::lock_guard<std::mutex> lock(g_leaders_mutex);
      if (!g_leaders.count(pid)) strays.push_back(pid);
    }
    if (strays.empty()) return;
    for (pid_t pid : strays) ::kill(pid, SIGKILL);
    for (pid_t pid : strays) {
      while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
      }
    }
  }
#endif
}

// The spawned child: kills its process group and reaps it unless that was
// done already, whatever path leaves run_program; then ends the strays.
class Child {
 public:
  // REQUIRES: pid is in g_leaders (put there under the lock, with the spawn).
  explicit Child(pid_t pid) : pid_(pid) {}
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child() {
    if (!reaped_) finish();
  }

  // True once the leader has exited (it stays a zombie until finish()).
  bool exited() const {
    siginfo_t info{};
    info.si_pid = 0;
    while (::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) != 0) {
      if (errno != EINTR) return true;  // ECHILD: nothing left to wait for
    }
    return info.si_pid == pid_;
  }

  // Kills whatever is left of the process group, reaps the leader and
  // returns its wait status; nullopt when it was reaped elsewhere (SIGCHLD
  // ignored in this process).
  std::optional<int> finish() {
    ::kill(-pid_, SIGKILL);
    int status = 0;
    pid_t got;
    while ((got = ::waitpid(pid_, &status, 0)) < 0 && errno == EINTR) {
    }
    reaped_ = true;
    {
      std::lock_guard<std::mutex> lock(g_leaders_mutex);
      g_leaders.erase(pid_);
    }
    end_strays();
    if (got != pid_) return std::nullopt;
    return status;
  }

 private:
  pid_t pid_;
  bool reaped_ = false;
};

struct Run {
  int spawn_error = 0;   // errno of posix_spawnp, or of a pipe/poll failure
  bool spawned = false;
  bool timed_out = false;
  bool too_much = false;
  std::optional<int> status;  // wait status, when spawned and neither of the above
  std::string out;
  std::string err;       // the first kStderrKept bytes
};

// The program's whole environment (the header says why it is not ours):
// PATH, LANG and TZ, then the names the step passes through (when set
// here), then its literal values, each replacing an earlier one of its name.
std::vector<std::string> child_environment(const Spec& spec) {
  std::vector<std::pair<std::string, std::string>> vars;
  auto put = [&](const std::string& name, std::string value) {
    auto it = std::find_if(vars.begin(), vars.end(), [&](const auto& kv) { return kv.first == name; });
    if (it != vars.end())
      it->second = std::move(value);
    else
      vars.emplace_back(name, std::move(value));
  };
  put("PATH", std::string(kSafePath));
  const char* lang = std::getenv("LANG");
  put("LANG", lang != nullptr && *lang != '\0' ? lang : std::string(kDefaultLang));
  if (const char* tz = std::getenv("TZ"); tz != nullptr) put("TZ", tz);
  for (const auto& name : spec.pass)
    if (const char* value = std::getenv(name.c_str()); value != nullptr) put(name, value);
  for (const auto& [name, value] : spec.env) put(name, value);
  std::vector<std::string> env;
  for (auto& [name, value] : vars) env.push_back(name + "=" + value);
  return env;
}

// Runs `program` (a path: nothing is searched) with spec's arguments, in
// `directory` unless it is empty.
Run run_program(const Spec& spec, const std::string& program, const std::string& directory,
                const std::string& input) {
  using Clock = std::chrono::steady_clock;
  Run r;
  Fd in_read, in_write, out_read, out_write, err_read, err_write;
  if (!make_pipe(in_read, in_write) || !make_pipe(out_read, out_write) || !make_pipe(err_read, err_write)) {
    r.spawn_error = errno ? errno : EMFILE;
    return r;
  }

  std::vector<std::string> env = child_environment(spec);
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = spec.argv;
  args[0] = program;
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  // Blocked before the spawn, so the child's mask is set explicitly below.
  SigpipeBlock sigpipe;

  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_init(&attr);
  posix_spawn_file_actions_adddup2(&actions, in_read.get(), 0);
  posix_spawn_file_actions_adddup2(&actions, out_write.get(), 1);
  posix_spawn_file_actions_adddup2(&actions, err_write.get(), 2);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
#endif
  if (!directory.empty()) posix_spawn_file_actions_addchdir_np(&actions, directory.c_str());
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setpgroup(&attr, 0);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  // Ignored signals survive exec; the program gets the usual defaults.
  sigset_t defaults;
  sigemptyset(&defaults);
  for (int sig : {SIGPIPE, SIGINT, SIGQUIT, SIGTERM, SIGHUP, SIGCHLD, SIGUSR1, SIGUSR2, SIGALRM})
    sigaddset(&defaults, sig);
  posix_spawnattr_setsigdefault(&attr, &defaults);

  become_subreaper();
  pid_t pid = 0;
  int rc;
  {
    // Registered before any end_strays can see it as a child.
    std::lock_guard<std::mutex> lock(g_leaders_mutex);
    rc = posix_spawn(&pid, program.c_str(), &actions, &attr, argv.data(), envp.data());
    if (rc == 0) g_leaders.insert(pid);
  }
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  in_read.reset();
  out_write.reset();
  err_write.reset();
  if (rc != 0) {
    r.spawn_error = rc;
    return r;
  }
  r.spawned = true;
  Child child(pid);

  set_nonblocking(in_write.get());
  set_nonblocking(out_read.get());
  set_nonblocking(err_read.get());
  const auto deadline = Clock::now() + std::chrono::milliseconds(spec.timeout_ms);
  auto remaining_ms = [&]() -> int64_t {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    return std::max<int64_t>(left, 0);
  };

  size_t written = 0;
  if (input.empty()) in_write.reset();
  char buf[65536];
  while (in_write.open() || out_read.open() || err_read.open()) {
    int64_t left = remaining_ms();
    if (left == 0) {
      r.timed_out = true;
      break;
    }
    pollfd fds[3];
    nfds_t n = 0;
    int in_at = -1, out_at = -1, err_at = -1;
    if (in_write.open()) fds[in_at = static_cast<int>(n++)] = {in_write.get(), POLLOUT, 0};
    if (out_read.open()) fds[out_at = static_cast<int>(n++)] = {out_read.get(), POLLIN, 0};
    if (err_read.open()) fds[err_at = static_cast<int>(n++)] = {err_read.get(), POLLIN, 0};
    int ready = ::poll(fds, n, static_cast<int>(std::min<int64_t>(left, INT_MAX)));
    if (ready < 0) {
      if (errno == EINTR) continue;
      r.spawn_error = errno;
      break;
    }
    if (in_at >= 0 && fds[in_at].revents != 0) {
      ssize_t k = ::write(in_write.get(), input.data() + written, input.size() - written);
      if (k > 0) written += static_cast<size_t>(k);
      // EPIPE (the program does not read stdin) or any other error: stop writing.
      if ((k < 0 && errno != EAGAIN && errno != EINTR) || written == input.size()) in_write.reset();
    }
    if (out_at >= 0 && fds[out_at].revents != 0) {
      ssize_t k = ::read(out_read.get(), buf, sizeof buf);
      if (k > 0) {
        r.out.append(buf, static_cast<size_t>(k));
        if (r.out.size() > kMaxStdout) {
          r.too_much = true;
          break;
        }
      } else if (k == 0 || (errno != EAGAIN && errno != EINTR)) {
        out_read.reset();
      }
    }
    if (err_at >= 0 && fds[err_at].revents != 0) {
      ssize_t k = ::read(err_read.get(), buf, sizeof buf);
      if (k > 0) {
        if (r.err.size() < kStderrKept)
          r.err.append(buf, std::min(static_cast<size_t>(k), kStderrKept - r.err.size()));
      } else if (k == 0 || (errno != EAGAIN && errno != EINTR)) {
        err_read.reset();
      }
    }
  }

  // Both outputs are closed: wait, still within the deadline, for the exit.
  if (!r.timed_out && !r.too_much && r.spawn_error == 0) {
    auto pause = std::chrono::milliseconds(1);
    while (!child.exited()) {
      if (remaining_ms() == 0) {
        r.timed_out = true;
        break;
      }
      std::this_thread::sleep_for(std::min(pause, std::chrono::milliseconds(remaining_ms())));
      pause = std::min(pause * 2, std::chrono::milliseconds(50));
    }
  }
  r.status = child.finish();
  return r;
}

// ------------------------------------------------------------------- results

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// Valid UTF-8 of at most `limit` bytes, cut at a character boundary; invalid
// bytes and control characters become '?'.
std::string clean_text(std::string_view s, size_t limit) {
  std::string out;
  size_t i = 0;
  while (i < s.size()) {
    const size_t start = i;
    const int32_t cp = next_code_point(s, i);  // an invalid byte: -1, one byte
    const size_t len = i - start;
    if (out.size() + len > limit) {
      out += "…";
      break;
    }
    if (cp < 0x20 || cp == 0x7F)
      out += '?';
    else
      out.append(s.substr(start, len));
  }
  return out;
}

// The first non-empty line of stderr, trimmed, or "no message".
std::string reason(std::string_view err) {
  while (!err.empty()) {
    size_t end = err.find('\n');
    std::string_view line = trim(err.substr(0, end));
    if (!line.empty()) return clean_text(line, kReasonMax);
    if (end == std::string_view::npos) break;
    err.remove_prefix(end + 1);
  }
  return "no message";
}

std::string_view kind_name(const Json& j) {
  switch (j.kind()) {
    case Json::Kind::null: return "null";
    case Json::Kind::boolean: return "true or false";
    case Json::Kind::integer:
    case Json::Kind::real: return "a number";
    case Json::Kind::string: return "a string";
    case Json::Kind::array: return "an array";
    case Json::Kind::object: return "an object";
  }
  return "a value";
}

std::string spawn_failure(const std::string& program, int error) {
  switch (error) {
    case ENOENT: return fmt::format("exec: program `{}` does not exist", program);
    case EACCES:
    case EPERM: return fmt::format("exec: `{}` is not executable (permission denied)", program);
    case ENOEXEC: return fmt::format("exec: `{}` is not a program this system can run", program);
    default: return fmt::format("exec: cannot run `{}`: {}", program, std::strerror(error));
  }
}

// What a variable's value is, for the type check of outputs: numbers are
// one kind whether integer or not.
Json::Kind kind_of(const Json& j) { return j.kind() == Json::Kind::real ? Json::Kind::integer : j.kind(); }

// Reads the program's answer into r, or says what is wrong with it. Only the
// `declared` outputs may be set, and one that the instance already holds
// keeps its kind (a flag stays true or false, a number a number).
std::optional<std::string> read_answer(const std::string& program, const std::string& out,
                                       const std::vector<std::string>& declared, const JsonObject* variables,
                                       HandlerResult& r) {
  if (trim(out).empty()) return std::nullopt;
  auto answer = parse_json(out);
  if (!answer.ok())
    return fmt::format("exec: `{}` printed invalid JSON on stdout: {}", program, answer.error().message);
  if (!answer->is_object())
    return fmt::format("exec: `{}` printed {} on stdout, not a JSON object", program, kind_name(*answer));
  for (auto& [name, value] : answer->as_object()) {
    if (name == "messages") {
      if (!value.is_array()) return fmt::format("exec: `{}` printed `messages` that is not an array", program);
      const JsonArray& items = value.as_array();
      for (size_t i = 0; i < items.size(); ++i) {
        const Json& m = items[i];
        if (!m.get("to").is_string() || m.get("to").as_string().empty() || !m.get("text").is_string())
          return fmt::format("exec: `{}` printed message {} without `to` and `text` text", program, i + 1);
        Json message = Json::object();
        message["to"] = m.get("to");
        message["text"] = m.get("text");
        r.messages.push_back(std::move(message));
      }
    } else if (name == "records") {
      if (!value.is_array()) return fmt::format("exec: `{}` printed `records` that is not an array", program);
      const JsonArray& items = value.as_array();
      for (size_t i = 0; i < items.size(); ++i) {
        if (!items[i].get("op").is_string())
          return fmt::format("exec: `{}` printed record {} that is not an object with an `op`", program, i + 1);
        r.records.push_back(items[i]);
      }
    } else if (std::find(declared.begin(), declared.end(), name) == declared.end()) {
      const std::string shown = clean_text(name, 60);
      if (declared.empty())
        return fmt::format("exec: `{}` printed `{}`, but the step declares no `outputs:`; a program sets only the "
                           "variables its step lists there",
                           program, shown);
      return fmt::format("exec: `{}` printed `{}`, which is not one of the step's `outputs:`", program, shown);
    } else {
      const Json* held = nullptr;
      if (variables != nullptr) {
        auto it = variables->find(name);
        if (it != variables->end() && !it->second.is_null()) held = &it->second;
      }
      if (held != nullptr && kind_of(*held) != kind_of(value))
        return fmt::format("exec: `{}` printed `{}` as {}, but the variable holds {}", program, name,
                           kind_name(value), kind_name(*held));
      r.outputs[name] = std::move(value);
    }
  }
  return std::nullopt;
}

// ------------------------------------------------------------------ pinning

// The SHA-256 of a file's bytes, or the errno of why it cannot be read.
struct FileHash {
  std::string hex;
  int error = 0;
};

FileHash hash_file(const std::string& path) {
  FileHash h;
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.open()) {
    h.error = errno;
    return h;
  }
  std::string bytes;
  char buf[65536];
  for (;;) {
    ssize_t k = ::read(fd.get(), buf, sizeof buf);
    if (k < 0 && errno == EINTR) continue;
    if (k < 0) {
      h.error = errno;
      return h;
    }
    if (k == 0) break;
    bytes.append(buf, static_cast<size_t>(k));
  }
  h.hex = sha256_hex(bytes);
  return h;
}

// A bare program name looked up in kSafePath: the first executable regular
// file of that name, or "".
std::string find_in_safe_path(const std::string& name) {
  std::string_view dirs = kSafePath;
  while (!dirs.empty()) {
    size_t colon = dirs.find(':');
    std::string candidate = std::string(dirs.substr(0, colon)) + "/" + name;
    std::error_code ec;
    if (std::filesystem::is_regular_file(candidate, ec) && ::access(candidate.c_str(), X_OK) == 0) return candidate;
    if (colon == std::string_view::npos) break;
    dirs.remove_prefix(colon + 1);
  }
  return {};
}

// At deploy: {"program": CANONICAL PATH, "sha256": HEX} for the program
// `run:` names, or null with a problem appended.
Json pin_program(const std::string& written, const std::string& bundle_dir, std::vector<std::string>& problems) {
  namespace fs = std::filesystem;
  fs::path candidate;
  if (written.find('/') == std::string::npos) {
    candidate = find_in_safe_path(written);
    if (candidate.empty()) {
      problems.push_back(fmt::format(
          "exec: program `{}` was not found in {}; a name without a slash is looked up there, never in the caller's "
          "PATH (write a path relative to the bundle, like bin/{}, for the bundle's own programs)",
          written, kSafePath, written));
      return Json();
    }
  } else if (written.front() == '/') {
    candidate = written;
  } else {
    candidate = fs::path(bundle_dir) / written;
  }
  std::error_code ec;
  fs::path real = fs::canonical(candidate, ec);
  if (ec) {
    problems.push_back(written.front() == '/' || written.find('/') == std::string::npos
                           ? fmt::format("exec: program `{}` does not exist", written)
                           : fmt::format("exec: program `{}` does not exist (relative to the bundle: {})", written,
                                         candidate.generic_string()));
    return Json();
  }
  if (!fs::is_regular_file(real, ec)) {
    problems.push_back(fmt::format("exec: program `{}` is not a regular file", written));
    return Json();
  }
  if (::access(real.c_str(), X_OK) != 0) {
    problems.push_back(fmt::format("exec: program `{}` is not executable", written));
    return Json();
  }
  FileHash h = hash_file(real.string());
  if (h.error != 0) {
    problems.push_back(fmt::format("exec: program `{}` cannot be read: {}", written, std::strerror(h.error)));
    return Json();
  }
  Json pin = Json::object();
  pin["program"] = Json(real.string());
  pin["sha256"] = Json(h.hex);
  // The program's working directory: the bundle's, not the caller's.
  if (fs::path dir = fs::canonical(bundle_dir, ec); !ec) pin["directory"] = Json(dir.string());
  return pin;
}

// At run time: the pinned program's path when the file still has the
// recorded hash; otherwise why it must not run.
struct Verified {
  std::string program;
  std::string directory;  // where it runs; empty: ours (a record made without one)
  std::optional<std::string> refusal;
};

Verified verify_program(const HandlerCall& call) {
  Verified v;
  const Json* pinned = call.pinned;
  if (pinned == nullptr || !pinned->get("program").is_string() || !pinned->get("sha256").is_string()) {
    v.refusal = fmt::format("exec: no program was recorded for step {} when process {} was deployed; redeploy the "
                            "process (reglament deploy) so that its program is resolved and hashed",
                            quote_for_message(call.step), quote_for_message(call.process));
    return v;
  }
  v.program = pinned->get("program").as_string();
  FileHash h = hash_file(v.program);
  if (h.error != 0)
    v.refusal = fmt::format("exec: program `{}`, recorded when the process was deployed, cannot be read ({}); "
                            "restore it, or redeploy the process",
                            v.program, std::strerror(h.error));
  else if (h.hex != pinned->get("sha256").as_string())
    v.refusal = fmt::format("exec: program `{}` changed since the process was deployed (its SHA-256 is not the "
                            "recorded one), so it is not run; redeploy the process to accept the new program",
                            v.program);
  else if (pinned->get("directory").is_string()) {
    v.directory = pinned->get("directory").as_string();
    std::error_code ec;
    if (!std::filesystem::is_directory(v.directory, ec))
      v.refusal = fmt::format("exec: the bundle's directory `{}`, where `{}` runs, no longer exists; restore it, "
                              "or redeploy the process",
                              v.directory, v.program);
  }
  return v;
}

class ExecHandler : public TaskHandler {
 public:
  HandlerResult run(const HandlerCall& call) const override {
    try {
      return run_checked(call);
    } catch (const std::exception& e) {
      return HandlerResult::failure(fmt::format("exec: internal error: {}", e.what()));
    } catch (...) {
      return HandlerResult::failure("exec: internal error");
    }
  }

  std::vector<std::string> check(const Json& with) const override {
    std::vector<std::string> problems;
    if (!with.is_object()) {
      problems.push_back("exec needs `run:` in `with:`: the program to run and its arguments");
      return problems;
    }
    (void)read_spec(with, problems);
    declared_outputs(with, &problems);
    for (const auto& [key, value] : with.as_object())
      if (std::find(std::begin(kKeys), std::end(kKeys), key) == std::end(kKeys))
        problems.push_back(fmt::format(
            "exec takes `run:`, `timeout:`, `env:` and `outputs:` in `with:`, not `{}:`", key));
    return problems;
  }

  std::vector<std::string> outputs(const Json& with) const override { return declared_outputs(with, nullptr); }

  Json pin(const Json& with, const std::string& bundle_dir, std::vector<std::string>& problems) const override {
    if (!with.is_object()) return Json();
    std::vector<std::string> reported;  // by check() already
    auto spec = read_spec(with, reported);
    if (!spec) return Json();
    return pin_program(spec->argv[0], bundle_dir, problems);
  }

 private:
  static HandlerResult run_checked(const HandlerCall& call) {
    static const Json kNoWith;
    const Json& with = call.with != nullptr ? *call.with : kNoWith;
    std::vector<std::string> problems;
    auto spec = read_spec(with, problems);
    if (!spec) return HandlerResult::failure(problems.front());
    Verified verified = verify_program(call);
    if (verified.refusal) return HandlerResult::failure(std::move(*verified.refusal));
    const std::string& program = verified.program;

    Json input = Json::object();
    input["instance"] = Json(call.instance);
    input["process"] = Json(call.process);
    input["step"] = Json(call.step);
    input["job"] = Json(call.job);
    input["idempotency_key"] = Json(call.job);
    input["attempt"] = Json(call.attempt);
    input["at"] = Json(call.at);
    input["with"] = with;
    input["variables"] = call.variables != nullptr ? Json(*call.variables) : Json::object();

    Run run = run_program(*spec, program, verified.directory, input.dump() + "\n");
    if (!run.spawned) return HandlerResult::failure(spawn_failure(program, run.spawn_error));
    if (run.timed_out)
      return HandlerResult::failure(
          fmt::format("exec: `{}` did not finish within {}", program, spec->timeout_text));
    if (run.too_much)
      return HandlerResult::failure(fmt::format("exec: `{}` printed more than 1 MiB on stdout", program));
    if (run.spawn_error != 0)
      return HandlerResult::failure(
          fmt::format("exec: lost track of `{}`: {}", program, std::strerror(run.spawn_error)));
    if (!run.status)
      return HandlerResult::failure(fmt::format("exec: cannot learn how `{}` ended: its exit status was "
                                                "collected elsewhere (SIGCHLD ignored?)", program));
    int status = *run.status;
    if (WIFSIGNALED(status))
      return HandlerResult::failure(
          fmt::format("exec: `{}` was killed by signal {}", program, WTERMSIG(status)));
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
      return HandlerResult::failure(fmt::format("exec: `{}` exited with status {}: {}", program,
                                                WEXITSTATUS(status), reason(run.err)));
    HandlerResult r;
    if (auto problem = read_answer(program, run.out, declared_outputs(with, nullptr), call.variables, r))
      return HandlerResult::failure(std::move(*problem));
    return r;
  }
};

}  // namespace

std::unique_ptr<TaskHandler> make_exec_handler() { return std::make_unique<ExecHandler>(); }

}  // namespace reglament
