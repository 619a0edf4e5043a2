// The workloads of issue 7, numbered as there. Each returns its figures as
// medians of Sizes::repeat runs; expensive set-up (a million open tasks, a
// hundred thousand completed instances) is done once and only the measured
// part is repeated.
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Exception.h>
#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/Transaction.h>

#include "bench/bench.h"
#include "storage/audit.h"

namespace reglament::bench {

namespace {

constexpr double kMs = 1000.0;

Result<std::vector<Figure>> repeat_median(int times, const Workload& once, const Env& env) {
  std::vector<std::vector<Figure>> runs;
  for (int i = 0; i < std::max(times, 1); ++i) {
    auto r = once(env);
    if (!r.ok()) return r.error();
    runs.push_back(std::move(*r));
  }
  return medians(runs);
}

std::string path_in(const Env& env, const std::string& name) { return (env.dir / name).string(); }

Figure figure(std::string workload, std::string name, double value, std::string unit) {
  Figure f;
  f.workload = std::move(workload);
  f.name = std::move(name);
  f.value = value;
  f.unit = std::move(unit);
  return f;
}

Figure target(Figure f, double t, Better better = Better::higher) {
  f.target = t;
  f.better = better;
  return f;
}

Figure peer(Figure f, std::string key) {
  f.peer_key = std::move(key);
  return f;
}

Figure note(Figure f, std::string text) {
  f.note = std::move(text);
  return f;
}

}  // namespace

// ---- 0. SQLite's own ceilings on this machine ------------------------------------------

Result<std::vector<Figure>> sqlite_ceilings(const Env& env) {
  const Workload once = [](const Env& env) -> Result<std::vector<Figure>> {
    const std::string path = path_in(env, "ceilings.db");
    remove_database(path);
    std::vector<Figure> out;
    const std::string w = "0 SQLite alone";
    try {
      SQLite::Database db(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
      db.exec("PRAGMA journal_mode=WAL");
      db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, k TEXT NOT NULL, v TEXT NOT NULL)");
      db.exec("CREATE INDEX t_by_k ON t (k)");
      SQLite::Statement insert(db, "INSERT INTO t (k, v) VALUES (?1, ?2)");
      int64_t key = 0;
      const std::string value(100, 'x');
      auto put = [&] {
        insert.reset();
        insert.bind(1, fmt::format("{:016x}", (key++ * 0x9E3779B97F4A7C15ULL) >> 1));
        insert.bind(2, value);
        insert.exec();
      };
      const int n = env.sizes.w0_commits;

      db.exec("PRAGMA synchronous=NORMAL");
      double t0 = now_seconds();
      for (int i = 0; i < n; ++i) put();
      out.push_back(note(figure(w, "single-row commits/s, WAL + NORMAL", n / (now_seconds() - t0), "commits/s"),
                         "issue: about 26,000/s"));

      db.exec("PRAGMA synchronous=FULL");
      const int nf = std::max(n / 40, 10);
      t0 = now_seconds();
      for (int i = 0; i < nf; ++i) put();
      out.push_back(note(figure(w, "single-row commits/s, WAL + FULL", nf / (now_seconds() - t0), "commits/s"),
                         "issue: about 3,200/s"));

      const int transactions = std::max(n / 100, 2);
      t0 = now_seconds();
      for (int tx = 0; tx < transactions; ++tx) {
        SQLite::Transaction t(db);
        for (int i = 0; i < 100; ++i) put();
        t.commit();
      }
      out.push_back(note(figure(w, "rows/s in 100-row transactions, FULL", transactions * 100 / (now_seconds() - t0), "rows/s"),
                         "issue: about 150,000/s"));

      const int bulk = n * 10;
      t0 = now_seconds();
      {
        SQLite::Transaction t(db);
        for (int i = 0; i < bulk; ++i) put();
        t.commit();
      }
      out.push_back(note(figure(w, "indexed rows/s in one transaction", bulk / (now_seconds() - t0), "rows/s"),
                         "issue: about 400,000/s"));

      SQLite::Statement scan(db, "SELECT id, k, v FROM t");
      int64_t rows = 0;
      size_t bytes = 0;
      t0 = now_seconds();
      while (scan.executeStep()) {
        ++rows;
        bytes += scan.getColumn(1).getBytes() + scan.getColumn(2).getBytes();
      }
      out.push_back(note(figure(w, "rows/s scanned", rows / (now_seconds() - t0), "rows/s"), "issue: about 4 M/s"));
      if (bytes == 0) return make_error(ErrorCode::internal, "the scan read nothing");
    } catch (const SQLite::Exception& e) {
      return make_error(ErrorCode::internal, fmt::format("SQLite ceilings: {}", e.what()));
    }
    done_with_database(env, path);
    return out;
  };
  return repeat_median(env.sizes.repeat, once, env);
}

// ---- 1. Step throughput, in process, one transaction per command ------------------------------

Result<std::vector<Figure>> step_throughput(const Env& env) {
  auto bundle = incoming_request_bundle(env.source_dir);
  if (!bundle.ok()) return bundle.error();
  const Workload once = [&](const Env& env) -> Result<std::vector<Figure>> {
    std::vector<Figure> out;
    for (bool full : {false, true}) {
      const std::string path = path_in(env, full ? "w1-full.db" : "w1.db");
      remove_database(path);
      auto store = open_deployed(path, *bundle);
      if (!store.ok()) return store.error();
      auto durability = full ? SqliteStore::Durability::full : SqliteStore::Durability::normal;
      if (Status st = (*store)->set_durability(durability); !st.ok()) return st.error();
      Runtime rt(**store, handlers());
      Clock clock;
      const int n = full ? env.sizes.w1_full_instances : env.sizes.w1_instances;
      auto r = drive_incoming(rt, clock, n, env.sizes.w1_window, 0, true);
      if (!r.ok()) return r.error();
      const std::string w = "1 step throughput";
      const std::string mode = full ? "WAL + FULL" : "WAL + NORMAL";
      Figure tasks = peer(figure(w, "tasks/s, " + mode, r->tasks / r->seconds, "tasks/s"), full ? "full" : "normal");
      if (!full) {
        tasks = target(tasks, 13000);
        tasks = note(tasks, fmt::format("{} instances, {} in flight, {} tasks, {} commands", n, env.sizes.w1_window,
                                        r->tasks, r->commands));
      }
      out.push_back(tasks);
      out.push_back(figure(w, "instances/s, " + mode, r->instances / r->seconds, "inst/s"));
      out.push_back(figure(w, "CPU per task, " + mode, r->cpu_seconds / r->tasks * 1e6, "µs"));
      out.back().better = Better::lower;
      for (double p : {50.0, 99.0}) {
        out.push_back(figure(w, fmt::format("command p{}, {}", p, mode), percentile(r->latencies, p) * kMs, "ms"));
        out.back().better = Better::lower;
      }
      store->reset();
      done_with_database(env, path);
    }
    return out;
  };
  return repeat_median(env.sizes.repeat, once, env);
}

// ---- 2. Group commit --------------------------------------------------------------------------

Result<std::vector<Figure>> group_commit(const Env& env) {
  auto bundle = incoming_request_bundle(env.source_dir);
  if (!bundle.ok()) return bundle.error();
  const Workload once = [&](const Env& env) -> Result<std::vector<Figure>> {
    std::vector<Figure> out;
    for (bool full : {true, false}) {
      const std::string path = path_in(env, full ? "w2-full.db" : "w2.db");
      remove_database(path);
      auto store = open_deployed(path, *bundle);
      if (!store.ok()) return store.error();
      auto durability = full ? SqliteStore::Durability::full : SqliteStore::Durability::normal;
      if (Status st = (*store)->set_durability(durability); !st.ok()) return st.error();
      Runtime rt(**store, handlers());
      Clock clock;
      auto r = drive_incoming(rt, clock, env.sizes.w2_instances, 0, env.sizes.w2_batch, true);
      if (!r.ok()) return r.error();
      const std::string w = "2 group commit";
      const std::string mode = full ? "WAL + FULL" : "WAL + NORMAL";
      Figure tasks = peer(figure(w, fmt::format("tasks/s, batches of {}, {}", env.sizes.w2_batch, mode),
                                 r->tasks / r->seconds, "tasks/s"),
                          full ? "full" : "normal");
      if (full) {
        tasks = target(tasks, 40000);
        tasks = note(tasks, fmt::format("{} instances, {} tasks, {} commands in {} batches (+ service rounds)",
                                        env.sizes.w2_instances, r->tasks, r->commands, r->latencies.size()));
      }
      out.push_back(tasks);
      out.push_back(figure(w, "CPU per task, " + mode, r->cpu_seconds / r->tasks * 1e6, "µs"));
      out.back().better = Better::lower;
      Figure p50 = figure(w, "batch p50, " + mode, percentile(r->latencies, 50) * kMs, "ms");
      p50.better = Better::lower;
      out.push_back(p50);
      store->reset();
      done_with_database(env, path);
    }
    return out;
  };
  return repeat_median(env.sizes.repeat, once, env);
}

// ---- 3. Inbox at scale ---------------------------------------------------------------------------

Result<std::vector<Figure>> inbox_at_scale(const Env& env) {
  constexpr int kRoles = 6;
  constexpr int kPage = 50;
  constexpr int kImportBatch = 1000;
  auto bundle = inbox_bundle(kRoles, env.sizes.w3_people);
  if (!bundle.ok()) return bundle.error();
  const std::string path = path_in(env, "inbox.db");
  remove_database(path);
  auto store = open_deployed(path, *bundle);
  if (!store.ok()) return store.error();
  Runtime rt(**store, handlers());
  const Org& org = bundle->org;
  const std::string w = "3 inbox at scale";

  // A bulk import: the open tasks arrive as starts, a thousand per batch, three
  // per second of simulated time, the queues taking turns.
  std::vector<std::string> queues;
  for (const LoadedProcess& p : bundle->processes) queues.push_back(p.process->key);
  const double i0 = now_seconds();
  for (int done = 0; done < env.sizes.w3_tasks;) {
    std::vector<BatchCommand> batch;
    for (int k = 0; k < kImportBatch && done < env.sizes.w3_tasks; ++k, ++done) {
      JsonObject vars{{"client", Json(fmt::format("Клиент {}", done + 1))}};
      batch.push_back(BatchCommand{Command{"", "user-001", Clock::at(done / 3), StartInstance{std::move(vars)}},
                                   queues[static_cast<size_t>(done) % queues.size()]});
    }
    auto r = rt.execute_batch(std::move(batch));
    if (!r.ok()) return r.error();
    for (const auto& one : *r)
      if (!one.ok()) return one.error();
  }
  const double import_seconds = now_seconds() - i0;

  const Workload once = [&](const Env& env) -> Result<std::vector<Figure>> {
    std::vector<double> pages;
    for (int q = 0; q < env.sizes.w3_queries; ++q) {
      const Person& person = org.people[static_cast<size_t>(q) % org.people.size()];
      const double t0 = now_seconds();
      auto page = (*store)->inbox_page(person.roles, kPage);
      pages.push_back(now_seconds() - t0);
      if (!page.ok()) return page.error();
      if (page->size() != static_cast<size_t>(std::min(kPage, env.sizes.w3_tasks / kRoles)))
        return make_error(ErrorCode::internal, fmt::format("the inbox page of {} has {} rows", person.login, page->size()));
    }
    std::vector<double> claims;
    Clock clock(env.sizes.w3_tasks);
    for (int c = 0, person_index = 0; c < env.sizes.w3_claims; ++c, person_index += 7) {
      const Person& person = org.people[static_cast<size_t>(person_index) % org.people.size()];
      // Not timed: finding a task nobody has claimed yet (the first page may
      // be all claimed by earlier rounds).
      auto page = (*store)->inbox_page(person.roles, kPage * 20);
      if (!page.ok()) return page.error();
      auto free = std::find_if(page->begin(), page->end(), [](const InboxRow& r) { return r.claimed_by.empty(); });
      if (free == page->end()) return make_error(ErrorCode::internal, "no unclaimed task left on a page");
      const double t0 = now_seconds();
      auto claimed = rt.execute(Command{"", person.login, clock.next(), ClaimTask{free->task}});
      claims.push_back(now_seconds() - t0);
      if (!claimed.ok()) return claimed.error();
    }
    std::vector<Figure> out;
    out.push_back(note(target(figure(w, fmt::format("inbox page of {} p50", kPage), percentile(pages, 50) * kMs, "ms"),
                              1.0, Better::lower),
                       fmt::format("{} open tasks, {} people, {} roles", env.sizes.w3_tasks, env.sizes.w3_people, kRoles)));
    out.push_back(figure(w, fmt::format("inbox page of {} p99", kPage), percentile(pages, 99) * kMs, "ms"));
    out.back().better = Better::lower;
    out.push_back(figure(w, "claim p50", percentile(claims, 50) * kMs, "ms"));
    out.back().better = Better::lower;
    out.push_back(figure(w, "claim p99", percentile(claims, 99) * kMs, "ms"));
    out.back().better = Better::lower;
    return out;
  };
  auto figures = repeat_median(env.sizes.repeat, once, env);
  if (!figures.ok()) return figures.error();
  figures->push_back(figure(w, fmt::format("bulk import, starts/s (batches of {})", kImportBatch),
                            env.sizes.w3_tasks / import_seconds, "starts/s"));
  // What a page replaces: the whole inbox of one person, every row sorted
  // (SqliteStore::inbox, which `reglament inbox` reads). Once: it is slow.
  {
    const Person& person = org.people.front();
    const double t0 = now_seconds();
    auto all = (*store)->inbox(person.roles);
    const double seconds = now_seconds() - t0;
    if (!all.ok()) return all.error();
    figures->push_back(note(figure(w, "whole inbox() of one person, one run", seconds * kMs, "ms"),
                            fmt::format("{} rows, sorted; inbox_page reads 50 through tasks_inbox_order", all->size())));
    figures->back().better = Better::lower;
  }
  store->reset();
  done_with_database(env, path);
  return figures;
}

// ---- 6. Footprint (and the databases 4 and 5 use) ---------------------------------------------------

std::string footprint_database(const Env& env, int n) { return path_in(env, fmt::format("footprint-{}.db", n)); }

int footprint_child(const Env& env, const std::string& db, int instances) {
  auto bundle = incoming_request_bundle(env.source_dir);
  if (!bundle.ok()) {
    fmt::print(stderr, "footprint: {}\n", bundle.error().str());
    return 1;
  }
  remove_database(db);
  uintmax_t bytes = 0;
  DriveResult r;
  {
    auto store = open_deployed(db, *bundle);
    if (!store.ok()) {
      fmt::print(stderr, "footprint: {}\n", store.error().str());
      return 1;
    }
    Runtime rt(**store, handlers());
    Clock clock;
    auto driven = drive_incoming(rt, clock, instances, 0, env.sizes.w2_batch, false);
    if (!driven.ok()) {
      fmt::print(stderr, "footprint: {}\n", driven.error().str());
      return 1;
    }
    r = std::move(*driven);
  }
  // Closing the last connection checkpoints the WAL into the file.
  bytes = database_bytes(db);
  // The peak resident memory of this program image (VmHWM). Not the parent's
  // wait4 figure: Linux counts in it what the forked child held before exec,
  // i.e. the parent's memory.
  int64_t peak_kib = -1;
  {
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line))
      if (line.rfind("VmHWM:", 0) == 0) peak_kib = std::atoll(line.c_str() + 6);
  }
  fmt::print("{{\"instances\": {}, \"tasks\": {}, \"db_bytes\": {}, \"seconds\": {}, \"peak_kib\": {}}}\n",
             r.instances, r.tasks, bytes, r.seconds, peak_kib);
  return 0;
}

