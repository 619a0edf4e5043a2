// Calls between processes, as a graph: which processes a process's `call:`
// steps start, and the two ways such calls could nest without end.
//
// A process that calls itself, directly or through others (A -> B -> A),
// starts a child at once whenever the call step is reached by service steps,
// that child starts another, and so on: thousands of instances a second. So
// a cycle of calls is refused, with or without `wait`, when definitions are
// validated and deployed (the bundle together with what is deployed), and
// again when an instance is started (the runtime, over the latest deployed
// versions, which are the ones a call starts). A chain of calls nested deeper
// than kMaxCallDepth is refused the same way.
//
// Example: a.yaml's step "1" calls b, b.yaml's step "x" calls a.
//   find_call_cycles({&a}, lookup) -> one CallCycle{processes: {"a", "b"},
//                                     calls: {{&a, &a.steps[0]}, {&b, &b.steps[0]}}}
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/model.h"

namespace reglament {

// Children nest at most this deep below an instance started by a person or
// a schedule (a chain of 16 calls, each waiting for the next, is allowed).
constexpr int kMaxCallDepth = 16;

// The process a call names, by key; null when it is not known (not in the
// bundle, not deployed): such a call is left out of the graph.
using ProcessLookup = std::function<const Process*(std::string_view key)>;

struct CallCycle {
  std::vector<std::string> processes;                           // the keys in the cycle, sorted
  std::vector<std::pair<const Process*, const Step*>> calls;    // every call step from one of them to another
};

// The cycles of calls reachable from `roots`, each strongly connected set of
// processes once (a process calling itself is a cycle of one). Calls are in
// file order of each process, processes in key order.
std::vector<CallCycle> find_call_cycles(const std::vector<const Process*>& roots, const ProcessLookup& lookup);

// The deepest nesting of calls below `root`: 0 when it calls nothing, 1 when
// the processes it calls call nothing, ... Counting stops past
// kMaxCallDepth + 1. REQUIRES: no cycle is reachable from `root`.
int call_depth(const Process& root, const ProcessLookup& lookup);

// Whether starting `process` runs into a `call:` step in the same command:
// the first step is a call, or service steps without a wait lead from it to
// one. Only such a start can start children without end (one that reaches a
// call only through a person's task or a wait is started a person or a
// timer at a time), so only such a start needs the graph checked.
bool reaches_call_at_once(const Process& process);

// "a.yaml:5:11 (process \"a\", step \"1\" calls \"b\"), b.yaml:..." for messages.
std::string describe_calls(const CallCycle& cycle);

}  // namespace reglament
