// What an auditor needs from the log, as pure functions: instants compared
// across UTC offsets, the hash chain of an instance's events, the state at any
// past moment, the successive values of each variable, and the checks behind
// `reglament verify` and `reglament seal`.
//
// The storage reads the rows; everything here only looks at values, so the
// same code checks a database file and a test's hand-made rows.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core.h"
#include "engine/json.h"
#include "engine/result.h"

namespace reglament {

// ---- Instants ---------------------------------------------------------------

// `YYYY-MM-DDTHH:MM[:SS[.fff…]]` with `Z` or `±HH:MM`, as the same instant in
// UTC with a fixed width, "2026-11-23T12:04:05.000Z", so that two of them
// compare as instants when compared as text. Fractions are kept to the
// millisecond (further digits are dropped). nullopt when `iso` is not such a
// timestamp or names a date that does not exist.
//   utc_instant("2026-11-23T15:04:05+03:00") == "2026-11-23T12:04:05.000Z"
std::optional<std::string> utc_instant(std::string_view iso);

// ---- The hash chain ---------------------------------------------------------

// The chain hash of the event stored as `seq` of `instance` after the event
// whose hash is `prev` ("" for seq 1):
//   sha256_hex(prev + "\n" + instance + "\n" + seq + "\n" + encode_event(e).dump())
std::string chain_hash(std::string_view prev, std::string_view instance, int64_t seq, const Event& e);
// The same, given the text of e.data as e.data.dump() writes it (see
// append_encoded_event): an append has just written it for its data column.
std::string chain_hash(std::string_view prev, std::string_view instance, int64_t seq, const Event& e,
                       std::string_view data);

// One row of an instance's log as it is stored, for checking the chain.
struct LoggedEvent {
  int64_t seq = 0;
  std::string hash;            // the stored chain hash
  std::optional<Event> event;  // nullopt when the row cannot be read
  std::string unreadable;      // why, when !event
};

// What is wrong, in the words `verify` uses.
enum class AuditKind {
  changed,     // an event no longer matches its hash
  missing,     // an event, or a whole instance, was removed
  inserted,    // an event that was never part of the chain
  reordered,   // an event stored at another position than it was written
  projection,  // a table derived from the log disagrees with it
  definition,  // a deployed definition, or an instance's link to it, was altered
  protection,  // a guard of the log (an append-only trigger) was removed or altered
  seal,        // the log differs from what a seal recorded
  damaged,     // the file itself: SQLite's own check of its pages and indexes failed
};
std::string_view to_string(AuditKind k);

// The first place an instance's chain breaks.
struct ChainBreak {
  AuditKind kind = AuditKind::changed;
  int64_t seq = 0;      // the first bad position (1-based)
  std::string message;  // one sentence, e.g. "event 5 was changed: …"
};

// Recomputes the chain of `instance` from `rows` (as stored, ordered by seq)
// and returns its first break, or nullopt when every row links to the one
// before it. `recorded_events` is the number of events the instance's own
// row records (nullopt when it has none), so that events removed from the
// end are found too.
//
// How each tampering shows, and how it is told apart:
// - a row removed: a gap in seq (or fewer rows than recorded at the end);
// - a payload edited: the row no longer matches its hash, while the next
//   row still links to that hash;
// - a row inserted: it matches nothing, and the row after it was written
//   at its position (seqs were shifted to make room), or it lies past the
//   recorded end;
// - rows reordered: a row matches its hash at another position.
// An edit that also rewrote every later hash keeps the chain whole; only a
// seal (below) or the projections catch it.
std::optional<ChainBreak> check_chain(std::string_view instance, const std::vector<LoggedEvent>& rows,
                                      std::optional<int64_t> recorded_events);

// ---- Seals ------------------------------------------------------------------

// The head of one instance's chain when a seal was taken.
struct SealHead {
  std::string instance;
  int64_t seq = 0;   // its number of events then
  std::string hash;  // the hash of event `seq`
};

// A deployed definition version when a seal was taken.
struct SealedDefinition {
  std::string process;
  int version = 0;
  std::string hash;
};

// What a seal covers: every instance's head and every deployed version.
// The last refused command when a seal was taken (storage/refusals.h): its
// hash covers every refusal before it.
struct SealedRefusals {
  int64_t seq = 0;  // how many refusals were recorded then
  std::string hash;
};

// The head of another append-only chain when a seal was taken (schema 7,
// storage/chains.h): the deployments of documents, the client database's
// records. Its hash covers every row before it.
using SealedChain = SealedRefusals;

struct SealContent {
  std::vector<SealHead> heads;
  std::vector<SealedDefinition> definitions;
  std::optional<SealedRefusals> refusals;  // none when nothing was refused yet
  std::optional<SealedChain> deployments;  // none before schema 7 or any deployment
  std::optional<SealedChain> client_log;   // none before schema 7 or any record
};

// The digest of a seal, 64 hex digits: SHA-256 over
//   "reglament seal 1\n"
//   "instance <id> <seq> <hash>\n"          per instance, ids in numeric order
//   "definition <process> <version> <hash>\n" per version, by process and version
//   "refusals <seq> <hash>\n"                 when a refusal was recorded
//   "deployments <seq> <hash>\n"              when a deployment was recorded
//   "client_log <seq> <hash>\n"               when a client record was applied
//   "instances <N> events <M>\n"
// The heads pin each chain (a chain's head hash covers every event before
// it), so a digest written down at seal time proves later that no sealed
// event changed and no sealed instance disappeared.
std::string seal_digest(const SealContent& seal);

// {"instances":[{"instance","seq","hash"}],"definitions":[{"process","version","hash"}],
//  "refusals":{"seq","hash"}, "deployments":{"seq","hash"}, "client_log":{"seq","hash"}}
// (the last three keys only when their chain has a row: a seal taken before
// those chains existed, or with them empty, keeps its digest)
Json encode_seal(const SealContent& seal);
// Errors: integrity, when `j` is not such an object.
Result<SealContent> decode_seal(const Json& j);

// ---- The past ---------------------------------------------------------------

// The state after the first `n` events (all of them when n >= events.size()).
InstanceState state_after(const std::vector<Event>& events, size_t n);

// How many of `events` happened at or before `at` (compared as instants): the
// prefix to replay for "the state at `at`". Events are in log order; the
// prefix ends at the first event later than `at`. nullopt when `at` is not a
// timestamp (see utc_instant).
std::optional<size_t> events_until(const std::vector<Event>& events, std::string_view at);

// One value a variable took, and the event that gave it.
struct VariableChange {
  std::string name;
  Json value;
  int64_t seq = 0;  // 1-based position of the event in the log
  std::string at;
  std::string actor;  // empty when the engine acted
  std::string step;   // empty for the start of the instance
  EventType type = EventType::instance_started;
};

// Every assignment of a variable in `events` (the start's variables, the
// values of completed tasks, the outputs of service steps), in log order.
// An assignment of the value a variable already holds is listed too: someone
// confirmed it.
std::vector<VariableChange> variable_changes(const std::vector<Event>& events);

// The change that gave each variable its value in `state_after(events, n)`:
// the last assignment of it among the first `n` events, by name.
std::vector<VariableChange> variable_sources(const std::vector<Event>& events, size_t n);

}  // namespace reglament