namespace {

// The child builds the database under a temporary name, renamed only when it
// succeeded: an interrupted run (Ctrl-C, a kill) must not leave a partial
// database that workload 4 would later take for a finished one.
Result<Json> run_footprint_child(const Env& env, int n, int64_t& max_rss_kib) {
  const std::string db = footprint_database(env, n);
  const std::string part = db + ".part";
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(part + suffix);
  auto child = run_child({env.self, "--footprint-child", part, std::to_string(n), "--size",
                          fmt::format("w2_batch={}", env.sizes.w2_batch), "--source-dir", env.source_dir},
                         true);
  if (!child.ok()) return child.error();
  if (child->exit_code != 0)
    return make_error(ErrorCode::internal, fmt::format("the footprint run of {} instances exited with {}", n,
                                                       child->exit_code));
  max_rss_kib = child->max_rss_kib;
  std::error_code ec;
  std::filesystem::rename(part, db, ec);
  if (ec) return make_error(ErrorCode::internal, fmt::format("cannot rename {} to {}: {}", part, db, ec.message()));
  return parse_json(child->out);
}

}  // namespace

Result<std::vector<Figure>> footprint(const Env& env) {
  const std::string w = "6 footprint";
  std::vector<Figure> out;
  std::vector<double> rss;
  for (int n : env.sizes.w6_sizes) {
    std::vector<double> peak;
    double bytes = 0;
    // Once per size: the bytes are deterministic and the peak memory nearly
    // so, and the largest run is the longest of the suite.
    for (int rep = 0; rep < 1; ++rep) {
      int64_t kib = 0;
      auto j = run_footprint_child(env, n, kib);
      if (!j.ok()) return j.error();
      if (j->integer("peak_kib", -1) <= 0)
        return make_error(ErrorCode::internal, "the footprint run did not report its peak memory (VmHWM)");
      peak.push_back(static_cast<double>(j->integer("peak_kib")) / 1024.0);
      bytes = static_cast<double>(j->integer("db_bytes")) / n;
    }
    out.push_back(figure(w, fmt::format("database bytes per completed instance, N = {}", n), bytes, "B"));
    out.back().better = Better::lower;
    rss.push_back(percentile(peak, 50));
    out.push_back(figure(w, fmt::format("peak memory, N = {}", n), rss.back(), "MiB"));
    out.back().better = Better::lower;
  }
  if (rss.size() >= 2) {
    out.push_back(note(target(figure(w, fmt::format("peak memory N = {} / N = {}", env.sizes.w6_sizes.back(),
                                                    env.sizes.w6_sizes.front()),
                                     rss.back() / rss.front(), "x"),
                              1.25, Better::lower),
                       "flat in N: at most 25% more peak memory at the largest N than at the smallest"));
  }
  return out;
}

