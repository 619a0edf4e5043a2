// SqliteStore's client database (storage/crm.h does the work): the read-only
// ClientBook, a person's records in one transaction, and the ABC volumes.

#include <utility>

#include <fmt/format.h>
#include <SQLiteCpp/Exception.h>
#include <SQLiteCpp/Transaction.h>

#include "storage/crm.h"
#include "storage/schema_internal.h"
#include "storage/sqlite_store.h"

namespace reglament {

using storage_internal::connection;
using storage_internal::crm_statements;
using storage_internal::path_of;
using storage_internal::sqlite_error;

const ClientBook& SqliteStore::clients() {
  // clients_ is declared after impl_, so it (and its prepared statements) is
  // destroyed before the connection closes.
  if (!clients_) clients_ = std::make_unique<SqliteClientBook>(connection(*this), path_of(*this));
  return *clients_;
}

Result<std::vector<int64_t>> SqliteStore::record_clients(const std::vector<Json>& records, const std::string& at,
                                                         const std::string& actor) {
  try {
    SQLite::Database& db = connection(*this);
    SQLite::Transaction tx(db, SQLite::TransactionBehavior::IMMEDIATE);
    const CrmContext ctx{at, actor, "", ""};
    std::vector<int64_t> ids;
    ids.reserve(records.size());
    for (size_t i = 0; i < records.size(); ++i) {
      Result<int64_t> id = apply_crm_record(crm_statements(*this), records[i], ctx);
      if (!id) {
        // Nothing is committed: the transaction rolls back as it goes.
        if (records.size() == 1) return id.error();
        Error e = id.error();
        e.message = fmt::format("record {} of {}: {}", i + 1, records.size(), e.message);
        return e;
      }
      ids.push_back(*id);
    }
    tx.commit();
    return ids;
  } catch (const SQLite::Exception& e) {
    return sqlite_error(e, path_of(*this));
  }
}

Result<std::vector<AbcInput>> SqliteStore::abc_volumes(const std::string& from, const std::string& to) {
  try {
    return crm_abc_volumes(connection(*this), from, to);
  } catch (const SQLite::Exception& e) {
    return sqlite_error(e, path_of(*this));
  }
}

}  // namespace reglament
