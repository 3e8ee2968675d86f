#include "broker/outbox.h"

#include <utility>

#include "common/check.h"

namespace cube::broker {

void Outbox::push(OutboxSocket socket, std::vector<std::string> routing, protocol::MessageType type,
                  std::string body) {
  queue_.push_back({socket, std::move(routing), type, std::move(body), open_batch_});
}

void Outbox::stored(uint64_t batch) {
  CUBE_CHECK(batch >= stored_batch_ && batch < open_batch_)
      << "batches are stored in the order they were cut";
  stored_batch_ = batch;
}

size_t Outbox::drop() {
  size_t dropped = queue_.size();
  queue_.clear();
  events_.clear();
  return dropped;
}

std::vector<OutboxMessage> Outbox::take_client_replies() {
  std::vector<OutboxMessage> taken;
  std::deque<OutboxMessage> kept;
  for (auto& message : queue_)
    (message.socket == OutboxSocket::Client ? taken.emplace_back(std::move(message))
                                            : kept.emplace_back(std::move(message)));
  queue_ = std::move(kept);
  return taken;
}

}  // namespace cube::broker
