#include "engine/audit.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <tuple>

#include "engine/sha256.h"

namespace reglament {

// ---- Instants ---------------------------------------------------------------

namespace {

bool read_digits(std::string_view s, size_t pos, size_t n, int& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

bool leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int days_in_month(int y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && leap(y) ? 29 : kDays[m - 1];
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
int64_t days_from_civil(int64_t y, int m, int d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

void civil_from_days(int64_t z, int64_t& y, int& m, int& d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  y = yoe + era * 400 + (m <= 2);
}

}  // namespace

std::optional<std::string> utc_instant(std::string_view s) {
  int year, month, day, hour, minute, second = 0, millis = 0;
  if (s.size() < 17 || !read_digits(s, 0, 4, year) || s[4] != '-' || !read_digits(s, 5, 2, month) || s[7] != '-' ||
      !read_digits(s, 8, 2, day) || s[10] != 'T' || !read_digits(s, 11, 2, hour) || s[13] != ':' ||
      !read_digits(s, 14, 2, minute)) {
    return std::nullopt;
  }
  size_t pos = 16;
  if (s[pos] == ':') {
    if (!read_digits(s, pos + 1, 2, second)) return std::nullopt;
    pos += 3;
    if (pos < s.size() && s[pos] == '.') {
      ++pos;
      const size_t start = pos;
      int scale = 100;
      while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
        millis += (s[pos] - '0') * scale;
        scale /= 10;
        ++pos;
      }
      if (pos == start) return std::nullopt;
    }
  }
  if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month)) return std::nullopt;
  if (hour > 23 || minute > 59 || second > 59) return std::nullopt;
  int offset = 0;
  if (pos < s.size() && s[pos] == 'Z' && pos + 1 == s.size()) {
    offset = 0;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh, om;
    if (s.size() != pos + 6 || !read_digits(s, pos + 1, 2, oh) || s[pos + 3] != ':' ||
        !read_digits(s, pos + 4, 2, om) || oh > 23 || om > 59) {
      return std::nullopt;
    }
    offset = (s[pos] == '-' ? -1 : 1) * (oh * 60 + om);
  } else {
    return std::nullopt;
  }
  const int64_t local = days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second;
  const int64_t utc = local - int64_t{offset} * 60;
  int64_t days = utc / 86400;
  int64_t secs = utc % 86400;
  if (secs < 0) {
    secs += 86400;
    days -= 1;
  }
  int64_t y;
  int m, d;
  civil_from_days(days, y, m, d);
  if (y < 0 || y > 9999) return std::nullopt;
  // YYYY-MM-DDTHH:MM:SS.mmmZ, written by hand: every event appended and
  // every event verified comes here, and fmt::format cost ~4,500
  // instructions a call (callgrind), more than the rest of this function.
  char out[24];
  auto put = [&out](size_t at, int64_t value, int width) {
    for (int i = width - 1; i >= 0; --i, value /= 10) out[at + static_cast<size_t>(i)] = static_cast<char>('0' + value % 10);
  };
  put(0, y, 4);
  out[4] = '-';
  put(5, m, 2);
  out[7] = '-';
  put(8, d, 2);
  out[10] = 'T';
  put(11, secs / 3600, 2);
  out[13] = ':';
  put(14, (secs / 60) % 60, 2);
  out[16] = ':';
  put(17, secs % 60, 2);
  out[19] = '.';
  put(20, millis, 3);
  out[23] = 'Z';
  return std::string(out, sizeof out);
}

// ---- The hash chain ---------------------------------------------------------

namespace {

// prev + "\n" + instance + "\n" + seq + "\n", the start of what a chain hash hashes.
std::string chain_prefix(std::string_view prev, std::string_view instance, int64_t seq) {
  std::string text;
  text.reserve(prev.size() + instance.size() + 256);
  text += prev;
  text += '\n';
  text += instance;
  text += '\n';
  text += std::to_string(seq);
  text += '\n';
  return text;
}

}  // namespace

std::string chain_hash(std::string_view prev, std::string_view instance, int64_t seq, const Event& e) {
  std::string text = chain_prefix(prev, instance, seq);
  append_encoded_event(text, e);
  return sha256_hex(text);
}

std::string chain_hash(std::string_view prev, std::string_view instance, int64_t seq, const Event& e,
                       std::string_view data) {
  std::string text = chain_prefix(prev, instance, seq);
  append_encoded_event(text, e, data);
  return sha256_hex(text);
}

std::string_view to_string(AuditKind k) {
  switch (k) {
    case AuditKind::changed:
      return "changed";
    case AuditKind::missing:
      return "missing";
    case AuditKind::inserted:
      return "inserted";
    case AuditKind::reordered:
      return "reordered";
    case AuditKind::projection:
      return "projection";
    case AuditKind::definition:
      return "definition";
    case AuditKind::protection:
      return "protection";
    case AuditKind::seal:
      return "seal";
    case AuditKind::damaged:
      return "damaged";
  }
  return "unknown";
}

namespace {

bool links(std::string_view prev, std::string_view instance, int64_t seq, const LoggedEvent& row) {
  return row.event && chain_hash(prev, instance, seq, *row.event) == row.hash;
}

// The position `row` was written at, found by trying every position with
// every stored hash as its predecessor (the empty one for position 1):
// quadratic, but only run where a chain already broke.
std::optional<int64_t> written_at(std::string_view instance, const std::vector<LoggedEvent>& rows,
                                  const LoggedEvent& row) {
  if (!row.event) return std::nullopt;
  if (links("", instance, 1, row)) return 1;
  const int64_t last = static_cast<int64_t>(rows.size()) + 1;
  for (const LoggedEvent& before : rows) {
    if (&before == &row) continue;
    for (int64_t seq = 2; seq <= last; ++seq) {
      if (links(before.hash, instance, seq, row)) return seq;
    }
  }
  return std::nullopt;
}

std::string span(int64_t first, int64_t last) {
  return first == last ? fmt::format("event {} is", first) : fmt::format("events {} to {} are", first, last);
}

ChainBreak broken(AuditKind kind, int64_t seq, std::string message) {
  return ChainBreak{kind, seq, std::move(message)};
}

}  // namespace

std::optional<ChainBreak> check_chain(std::string_view instance, const std::vector<LoggedEvent>& rows,
                                      std::optional<int64_t> recorded_events) {
  const int64_t n = static_cast<int64_t>(rows.size());
  std::string prev;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t pos = i + 1;
    const LoggedEvent& row = rows[static_cast<size_t>(i)];
    const LoggedEvent* next = i + 1 < n ? &rows[static_cast<size_t>(i + 1)] : nullptr;

    if (row.seq != pos) {
      // Nothing is stored at `pos`. Was the event written there moved to a
      // later seq, or is it gone?
      for (int64_t j = i; j < n; ++j) {
        const LoggedEvent& later = rows[static_cast<size_t>(j)];
        if (links(prev, instance, pos, later)) {
          return broken(AuditKind::reordered, pos,
                        fmt::format("event {} is stored as seq {}: the rows were reordered", pos, later.seq));
        }
      }
      return broken(AuditKind::missing, pos,
                    fmt::format("{} missing: deleted from the log", span(pos, row.seq - 1)));
    }
    if (!row.event) {
      return broken(AuditKind::changed, pos,
                    fmt::format("event {} was changed: it can no longer be read ({})", pos, row.unreadable));
    }
    if (links(prev, instance, pos, row)) {
      prev = row.hash;
      continue;
    }

    // The row does not follow from its predecessor. A copy of another row?
    for (const LoggedEvent& other : rows) {
      if (&other != &row && other.hash == row.hash) {
        return broken(
            AuditKind::inserted, pos,
            fmt::format("event {} was inserted: it is a copy of the event stored as seq {}", pos, other.seq));
      }
    }
    // Written at another position?
    if (std::optional<int64_t> at = written_at(instance, rows, row); at && *at != pos) {
      return broken(AuditKind::reordered, pos,
                    fmt::format("event {} was written as event {}: the rows were reordered", pos, *at));
    }
    // Was the next row written right after the previous one? Then this row
    // was slipped in between and the later seqs were shifted to make room.
    if (next != nullptr && links(prev, instance, pos, *next)) {
      return broken(AuditKind::inserted, pos,
                    fmt::format("event {} was inserted: it is not part of the chain, and the event after it "
                                "was written as event {}",
                                pos, pos));
    }
    if (next == nullptr && recorded_events && pos > *recorded_events) {
      return broken(AuditKind::inserted, pos,
                    fmt::format("event {} was inserted: it is not part of the chain, and the instance records "
                                "only {} events",
                                pos, *recorded_events));
    }
    // Changed. A row edited, and the row before it rewritten with a freshly
    // computed hash, look alike: the stored hashes cannot tell them apart.
    const std::string or_before =
        pos > 1 ? fmt::format(" (or event {} rewritten with a recomputed hash)", pos - 1) : std::string();
    if (next != nullptr && links(row.hash, instance, pos + 1, *next)) {
      return broken(AuditKind::changed, pos,
                    fmt::format("event {} no longer matches its hash, which event {} still links to: event {} was "
                                "changed{}",
                                pos, pos + 1, pos, or_before));
    }
    if (next == nullptr) {
      return broken(AuditKind::changed, pos,
                    fmt::format("event {} no longer matches its hash: it was changed{}", pos, or_before));
    }
    return broken(
        AuditKind::changed, pos,
        fmt::format("event {} and event {} no longer match their hashes: event {} or its stored hash was "
                    "changed{}",
                    pos, pos + 1, pos, or_before));
  }

