// What the workloads share: sizes, timing, the simulated clock, the bundles,
// the driver of section 3.1, and child processes.
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "bench/bench.h"

namespace reglament::bench {

namespace fs = std::filesystem;

// ---- Figures and sizes ----------------------------------------------------------

std::vector<Figure> medians(const std::vector<std::vector<Figure>>& runs) {
  if (runs.empty()) return {};
  std::vector<Figure> out = runs.front();
  for (size_t i = 0; i < out.size(); ++i) {
    std::vector<double> values;
    for (const auto& run : runs)
      if (i < run.size()) values.push_back(run[i].value);
    out[i].value = percentile(values, 50);
  }
  return out;
}

Sizes Sizes::smoke() {
  Sizes s;
  s.w0_commits = 200;
  s.w1_instances = 40;
  s.w1_full_instances = 10;
  s.w1_window = 8;
  s.w2_instances = 60;
  s.w2_batch = 10;
  s.w3_tasks = 3000;
  s.w3_people = 20;
  s.w3_queries = 20;
  s.w3_claims = 10;
  s.w4_min_events = 1000;
  s.w5_instances = 100;
  s.w5_runs = 2;
  s.w6_sizes = {30, 100};
  s.repeat = 1;
  return s;
}

Status Sizes::set(const std::string& assignment) {
  const size_t eq = assignment.find('=');
  if (eq == std::string::npos)
    return make_error(ErrorCode::invalid, fmt::format("--size \"{}\" must have the form NAME=VALUE", assignment));
  const std::string name = assignment.substr(0, eq);
  const std::string value = assignment.substr(eq + 1);
  if (name == "w6_sizes") {
    std::vector<int> sizes;
    size_t start = 0;
    while (start <= value.size()) {
      size_t comma = value.find(',', start);
      if (comma == std::string::npos) comma = value.size();
      try {
        sizes.push_back(std::stoi(value.substr(start, comma - start)));
      } catch (const std::exception&) {
        return make_error(ErrorCode::invalid, fmt::format("--size w6_sizes takes numbers separated by commas"));
      }
      start = comma + 1;
    }
    w6_sizes = sizes;
    return {};
  }
  int number = 0;
  try {
    size_t used = 0;
    number = std::stoi(value, &used);
    if (used != value.size() || number <= 0) throw std::invalid_argument(value);
  } catch (const std::exception&) {
    return make_error(ErrorCode::invalid, fmt::format("--size {} takes a positive whole number, not \"{}\"", name, value));
  }
  std::map<std::string, int*> fields{
      {"w0_commits", &w0_commits},         {"w1_instances", &w1_instances}, {"w1_full_instances", &w1_full_instances},
      {"w1_window", &w1_window},           {"w2_instances", &w2_instances}, {"w2_batch", &w2_batch},
      {"w3_tasks", &w3_tasks},             {"w3_people", &w3_people},       {"w3_queries", &w3_queries},
      {"w3_claims", &w3_claims},           {"w4_min_events", &w4_min_events}, {"w5_instances", &w5_instances},
      {"w5_runs", &w5_runs},               {"repeat", &repeat}};
  auto it = fields.find(name);
  if (it == fields.end()) return make_error(ErrorCode::invalid, fmt::format("--size: there is no size \"{}\"", name));
  *it->second = number;
  return {};
}

// ---- Timing -----------------------------------------------------------------------

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double cpu_seconds() {
  struct rusage u {};
  ::getrusage(RUSAGE_SELF, &u);
  auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return seconds(u.ru_utime) + seconds(u.ru_stime);
}

double percentile(std::vector<double>& samples, double p) {
  if (samples.empty()) return 0;
  std::sort(samples.begin(), samples.end());
  const double rank = p / 100.0 * static_cast<double>(samples.size() - 1);
  const size_t lo = static_cast<size_t>(rank);
  const size_t hi = std::min(lo + 1, samples.size() - 1);
  return samples[lo] + (samples[hi] - samples[lo]) * (rank - static_cast<double>(lo));
}

namespace {

// Proleptic Gregorian date of a day number since 1970-01-01 (H. Hinnant).
void civil_from_days(int64_t z, int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
}

constexpr int64_t kStartDay = 20458;  // 2026-01-05, a Monday
constexpr int64_t kStartSecond = 9 * 3600;

}  // namespace

std::string Clock::at(int64_t seconds_after_start) {
  const int64_t local = kStartDay * 86400 + kStartSecond + seconds_after_start;
  int64_t y;
  unsigned m, d;
  civil_from_days(local / 86400, y, m, d);
  const int64_t s = local % 86400;
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}+03:00", y, m, d, s / 3600, (s / 60) % 60, s % 60);
}

std::string Clock::next() { return at(tick_++); }

// ---- Bundles and databases ----------------------------------------------------------

const Registry& handlers() {
  static const std::unique_ptr<Registry> registry = builtin_handlers();
  return *registry;
}

namespace {

Result<Bundle> load(const SourceSet& sources) {
  LoadReport report = load_bundle(sources, &handlers());
  if (!report.ok()) return report.problems.front();
  return std::move(report.bundle);
}

}  // namespace

