// End-to-end harness: runs the built `reglament` binary the way a user types
// it (argv, no shell), captures stdout, stderr and the exit code, and parses
// `--json` output with the engine's own JSON reader.
#pragma once

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "engine/json.h"

extern char** environ;

namespace reglament::e2e {

struct Run {
  int code = -1;
  std::string out;
  std::string err;

  Json json() const {
    auto j = parse_json(out);
    if (!j.ok()) FAIL("not JSON: " << out << "\nstderr: " << err);
    return j.ok() ? *j : Json();
  }
};

inline std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs `reglament args...` with the given extra environment (NAME=VALUE).
inline Run run_program(const std::string& program, const std::vector<std::string>& args,
                       const std::vector<std::string>& env_extra = {}) {
  static int counter = 0;
  auto dir = std::filesystem::temp_directory_path();
  std::string out_path = (dir / ("reglament-e2e-" + std::to_string(getpid()) + "-" + std::to_string(++counter) + ".out")).string();
  std::string err_path = out_path + ".err";
  std::vector<std::string> argv_s{program};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  // The environment: ours, minus REGLAMENT_* (tests say what they mean), plus extras.
  std::vector<std::string> env_s;
  for (char** e = environ; *e; ++e)
    if (std::string(*e).rfind("REGLAMENT_", 0) != 0) env_s.emplace_back(*e);
  env_s.insert(env_s.end(), env_extra.begin(), env_extra.end());
  std::vector<char*> envp;
  for (auto& e : env_s) envp.push_back(e.data());
  envp.push_back(nullptr);

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&fa, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  pid_t pid = 0;
  Run r;
  if (posix_spawn(&pid, program.c_str(), &fa, nullptr, argv.data(), envp.data()) == 0) {
    int status = 0;
    waitpid(pid, &status, 0);
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  posix_spawn_file_actions_destroy(&fa);
  r.out = slurp(out_path);
  r.err = slurp(err_path);
  std::filesystem::remove(out_path);
  std::filesystem::remove(err_path);
  return r;
}

// A fresh database in a temporary directory, with the bundled processes
// deployed, and a fixed clock.
class Env {
 public:
  explicit Env(bool deploy = true) {
    static int n = 0;
    dir_ = std::filesystem::temp_directory_path() /
           ("reglament-e2e-" + std::to_string(getpid()) + "-" + std::to_string(++n));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    db_ = (dir_ / "test.db").string();
    if (deploy) {
      Run r = rg({"deploy", REGLAMENT_SOURCE_DIR "/processes"});
      REQUIRE_MESSAGE(r.code == 0, r.err);
    }
  }
  ~Env() { std::filesystem::remove_all(dir_); }

  const std::string& db() const { return db_; }
  std::filesystem::path dir() const { return dir_; }

  // `reglament --db DB --now NOW --as sidorova args...`: the process owner
  // (the administrator of the bundled org) unless args say --as someone.
  Run rg(std::vector<std::string> args, const std::vector<std::string>& env = {}) {
    std::vector<std::string> full{"--db", db_, "--now", now, "--as", "sidorova"};
    full.insert(full.end(), args.begin(), args.end());
    return run_program(REGLAMENT_BIN, full, env);
  }

  // As `user`, with --json; REQUIREs exit 0 and returns the parsed output.
  Json json(const std::string& user, std::vector<std::string> args) {
    args.push_back("--json");
    args.push_back("--as");
    args.push_back(user);
    Run r = rg(args);
    REQUIRE_MESSAGE(r.code == 0, "reglament " << args[0] << " failed: " << r.err);
    return r.json();
  }

  std::string now = "2026-11-23T10:00:00+03:00";

 private:
  std::filesystem::path dir_;
  std::string db_;
};

// `start PROCESS --set ...` as `user`; the new instance's id.
inline std::string start(Env& env, const std::string& user, const std::string& process, std::vector<std::string> sets) {
  std::vector<std::string> args{"start", process};
  for (auto& s : sets) {
    args.push_back("--set");
    args.push_back(s);
  }
  return env.json(user, args).str("instance");
}

// The inbox entry of `instance`'s task on `step` for `user`, or null.
inline Json inbox_entry(Env& env, const std::string& user, const std::string& instance, const std::string& step,
                        std::vector<std::string> extra = {}) {
  std::vector<std::string> args{"inbox"};
  args.insert(args.end(), extra.begin(), extra.end());
  const Json inbox = env.json(user, args);  // kept: the loop reads into it
  for (const Json& t : inbox.as_array())
    if (t.str("instance") == instance && t.str("step") == step) return t;
  return Json();
}

// Completes `instance`'s task on `step` as `user`; REQUIREs that it is there and succeeds.
inline Run complete(Env& env, const std::string& user, const std::string& instance, const std::string& step,
                    std::vector<std::string> sets = {}) {
  Json task = inbox_entry(env, user, instance, step);
  REQUIRE_MESSAGE(task.is_object(), "no task of " << step << " of " << instance << " for " << user);
  std::vector<std::string> args{"complete", task.str("task"), "--as", user};
  for (auto& s : sets) {
    args.push_back("--set");
    args.push_back(s);
  }
  Run r = env.rg(args);
  REQUIRE_MESSAGE(r.code == 0, r.err);
  return r;
}

// The instances of `process`, as `instances --json` lists them.
inline std::vector<Json> instances_of(Env& env, const std::string& process) {
  std::vector<Json> out;
  const Json listed = env.json("ivanova", {"instances", "--process", process});
  for (const Json& i : listed.as_array()) out.push_back(i);
  return out;
}

inline std::vector<std::string> strings(const Json& j) {
  std::vector<std::string> out;
  if (j.is_array())
    for (const auto& v : j.as_array()) out.push_back(v.is_string() ? v.as_string() : v.dump());
  return out;
}

inline bool contains(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

}  // namespace reglament::e2e