  if (recorded_events) {
    if (n < *recorded_events) {
      return broken(AuditKind::missing, n + 1,
                    fmt::format("{} missing: the instance records {} events, the log holds {}",
                                span(n + 1, *recorded_events), *recorded_events, n));
    }
    if (n > *recorded_events) {
      return broken(AuditKind::inserted, *recorded_events + 1,
                    fmt::format("{} not recorded by the instance, which counts {} events: added to the log "
                                "by hand",
                                span(*recorded_events + 1, n), *recorded_events));
    }
  }
  return std::nullopt;
}

// ---- Seals ------------------------------------------------------------------

namespace {

// Instance ids are decimal numbers; order them as numbers, then as text.
bool instance_less(const std::string& a, const std::string& b) {
  auto number = [](const std::string& s) -> std::optional<int64_t> {
    if (s.empty() || s.size() > 18) return std::nullopt;
    int64_t v = 0;
    for (char c : s) {
      if (c < '0' || c > '9') return std::nullopt;
      v = v * 10 + (c - '0');
    }
    return v;
  };
  std::optional<int64_t> na = number(a);
  std::optional<int64_t> nb = number(b);
  if (na && nb && *na != *nb) return *na < *nb;
  if (na.has_value() != nb.has_value()) return na.has_value();
  return a < b;
}

}  // namespace

