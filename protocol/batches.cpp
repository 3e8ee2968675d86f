#include "protocol/batches.h"

#include <iterator>
#include <utility>
#include <vector>

#include "common/check.h"
#include "protocol/codec.h"

namespace cube::protocol {
namespace {

// Moves items [at, end) of `from` to the end of `to`.
template <typename T>
void move_tail(std::vector<T>& from, size_t at, std::vector<T>& to) {
  to.insert(to.end(), std::make_move_iterator(from.begin() + static_cast<std::ptrdiff_t>(at)),
            std::make_move_iterator(from.end()));
  from.resize(at);
}

// What differs between the three batches: where their items are, the single message of one
// item, and how a batch is cut in two (a TASK_STATE_BATCH renumbers its first half).
std::vector<Task>& items(AssignBatch& batch) {
  return batch.tasks;
}
std::vector<AttemptRef>& items(AcceptBatch& batch) {
  return batch.attempts;
}
std::vector<AttemptStatus>& items(TaskStateBatch& batch) {
  return batch.statuses;
}

Assign single(AssignBatch& batch, size_t i) {
  return Assign{std::move(batch.tasks[i])};
}
Accept single(AcceptBatch& batch, size_t i) {
  return Accept{batch.session_id, std::move(batch.attempts[i].task_id), batch.attempts[i].attempt};
}
TaskStateEvent single(TaskStateBatch& batch, size_t i) {
  uint64_t seq = batch.seq - (batch.statuses.size() - 1 - i);
  return TaskStateEvent{batch.agent_id, batch.session_id, seq, std::move(batch.statuses[i])};
}

// Keeps items [0, at) in `head` and returns the rest as a batch of their own.
AssignBatch split(AssignBatch& head, size_t at) {
  AssignBatch tail;
  move_tail(head.tasks, at, tail.tasks);
  return tail;
}
AcceptBatch split(AcceptBatch& head, size_t at) {
  AcceptBatch tail{head.session_id, {}};
  move_tail(head.attempts, at, tail.attempts);
  return tail;
}
TaskStateBatch split(TaskStateBatch& head, size_t at) {
  TaskStateBatch tail{head.agent_id, head.session_id, head.seq, {}};
  move_tail(head.statuses, at, tail.statuses);
  head.seq -= tail.statuses.size();  // the number of its own last status
  return tail;
}

template <typename M>
void send_message(const M& message, const EncodedSink& send) {
  send(MessageTraits<M>::kType, encode_body(message));
}

// A peer with batches: as few batch messages as fit in max_body_bytes, a lone item as its single
// message. Cutting in halves costs an extra encoding per level, only for batches that are too
// big, which typical tasks (a few hundred bytes) never make.
template <typename Batch>
void encode_pieces(Batch batch, const EncodedSink& send, size_t max_body_bytes) {
  auto& all = items(batch);
  if (all.size() == 1)
    return send_message(single(batch, 0), send);
  std::string body = encode_body(batch);
  if (body.size() <= max_body_bytes)
    return send(MessageTraits<Batch>::kType, std::move(body));
  Batch tail = split(batch, all.size() / 2);
  encode_pieces(std::move(batch), send, max_body_bytes);
  encode_pieces(std::move(tail), send, max_body_bytes);
}

template <typename Batch>
void encode_any(Batch batch, bool peer_has_batches, const EncodedSink& send,
                size_t max_body_bytes) {
  auto& all = items(batch);
  if (all.empty())
    return;
  if (peer_has_batches)
    return encode_pieces(std::move(batch), send, max_body_bytes);
  for (size_t i = 0; i < all.size(); ++i)
    send_message(single(batch, i), send);
}

}  // namespace

void encode_batch(AssignBatch batch, bool peer_has_batches, const EncodedSink& send,
                  size_t max_body_bytes) {
  encode_any(std::move(batch), peer_has_batches, send, max_body_bytes);
}

void encode_batch(AcceptBatch batch, bool peer_has_batches, const EncodedSink& send,
                  size_t max_body_bytes) {
  encode_any(std::move(batch), peer_has_batches, send, max_body_bytes);
}

void encode_batch(TaskStateBatch batch, bool peer_has_batches, const EncodedSink& send,
                  size_t max_body_bytes) {
  CUBE_CHECK(batch.seq >= batch.statuses.size())
      << "the agent numbers its events from 1: a batch of " << batch.statuses.size()
      << " statuses cannot end at seq " << batch.seq;
  encode_any(std::move(batch), peer_has_batches, send, max_body_bytes);
}

}  // namespace cube::protocol
