// The client database on SQLite. The tables are a projection of the records
// (engine/crm.h): apply_crm_record() is the only writer, and every record it
// applies leaves one row in client_log, the append-only account of who
// changed what and when. Tables and columns: storage/README.md.

#include "storage/crm.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <iterator>
#include <optional>
#include <utility>

#include <sqlite3.h>
#include <fmt/format.h>
#include <SQLiteCpp/Exception.h>

#include "engine/names.h"
#include "storage/chains.h"
#include "storage/schema_internal.h"

namespace reglament {

const char* const kCrmSchema = R"sql(
CREATE TABLE clients (
  id            INTEGER PRIMARY KEY,
  company       TEXT    NOT NULL,
  company_key   TEXT    NOT NULL,
  contact       TEXT    NOT NULL DEFAULT '',
  phone         TEXT    NOT NULL DEFAULT '',
  phone_key     TEXT    NOT NULL DEFAULT '',
  email         TEXT    NOT NULL DEFAULT '',
  regular_since TEXT    NOT NULL DEFAULT '',
  abc_class     TEXT    NOT NULL DEFAULT '' CHECK (abc_class IN ('', 'A', 'B', 'C')),
  abc_at        TEXT    NOT NULL DEFAULT '',
  vip           INTEGER NOT NULL DEFAULT 0 CHECK (vip IN (0, 1)),
  manager       TEXT    NOT NULL DEFAULT '',
  next_contact  TEXT    NOT NULL DEFAULT '',
  notes         TEXT    NOT NULL DEFAULT '',
  created_at    TEXT    NOT NULL,
  updated_at    TEXT    NOT NULL
);
CREATE INDEX clients_by_company_key ON clients (company_key);
CREATE INDEX clients_by_phone_key ON clients (phone_key);

CREATE TABLE contacts (
  id       INTEGER PRIMARY KEY,
  client   INTEGER NOT NULL REFERENCES clients (id),
  at       TEXT    NOT NULL,
  actor    TEXT,
  kind     TEXT,
  note     TEXT,
  instance TEXT,
  step     TEXT
);
CREATE INDEX contacts_by_client ON contacts (client, id);

CREATE TABLE requests (
  id             INTEGER PRIMARY KEY,
  client         INTEGER NOT NULL REFERENCES clients (id),
  instance       TEXT,
  status         TEXT    NOT NULL,
  at             TEXT    NOT NULL,
  actor          TEXT,
  date           TEXT,
  manager        TEXT,
  company        TEXT,
  contact_person TEXT,
  volume         REAL    CHECK (volume IS NULL OR volume >= 0),
  delivery_date  TEXT,
  delivery       TEXT,
  delivery_place TEXT,
  conditions     TEXT,
  filled_at      TEXT
);
CREATE INDEX requests_by_client ON requests (client, id);

CREATE TABLE complaints (
  id               INTEGER PRIMARY KEY,
  client           INTEGER NOT NULL REFERENCES clients (id),
  instance         TEXT,
  status           TEXT    NOT NULL,
  at               TEXT    NOT NULL,
  actor            TEXT,
  date             TEXT,
  manager          TEXT,
  company          TEXT,
  contact_person   TEXT,
  substance        TEXT,
  customer_demand  TEXT,
  manager_proposal TEXT,
  result           TEXT,
  needs_legal      INTEGER CHECK (needs_legal IS NULL OR needs_legal IN (0, 1)),
  filled_at        TEXT
);
CREATE INDEX complaints_by_client ON complaints (client, id);

CREATE TABLE items (
  id        INTEGER PRIMARY KEY,
  client    INTEGER NOT NULL REFERENCES clients (id),
  kind      TEXT    NOT NULL CHECK (kind IN ('debt', 'question')),
  text      TEXT    NOT NULL,
  amount    REAL    CHECK (amount IS NULL OR amount >= 0),
  opened_at TEXT    NOT NULL,
  closed_at TEXT,
  actor     TEXT
);
CREATE INDEX items_by_client ON items (client, id);

CREATE TABLE report_entries (
  id          INTEGER PRIMARY KEY,
  form        TEXT    NOT NULL,
  instance    TEXT,
  step        TEXT,
  at          TEXT    NOT NULL,
  actor       TEXT,
  values_json TEXT    NOT NULL
);
CREATE INDEX report_entries_by_form ON report_entries (form, id);

CREATE TABLE client_log (
  seq      INTEGER PRIMARY KEY,
  at       TEXT    NOT NULL,
  actor    TEXT,
  instance TEXT,
  step     TEXT,
  record   TEXT    NOT NULL,
  row_id   INTEGER NOT NULL,
  hash     TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX client_log_by_instance ON client_log (instance, seq) WHERE instance IS NOT NULL;
CREATE TRIGGER client_log_append_only_update BEFORE UPDATE ON client_log
BEGIN
  SELECT RAISE(ABORT, 'the client log is append-only');
END;
CREATE TRIGGER client_log_append_only_delete BEFORE DELETE ON client_log
BEGIN
  SELECT RAISE(ABORT, 'the client log is append-only');
END;
)sql";

namespace {

// The CHECK is written with OR: SQLite checks `kind IN (...)` of three or
// more values by building an ephemeral table on every insert.
constexpr const char* kClientKeysSchema = R"sql(
CREATE TABLE client_keys (
  kind   TEXT    NOT NULL CHECK (kind = 'w' OR kind = 'r' OR kind = 'p'),
  key    TEXT    NOT NULL,
  client INTEGER NOT NULL REFERENCES clients (id),
  PRIMARY KEY (kind, key, client)
) WITHOUT ROWID;
)sql";

constexpr const char* kInsertClientKey = "INSERT INTO client_keys (kind, key, client) VALUES (?1, ?2, ?3)";
constexpr const char* kDeleteClientKey = "DELETE FROM client_keys WHERE kind = ?1 AND key = ?2 AND client = ?3";

// Moves client `id`'s rows in client_keys from `before` to `after` (both
// sorted, as client_keys() returns them): deletes the keys it lost, inserts
// the ones it gained.
void write_client_keys(CrmStatements& sql, int64_t id, const std::vector<ClientKey>& before,
                       const std::vector<ClientKey>& after) {
  std::vector<ClientKey> lost;
  std::vector<ClientKey> gained;
  std::set_difference(before.begin(), before.end(), after.begin(), after.end(), std::back_inserter(lost));
  std::set_difference(after.begin(), after.end(), before.begin(), before.end(), std::back_inserter(gained));
  for (const auto& [keys, text] : {std::pair{&lost, kDeleteClientKey}, std::pair{&gained, kInsertClientKey}}) {
    for (const ClientKey& k : *keys) {
      storage_internal::Query q = sql(text);
      q->bind(1, std::string(1, k.kind));
      q->bind(2, k.text);
      q->bind(3, static_cast<int64_t>(id));
      q->exec();
    }
  }
}

// A client's search keys as its row stands now.
std::vector<ClientKey> stored_client_keys(CrmStatements& sql, int64_t id) {
  storage_internal::Query q = sql("SELECT company_key, contact, phone FROM clients WHERE id = ?1");
  q->bind(1, static_cast<int64_t>(id));
  if (!q->executeStep()) return {};
  return client_keys(q->getColumn(0).getText(), q->getColumn(1).getText(), q->getColumn(2).getText());
}

}  // namespace

