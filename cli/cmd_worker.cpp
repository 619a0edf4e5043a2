#include "cli/cmd_worker.h"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <ctime>
#include <memory>
#include <optional>
#include <string>

#include <poll.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <fmt/format.h>

#include "cli/cmd_tick.h"
#include "engine/calendar.h"
#include "engine/runtime.h"

namespace reglament {

namespace {

// A file descriptor closed on scope exit.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

std::string directory_of(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string base_name(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// True when an inotify event names the database or its WAL (a commit by
// anyone); reads touch neither, so the worker is not woken by readers.
bool drain_inotify(int fd, const std::string& db_name) {
  alignas(inotify_event) char buf[4096];
  bool relevant = false;
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    for (char* p = buf; p < buf + n;) {
      auto* ev = reinterpret_cast<inotify_event*>(p);
      if (ev->len > 0) {
        std::string name(ev->name);
        if (name == db_name || name == db_name + "-wal") relevant = true;
      }
      p += sizeof(inotify_event) + ev->len;
    }
  }
  return relevant;
}

// The earliest moment after `now` at which something will be due: a wait or
// a deadline, or the next occurrence of a schedule.
Result<std::optional<int64_t>> next_wakeup(SqliteStore& store, int64_t now) {
  auto due = store.next_due();
  if (!due) return due.error();
  std::optional<int64_t> next = *due;
  auto scheduled = store.scheduled_processes();
  if (!scheduled) return scheduled.error();
  auto calendar = store.calendar();
  if (!calendar) return calendar.error();
  for (const auto& sp : *scheduled) {
    if (!sp.def.process->schedule) continue;
    int64_t occurrence = next_occurrence(**calendar, *sp.def.process->schedule, std::max(sp.since, now));
    if (!next || occurrence < *next) next = occurrence;
  }
  return next;
}

// A commit reaches the WAL as a burst of writes (a dozen pages or more, each
// its own inotify event), and a busy database commits many times a second.
// Woken by the first write, the worker lets the burst end — kQuietMs without
// a write to the database, or kSettleMaxMs at most — before it ticks, so it
// ticks once per burst, not once per write: measured in the concurrency test
// at ~100 commits/s, 6,439 wakes in 16 s without this (4 per commit).
constexpr int kQuietMs = 10;
constexpr int kSettleMaxMs = 100;

void settle(int fd, const std::string& db_name) {
  for (int waited = 0; waited < kSettleMaxMs; waited += kQuietMs) {
    pollfd p{fd, POLLIN, 0};
    const int rc = ::poll(&p, 1, kQuietMs);
    if (rc <= 0) return;  // quiet (or interrupted): tick now
    if (!drain_inotify(fd, db_name)) return;
  }
}

}  // namespace

void setup_worker(CLI::App& app, Ctx& ctx) {
  auto opt = std::make_shared<WorkerOptions>();
  CLI::App* sub = app.add_subcommand(
      "worker", "Run tick continuously on the system clock, sleeping until the next due moment");
  sub->add_option("--max-sleep", opt->max_sleep, "Longest sleep without a wake-up (default 60s)");
  sub->add_option("--for", opt->run_for, "Stop after this long (e.g. 10m); default: until SIGINT/SIGTERM");
  sub->callback([&ctx, opt] { ctx.action = [&ctx, opt] { return run_worker(ctx, *opt); }; });
}

int run_worker(Ctx& ctx, const WorkerOptions& opt) {
  if (!ctx.now_from_clock) {
    return fail(ErrorCode::invalid,
                "the worker runs on the system clock; use `reglament tick --now T` to act at a given moment");
  }
  auto max_sleep = parse_duration(opt.max_sleep);
  if (!max_sleep) return fail(ErrorCode::invalid, fmt::format("--max-sleep {}", max_sleep.error().message));
  std::optional<int64_t> stop_at;
  if (!opt.run_for.empty()) {
    auto d = parse_duration(opt.run_for);
    if (!d) return fail(ErrorCode::invalid, fmt::format("--for {}", d.error().message));
    stop_at = static_cast<int64_t>(std::time(nullptr)) + *d;
  }
  auto store = ctx.store();
  if (!store) return fail(store.error());

  // Signals arrive as readable data on a descriptor, so a sleep ends on them
  // and the current tick always finishes its transaction first.
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGTERM);
  if (sigprocmask(SIG_BLOCK, &mask, nullptr) != 0)
    return fail(ErrorCode::internal, "cannot block SIGINT and SIGTERM for the worker");
  Fd signals(signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC));
  if (signals.get() < 0) return fail(ErrorCode::internal, "cannot create a signal descriptor for the worker");
  Fd watch(inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
  const std::string db_name = base_name(ctx.db);
  bool watching = watch.get() >= 0 &&
                  inotify_add_watch(watch.get(), directory_of(ctx.db).c_str(), IN_MODIFY | IN_CREATE | IN_MOVED_TO) >= 0;

  Runtime runtime(**store, ctx.handlers());
  DefinitionCache defs(**store);
  print_line(fmt::format("worker on {}: started at {}{}", ctx.db, system_now(),
                         watching ? "" : " (no inotify: waking at least every --max-sleep)"));
  int ticks = 0;
  for (;;) {
    const std::string now_text = system_now();
    auto report = runtime.tick(now_text);
    if (!report) {
      // A busy database (another writer held the lock past the busy
      // timeout) is passing: say so and try again; anything else stops.
      if (report.error().code != ErrorCode::conflict) return fail(report.error());
      fail(report.error());
      if (stop_at && static_cast<int64_t>(std::time(nullptr)) >= *stop_at) break;
      ::sleep(1);
      continue;
    }
    ++ticks;
    TickLines t = describe_tick(*report, defs);
    for (const auto& l : t.lines) print_line(fmt::format("{} {}", short_time(now_text), l));
    for (const Error& e : report->problems) fail(e);  // the worker goes on with the rest

    const int64_t now = static_cast<int64_t>(std::time(nullptr));
    if (stop_at && now >= *stop_at) break;
    auto wake = next_wakeup(**store, now);
    if (!wake) return fail(wake.error());
    int64_t sleep_s = *max_sleep;
    if (*wake) sleep_s = std::clamp<int64_t>(**wake - now, 0, *max_sleep);
    if (stop_at) sleep_s = std::min(sleep_s, *stop_at - now);
    // Something due within the second: go round at once (the next tick
    // reads the clock again) rather than sleep zero in a tight loop.
    if (sleep_s == 0 && *wake && **wake > now) sleep_s = 1;
    if (sleep_s == 0) continue;

    // Sleep until the moment, a signal, or a commit to the database by
    // anyone (other files in the directory, and readers, do not wake it).
    const int64_t wake_at = now + sleep_s;
    for (;;) {
      const int64_t left = wake_at - static_cast<int64_t>(std::time(nullptr));
      if (left <= 0) break;
      pollfd fds[2] = {{signals.get(), POLLIN, 0}, {watching ? watch.get() : -1, POLLIN, 0}};
      int rc = ::poll(fds, 2, static_cast<int>(std::min<int64_t>(left, 24 * 3600) * 1000));
      if (rc < 0 && errno != EINTR) return fail(ErrorCode::internal, "the worker's poll failed");
      if (rc > 0 && (fds[0].revents & POLLIN)) {
        signalfd_siginfo info{};
        (void)::read(signals.get(), &info, sizeof info);
        print_line(fmt::format("worker stopping on signal {} after {} ticks", info.ssi_signo, ticks));
        return kExitOk;
      }
      if (rc > 0 && (fds[1].revents & POLLIN) && drain_inotify(watch.get(), db_name)) {
        settle(watch.get(), db_name);
        break;
      }
    }
  }
  print_line(fmt::format("worker stopping after {} ticks", ticks));
  return kExitOk;
}

}  // namespace reglament