Result<Bundle> incoming_request_bundle(const std::string& source_dir) {
  auto sources = read_sources({source_dir + "/processes/incoming-request.yaml"});
  if (!sources.ok()) return sources.error();
  auto bundle = load(*sources);
  if (!bundle.ok()) return bundle.error();
  const bool found = std::any_of(bundle->processes.begin(), bundle->processes.end(), [](const LoadedProcess& p) {
    return p.process && p.process->key == "incoming-request";
  });
  if (!found) return make_error(ErrorCode::not_found, "processes/incoming-request.yaml did not load as incoming-request");
  return bundle;
}

Result<Bundle> inbox_bundle(int roles, int people) {
  static const char* kRoles[] = {"manager", "deputy-director", "legal", "director", "sales-agent", "call-centre"};
  auto role = [&](int i) {
    return i < 6 ? std::string(kRoles[i]) : fmt::format("role-{}", i + 1);
  };
  SourceSet sources;
  std::string org = "roles:\n";
  for (int r = 0; r < roles; ++r) org += fmt::format("  {}: {{title: Роль {}}}\n", role(r), r + 1);
  org += "people:\n";
  for (int p = 0; p < people; ++p) {
    std::string held = role(p % roles);
    if (p % 5 == 4 && roles > 1) held += ", " + role((p + 1) % roles);
    org += fmt::format("  - login: user-{:03}\n    name: Сотрудник {:03}\n    roles: [{}]\n", p + 1, p + 1, held);
  }
  sources.files["org.yaml"] = org;
  for (int r = 0; r < roles; ++r) {
    sources.files[fmt::format("queue-{}.yaml", role(r))] = fmt::format(
        "process: queue-{0}\n"
        "title: Очередь обращений ({0})\n"
        "section: \"9.{1}\"\n"
        "owner: {0}\n"
        "variables:\n"
        "  client: {{type: text, required: true, title: Клиент}}\n"
        "steps:\n"
        "  - id: \"9.{1}.1\"\n"
        "    title: Рассмотреть обращение клиента\n"
        "    actor: {0}\n"
        "    next: end\n",
        role(r), r + 1);
  }
  return load(sources);
}

Result<std::unique_ptr<SqliteStore>> open_deployed(const std::string& path, const Bundle& bundle) {
  auto store = SqliteStore::open(path);
  if (!store.ok()) return store.error();
  (*store)->set_handlers(&handlers());
  auto deployed = (*store)->deploy(bundle, Clock::at(-3600));
  if (!deployed.ok()) return deployed.error();
  return store;
}

void remove_database(const std::string& path) {
  std::error_code ec;
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) fs::remove(path + suffix, ec);
}

void done_with_database(const Env& env, const std::string& path) {
  if (!env.keep) remove_database(path);
}

uintmax_t database_bytes(const std::string& path) {
  std::error_code ec;
  uintmax_t total = 0;
  for (const char* suffix : {"", "-wal"}) {
    const uintmax_t size = fs::file_size(path + suffix, ec);
    if (!ec) total += size;
  }
  return total;
}

// ---- Driving incoming-request ----------------------------------------------------------

namespace {

// The form values a manager types for each step of 3.1, as text.
JsonObject values_for(const std::string& step) {
  if (step == "3.1.2" || step == "3.1.6") return {{"reason", Json("order")}};
  if (step == "3.1.3" || step == "3.1.7")
    return {{"company", Json("ООО «Ромашка»")},
            {"contact_person", Json("Иванов Иван")},
            {"volume", Json("120")},
            {"delivery", Json("delivery")},
            {"delivery_place", Json("Москва, ул. Ленина, 1")}};
  if (step == "3.1.9") return {{"next_contact", Json("2026-02-02")}};
  return {};
}

// One instance in flight: the task it waits on (empty before its start).
struct Slot {
  std::string task;
  std::string step;
  std::string actor;
};

int64_t services_run(const Outcome& out) {
  int64_t n = 0;
  for (const Event& e : out.events) n += e.type == EventType::service_completed;
  return n;
}

// Takes an outcome into the slot: the next task, or the end of the instance.
// Returns false when the instance completed.
Result<bool> advance(Slot& slot, const Outcome& out) {
  if (out.state.status == "completed") {
    slot.task.clear();
    return false;
  }
  auto open = out.state.open_tasks();
  if (open.size() != 1)
    return make_error(ErrorCode::internal,
                      fmt::format("instance {} has {} open tasks at {}; 3.1 has one at a time", out.state.id,
                                  open.size(), fmt::join(out.state.current, ", ")));
  slot.task = open.front()->id;
  slot.step = open.front()->step;
  return true;
}

BatchCommand next_command(const Slot& slot, int64_t started, Clock& clock) {
  if (slot.task.empty()) {
    JsonObject vars{{"client", Json(fmt::format("Клиент {}", started + 1))},
                    {"vip", Json(started % 2 == 0 ? "true" : "false")}};
    return BatchCommand{Command{"", slot.actor, clock.next(), StartInstance{std::move(vars)}}, "incoming-request"};
  }
  return BatchCommand{Command{"", slot.actor, clock.next(), CompleteTask{slot.task, values_for(slot.step)}}, ""};
}

}  // namespace

