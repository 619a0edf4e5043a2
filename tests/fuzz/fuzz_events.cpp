// libFuzzer target: the JSON codec and a stored event log read back.
//
// The input is JSON text: an array of events as storage keeps them
// (encode_event), a single event, or any other JSON. What a database row
// holds is not trusted (an attacker may edit the file), so everything the
// engine does with a log read back must cope with any of it:
//   - parse_json; then dump() is canonical: it parses back to an equal value
//     and dumps to the same bytes, and pretty() parses back equal;
//   - decode_event of each element, refusals being integrity errors, and
//     decode(encode(e)) == e for each one accepted;
//   - replay of the accepted events, encode_state, next_due, the open items;
//   - the auditor's view (engine/audit.h): the hash chain rebuilt over the
//     events and checked, with one row changed and one removed; the state at
//     a past moment; the history of each variable; the seal decoder;
//   - decide on the replayed state, when it claims to be an instance of a
//     bundled process: a tick (FireTimers), a claim and a completion of each
//     open task, a success and a failure of each open job must answer with
//     events or an error, and the events must apply.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tests/fuzz/expect.h"
#include "engine/audit.h"
#include "engine/core.h"
#include "engine/json.h"
#include "engine/sha256.h"
#include "engine/loader.h"
#include "engine/time.h"

using namespace reglament;

namespace {

using fuzz::expect;

// The bundled regulation, loaded once (reachable for the whole run, so not a leak).
const Bundle* bundled() {
  static const Bundle* bundle = [] {
    Result<SourceSet> sources = read_sources({REGLAMENT_SOURCE_DIR "/processes"});
    if (!sources) return static_cast<Bundle*>(nullptr);
    static LoadReport report = load_bundle(*sources, nullptr);
    return &report.bundle;
  }();
  return bundle;
}

void json_round_trip(const Json& j) {
  const std::string text = j.dump();
  Result<Json> back = parse_json(text);
  expect(back.ok(), "dump() parses back");
  expect(*back == j, "dump() parses back to an equal value");
  expect(back->dump() == text, "dump() is canonical");
  Result<Json> pretty = parse_json(j.pretty());
  expect(pretty.ok() && *pretty == j, "pretty() parses back to an equal value");
}

std::vector<Event> decode_all(const Json& j) {
  std::vector<Event> events;
  auto one = [&](const Json& item) {
    Result<Event> e = decode_event(item);
    if (!e) {
      expect(e.error().code == ErrorCode::integrity, "an unreadable event is an integrity error");
      expect(!e.error().message.empty(), "an unreadable event has a message");
      return;
    }
    Result<Event> again = decode_event(encode_event(*e));
    expect(again.ok() && *again == *e, "decode(encode(e)) == e");
    (void)outbox_messages(*e);
    (void)utc_instant(e->at);
    events.push_back(std::move(e).value());
  };
  if (j.is_array()) {
    for (const Json& item : j.as_array()) one(item);
  } else {
    one(j);
  }
  return events;
}

void audit(const std::vector<Event>& events, const std::string& instance) {
  std::vector<LoggedEvent> rows;
  std::string prev;
  for (size_t i = 0; i < events.size(); ++i) {
    LoggedEvent row;
    row.seq = static_cast<int64_t>(i) + 1;
    row.hash = chain_hash(prev, instance, row.seq, events[i]);
    expect(row.hash == sha256_hex(prev + "\n" + instance + "\n" + std::to_string(row.seq) + "\n" +
                                  encode_event(events[i]).dump()),
           "chain_hash hashes the event's encoding");
    expect(chain_hash(prev, instance, row.seq, events[i], events[i].data.dump()) == row.hash,
           "chain_hash given the data's text (as an append) hashes the same");
    row.event = events[i];
    prev = row.hash;
    rows.push_back(std::move(row));
  }
  const auto n = static_cast<int64_t>(rows.size());
  expect(!check_chain(instance, rows, n).has_value(), "an intact chain verifies");
  // Finding a tampered row hashes the log once per position: kept to short
  // logs, which the mutations reach far more often anyway.
  if (rows.empty() || rows.size() > 16) return;
  std::vector<LoggedEvent> changed = rows;
  changed.front().event->actor += "x";
  std::optional<ChainBreak> broken = check_chain(instance, changed, n);
  expect(broken.has_value() && broken->seq == 1, "an edited first event is found");
  std::vector<LoggedEvent> removed(rows.begin(), rows.end() - 1);
  expect(check_chain(instance, removed, n).has_value(), "a removed last event is found");
  // The state at the moment of the first and of the last event, and the
  // variables' history.
  for (const Event* e : {&events.front(), &events.back()}) {
    if (auto k = events_until(events, e->at)) (void)state_after(events, *k);
  }
  (void)variable_sources(events, events.size());
}

// Asks the core what follows from a state read back from a log.
void decide_on(const InstanceState& s) {
  const Bundle* b = bundled();
  if (b == nullptr || !s.exists()) return;
  const LoadedProcess* lp = nullptr;
  for (const auto& p : b->processes)
    if (p.process->key == s.process) lp = &p;
  if (lp == nullptr) return;
  const Context ctx{*lp->process, s.version, s.hash, b->org, &b->calendar};
  Result<Moment> last = parse_moment(s.updated_at);
  const std::string later = format_moment(Moment{(last ? last->epoch : 1795791600) + 7 * 86400, 180});
  auto follow = [&](const Command& cmd) {
    Result<std::vector<Event>> events = decide(ctx, s, cmd);
    if (!events) {
      expect(!events.error().message.empty(), "a refused command has a message");
      return;
    }
    InstanceState after = s;
    for (const Event& e : *events) apply(after, e);
    (void)encode_state(after).dump();
  };
  follow(Command{s.id, "", later, FireTimers{}});
  for (const Task* t : s.open_tasks()) {
    for (const Person& p : b->org.people) {
      if (may_act_on(b->org, p.login, *t).ok()) {
        follow(Command{s.id, p.login, later, ClaimTask{t->id}});
        follow(Command{s.id, p.login, later, CompleteTask{t->id, {}}});
        break;
      }
    }
  }
  for (const Job* j : s.open_jobs()) {
    RecordServiceResult result;
    result.job = j->id;
    follow(Command{s.id, "", later, result});
    result.ok = false;
    result.error = "сбой";
    follow(Command{s.id, "", later, result});
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)bundled();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  Result<Json> j = parse_json(text);
  if (!j) {
    expect(j.error().code == ErrorCode::invalid, "unparsable JSON is invalid");
    expect(!j.error().message.empty(), "unparsable JSON has a message");
    return 0;
  }
  json_round_trip(*j);
  if (Result<SealContent> seal = decode_seal(*j)) {
    (void)seal_digest(*seal);
    Result<SealContent> again = decode_seal(encode_seal(*seal));
    expect(again.ok() && seal_digest(*again) == seal_digest(*seal), "a seal round-trips");
  }
  const std::vector<Event> events = decode_all(*j);
  const InstanceState s = replay(events);
  (void)encode_state(s).dump();
  (void)s.next_due();
  (void)s.open_timers();
  audit(events, s.id.empty() ? "1" : s.id);
  decide_on(s);
  return 0;
}
