#include "broker/broker_directory.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

#include <pthread.h>

namespace cube::broker {
namespace {

EtcdClientOptions directory_client_options(const BrokerDirectoryOptions& options) {
  EtcdClientOptions client;
  client.endpoints = options.endpoints;
  client.request_timeout = std::max(Millis(300), options.period);
  client.connect_timeout = std::min(client.connect_timeout, client.request_timeout);
  return client;
}

}  // namespace

std::vector<std::string> standby_addresses(const std::vector<LeaderRecord>& brokers,
                                           const std::string& leader_id) {
  std::vector<std::string> out;
  for (const auto& broker : brokers) {
    if (broker.broker_id != leader_id)
      out.push_back(broker.address);
  }
  std::sort(out.begin(), out.end());
  return out;
}

BrokerDirectory::BrokerDirectory(BrokerDirectoryOptions options)
    : options_(std::move(options)), client_(directory_client_options(options_)) {}

BrokerDirectory::~BrokerDirectory() {
  if (!thread_.joinable())
    return;
  {
    MutexLock lock(mu_);
    stopping_ = true;
  }
  cv_.notify_one();
  thread_.join();
}

void BrokerDirectory::start() {
  CUBE_CHECK(!thread_.joinable()) << "start() once";
  thread_ = std::thread([this] { run(); });
}

std::vector<LeaderRecord> BrokerDirectory::brokers() {
  (void)changed_.drain();
  MutexLock lock(mu_);
  return brokers_;
}

void BrokerDirectory::run() {
  pthread_setname_np(pthread_self(), "broker-list");
  std::string last_error;
  while (true) {
    EtcdRangeRequest list;
    list.key = options_.brokers_prefix;
    list.range_end = etcd_prefix_end(list.key);
    auto read = client_.range(list);
    if (read.is_ok()) {
      last_error.clear();
      std::vector<LeaderRecord> found;
      for (const auto& kv : read->kvs) {
        auto record = decode_leader_record(kv.value);
        if (record.is_ok())
          found.push_back(std::move(*record));
      }
      bool changed = false;
      {
        MutexLock lock(mu_);
        changed = found != brokers_;
        if (changed)
          brokers_ = std::move(found);
      }
      if (changed)
        changed_.push(true);
    } else if (read.status().to_string() != last_error) {
      last_error = read.status().to_string();
      spdlog::warn("cannot list the brokers on the store: {}", last_error);
    }
    MutexLock lock(mu_);
    if (mu_.wait_for(cv_, options_.period, [this]() CUBE_REQUIRES(mu_) { return stopping_; }))
      return;
  }
}

}  // namespace cube::broker
