// Where EtcdStore (broker/etcd_store.h) keeps services (protocol/service.h), apart from the
// task layout (broker/etcd_layout.h):
//   PREFIX/services/<name>   one service: protocol::encode_service (its MessagePack map)
// A service change is a put, a removal a delete, each batch packed into txns under the limits
// (TxnPacker, as the fold's puts) carrying the write guard, so a broker that lost leadership
// writes no service either. The warm standby copy (broker/standby_copy.h) does not
// follow these keys; a broker that wins reads them with load_services().
//
// Thread-safety: pure functions.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "broker/etcd_layout.h"
#include "broker/etcd_messages.h"
#include "common/status.h"
#include "protocol/service.h"

namespace cube::broker {

std::string etcd_services_prefix(const EtcdLayout& layout);
std::string etcd_service_key(const EtcdLayout& layout, std::string_view name);

// The txns that put `upserts` and delete `removed`, in that order, each with every `guard`
// compare. Empty for an empty change.
std::vector<EtcdTxn> build_service_txns(const EtcdLayout& layout, std::span<const Service> upserts,
                                        std::span<const std::string> removed,
                                        const EtcdTxnLimits& limits,
                                        std::span<const EtcdCompare> guard = {});

// The service a key under etcd_services_prefix() holds. Invalid when the value does not decode
// or names another service than its key.
Result<Service> decode_etcd_service(const EtcdLayout& layout, const EtcdKeyValue& kv);

}  // namespace cube::broker
