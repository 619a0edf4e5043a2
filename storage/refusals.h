// Refused commands (exit 5), recorded so an auditor sees who tried what:
// `reglament refusals`, and `history` of the instance a refusal concerns.
//
// The table is append-only (triggers) and hash-chained (each row's hash
// covers the previous row's hash and its own fields), so verify finds a
// refusal that was changed, removed or slipped in (storage/README.md).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/result.h"
#include "storage/sqlite_store.h"

namespace reglament {

struct Refusal {
  int64_t seq = 0;        // assigned when recorded
  std::string at;         // the command's time
  std::string actor;      // the acting login (as resolved, or as asserted when refused for it)
  std::string os_login;   // the OS account that ran the command
  std::string command;    // the command line, as typed
  std::string instance;   // the instance it concerned; empty when none
  std::string reason;     // the refusal's message
  std::string hash;       // assigned when recorded
};

// Appends `r` (its seq and hash assigned) in a transaction of its own.
Result<Refusal> record_refusal(SqliteStore& store, Refusal r);

// Every refusal in order, or those of one instance.
Result<std::vector<Refusal>> refusals(SqliteStore& store, const std::string& instance = "");

// One broken link of the chain: the first row whose hash is not what its
// fields and its predecessor give (a change, a removal or an insertion).
struct RefusalFinding {
  int64_t seq = 0;
  std::string message;
};
// Recomputes the chain; empty when intact.
Result<std::vector<RefusalFinding>> check_refusals(SqliteStore& store);

}  // namespace reglament
