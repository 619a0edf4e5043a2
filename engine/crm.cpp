#include "engine/crm.h"

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

}  // namespace reglament