// ---- 4. Replay and verify ------------------------------------------------------------------------

Result<std::vector<Figure>> replay_and_verify(const Env& env) {
  const int n = env.sizes.w6_sizes.back();
  const std::string db = footprint_database(env, n);
  if (!std::filesystem::exists(db)) {
    int64_t kib = 0;
    auto made = run_footprint_child(env, n, kib);
    if (!made.ok()) return made.error();
  }
  auto store = SqliteStore::open(db);
  if (!store.ok()) return store.error();
  (*store)->set_handlers(&handlers());
  auto rows = (*store)->instances(std::nullopt, std::nullopt);
  if (!rows.ok()) return rows.error();
  std::vector<std::string> ids;
  for (const auto& row : *rows) ids.push_back(row.instance);

  const std::string w = "4 replay and verify";
  const Workload once = [&](const Env& env) -> Result<std::vector<Figure>> {
    int64_t events = 0;
    int64_t completed = 0;
    const double t0 = now_seconds();
    for (const auto& id : ids) {
      auto log = (*store)->events(id);
      if (!log.ok()) return log.error();
      events += static_cast<int64_t>(log->size());
      InstanceState s = replay(*log);
      completed += s.status == "completed";
    }
    const double seconds = now_seconds() - t0;
    if (completed != static_cast<int64_t>(ids.size()))
      return make_error(ErrorCode::internal, fmt::format("replay completed {} of {} instances", completed, ids.size()));
    if (events < env.sizes.w4_min_events)
      return make_error(ErrorCode::internal,
                        fmt::format("the log holds {} events, fewer than the {} asked for", events, env.sizes.w4_min_events));
    std::vector<Figure> out;
    out.push_back(note(target(figure(w, "events/s replayed (read, decode, apply)", events / seconds, "events/s"), 1e6),
                       fmt::format("{} events of {} instances, one query per instance as Runtime::load reads them",
                                   events, ids.size())));
    out.push_back(figure(w, "instances/s rebuilt", ids.size() / seconds, "inst/s"));

    // verify_log (storage/audit.h, the audit issue): every hash chain, and
    // the replayed state against every projection.
    const double v0 = now_seconds();
    auto report = verify_log(**store, {});
    const double verify_seconds = now_seconds() - v0;
    if (!report.ok()) return report.error();
    if (!report->ok())
      return make_error(ErrorCode::internal, fmt::format("verify found {} problem(s) in the benchmark's own log: {}",
                                                         report->findings.size(), report->findings.front().message));
    if (report->events != events)
      return make_error(ErrorCode::internal,
                        fmt::format("verify checked {} events of the {} replayed", report->events, events));
    out.push_back(note(figure(w, "events/s verified (verify_log)", report->events / verify_seconds, "events/s"),
                       "hash chains, at_utc, and the replayed state against every projection"));
    return out;
  };
  return repeat_median(env.sizes.repeat, once, env);
}

