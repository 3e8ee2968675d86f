#include "broker/etcd_services.h"

#include <algorithm>

#include "protocol/codec.h"

namespace cube::broker {

std::string etcd_services_prefix(const EtcdLayout& layout) {
  return layout.prefix() + "/services/";
}

std::string etcd_service_key(const EtcdLayout& layout, std::string_view name) {
  return etcd_services_prefix(layout) + std::string(name);
}

std::vector<EtcdTxn> build_service_txns(const EtcdLayout& layout, std::span<const Service> upserts,
                                        std::span<const std::string> removed,
                                        const EtcdTxnLimits& limits,
                                        std::span<const EtcdCompare> guard) {
  TxnPacker packer(limits, guard);
  for (const Service& service : upserts)
    packer.add_group(
        {EtcdOp::put(etcd_service_key(layout, service.name), protocol::encode_service(service))});
  for (const std::string& name : removed)
    packer.add_group({EtcdOp::remove(etcd_service_key(layout, name))});
  return packer.take();
}

Result<Service> decode_etcd_service(const EtcdLayout& layout, const EtcdKeyValue& kv) {
  std::string_view name = kv.key;
  name.remove_prefix(std::min(name.size(), etcd_services_prefix(layout).size()));
  Service service;
  CUBE_RETURN_IF_ERROR(protocol::decode_service(kv.value, service));
  if (service.name != name)
    return Status::invalid("it holds service \"" + service.name + "\"");
  return service;
}

}  // namespace cube::broker