std::string seal_digest(const SealContent& seal) {
  std::vector<SealHead> heads = seal.heads;
  std::sort(heads.begin(), heads.end(),
            [](const SealHead& a, const SealHead& b) { return instance_less(a.instance, b.instance); });
  std::vector<SealedDefinition> defs = seal.definitions;
  std::sort(defs.begin(), defs.end(), [](const SealedDefinition& a, const SealedDefinition& b) {
    return std::tie(a.process, a.version) < std::tie(b.process, b.version);
  });
  std::string text = "reglament seal 1\n";
  int64_t events = 0;
  for (const SealHead& h : heads) {
    text += fmt::format("instance {} {} {}\n", h.instance, h.seq, h.hash);
    events += h.seq;
  }
  for (const SealedDefinition& d : defs)
    text += fmt::format("definition {} {} {}\n", d.process, d.version, d.hash);
  if (seal.refusals) text += fmt::format("refusals {} {}\n", seal.refusals->seq, seal.refusals->hash);
  if (seal.deployments) text += fmt::format("deployments {} {}\n", seal.deployments->seq, seal.deployments->hash);
  if (seal.client_log) text += fmt::format("client_log {} {}\n", seal.client_log->seq, seal.client_log->hash);
  text += fmt::format("instances {} events {}\n", heads.size(), events);
  return sha256_hex(text);
}