// ---- 5. CLI round trip ----------------------------------------------------------------------------

Result<std::vector<Figure>> cli_round_trip(const Env& env) {
  const int n = env.sizes.w5_instances;
  const std::string db = footprint_database(env, n);
  if (!std::filesystem::exists(db)) {
    int64_t kib = 0;
    auto made = run_footprint_child(env, n, kib);
    if (!made.ok()) return made.error();
  }
  // Open tasks to complete: started in process, then the store is closed so
  // that each `reglament complete` starts cold, as a person's would.
  const int runs = env.sizes.w5_runs * std::max(env.sizes.repeat, 1);
  std::vector<std::string> tasks;
  Clock clock(10'000'000);
  {
    auto store = SqliteStore::open(db);
    if (!store.ok()) return store.error();
    (*store)->set_handlers(&handlers());
    Runtime rt(**store, handlers());
    for (int i = 0; i < runs; ++i) {
      auto s = rt.start("incoming-request", {{"client", Json("Клиент")}, {"vip", Json("false")}}, "ivanova",
                        clock.next());
      if (!s.ok()) return s.error();
      tasks.push_back(s->state.open_tasks().front()->id);
    }
  }
  std::vector<double> walls;
  for (const auto& task : tasks) {
    auto child = run_child({env.reglament, "--db", db, "--as", "ivanova", "--now", clock.next(), "complete", task},
                           false);
    if (!child.ok()) return child.error();
    if (child->exit_code != 0)
      return make_error(ErrorCode::internal, fmt::format("reglament complete {} exited with {}", task, child->exit_code));
    walls.push_back(child->seconds);
  }
  // What any process costs here, and what this program costs before it
  // touches a database.
  std::vector<double> floor;
  std::vector<double> help;
  for (int i = 0; i < std::max(env.sizes.w5_runs, 2); ++i) {
    auto t = run_child({"/bin/true"}, false);
    if (!t.ok()) return t.error();
    floor.push_back(t->seconds);
    auto h = run_child({env.reglament, "--help"}, false);
    if (!h.ok()) return h.error();
    help.push_back(h->seconds);
  }
  const std::string w = "5 CLI round trip";
  std::vector<Figure> out;
  out.push_back(note(target(figure(w, "`reglament complete` wall time p50", percentile(walls, 50) * kMs, "ms"), 5.0,
                            Better::lower),
                     fmt::format("database of {} completed instances; {} runs", n, walls.size())));
  out.push_back(figure(w, "`reglament complete` wall time max", percentile(walls, 100) * kMs, "ms"));
  out.back().better = Better::lower;
  out.push_back(figure(w, "`reglament --help` wall time p50 (start-up only)", percentile(help, 50) * kMs, "ms"));
  out.back().better = Better::lower;
  out.push_back(figure(w, "`/bin/true` wall time p50 (any process)", percentile(floor, 50) * kMs, "ms"));
  out.back().better = Better::lower;
  return out;
}

}  // namespace reglament::bench
