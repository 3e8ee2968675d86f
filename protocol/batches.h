// Encoding the batched messages of feature "batches" (docs/protocol.md, Agent session item 9):
// ASSIGN_BATCH, ACCEPT_BATCH and TASK_STATE_BATCH. One function serves both kinds of peer, so
// the broker and the agent build a batch once and never choose between two code paths:
//
//   - a peer that announced the feature gets the batch as few messages as fit: a batch whose
//     body is over kMaxBatchBodyBytes is cut in halves until each piece fits (the receiving
//     socket drops a frame over ZMQ_MAXMSGSIZE together with the connection), and a piece of one
//     item goes as its single message (ASSIGN, ACCEPT, TASK_STATE), the bytes a peer got before
//     batches existed;
//   - a peer that did not announce it gets every item as its single message, in order.
//
// A TASK_STATE_BATCH's `seq` is the number of its last status, so every piece and every single
// TASK_STATE keeps the numbers its statuses had: seq - n + 1 .. seq.
//
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <functional>
#include <string>

#include "protocol/envelope.h"
#include "protocol/messages.h"

namespace cube::protocol {

// The largest body one batch message is given: half the receivers' ZMQ_MAXMSGSIZE, so a batch
// never comes near it. A single item larger than this is sent alone, as it was before batches.
inline constexpr size_t kMaxBatchBodyBytes = kMaxInboundMessageBytes / 2;

// Receives each message to send: its type and encoded body, in the order they must leave.
using EncodedSink = std::function<void(MessageType type, std::string body)>;

// Encodes `batch` for a peer (see the file comment); `peer_has_batches`: the peer announced
// kFeatureBatches. An empty batch sends nothing. `max_body_bytes` is kMaxBatchBodyBytes except in
// tests. A TaskStateBatch must have seq >= statuses.size() (its statuses are numbered from 1).
void encode_batch(AssignBatch batch, bool peer_has_batches, const EncodedSink& send,
                  size_t max_body_bytes = kMaxBatchBodyBytes);
void encode_batch(AcceptBatch batch, bool peer_has_batches, const EncodedSink& send,
                  size_t max_body_bytes = kMaxBatchBodyBytes);
void encode_batch(TaskStateBatch batch, bool peer_has_batches, const EncodedSink& send,
                  size_t max_body_bytes = kMaxBatchBodyBytes);

}  // namespace cube::protocol
