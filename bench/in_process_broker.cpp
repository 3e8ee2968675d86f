#include "bench/in_process_broker.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "bench/process_stats.h"
#include "broker/store_spec.h"
#include "broker/store_writer.h"
#include "common/check.h"

namespace cube::bench {

Status InProcessBroker::start(broker::BrokerOptions options, const std::string& store_spec,
                              const Clock& clock) {
  CUBE_CHECK(loop_ == nullptr) << "InProcessBroker::start() is called once";
  auto spec = broker::parse_store_spec(store_spec, broker::default_broker_data_dir());
  if (!spec.is_ok())
    return spec.status().with_context("--store");
  auto store = broker::open_store(*spec);
  if (!store.is_ok())
    return store.status().with_context("cannot open the store " + spec->describe());
  options.host = "127.0.0.1";
  options.port = 0;
  options.store = spec->describe();
  stop_fd_ = UniqueFd(::eventfd(0, EFD_CLOEXEC));
  if (!stop_fd_.valid())
    return Status::unavailable(std::string("eventfd: ") + std::strerror(errno));

  std::set<pid_t> before = list_threads();
  loop_ = std::make_unique<broker::BrokerLoop>(options, clock, std::move(store).value());
  Status bound = loop_->bind();
  if (!bound.is_ok()) {
    loop_.reset();
    return bound;
  }
  // Binding made the context's sockets, which started its I/O and reaper threads; nothing else
  // starts threads meanwhile (the caller builds the broker before any other thread). The store
  // writer is not among them: the loop starts it in run().
  for (pid_t tid : list_threads()) {
    if (!before.contains(tid))
      zmq_threads_.insert(tid);
  }
  thread_ = std::thread([this] {
    ::pthread_setname_np(::pthread_self(), "broker-loop");  // for perf and top -H
    loop_->run(stop_fd_.get());
  });
  native_ = thread_.native_handle();
  return Status::ok();
}

InProcessBroker::~InProcessBroker() {
  if (thread_.joinable()) {
    uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(stop_fd_.get(), &one, sizeof one);
    thread_.join();
  }
}

double InProcessBroker::loop_cpu_seconds() const {
  if (!thread_.joinable())
    return 0;
  auto seconds = pthread_cpu_seconds(native_);
  return seconds.is_ok() ? *seconds : 0;
}

std::set<pid_t> InProcessBroker::helper_threads() const {
  std::set<pid_t> out = zmq_threads_;
  for (pid_t tid : list_threads()) {
    if (auto name = thread_name(tid); name.is_ok() && *name == broker::StoreWriter::kThreadName)
      out.insert(tid);
  }
  return out;
}

double InProcessBroker::cpu_seconds() const {
  double total = loop_cpu_seconds();
  for (pid_t tid : helper_threads()) {
    auto seconds = thread_cpu_seconds(tid);
    if (seconds.is_ok())
      total += *seconds;
  }
  return total;
}

}  // namespace cube::bench
