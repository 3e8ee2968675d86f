#include "client/client.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <random>
#include <utility>

#include "common/ids.h"
#include "protocol/codec.h"
#include "protocol/envelope.h"
#include "protocol/not_leader.h"
#include "protocol/task_validation.h"
#include "protocol/zmq_io.h"

namespace cube {
namespace {

// "7.5 s", "5 s", "0.9 s": the total a call waited, for the Unavailable message.
std::string format_seconds(Millis total) {
  double tenths = std::round(static_cast<double>(total.count()) / 100.0);
  char buf[32];
  if (std::fmod(tenths, 10.0) == 0.0) {
    std::snprintf(buf, sizeof buf, "%.0f s", tenths / 10.0);
  } else {
    std::snprintf(buf, sizeof buf, "%.1f s", tenths / 10.0);
  }
  return buf;
}

// "127.0.0.1:7100" from "tcp://127.0.0.1:7100"; other transports are shown whole.
std::string address_of(const std::string& endpoint) {
  constexpr std::string_view kTcp = "tcp://";
  if (std::string_view(endpoint).starts_with(kTcp))
    return endpoint.substr(kTcp.size());
  return endpoint;
}

// The largest SUBMIT_BATCH body submit_many sends: the broker's client socket drops a bigger
// message unread (kMaxInboundMessageBytes), less room for the envelope frames.
constexpr size_t kMaxSubmitBatchBytes = protocol::kMaxInboundMessageBytes - 1024;

Status missing(std::string_view what) {
  return Status::internal("the broker's reply carries no " + std::string(what) +
                          " (is the broker a different version?)");
}

// The task that the answer to a SUBMIT or a STOP carries.
Result<Task> task_of(Result<protocol::Reply> reply) {
  if (!reply)
    return reply.status();
  if (!reply->task)
    return missing("task");
  return std::move(*reply->task);
}

}  // namespace

Result<std::string> broker_endpoint(std::string_view host_port) {
  std::string host;
  int port = 0;
  Status parsed = protocol::parse_host_port(host_port, host, port);
  if (!parsed.is_ok())
    return parsed.with_context("broker address");
  return protocol::tcp_endpoint(host, port);
}

Result<std::vector<std::string>> broker_endpoints(std::string_view list) {
  auto addresses = protocol::parse_host_port_list(list);
  if (!addresses)
    return addresses.status().with_context("broker address");
  std::vector<std::string> out;
  for (const auto& a : *addresses)
    out.push_back(protocol::tcp_endpoint(a.host, a.port));
  return out;
}

Result<ClientOptions> client_options_for(std::string_view list) {
  auto endpoints = broker_endpoints(list);
  if (!endpoints)
    return endpoints.status();
  ClientOptions options;
  options.endpoint = endpoints->front();
  options.other_endpoints.assign(endpoints->begin() + 1, endpoints->end());
  return options;
}

// A try ends in one of three ways: a final result (a reply with our id, good or bad), silence for
// the whole try, or a reply to another request (dropped).
struct Client::TryOutcome {
  enum class Kind { Done, Silence, Stale } kind = Kind::Silence;
  std::optional<Result<protocol::Reply>> result;
};

Client::Client(ClientOptions options, const Clock& clock)
    : options_(std::move(options)),
      clock_(&clock),
      target_(options_.endpoint),
      address_(address_of(options_.endpoint)) {
  options_.tries = std::max(1, options_.tries);
  options_.timeout_per_try = std::max(Millis(1), options_.timeout_per_try);
  options_.failover_timeout = std::max(Millis(1), options_.failover_timeout);
  endpoints_.push_back(options_.endpoint);
  endpoints_.insert(endpoints_.end(), options_.other_endpoints.begin(),
                    options_.other_endpoints.end());
  // Request ids match a reply to its request (a late reply to an earlier try is dropped): a
  // random start makes two runs of the CLI unlikely to reuse one, and +1 keeps them unique.
  std::random_device rd;
  next_id_ = (static_cast<uint64_t>(rd()) << 32) ^ static_cast<uint64_t>(rd());
}

Client::~Client() {
  // The socket must close before its context, or the context's destructor waits for it.
  close_socket();
  context_.reset();
}

Client::Client(Client&& other) noexcept
    : options_(std::move(other.options_)),
      clock_(other.clock_),
      endpoints_(std::move(other.endpoints_)),
      list_index_(other.list_index_),
      target_(std::move(other.target_)),
      address_(std::move(other.address_)),
      context_(std::move(other.context_)),
      socket_(std::move(other.socket_)),
      watch_(std::move(other.watch_)),
      next_id_(other.next_id_),
      was_unanswered_(other.was_unanswered_),
      was_refused_(other.was_refused_) {}

Client& Client::operator=(Client&& other) noexcept {
  if (this != &other) {
    close_socket();  // before context_ is replaced, for the same reason as in the destructor
    options_ = std::move(other.options_);
    clock_ = other.clock_;
    endpoints_ = std::move(other.endpoints_);
    list_index_ = other.list_index_;
    target_ = std::move(other.target_);
    address_ = std::move(other.address_);
    context_ = std::move(other.context_);
    socket_ = std::move(other.socket_);
    watch_ = std::move(other.watch_);
    next_id_ = other.next_id_;
    was_unanswered_ = other.was_unanswered_;
    was_refused_ = other.was_refused_;
  }
  return *this;
}

uint64_t Client::next_request_id() {
  ++next_id_;
  if (next_id_ == 0)  // 0 means "no request id" to the broker (protocol::peek_request_id)
    ++next_id_;
  return next_id_;
}

void Client::close_socket() {
  watch_.reset();
  socket_.reset();
}

Status Client::open_socket() {
  close_socket();
  if (!context_ && options_.context == nullptr)
    context_ = std::make_unique<zmq::context_t>(1);
  zmq::context_t& context = options_.context != nullptr ? *options_.context : *context_;
  auto socket = std::make_unique<zmq::socket_t>(context, zmq::socket_type::req);
  // Linger 0: a request left unsent on a dead connection must not hold the process at exit.
  // The reply cap is larger than the broker's inbound cap because `list` replies grow with the
  // number of tasks.
  protocol::apply_socket_defaults(*socket, protocol::kMaxReplyBytes);
  // Without ZMQ_IPV6 a "tcp://[::1]:7100" endpoint never connects; IPv4 is unaffected.
  socket->set(zmq::sockopt::ipv6, 1);
  CUBE_RETURN_IF_ERROR(protocol::apply_curve_client(*socket, options_.curve));
  // Before connect, so the first handshake's events are seen.
  auto watch = HandshakeWatch::start(context, *socket);
  if (!watch.is_ok())
    return watch.status();
  try {
    socket->connect(target_);
  } catch (const zmq::error_t& e) {
    watch->reset();
    return Status::invalid("cannot use broker endpoint \"" + target_ + "\": " + e.what());
  }
  socket_ = std::move(socket);
  watch_ = std::move(*watch);
  return Status::ok();
}

Result<protocol::Reply> Client::call(const Request& request) {
  uint64_t id = next_request_id();
  auto [type, body] = std::visit(
      [id](auto r) {
        r.request_id = id;
        using M = decltype(r);
        return std::pair<uint8_t, std::string>(
            static_cast<uint8_t>(protocol::MessageTraits<M>::kType), protocol::encode_body(r));
      },
      request);
  return call_encoded(type, body, id);
}

Result<protocol::Reply> Client::call_encoded(uint8_t type, const std::string& body,
                                             uint64_t request_id) {
  was_unanswered_ = false;
  was_refused_ = false;
  was_interrupted_ = false;
  try {
    if (options_.failover || endpoints_.size() > 1)
      return run_failover(type, body, request_id);
    return run_tries(type, body, request_id);
  } catch (const zmq::error_t& e) {
    // Only a broken context or an exhausted process (EMFILE) gets here; the socket is suspect.
    close_socket();
    return Status::unavailable("talking to the broker at " + address_ + " failed: " + e.what());
  }
}

Client::TryOutcome Client::try_once(uint8_t type, const std::string& body, uint64_t request_id,
                                    Millis timeout, HandshakeEvents& seen, int& stale) {
  if (!socket_) {
    Status opened = open_socket();
    if (!opened.is_ok()) {
      TryOutcome failed;
      failed.kind = TryOutcome::Kind::Done;
      failed.result = opened;
      return failed;
    }
  }
  // A fresh REQ socket has its pipe as soon as connect() returns, so this queues the request
  // even while the TCP connection is still being made.
  Status sent = protocol::send_raw(*socket_, {}, static_cast<protocol::MessageType>(type), body);
  TryOutcome outcome;
  if (sent.is_ok()) {
    SteadyTime deadline = clock_->now() + timeout;
    while (outcome.kind == TryOutcome::Kind::Silence) {
      int64_t wait_ms = millis_until(clock_->now(), deadline);
      if (wait_ms == 0)
        break;
      std::array<zmq::pollitem_t, 3> items = {{{socket_->handle(), 0, ZMQ_POLLIN, 0},
                                               {watch_->handle(), 0, ZMQ_POLLIN, 0},
                                               {nullptr, options_.interrupt_fd, ZMQ_POLLIN, 0}}};
      size_t polled = options_.interrupt_fd >= 0 ? 3 : 2;
      int ready = 0;
      try {
        ready = zmq::poll(items.data(), polled, Millis(wait_ms));
      } catch (const zmq::error_t& e) {
        if (e.num() == EINTR)
          continue;  // a signal; the deadline still holds
        throw;
      }
      // Nothing for the whole remaining time: the try is over, even if the injected clock did
      // not move (ManualClock).
      if (ready == 0)
        break;
      if (items[1].revents & ZMQ_POLLIN) {
        watch_->read_pending();
        // A refused handshake is final: no retry can succeed, so say why at once.
        if (auto refused = handshake_verdict(watch_->events(), options_.curve.enabled(), address_,
                                             /*final=*/false)) {
          outcome.kind = TryOutcome::Kind::Done;
          outcome.result = std::move(*refused);
          was_refused_ = true;
          break;
        }
      }
      if (items[2].revents & ZMQ_POLLIN) {
        outcome.kind = TryOutcome::Kind::Done;
        outcome.result = Status::unavailable("interrupted");
        was_interrupted_ = true;
        break;
      }
      if (!(items[0].revents & ZMQ_POLLIN))
        continue;
      Status envelope_error;
      auto received = protocol::receive(*socket_, 0, &envelope_error);
      if (!received)
        continue;
      if (!envelope_error.is_ok()) {
        outcome.kind = TryOutcome::Kind::Done;
        outcome.result =
            Status::internal("the broker at " + address_ +
                             " sent a reply Cube cannot read: " + envelope_error.message());
        break;
      }
      if (received->type != static_cast<uint8_t>(protocol::MessageType::Reply)) {
        outcome.kind = TryOutcome::Kind::Done;
        outcome.result = Status::internal("the broker at " + address_ + " answered with a " +
                                          protocol::message_type_name(received->type) +
                                          " message instead of a REPLY");
        break;
      }
      uint64_t reply_id = protocol::peek_request_id(received->body);
      if (reply_id != request_id) {
        // A reply to another request. A REQ socket delivers one reply per request, so nothing
        // else can arrive on this socket: retry now on a fresh one instead of waiting out the
        // try as the zguide's lpclient does.
        ++stale;
        outcome.kind = TryOutcome::Kind::Stale;
        break;
      }
      auto reply = protocol::decode_as<protocol::Reply>(received->body);
      outcome.kind = TryOutcome::Kind::Done;
      if (!reply) {
        outcome.result = Status::internal("the broker at " + address_ +
                                          " sent a malformed reply: " + reply.status().message());
      } else if (!reply->status.is_ok() && !reply->status.is_too_old()) {
        outcome.result = reply->status;
      } else {
        outcome.result = std::move(reply);
      }
    }
  }
  if (outcome.kind == TryOutcome::Kind::Done)
    return outcome;
  watch_->read_pending();
  const HandshakeEvents& e = watch_->events();
  seen.connected |= e.connected;
  seen.succeeded |= e.succeeded;
  seen.closed_in_handshake |= e.closed_in_handshake;
  seen.hangups += e.hangups;
  seen.crypto_failure |= e.crypto_failure;
  // Lazy Pirate: a REQ socket that sent and got no (usable) answer is stuck waiting for one;
  // close it (linger 0 drops the queued request) and resend on a fresh socket.
  close_socket();
  return outcome;
}

Result<protocol::Reply> Client::run_tries(uint8_t type, const std::string& body,
                                          uint64_t request_id) {
  int stale = 0;
  HandshakeEvents seen;  // over every try's socket, for the verdict after the last one
  for (int attempt = 0; attempt < options_.tries; ++attempt) {
    TryOutcome outcome = try_once(type, body, request_id, options_.timeout_per_try, seen, stale);
    if (outcome.kind == TryOutcome::Kind::Done)
      return std::move(*outcome.result);
  }
  if (auto refused = handshake_verdict(seen, options_.curve.enabled(), address_, /*final=*/true)) {
    was_refused_ = true;
    return *refused;
  }
  was_unanswered_ = true;
  std::string message = "broker at " + address_ + " did not answer within " +
                        format_seconds(options_.timeout_per_try * options_.tries) + " (" +
                        std::to_string(options_.tries) + (options_.tries == 1 ? " try" : " tries");
  if (stale > 0)
    message += "; dropped " + std::to_string(stale) + " replies to other requests";
  message += ")";
  return Status::unavailable(message);
}

void Client::aim_at(const std::string& endpoint) {
  if (endpoint == target_)
    return;
  close_socket();  // connected to the old target
  target_ = endpoint;
  address_ = address_of(endpoint);
  auto listed = std::find(endpoints_.begin(), endpoints_.end(), endpoint);
  if (listed != endpoints_.end())
    list_index_ = static_cast<size_t>(listed - endpoints_.begin());
}

void Client::aim_at_next(const std::function<bool(const std::string&)>& is_held) {
  size_t next = (list_index_ + 1) % endpoints_.size();
  if (target_ != endpoints_[list_index_])
    next = list_index_;  // a redirect's target failed: back to the list where it was left
  // The first broker from there that is not held back; all of them held: the next one anyway.
  for (size_t i = 0; i < endpoints_.size(); ++i) {
    size_t candidate = (next + i) % endpoints_.size();
    if (!is_held(endpoints_[candidate])) {
      next = candidate;
      break;
    }
  }
  if (endpoints_[next] == target_)
    close_socket();  // one broker: a fresh socket for the next try (Lazy Pirate)
  aim_at(endpoints_[next]);
}

Result<protocol::Reply> Client::run_failover(uint8_t type, const std::string& body,
                                             uint64_t request_id) {
  const SteadyTime start = clock_->now();
  const SteadyTime deadline = start + options_.failover_timeout;
  // What each broker said last, in the order first tried, for the final message.
  std::vector<std::pair<std::string, std::string>> said;
  auto note = [&said](const std::string& address, std::string what) {
    auto it = std::find_if(said.begin(), said.end(),
                           [&](const auto& entry) { return entry.first == address; });
    if (it == said.end())
      said.emplace_back(address, std::move(what));
    else
      it->second = std::move(what);
  };
  // Brokers that did not answer, and until when they are held back (kSilentHold).
  std::map<std::string, SteadyTime> silent_until;
  auto is_held = [&](const std::string& endpoint) {
    auto it = silent_until.find(endpoint);
    return it != silent_until.end() && clock_->now() < it->second;
  };
  std::map<std::string, int> unanswered_tries;
  int stale = 0;
  int redirects = 0;
  size_t leaderless_answers = 0;  // not_leader answers in a row that named no usable leader
  HandshakeEvents seen;
  while (true) {
    const SteadyTime now = clock_->now();
    if (now >= deadline)
      break;
    Millis timeout = std::min(options_.timeout_per_try,
                              std::chrono::duration_cast<Millis>(deadline - now) + Millis(1));
    TryOutcome outcome = try_once(type, body, request_id, timeout, seen, stale);
    if (outcome.kind != TryOutcome::Kind::Done) {
      int tries = ++unanswered_tries[address_];
      note(address_, "did not answer (" + std::to_string(tries) +
                         (tries == 1 ? " try of " : " tries of ") +
                         format_seconds(options_.timeout_per_try) + ")");
      silent_until[target_] = clock_->now() + kSilentHold;
      aim_at_next(is_held);
      continue;
    }
    Result<protocol::Reply>& result = *outcome.result;
    std::optional<protocol::NotLeader> not_leader;
    if (!result.is_ok() && !was_refused_)
      not_leader = protocol::parse_not_leader(result.status());
    if (!not_leader)
      return std::move(result);  // the leader's answer (or a final refusal): stay with it
    note(address_, result.status().message());
    if (not_leader->leader && redirects < kMaxLeaderRedirects) {
      auto leader = broker_endpoint(*not_leader->leader);
      if (leader && *leader != target_ && !is_held(*leader)) {
        ++redirects;
        leaderless_answers = 0;
        aim_at(*leader);
        continue;
      }
    }
    // No leader to follow (not known yet, or one that was silent, or too many hops): another
    // broker may know better; after a whole round of such answers, give the standbys' next
    // campaign a moment.
    aim_at_next(is_held);
    if (++leaderless_answers >= endpoints_.size()) {
      leaderless_answers = 0;
      Millis left = std::chrono::duration_cast<Millis>(deadline - clock_->now());
      if (left > Millis(0))
        clock_->sleep_for(std::min(kFailoverRoundPause, left));
    }
  }
  if (auto refused = handshake_verdict(seen, options_.curve.enabled(), address_, /*final=*/true)) {
    was_refused_ = true;
    return *refused;
  }
  was_unanswered_ = true;
  std::string message =
      "no broker answered as leader within " + format_seconds(options_.failover_timeout) + ":";
  for (size_t i = 0; i < said.size(); ++i)
    message += (i == 0 ? " " : "; ") + said[i].first + ": " + said[i].second;
  if (said.empty())
    message += " no try fitted in the time";
  if (stale > 0)
    message += " (dropped " + std::to_string(stale) + " replies to other requests)";
  return Status::unavailable(message);
}

Result<Task> Client::submit(const Task& task) {
  protocol::SubmitRequest request;
  request.task = task;
  choose_task_id(request.task, clock_->wall());
  return task_of(call(request));
}

Result<std::vector<protocol::SubmitOutcome>> Client::submit_many(std::span<const Task> tasks) {
  CUBE_RETURN_IF_ERROR(check_distinct_task_ids(tasks));
  std::vector<Task> to_send(tasks.begin(), tasks.end());
  for (Task& task : to_send)
    choose_task_id(task, clock_->wall());
  std::vector<protocol::SubmitOutcome> outcomes;
  outcomes.reserve(to_send.size());
  size_t next = 0;
  while (next < to_send.size()) {
    protocol::SubmitBatchRequest request;
    request.request_id = next_request_id();
    std::string body;
    // Halve a request whose encoding the broker would drop unread (its socket's
    // ZMQ_MAXMSGSIZE): the client would only see silence. A lone task goes as it is, as
    // submit() would send it.
    for (size_t count = std::min(to_send.size() - next, protocol::kMaxSubmitBatch);;
         count = (count + 1) / 2) {
      auto first = to_send.begin() + static_cast<std::ptrdiff_t>(next);
      request.tasks.assign(first, first + static_cast<std::ptrdiff_t>(count));
      body = protocol::encode_body(request);
      if (count == 1 || body.size() <= kMaxSubmitBatchBytes)
        break;
    }
    auto reply = call_encoded(static_cast<uint8_t>(protocol::MessageType::SubmitBatchRequest), body,
                              request.request_id);
    if (!reply) {
      if (next == 0)
        return reply.status();
      return reply.status().with_context(
          "the broker answered for the first " + std::to_string(next) + " of " +
          std::to_string(to_send.size()) + " tasks; the request with the next " +
          std::to_string(request.tasks.size()) + " failed");
    }
    if (reply->submitted.size() != request.tasks.size()) {
      return Status::internal("the broker answered " + std::to_string(request.tasks.size()) +
                              " submitted tasks with " + std::to_string(reply->submitted.size()) +
                              " outcomes (is the broker a different version?)");
    }
    for (auto& outcome : reply->submitted)
      outcomes.push_back(std::move(outcome));
    next += request.tasks.size();
  }
  return outcomes;
}

Result<std::vector<Task>> Client::list() {
  auto reply = call(protocol::ListRequest{});
  if (!reply)
    return reply.status();
  return std::move(reply->tasks);
}

Result<EventsPage> Client::events(uint64_t since, const protocol::EventFilter& filter, Millis wait,
                                  uint32_t max) {
  protocol::EventsRequest request;
  request.since = since;
  request.filter = filter;
  request.wait_ms = wait.count();
  request.max = max;
  // The broker holds the request up to `wait`: each try must outlast it.
  Millis per_try = options_.timeout_per_try;
  options_.timeout_per_try = per_try + wait;
  auto reply = call(request);
  options_.timeout_per_try = per_try;
  if (!reply)
    return reply.status();
  EventsPage page;
  page.too_old = reply->status.is_too_old();
  page.message = reply->status.message();
  page.events = std::move(reply->feed);
  page.next_index = reply->next_index;
  return page;
}

Result<TaskDetails> Client::get(const std::string& task_id) {
  protocol::GetRequest request;
  request.task_id = task_id;
  auto reply = call(request);
  if (!reply)
    return reply.status();
  if (!reply->task)
    return missing("task");
  return TaskDetails{std::move(*reply->task), std::move(reply->events),
                     std::move(reply->task_stats)};
}

Result<Task> Client::stop(const std::string& task_id) {
  protocol::StopRequest request;
  request.task_id = task_id;
  return task_of(call(request));
}

Result<std::vector<protocol::NodeInfo>> Client::nodes() {
  auto reply = call(protocol::NodesRequest{});
  if (!reply)
    return reply.status();
  return std::move(reply->nodes);
}

Result<protocol::BrokerStatus> Client::status() {
  auto reply = call(protocol::StatusRequest{});
  if (!reply)
    return reply.status();
  if (!reply->broker)
    return missing("broker status");
  return std::move(*reply->broker);
}

namespace {

Result<protocol::ServiceInfo> service_of(Result<protocol::Reply> reply) {
  if (!reply)
    return reply.status();
  if (reply->services.empty())
    return missing("service");
  return std::move(reply->services.front());
}

}  // namespace

Result<protocol::ServiceInfo> Client::service_create(const Service& service) {
  protocol::ServiceCreateRequest request;
  request.service = service;
  return service_of(call(request));
}

Result<std::vector<protocol::ServiceInfo>> Client::service_list() {
  auto reply = call(protocol::ServiceListRequest{});
  if (!reply)
    return reply.status();
  return std::move(reply->services);
}

Result<ServiceDetails> Client::service_inspect(const std::string& name) {
  protocol::ServiceInspectRequest request;
  request.name = name;
  auto reply = call(request);
  if (!reply)
    return reply.status();
  if (reply->services.empty())
    return missing("service");
  return ServiceDetails{std::move(reply->services.front()), std::move(reply->tasks)};
}

Result<protocol::ServiceInfo> Client::service_scale(const std::string& name, uint32_t replicas) {
  protocol::ServiceScaleRequest request;
  request.name = name;
  request.replicas = replicas;
  return service_of(call(request));
}

Result<protocol::ServiceInfo> Client::service_remove(const std::string& name) {
  protocol::ServiceRemoveRequest request;
  request.name = name;
  return service_of(call(request));
}

Result<protocol::ServiceInfo> Client::service_update(const Service& service,
                                                     uint64_t expected_version) {
  protocol::ServiceUpdateRequest request;
  request.service = service;
  request.expected_version = expected_version;
  return service_of(call(request));
}

Result<protocol::ServiceInfo> Client::service_rollback(const std::string& name) {
  protocol::ServiceRollbackRequest request;
  request.name = name;
  return service_of(call(request));
}

Result<protocol::ServiceInfo> Client::service_restart(const std::string& name) {
  protocol::ServiceRestartRequest request;
  request.name = name;
  return service_of(call(request));
}

Result<protocol::LogsChunk> Client::logs(const std::string& task_id, int64_t offset,
                                         int64_t max_bytes, int64_t tail_lines) {
  protocol::LogsRequest request;
  request.task_id = task_id;
  request.offset = offset;
  request.max_bytes = max_bytes;
  request.tail_lines = tail_lines;
  auto reply = call(request);
  if (!reply)
    return reply.status();
  if (!reply->logs)
    return missing("logs");
  return std::move(*reply->logs);
}

Result<Task> Client::wait_for(const std::string& task_id,
                              const std::function<bool(const Task&)>& is_done, SteadyTime deadline,
                              Millis interval) {
  SteadyTime start = clock_->now();
  while (true) {
    auto details = get(task_id);
    if (!details)
      return details.status();
    if (is_done(details->task))
      return std::move(details->task);
    SteadyTime now = clock_->now();
    if (now >= deadline) {
      const Task& t = details->task;
      std::string message = "task " + task_id + " is still " +
                            std::string(task_state_name(t.state)) + " after " +
                            format_seconds(std::chrono::duration_cast<Millis>(now - start));
      if (!t.reason.empty())
        message += ": " + t.reason;
      return Status::unavailable(message);
    }
    clock_->sleep_for(std::min(interval, std::chrono::duration_cast<Millis>(deadline - now)));
  }
}

Result<Task> Client::wait_for(const std::string& task_id, std::span<const TaskState> states,
                              SteadyTime deadline, Millis interval) {
  std::vector<TaskState> wanted(states.begin(), states.end());
  return wait_for(
      task_id,
      [&wanted](const Task& t) {
        return std::find(wanted.begin(), wanted.end(), t.state) != wanted.end();
      },
      deadline, interval);
}

}  // namespace cube