Json encode_seal(const SealContent& seal) {
  JsonArray heads;
  for (const SealHead& h : seal.heads) {
    Json o = Json::object();
    o["instance"] = Json(h.instance);
    o["seq"] = Json(h.seq);
    o["hash"] = Json(h.hash);
    heads.push_back(std::move(o));
  }
  JsonArray defs;
  for (const SealedDefinition& d : seal.definitions) {
    Json o = Json::object();
    o["process"] = Json(d.process);
    o["version"] = Json(d.version);
    o["hash"] = Json(d.hash);
    defs.push_back(std::move(o));
  }
  Json j = Json::object();
  j["instances"] = Json(std::move(heads));
  j["definitions"] = Json(std::move(defs));
  for (const auto& [key, chain] : {std::pair{"refusals", &seal.refusals}, std::pair{"deployments", &seal.deployments},
                                    std::pair{"client_log", &seal.client_log}}) {
    if (!*chain) continue;
    Json r = Json::object();
    r["seq"] = Json((*chain)->seq);
    r["hash"] = Json((*chain)->hash);
    j[key] = std::move(r);
  }
  return j;
}

Result<SealContent> decode_seal(const Json& j) {
  const Error bad = make_error(ErrorCode::integrity, "the recorded seal is not readable");
  if (!j.is_object() || !j.get("instances").is_array() || !j.get("definitions").is_array()) return bad;
  SealContent seal;
  for (const Json& h : j.get("instances").as_array()) {
    if (!h.get("instance").is_string() || !h.get("seq").is_integer() || !h.get("hash").is_string()) return bad;
    seal.heads.push_back(SealHead{h.str("instance"), h.integer("seq"), h.str("hash")});
  }
  for (const Json& d : j.get("definitions").as_array()) {
    if (!d.get("process").is_string() || !d.get("version").is_integer() || !d.get("hash").is_string()) return bad;
    seal.definitions.push_back(
        SealedDefinition{d.str("process"), static_cast<int>(d.integer("version")), d.str("hash")});
  }
  for (const auto& [key, chain] : {std::pair{"refusals", &seal.refusals}, std::pair{"deployments", &seal.deployments},
                                    std::pair{"client_log", &seal.client_log}}) {
    if (!j.has(key)) continue;
    const Json& r = j.get(key);
    if (!r.is_object() || !r.get("seq").is_integer() || !r.get("hash").is_string()) return bad;
    *chain = SealedChain{r.integer("seq"), r.str("hash")};
  }
  return seal;
}

// ---- The past ---------------------------------------------------------------

InstanceState state_after(const std::vector<Event>& events, size_t n) {
  InstanceState s;
  const size_t end = std::min(n, events.size());
  for (size_t i = 0; i < end; ++i) apply(s, events[i]);
  return s;
}

std::optional<size_t> events_until(const std::vector<Event>& events, std::string_view at) {
  std::optional<std::string> bound = utc_instant(at);
  if (!bound) return std::nullopt;
  size_t n = 0;
  for (const Event& e : events) {
    std::optional<std::string> when = utc_instant(e.at);
    // An event whose time cannot be read cannot be placed before the bound.
    if (!when || *when > *bound) break;
    ++n;
  }
  return n;
}

std::vector<VariableChange> variable_changes(const std::vector<Event>& events) {
  std::vector<VariableChange> out;
  for (size_t i = 0; i < events.size(); ++i) {
    const Event& e = events[i];
    const Json* values = nullptr;
    switch (e.type) {
      case EventType::instance_started:
        values = &e.data.get("variables");
        break;
      case EventType::task_completed:
        values = &e.data.get("values");
        break;
      case EventType::service_completed:
      case EventType::child_returned:
        values = &e.data.get("outputs");
        break;
      default:
        break;
    }
    if (values == nullptr || !values->is_object()) continue;
    for (const auto& [name, value] : values->as_object()) {
      VariableChange c;
      c.name = name;
      c.value = value;
      c.seq = static_cast<int64_t>(i) + 1;
      c.at = e.at;
      c.actor = e.actor;
      c.step = e.step;
      c.type = e.type;
      out.push_back(std::move(c));
    }
  }
  return out;
}

std::vector<VariableChange> variable_sources(const std::vector<Event>& events, size_t n) {
  std::vector<Event> prefix(events.begin(),
                            events.begin() + static_cast<std::ptrdiff_t>(std::min(n, events.size())));
  std::map<std::string, VariableChange> last;
  for (VariableChange& c : variable_changes(prefix)) last[c.name] = std::move(c);
  std::vector<VariableChange> out;
  out.reserve(last.size());
  for (auto& [name, c] : last) out.push_back(std::move(c));
  return out;
}

}  // namespace reglament