Result<DriveResult> drive_incoming(Runtime& rt, Clock& clock, int instances, int window, int batch,
                                   bool keep_latencies) {
  DriveResult r;
  if (batch > 0) window = batch;
  std::vector<Slot> slots(static_cast<size_t>(std::max(window, 1)));
  for (size_t i = 0; i < slots.size(); ++i) slots[i].actor = i % 2 == 0 ? "ivanova" : "petrov";
  std::vector<bool> busy(slots.size(), false);
  int64_t started = 0;
  if (keep_latencies) r.latencies.reserve(static_cast<size_t>(instances) * 9);

  auto take = [&](size_t i, bool completing, const Result<Outcome>& out) -> Status {
    if (!out.ok()) {
      Error e = out.error();
      e.message = fmt::format("workload command failed: {}", e.message);
      return e;
    }
    if (completing) ++r.tasks;
    r.tasks += services_run(*out);
    auto more = advance(slots[i], *out);
    if (!more.ok()) return more.error();
    busy[i] = *more;
    if (!*more) ++r.instances;
    return {};
  };

  const double t0 = now_seconds();
  const double cpu0 = cpu_seconds();
  for (;;) {
    std::vector<size_t> who;
    std::vector<BatchCommand> cmds;
    for (size_t i = 0; i < slots.size(); ++i) {
      if (!busy[i]) {
        if (started >= instances) continue;
        cmds.push_back(next_command(slots[i], started, clock));
        ++started;
        busy[i] = true;
      } else {
        cmds.push_back(next_command(slots[i], started, clock));
      }
      who.push_back(i);
    }
    if (cmds.empty()) break;
    if (batch > 0) {
      const double c0 = now_seconds();
      std::vector<bool> completing;
      for (const auto& c : cmds) completing.push_back(std::holds_alternative<CompleteTask>(c.command.body));
      auto results = rt.execute_batch(std::move(cmds));
      if (keep_latencies) r.latencies.push_back(now_seconds() - c0);
      if (!results.ok()) return results.error();
      r.commands += static_cast<int64_t>(results->size());
      for (size_t k = 0; k < results->size(); ++k)
        if (Status st = take(who[k], completing[k], (*results)[k]); !st.ok()) return st.error();
    } else {
      for (size_t k = 0; k < cmds.size(); ++k) {
        BatchCommand& cmd = cmds[k];
        const bool completing = std::holds_alternative<CompleteTask>(cmd.command.body);
        const double c0 = now_seconds();
        Result<Outcome> out = [&]() -> Result<Outcome> {
          if (completing) return rt.execute(std::move(cmd.command));
          auto& start = std::get<StartInstance>(cmd.command.body);
          return rt.start(cmd.process, std::move(start.variables), cmd.command.actor, cmd.command.at);
        }();
        if (keep_latencies) r.latencies.push_back(now_seconds() - c0);
        ++r.commands;
        if (Status st = take(who[k], completing, out); !st.ok()) return st.error();
      }
    }
  }
  r.seconds = now_seconds() - t0;
  r.cpu_seconds = cpu_seconds() - cpu0;
  if (r.instances != instances)
    return make_error(ErrorCode::internal,
                      fmt::format("drove {} of {} instances to the end", r.instances, instances));
  return r;
}

// ---- Child processes ----------------------------------------------------------

Result<ChildResult> run_child(const std::vector<std::string>& argv, bool capture) {
  int pipe_fds[2] = {-1, -1};
  if (capture && ::pipe(pipe_fds) != 0)
    return make_error(ErrorCode::internal, fmt::format("cannot create a pipe: {}", std::strerror(errno)));
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);

  ChildResult r;
  const double t0 = now_seconds();
  const pid_t pid = ::fork();
  if (pid < 0) return make_error(ErrorCode::internal, fmt::format("cannot fork: {}", std::strerror(errno)));
  if (pid == 0) {
    if (capture) {
      ::dup2(pipe_fds[1], STDOUT_FILENO);
      ::close(pipe_fds[0]);
      ::close(pipe_fds[1]);
    } else {
      const int null = ::open("/dev/null", O_WRONLY);
      if (null >= 0) ::dup2(null, STDOUT_FILENO);
    }
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  if (capture) {
    ::close(pipe_fds[1]);
    char buf[4096];
    for (;;) {
      const ssize_t n = ::read(pipe_fds[0], buf, sizeof buf);
      if (n > 0) {
        r.out.append(buf, static_cast<size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        break;
      }
    }
    ::close(pipe_fds[0]);
  }
  int status = 0;
  struct rusage usage {};
  while (::wait4(pid, &status, 0, &usage) < 0) {
    if (errno != EINTR) return make_error(ErrorCode::internal, fmt::format("cannot wait for {}: {}", argv[0], std::strerror(errno)));
  }
  r.seconds = now_seconds() - t0;
  r.max_rss_kib = usage.ru_maxrss;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

}  // namespace reglament::bench
