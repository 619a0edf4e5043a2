#include "engine/crm.h"

#include "engine/names.h"

namespace reglament {

Json client_json(const Client& c) {
  Json j = Json::object();
  j["id"] = c.id;
  j["company"] = c.company;
  j["contact"] = c.contact;
  j["phone"] = c.phone;
  j["email"] = c.email;
  j["regular_since"] = c.regular_since;
  j["abc_class"] = c.abc_class;
  j["abc_at"] = c.abc_at;
  j["vip"] = c.vip;
  j["effective_vip"] = c.effective_vip();
  j["manager"] = c.manager;
  j["next_contact"] = c.next_contact;
  j["notes"] = c.notes;
  j["created_at"] = c.created_at;
  j["updated_at"] = c.updated_at;
  return j;
}

Result<std::vector<Client>> ClientBook::named(std::string_view company) const {
  const std::string key = normalize_company(company);
  std::vector<Client> out;
  if (key.empty()) return out;
  auto all = clients();
  if (!all.ok()) return all.error();
  for (Client& c : *all)
    if (normalize_company(c.company) == key) out.push_back(std::move(c));
  return out;
}

}  // namespace reglament