void create_client_keys(SQLite::Database& db) {
  db.exec(kClientKeysSchema);
  CrmStatements sql(db);
  SQLite::Statement q(db, "SELECT id, company_key, contact, phone FROM clients ORDER BY id");
  while (q.executeStep()) {
    write_client_keys(sql, q.getColumn(0).getInt64(), {},
                      client_keys(q.getColumn(1).getText(), q.getColumn(2).getText(), q.getColumn(3).getText()));
  }
}

std::vector<std::pair<std::string, std::string>> crm_guard_triggers() {
  // Cut out of the schema text, so the two cannot drift apart.
  return storage_internal::triggers_in(kCrmSchema);
}

namespace {

using storage_internal::bind_text_or_null;
using storage_internal::Query;


// ---- Record shapes ------------------------------------------------------------

enum class Kind { text, number, boolean, id, object };

struct FieldSpec {
  std::string_view name;
  Kind kind;
};

// The fields each op accepts besides `op`. `client` and `company` name the
// client where an op takes one (see resolve_client).
struct OpSpec {
  std::string_view op;
  std::vector<FieldSpec> fields;
};

const std::vector<FieldSpec>& client_fields() {
  static const std::vector<FieldSpec> fields{
      {"company", Kind::text},       {"contact", Kind::text},     {"phone", Kind::text},
      {"email", Kind::text},         {"regular_since", Kind::text}, {"vip", Kind::boolean},
      {"manager", Kind::text},       {"next_contact", Kind::text}, {"notes", Kind::text},
  };
  return fields;
}

std::vector<FieldSpec> with(std::vector<FieldSpec> a, const std::vector<FieldSpec>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// Form 7.3 (processes/forms/request.yaml) and 7.4 (complaint.yaml).
const std::vector<FieldSpec> kRequestForm{
    {"date", Kind::text},          {"manager", Kind::text},  {"company", Kind::text},
    {"contact_person", Kind::text}, {"volume", Kind::number}, {"delivery_date", Kind::text},
    {"delivery", Kind::text},      {"delivery_place", Kind::text}, {"conditions", Kind::text},
    {"filled_at", Kind::text},
};
const std::vector<FieldSpec> kComplaintForm{
    {"date", Kind::text},           {"manager", Kind::text},          {"company", Kind::text},
    {"contact_person", Kind::text}, {"substance", Kind::text},        {"customer_demand", Kind::text},
    {"manager_proposal", Kind::text}, {"result", Kind::text},         {"needs_legal", Kind::boolean},
    {"filled_at", Kind::text},
};

const std::vector<OpSpec>& op_specs() {
  static const std::vector<OpSpec> specs{
      {"client.add", client_fields()},
      {"client.update", with({{"client", Kind::id}}, client_fields())},
      {"client.classify",
       {{"client", Kind::id}, {"company", Kind::text}, {"class", Kind::text}, {"computed_at", Kind::text}}},
      {"contact.add",
       {{"client", Kind::id}, {"company", Kind::text}, {"kind", Kind::text}, {"note", Kind::text},
        {"instance", Kind::text}, {"step", Kind::text}}},
      {"request.add", with({{"client", Kind::id}, {"instance", Kind::text}, {"status", Kind::text}}, kRequestForm)},
      {"request.update", {{"request", Kind::id}, {"status", Kind::text}}},
      {"complaint.add",
       with({{"client", Kind::id}, {"instance", Kind::text}, {"status", Kind::text}}, kComplaintForm)},
      {"complaint.update", {{"complaint", Kind::id}, {"status", Kind::text}}},
      {"item.add",
       {{"client", Kind::id}, {"company", Kind::text}, {"kind", Kind::text}, {"text", Kind::text},
        {"amount", Kind::number}}},
      {"item.close", {{"item", Kind::id}}},
      {"report.add",
       {{"form", Kind::text}, {"values", Kind::object}, {"instance", Kind::text}, {"step", Kind::text}}},
  };
  return specs;
}

std::string_view kind_text(Kind k) {
  switch (k) {
    case Kind::text:
      return "text";
    case Kind::number:
      return "a number";
    case Kind::boolean:
      return "true or false";
    case Kind::id:
      return "a positive whole number (an id)";
    case Kind::object:
      return "a JSON object";
  }
  return "?";
}

bool has_kind(const Json& v, Kind k) {
  switch (k) {
    case Kind::text:
      return v.is_string();
    case Kind::number:
      return v.is_number() && std::isfinite(v.as_double());
    case Kind::boolean:
      return v.is_bool();
    case Kind::id:
      if (v.is_integer()) return v.as_int() >= 1;
      return v.kind() == Json::Kind::real && std::isfinite(v.as_double()) && v.as_double() >= 1 &&
             v.as_double() == std::floor(v.as_double()) && v.as_double() < 9.0e18;
    case Kind::object:
      return v.is_object();
  }
  return false;
}

// The record's fields after checking their names and kinds; a null value
// counts as absent.
class Fields {
 public:
  explicit Fields(const JsonObject& o) : o_(o) {}

  bool has(std::string_view name) const {
    auto it = o_.find(name);
    return it != o_.end() && !it->second.is_null();
  }
  const Json& get(std::string_view name) const { return o_.find(name)->second; }
  std::string text(std::string_view name) const { return has(name) ? get(name).as_string() : std::string(); }
  int64_t id(std::string_view name) const { return has(name) ? get(name).as_int() : 0; }

 private:
  const JsonObject& o_;
};

Status check_shape(std::string_view op, const JsonObject& record, const OpSpec& spec) {
  for (const auto& [name, value] : record) {
    if (name == "op") continue;
    auto it = std::find_if(spec.fields.begin(), spec.fields.end(),
                           [&](const FieldSpec& f) { return f.name == name; });
    if (it == spec.fields.end()) {
      return make_error(ErrorCode::invalid, fmt::format("{} has no field \"{}\"", op, name));
    }
    if (!value.is_null() && !has_kind(value, it->kind)) {
      return make_error(ErrorCode::invalid,
                        fmt::format("{}: \"{}\" must be {}, not {}", op, name, kind_text(it->kind), value.dump()));
    }
  }
  return {};
}

Error required(std::string_view op, std::string_view what) {
  return make_error(ErrorCode::invalid, fmt::format("{} needs {}", op, what));
}

// ---- Small SQL helpers ----------------------------------------------------------

void bind_field(SQLite::Statement& s, int index, const Fields& f, std::string_view name, Kind kind) {
  if (!f.has(name)) {
    s.bind(index);
    return;
  }
  const Json& v = f.get(name);
  switch (kind) {
    case Kind::text:
      s.bind(index, v.as_string());
      return;
    case Kind::number:
      s.bind(index, v.as_double());
      return;
    case Kind::boolean:
      s.bind(index, v.as_bool() ? 1 : 0);
      return;
    case Kind::id:
      s.bind(index, static_cast<int64_t>(v.as_int()));
      return;
    case Kind::object:
      s.bind(index, v.dump());
      return;
  }
}

bool row_exists(CrmStatements& sql, const char* table, int64_t id) {
  Query q = sql(fmt::format("SELECT 1 FROM {} WHERE id = ?1", table));
  q->bind(1, static_cast<int64_t>(id));
  return q->executeStep();
}

// The ids of the clients whose company_key is `key`, at most three.
std::vector<int64_t> clients_with_key(CrmStatements& sql, const std::string& key) {
  Query q = sql("SELECT id FROM clients WHERE company_key = ?1 ORDER BY id LIMIT 3");
  q->bind(1, key);
  std::vector<int64_t> ids;
  while (q->executeStep()) ids.push_back(q->getColumn(0).getInt64());
  return ids;
}

Result<std::string> company_key(std::string_view op, const std::string& company) {
  std::string key = normalize_company(company);
  if (key.empty()) {
    return make_error(ErrorCode::invalid,
                      fmt::format("{}: the company name \"{}\" has nothing to match on besides its legal form "
                                  "and punctuation",
                                  op, company));
  }
  return key;
}

// The client a record names: `client` (an id that must exist), else
// `company` matched on normalize_company().
Result<int64_t> resolve_client(CrmStatements& sql, std::string_view op, const Fields& f) {
  if (f.has("client")) {
    const int64_t id = f.id("client");
    if (!row_exists(sql, "clients", id)) return make_error(ErrorCode::not_found, fmt::format("no client {}", id));
    return id;
  }
  if (!f.has("company") || f.text("company").empty()) return required(op, "a client (id) or a company name");
  const std::string company = f.text("company");
  Result<std::string> key = company_key(op, company);
  if (!key) return key.error();
  std::vector<int64_t> ids = clients_with_key(sql, *key);
  if (ids.empty()) {
    return make_error(ErrorCode::not_found, fmt::format("no client has the company name \"{}\"", company));
  }
  if (ids.size() > 1) {
    return make_error(ErrorCode::invalid,
                      fmt::format("the company name \"{}\" is ambiguous: clients {} and {} have it; name the client "
                                  "by its id",
                                  company, ids[0], ids[1]));
  }
  return ids[0];
}

// conflict when another client than `self` has the key.
Status check_unique_key(CrmStatements& sql, const std::string& key, int64_t self) {
  for (int64_t id : clients_with_key(sql, key)) {
    if (id == self) continue;
    Query q = sql("SELECT company FROM clients WHERE id = ?1");
    q->bind(1, static_cast<int64_t>(id));
    const std::string name = q->executeStep() ? q->getColumn(0).getString() : std::string();
    return make_error(ErrorCode::conflict, fmt::format("client {} already has that name (\"{}\")", id, name));
  }
  return {};
}

// The writes of one record, all or nothing (the checks run before it).
class Savepoint {
 public:
  explicit Savepoint(CrmStatements& sql) : sql_(sql) { sql_("SAVEPOINT crm_record")->exec(); }
  ~Savepoint() {
    if (done_) return;
    try {
      sql_("ROLLBACK TO crm_record")->exec();
      sql_("RELEASE crm_record")->exec();
    } catch (const SQLite::Exception&) {
      // Destructors never throw; the caller's transaction is failing anyway.
    }
  }
  Savepoint(const Savepoint&) = delete;
  Savepoint& operator=(const Savepoint&) = delete;
  void release() {
    sql_("RELEASE crm_record")->exec();
    done_ = true;
  }

 private:
  CrmStatements& sql_;
  bool done_ = false;
};

// An INSERT of `columns` (bound from the record, by their kinds) plus the
// fixed leading columns bound by `lead`.
int64_t insert_row(CrmStatements& sql, std::string_view table, const std::vector<std::string>& lead_columns,
                   const std::function<void(SQLite::Statement&)>& bind_lead, const std::vector<FieldSpec>& columns,
                   const Fields& f) {
  std::string names;
  std::string marks;
  int n = 0;
  auto add = [&](std::string_view name) {
    if (n > 0) {
      names += ", ";
      marks += ", ";
    }
    ++n;
    names += name;
    marks += fmt::format("?{}", n);
  };
  for (const auto& c : lead_columns) add(c);
  for (const auto& c : columns) add(c.name);
  Query q = sql(fmt::format("INSERT INTO {} ({}) VALUES ({})", table, names, marks));
  bind_lead(*q);
  int index = static_cast<int>(lead_columns.size());
  for (const auto& c : columns) bind_field(*q, ++index, f, c.name, c.kind);
  q->exec();
  return sql.db().getLastInsertRowid();
}

// The row is chained to the one before it (storage/chains.h), so verify can
// prove the records are the ones applied, and rebuild the tables from them.
void log_record(CrmStatements& sql, const Json& record, const CrmContext& ctx, int64_t row_id) {
  storage_internal::ClientLogRow row{0, ctx.at, ctx.actor, ctx.instance, ctx.step, record.dump(), row_id};
  std::string previous;
  {
    Query last = sql("SELECT seq, hash FROM client_log ORDER BY seq DESC LIMIT 1");
    if (last->executeStep()) {
      row.seq = last->getColumn(0).getInt64() + 1;
      previous = last->getColumn(1).getString();
    } else {
      row.seq = 1;
    }
  }
  Query q = sql("INSERT INTO client_log (seq, at, actor, instance, step, record, row_id, hash) "
                "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
  q->bind(1, row.seq);
  q->bind(2, ctx.at);
  bind_text_or_null(*q, 3, ctx.actor);
  bind_text_or_null(*q, 4, ctx.instance);
  bind_text_or_null(*q, 5, ctx.step);
  q->bind(6, row.record);
  q->bind(7, static_cast<int64_t>(row_id));
  q->bind(8, storage_internal::client_log_hash(previous, row));
  q->exec();
}

// ---- The ops --------------------------------------------------------------------
// Each checks everything first and returns a `write` that cannot fail on
// the record's account (only SQLite itself may still throw).

using Write = std::function<int64_t()>;

Result<Write> client_add(CrmStatements& sql, const Fields& f, const CrmContext& ctx) {
  if (f.text("company").empty()) return required("client.add", "a company");
  Result<std::string> key = company_key("client.add", f.text("company"));
  if (!key) return key.error();
  if (Status unique = check_unique_key(sql, *key, 0); !unique) return unique.error();
  return Write([&sql, &f, &ctx, key = *key] {
    Query q = sql("INSERT INTO clients (company, company_key, contact, phone, phone_key, email, regular_since, "
                  "vip, manager, next_contact, notes, created_at, updated_at) "
                  "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12)");
    q->bind(1, f.text("company"));
    q->bind(2, key);
    q->bind(3, f.text("contact"));
    q->bind(4, f.text("phone"));
    q->bind(5, normalize_phone(f.text("phone")));
    q->bind(6, f.text("email"));
    q->bind(7, f.text("regular_since"));
    q->bind(8, f.has("vip") && f.get("vip").as_bool() ? 1 : 0);
    q->bind(9, f.text("manager"));
    q->bind(10, f.text("next_contact"));
    q->bind(11, f.text("notes"));
    q->bind(12, ctx.at);
    q->exec();
    const int64_t id = sql.db().getLastInsertRowid();
    write_client_keys(sql, id, {}, client_keys(key, f.text("contact"), f.text("phone")));
    return id;
  });
}

Result<Write> client_update(CrmStatements& sql, const Fields& f, const CrmContext& ctx) {
  // With `client`, `company` is the new name; without, it names the client.
  const bool renames = f.has("client") && f.has("company");
  Result<int64_t> id = resolve_client(sql, "client.update", f);
  if (!id) return id.error();
  std::string key;
  if (renames) {
    if (f.text("company").empty()) return required("client.update", "a non-empty company name");
    Result<std::string> k = company_key("client.update", f.text("company"));
    if (!k) return k.error();
    if (Status unique = check_unique_key(sql, *k, *id); !unique) return unique.error();
    key = *k;
  }
  std::vector<std::string_view> changed;
  for (const FieldSpec& c : client_fields()) {
    if (c.name == "company" && !renames) continue;
    if (f.has(c.name)) changed.push_back(c.name);
  }
  if (changed.empty()) return required("client.update", "at least one field to change");
  return Write([&sql, &f, &ctx, id = *id, key, changed] {
    const bool searched_by = std::any_of(changed.begin(), changed.end(), [](std::string_view c) {
      return c == "company" || c == "contact" || c == "phone";
    });
    std::vector<ClientKey> keys_before;
    if (searched_by) keys_before = stored_client_keys(sql, id);
    std::string sets = "updated_at = ?1";
    int index = 1;
    for (std::string_view c : changed) {
      sets += fmt::format(", {} = ?{}", c, ++index);
      if (c == "company") sets += fmt::format(", company_key = ?{}", ++index);
      if (c == "phone") sets += fmt::format(", phone_key = ?{}", ++index);
    }
    Query q = sql(fmt::format("UPDATE clients SET {} WHERE id = ?{}", sets, index + 1));
    q->bind(1, ctx.at);
    index = 1;
    for (std::string_view c : changed) {
      if (c == "vip") {
        q->bind(++index, f.get(c).as_bool() ? 1 : 0);
        continue;
      }
      q->bind(++index, f.text(c));
      if (c == "company") q->bind(++index, key);
      if (c == "phone") q->bind(++index, normalize_phone(f.text(c)));
    }
    q->bind(index + 1, static_cast<int64_t>(id));
    q->exec();
    if (searched_by) write_client_keys(sql, id, keys_before, stored_client_keys(sql, id));
    return id;
  });
}

Result<Write> client_classify(CrmStatements& sql, const Fields& f, const CrmContext& ctx) {
  Result<int64_t> id = resolve_client(sql, "client.classify", f);
  if (!id) return id.error();
  const std::string cls = f.text("class");
  if (cls != "A" && cls != "B" && cls != "C") {
    return make_error(ErrorCode::invalid,
                      f.has("class") ? fmt::format("client.classify: class \"{}\" is not A, B or C", cls)
                                     : std::string("client.classify needs a class (A, B or C)"));
  }
  return Write([&sql, &f, &ctx, id = *id, cls] {
    Query q = sql("UPDATE clients SET abc_class = ?1, abc_at = ?2, updated_at = ?3 WHERE id = ?4");
    q->bind(1, cls);
    q->bind(2, f.has("computed_at") ? f.text("computed_at") : ctx.at);
    q->bind(3, ctx.at);
    q->bind(4, static_cast<int64_t>(id));
    q->exec();
    return id;
  });
}

// The record's instance and step, else the context's.
std::string from_record_or(const Fields& f, std::string_view name, const std::string& fallback) {
  return f.has(name) ? f.text(name) : fallback;
}

Result<Write> contact_add(CrmStatements& sql, const Fields& f, const CrmContext& ctx) {
  Result<int64_t> id = resolve_client(sql, "contact.add", f);
  if (!id) return id.error();
  return Write([&sql, &f, &ctx, client = *id] {
    Query q = sql("INSERT INTO contacts (client, at, actor, kind, note, instance, step) "
                  "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
    q->bind(1, static_cast<int64_t>(client));
    q->bind(2, ctx.at);
    bind_text_or_null(*q, 3, ctx.actor);
    bind_field(*q, 4, f, "kind", Kind::text);
    bind_field(*q, 5, f, "note", Kind::text);
    bind_text_or_null(*q, 6, from_record_or(f, "instance", ctx.instance));
    bind_text_or_null(*q, 7, from_record_or(f, "step", ctx.step));
    q->exec();
    return sql.db().getLastInsertRowid();
  });
}

// request.add and complaint.add: the client, the status (default
// `default_status`), and the form's fields as columns.
Result<Write> form_add(CrmStatements& sql, std::string_view op, std::string_view table,
                       const std::vector<FieldSpec>& form, const char* default_status, const Fields& f,
                       const CrmContext& ctx) {
  Result<int64_t> id = resolve_client(sql, op, f);
  if (!id) return id.error();
  if (f.has("status") && f.text("status").empty()) return required(op, "a non-empty status when one is given");
  if (f.has("volume") && f.get("volume").as_double() < 0) {
    return make_error(ErrorCode::invalid, fmt::format("{}: the volume must not be negative", op));
  }
  return Write([&sql, &f, &ctx, table, &form, default_status, client = *id] {
    const std::string status = f.has("status") ? f.text("status") : std::string(default_status);
    const std::string instance = from_record_or(f, "instance", ctx.instance);
    return insert_row(
        sql, table, {"client", "instance", "status", "at", "actor"},
        [&](SQLite::Statement& q) {
          q.bind(1, static_cast<int64_t>(client));
          bind_text_or_null(q, 2, instance);
          q.bind(3, status);
          q.bind(4, ctx.at);
          bind_text_or_null(q, 5, ctx.actor);
        },
        form, f);
  });
}

Result<Write> status_update(CrmStatements& sql, std::string_view op, const char* table, std::string_view id_field,
                            const Fields& f) {
  if (!f.has(id_field)) return required(op, fmt::format("the {} (its id)", id_field));
  const int64_t id = f.id(id_field);
  if (!row_exists(sql, table, id)) return make_error(ErrorCode::not_found, fmt::format("no {} {}", id_field, id));
  if (f.text("status").empty()) return required(op, "a status");
  return Write([&sql, &f, table, id] {
    Query q = sql(fmt::format("UPDATE {} SET status = ?1 WHERE id = ?2", table));
    q->bind(1, f.text("status"));
    q->bind(2, static_cast<int64_t>(id));
    q->exec();
    return id;
  });
}

Result<Write> item_add(CrmStatements& sql, const Fields& f, const CrmContext& ctx) {
  Result<int64_t> id = resolve_client(sql, "item.add", f);
  if (!id) return id.error();
  const std::string kind = f.text("kind");
  if (kind != "debt" && kind != "question") {
    return make_error(ErrorCode::invalid, f.has("kind")
                                              ? fmt::format("item.add: kind \"{}\" is not debt or question", kind)
                                              : std::string("item.add needs a kind (debt or question)"));
  }
  if (f.text("text").empty()) return required("item.add", "a text");
  if (f.has("amount") && f.get("amount").as_double() < 0) {
    return make_error(ErrorCode::invalid, "item.add: the amount must not be negative");
  }
  return Write([&sql, &f, &ctx, client = *id, kind] {
    Query q = sql("INSERT INTO items (client, kind, text, amount, opened_at, closed_at, actor) "
                  "VALUES (?1, ?2, ?3, ?4, ?5, NULL, ?6)");
    q->bind(1, static_cast<int64_t>(client));
    q->bind(2, kind);
    q->bind(3, f.text("text"));
    bind_field(*q, 4, f, "amount", Kind::number);
    q->bind(5, ctx.at);
    bind_text_or_null(*q, 6, ctx.actor);
    q->exec();
    return sql.db().getLastInsertRowid();
  });
}

Result<Write> item_close(CrmStatements& sql, const Fields& f, const CrmContext& ctx) {
  if (!f.has("item")) return required("item.close", "the item (its id)");
  const int64_t id = f.id("item");
  Query q = sql("SELECT closed_at FROM items WHERE id = ?1");
  q->bind(1, static_cast<int64_t>(id));
  if (!q->executeStep()) return make_error(ErrorCode::not_found, fmt::format("no item {}", id));
  if (!q->getColumn(0).isNull()) {
    return make_error(ErrorCode::conflict,
                      fmt::format("item {} was already closed at {}", id, q->getColumn(0).getString()));
  }
  return Write([&sql, &ctx, id] {
    Query u = sql("UPDATE items SET closed_at = ?1 WHERE id = ?2");
    u->bind(1, ctx.at);
    u->bind(2, static_cast<int64_t>(id));
    u->exec();
    return id;
  });
}

Result<Write> report_add(CrmStatements& sql, const Fields& f, const CrmContext& ctx) {
  if (f.text("form").empty()) return required("report.add", "a form (the report form's name)");
  if (!f.has("values")) return required("report.add", "values (a JSON object)");
  return Write([&sql, &f, &ctx] {
    Query q = sql("INSERT INTO report_entries (form, instance, step, at, actor, values_json) "
                  "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
    q->bind(1, f.text("form"));
    bind_text_or_null(*q, 2, from_record_or(f, "instance", ctx.instance));
    bind_text_or_null(*q, 3, from_record_or(f, "step", ctx.step));
    q->bind(4, ctx.at);
    bind_text_or_null(*q, 5, ctx.actor);
    q->bind(6, f.get("values").dump());
    q->exec();
    return sql.db().getLastInsertRowid();
  });
}

Result<Write> plan(CrmStatements& sql, std::string_view op, const Fields& f, const CrmContext& ctx) {
  if (op == "client.add") return client_add(sql, f, ctx);
  if (op == "client.update") return client_update(sql, f, ctx);
  if (op == "client.classify") return client_classify(sql, f, ctx);
  if (op == "contact.add") return contact_add(sql, f, ctx);
  if (op == "request.add") return form_add(sql, op, "requests", kRequestForm, "accepted", f, ctx);
  if (op == "request.update") return status_update(sql, op, "requests", "request", f);
  if (op == "complaint.add") return form_add(sql, op, "complaints", kComplaintForm, "open", f, ctx);
  if (op == "complaint.update") return status_update(sql, op, "complaints", "complaint", f);
  if (op == "item.add") return item_add(sql, f, ctx);
  if (op == "item.close") return item_close(sql, f, ctx);
  return report_add(sql, f, ctx);
}

bool is_date(std::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9})
    if (s[i] < '0' || s[i] > '9') return false;
  return true;
}

}  // namespace

Query CrmStatements::operator()(const std::string& sql) {
  auto it = statements_.find(sql);
  if (it == statements_.end()) it = statements_.emplace(sql, std::make_unique<SQLite::Statement>(db_, sql)).first;
  it->second->clearBindings();
  return Query(*it->second);
}

Result<int64_t> apply_crm_record(CrmStatements& sql, const Json& record, const CrmContext& ctx) {
  if (!record.is_object()) {
    return make_error(ErrorCode::invalid,
                      fmt::format("a client database record must be a JSON object, not {}", record.dump()));
  }
  const Json& op_value = record.get("op");
  if (!op_value.is_string()) return make_error(ErrorCode::invalid, "a client database record needs an op (text)");
  const std::string& op = op_value.as_string();
  const auto& specs = op_specs();
  auto spec = std::find_if(specs.begin(), specs.end(), [&](const OpSpec& s) { return s.op == op; });
  if (spec == specs.end()) {
    return make_error(ErrorCode::invalid, fmt::format("unknown client database record op \"{}\"", op));
  }
  if (Status shape = check_shape(op, record.as_object(), *spec); !shape) return shape.error();
  const Fields fields(record.as_object());
  Result<Write> write = plan(sql, op, fields, ctx);
  if (!write) return write.error();
  Savepoint sp(sql);
  const int64_t row_id = (*write)();
  log_record(sql, record, ctx, row_id);
  sp.release();
  return row_id;
}

Result<std::vector<AbcInput>> crm_abc_volumes(SQLite::Database& db, const std::string& from,
                                              const std::string& to) {
  for (const std::string* bound : {&from, &to}) {
    if (!bound->empty() && !is_date(*bound)) {
      return make_error(ErrorCode::invalid,
                        fmt::format("the period bound \"{}\" is not a date (YYYY-MM-DD)", *bound));
    }
  }
  // A request's day: the form's date, else the day it was recorded.
  SQLite::Statement q(db,
                      "SELECT c.id, coalesce(sum(r.volume), 0) FROM clients c LEFT JOIN ("
                      "  SELECT client, volume, CASE WHEN coalesce(date, '') = '' THEN substr(at, 1, 10) "
                      "    ELSE date END AS day FROM requests WHERE status IN ('accepted', 'done')"
                      ") r ON r.client = c.id AND (?1 = '' OR r.day >= ?1) AND (?2 = '' OR r.day < ?2) "
                      "GROUP BY c.id ORDER BY c.id");
  q.bind(1, from);
  q.bind(2, to);
  std::vector<AbcInput> out;
  while (q.executeStep()) out.push_back(AbcInput{q.getColumn(0).getInt64(), q.getColumn(1).getDouble()});
  return out;
}

// ---- SqliteClientBook -------------------------------------------------------------

namespace {

constexpr const char* kSelectClients =
    "SELECT id, company, contact, phone, email, regular_since, abc_class, abc_at, vip, manager, next_contact, "
    "notes, created_at, updated_at FROM clients ORDER BY id";
constexpr const char* kSelectClient =
    "SELECT id, company, contact, phone, email, regular_since, abc_class, abc_at, vip, manager, next_contact, "
    "notes, created_at, updated_at FROM clients WHERE id = ?1";
constexpr const char* kSelectNamed =
    "SELECT id, company, contact, phone, email, regular_since, abc_class, abc_at, vip, manager, next_contact, "
    "notes, created_at, updated_at FROM clients WHERE company_key = ?1 ORDER BY id";
constexpr const char* kSelectMatchColumns = "SELECT company_key, contact, phone FROM clients WHERE id = ?1";
constexpr const char* kSelectKeyExact = "SELECT key, client FROM client_keys WHERE kind = ?1 AND key = ?2";
constexpr const char* kSelectKeyRange =
    "SELECT key, client FROM client_keys WHERE kind = ?1 AND key >= ?2 AND key < ?3";

// Rows of the per-client tables: every column; ?1 = 0 for all clients.
constexpr const char* kSelectContacts = "SELECT * FROM contacts WHERE ?1 = 0 OR client = ?1 ORDER BY id";
constexpr const char* kSelectRequests = "SELECT * FROM requests WHERE ?1 = 0 OR client = ?1 ORDER BY id";
constexpr const char* kSelectComplaints = "SELECT * FROM complaints WHERE ?1 = 0 OR client = ?1 ORDER BY id";
constexpr const char* kSelectItems = "SELECT * FROM items WHERE ?1 = 0 OR client = ?1 ORDER BY id";
constexpr const char* kSelectReports = "SELECT * FROM report_entries ORDER BY id";

Client read_client(SQLite::Statement& q) {
  Client c;
  c.id = q.getColumn(0).getInt64();
  c.company = q.getColumn(1).getString();
  c.contact = q.getColumn(2).getString();
  c.phone = q.getColumn(3).getString();
  c.email = q.getColumn(4).getString();
  c.regular_since = q.getColumn(5).getString();
  c.abc_class = q.getColumn(6).getString();
  c.abc_at = q.getColumn(7).getString();
  c.vip = q.getColumn(8).getInt() != 0;
  c.manager = q.getColumn(9).getString();
  c.next_contact = q.getColumn(10).getString();
  c.notes = q.getColumn(11).getString();
  c.created_at = q.getColumn(12).getString();
  c.updated_at = q.getColumn(13).getString();
  return c;
}

// One row as CrmRow: `id` and `client` apart, every other column a field
// (NULL as null; needs_legal as a bool; values_json parsed, as "values").
Result<CrmRow> read_row(SQLite::Statement& q) {
  CrmRow row;
  for (int i = 0; i < q.getColumnCount(); ++i) {
    const std::string name = q.getColumnName(i);
    const SQLite::Column c = q.getColumn(i);
    if (name == "id") {
      row.id = c.getInt64();
      continue;
    }
    if (name == "client") {
      row.client = c.getInt64();
      continue;
    }
    Json value;
    switch (c.getType()) {
      case SQLITE_INTEGER:
        value = name == "needs_legal" ? Json(c.getInt64() != 0) : Json(static_cast<int64_t>(c.getInt64()));
        break;
      case SQLITE_FLOAT:
        value = Json(c.getDouble());
        break;
      case SQLITE_NULL:
        break;
      default:
        value = Json(c.getString());
    }
    if (name == "values_json") {
      Result<Json> parsed = parse_json(c.getString());
      if (!parsed) {
        return make_error(ErrorCode::integrity,
                          fmt::format("report entry {} has unreadable values: {}", row.id, parsed.error().message));
      }
      row.fields.emplace("values", std::move(parsed).value());
      continue;
    }
    row.fields.emplace(name, std::move(value));
  }
  return row;
}

}  // namespace

SqliteClientBook::SqliteClientBook(SQLite::Database& db, std::string path) : db_(db), path_(std::move(path)) {}

SqliteClientBook::~SqliteClientBook() = default;

SQLite::Statement& SqliteClientBook::statement(const char* sql, size_t copy) const {
  auto it = statements_.find({sql, copy});
  if (it == statements_.end()) {
    it = statements_.emplace(std::pair{sql, copy}, std::make_unique<SQLite::Statement>(db_, sql)).first;
  }
  return *it->second;
}

std::vector<int64_t> SqliteClientBook::candidates(const NameMatcher& matcher) const {
  // A client matches only if it matches every query word, so the clients
  // found by any one word are enough to score. Which word finds the fewest
  // is not known before reading: the words' ranges are read a row at a
  // time in turn, and the first word whose rows are all read gives the
  // candidates — at the cost of about (words x its rows), never the whole
  // database. A phone query adds the clients with its last five digits.
  struct Group {
    std::vector<const NameMatcher::KeyRange*> ranges;
    size_t next = 0;  // the range being read
    std::optional<Query> q;
    std::vector<int64_t> ids;
  };
  const size_t words = matcher.word_groups();
  std::vector<Group> groups(words + 1);
  for (const NameMatcher::KeyRange& r : matcher.key_ranges()) groups[r.group].ranges.push_back(&r);
  // Reads one more row of group `g`; false once all of its rows are read.
  auto step = [&](size_t g) {
    Group& group = groups[g];
    while (group.next < group.ranges.size()) {
      const NameMatcher::KeyRange& r = *group.ranges[group.next];
      if (!group.q) {
        group.q.emplace(statement(r.exact ? kSelectKeyExact : kSelectKeyRange, g));
        (*group.q)->bind(1, std::string(1, r.kind));
        (*group.q)->bind(2, r.from);
        if (!r.exact) (*group.q)->bind(3, r.to);
      }
      if ((*group.q)->executeStep()) {
        if (matcher.key_matches(r, (*group.q)->getColumn(0).getText())) {
          group.ids.push_back((*group.q)->getColumn(1).getInt64());
        }
        return true;
      }
      group.q.reset();
      ++group.next;
    }
    return false;
  };
  std::vector<int64_t> out;
  if (words > 0) {
    std::optional<size_t> done;
    while (!done) {
      for (size_t g = 0; g < words && !done; ++g) {
        if (!step(g)) done = g;
      }
    }
    out = std::move(groups[*done].ids);
    for (Group& g : groups) g.q.reset();
  }
  while (step(words)) {
  }
  out.insert(out.end(), groups[words].ids.begin(), groups[words].ids.end());
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

Result<std::vector<Client>> SqliteClientBook::clients() const {
  try {
    Query q(statement(kSelectClients));
    std::vector<Client> out;
    while (q->executeStep()) out.push_back(read_client(*q));
    return out;
  } catch (const SQLite::Exception& e) {
    return storage_internal::sqlite_error(e, path_);
  }
}

Result<std::optional<Client>> SqliteClientBook::client(int64_t id) const {
  try {
    Query q(statement(kSelectClient));
    q->bind(1, static_cast<int64_t>(id));
    if (!q->executeStep()) return std::optional<Client>();
    return std::optional<Client>(read_client(*q));
  } catch (const SQLite::Exception& e) {
    return storage_internal::sqlite_error(e, path_);
  }
}

Result<std::vector<ClientMatch>> SqliteClientBook::find(std::string_view query, int limit) const {
  struct Scored {
    int64_t id;
    double score;
  };
  std::vector<Scored> scored;
  const NameMatcher matcher(query);
  try {
    for (const int64_t id : candidates(matcher)) {
      Query q(statement(kSelectMatchColumns));
      q->bind(1, static_cast<int64_t>(id));
      if (!q->executeStep()) continue;
      const double score = matcher.score_key(q->getColumn(0).getText(), q->getColumn(1).getText(),
                                             q->getColumn(2).getText());
      if (score > 0.5) scored.push_back(Scored{id, score});
    }
  } catch (const SQLite::Exception& e) {
    return storage_internal::sqlite_error(e, path_);
  }
  // The candidates are by id, so a stable sort keeps equal scores by id.
  std::stable_sort(scored.begin(), scored.end(), [](const Scored& a, const Scored& b) { return a.score > b.score; });
  if (limit > 0 && scored.size() > static_cast<size_t>(limit)) scored.resize(static_cast<size_t>(limit));
  std::vector<ClientMatch> out;
  for (const Scored& s : scored) {
    auto c = client(s.id);
    if (!c) return c.error();
    if (*c) out.push_back(ClientMatch{std::move(**c), s.score});
  }
  return out;
}

Result<std::vector<Client>> SqliteClientBook::named(std::string_view company) const {
  const std::string key = normalize_company(company);
  std::vector<Client> out;
  if (key.empty()) return out;
  try {
    Query q(statement(kSelectNamed));
    q->bind(1, key);
    while (q->executeStep()) out.push_back(read_client(*q));
    return out;
  } catch (const SQLite::Exception& e) {
    return storage_internal::sqlite_error(e, path_);
  }
}

Result<std::vector<CrmRow>> SqliteClientBook::rows(std::string_view table, int64_t client) const {
  const char* sql = table == "contacts"     ? kSelectContacts
                    : table == "requests"   ? kSelectRequests
                    : table == "complaints" ? kSelectComplaints
                    : table == "items"      ? kSelectItems
                    : table == "reports"    ? kSelectReports
                                            : nullptr;
  if (sql == nullptr) {
    return make_error(ErrorCode::invalid,
                      fmt::format("no client database table \"{}\" (contacts, requests, complaints, items, reports)",
                                  table));
  }
  if (sql == kSelectReports && client != 0) {
    return make_error(ErrorCode::invalid, "report entries belong to no client; ask for client 0");
  }
  try {
    Query q(statement(sql));
    if (sql != kSelectReports) q->bind(1, static_cast<int64_t>(client));
    std::vector<CrmRow> out;
    while (q->executeStep()) {
      Result<CrmRow> row = read_row(*q);
      if (!row) return row.error();
      out.push_back(std::move(row).value());
    }
    return out;
  } catch (const SQLite::Exception& e) {
    return storage_internal::sqlite_error(e, path_);
  }
}

}  // namespace reglament
