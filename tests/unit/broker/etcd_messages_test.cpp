#include "broker/etcd_messages.h"

#include <gtest/gtest.h>

#include <string>

namespace cube::broker {
namespace {

using nlohmann::json;

TEST(EtcdMessages, PrefixEndIncrementsTheLastByteBelow0xff) {
  EXPECT_EQ(etcd_prefix_end("/cube/"), "/cube0");
  EXPECT_EQ(etcd_prefix_end("a"), "b");
  EXPECT_EQ(etcd_prefix_end(std::string("a\xff", 2)), "b");
  EXPECT_EQ(etcd_prefix_end(std::string("\xff\xff", 2)), std::string(1, '\0'));
  EXPECT_EQ(etcd_prefix_end(""), std::string(1, '\0'));
}

TEST(EtcdMessages, RangeRequestIsTheGatewaysJson) {
  EtcdRangeRequest request;
  request.key = "/cube/events/";
  request.range_end = etcd_prefix_end(request.key);
  request.limit = 1;
  request.revision = 9007199254740993;  // 2^53 + 1: must not pass through a double
  request.descending = true;
  request.keys_only = true;
  EXPECT_EQ(to_json(request), json::parse(R"({
      "key": "L2N1YmUvZXZlbnRzLw==", "range_end": "L2N1YmUvZXZlbnRzMA==", "limit": "1",
      "revision": "9007199254740993", "sort_order": "DESCEND", "sort_target": "KEY",
      "keys_only": true})"));
  EtcdRangeRequest just_key;
  just_key.key = "k";
  EXPECT_EQ(to_json(just_key), json::parse(R"({"key": "aw=="})"));
}

TEST(EtcdMessages, TxnIsTheGatewaysJson) {
  EtcdTxn txn;
  txn.compares.push_back(EtcdCompare::create_revision_is("/l", 0));
  txn.compares.push_back(EtcdCompare::value_is("/v", "1"));
  txn.success.push_back(EtcdOp::put("k", "v", 7587869212302093316));
  txn.success.push_back(EtcdOp::remove("a", "b"));
  txn.failure.push_back(EtcdOp::get("/v"));
  EXPECT_EQ(to_json(txn), json::parse(R"({
      "compare": [
        {"key": "L2w=", "target": "CREATE", "result": "EQUAL", "create_revision": "0"},
        {"key": "L3Y=", "target": "VALUE", "result": "EQUAL", "value": "MQ=="}],
      "success": [
        {"request_put": {"key": "aw==", "value": "dg==", "lease": "7587869212302093316"}},
        {"request_delete_range": {"key": "YQ==", "range_end": "Yg=="}}],
      "failure": [{"request_range": {"key": "L3Y="}}]})"));
}

// Answers as etcd 3.4.23's gateway wrote them.
TEST(EtcdMessages, ParsesRangeAnswers) {
  auto full = parse_range_response(json::parse(R"({
      "header": {"cluster_id": "15118495548433857066", "member_id": "13668033151171901709",
                 "revision": "12", "raft_term": "2"},
      "kvs": [{"key": "Zm9v", "create_revision": "2", "mod_revision": "4", "version": "2",
               "value": "YmFy", "lease": "9223372036854775807"}],
      "more": true, "count": "3"})"));
  ASSERT_TRUE(full.is_ok()) << full.status().to_string();
  EXPECT_EQ(full->revision, 12);
  EXPECT_TRUE(full->more);
  EXPECT_EQ(full->count, 3);
  ASSERT_EQ(full->kvs.size(), 1u);
  EXPECT_EQ(full->kvs[0], (EtcdKeyValue{"foo", "bar", 2, 4, 2, 9223372036854775807}));

  // Nothing found: no kvs, no count, no more.
  auto empty = parse_range_response(json::parse(R"({"header": {"revision": "2"}})"));
  ASSERT_TRUE(empty.is_ok());
  EXPECT_TRUE(empty->kvs.empty());
  EXPECT_FALSE(empty->more);
  EXPECT_EQ(empty->count, 0);
}

TEST(EtcdMessages, ParsesTxnAnswersWhetherOrNotTheComparesHeld) {
  auto held = parse_txn_response(json::parse(R"({
      "header": {"revision": "5"}, "succeeded": true,
      "responses": [{"response_put": {"header": {"revision": "5"}}}]})"));
  ASSERT_TRUE(held.is_ok());
  EXPECT_TRUE(held->succeeded);
  EXPECT_EQ(held->revision, 5);
  EXPECT_TRUE(held->ranges.empty());

  // "succeeded" is left out when false; the failure branch's range comes back.
  auto failed = parse_txn_response(json::parse(R"({
      "header": {"revision": "2"},
      "responses": [{"response_range": {"header": {"revision": "2"},
        "kvs": [{"key": "Zm9v", "create_revision": "2", "mod_revision": "2", "version": "1",
                 "value": "YmFy"}], "count": "1"}}]})"));
  ASSERT_TRUE(failed.is_ok());
  EXPECT_FALSE(failed->succeeded);
  ASSERT_EQ(failed->ranges.size(), 1u);
  ASSERT_EQ(failed->ranges[0].size(), 1u);
  EXPECT_EQ(failed->ranges[0][0].value, "bar");
}

TEST(EtcdMessages, RejectsAnswersOfTheWrongShapeNamingTheField) {
  auto bad_revision = parse_range_response(json::parse(R"({"header": {"revision": "x"}})"));
  ASSERT_FALSE(bad_revision.is_ok());
  EXPECT_NE(bad_revision.status().message().find("\"revision\""), std::string::npos);
  auto bad_key = parse_range_response(json::parse(R"({"kvs": [{"key": "!!"}]})"));
  ASSERT_FALSE(bad_key.is_ok());
  EXPECT_NE(bad_key.status().message().find("\"key\""), std::string::npos);
  EXPECT_FALSE(parse_range_response(json::parse(R"({"kvs": {}})")).is_ok());
  EXPECT_FALSE(parse_txn_response(json::parse(R"({"succeeded": "yes"})")).is_ok());
  EXPECT_FALSE(parse_txn_response(json::parse("[]")).is_ok());
}

TEST(EtcdMessages, LeaseAnswersAndAGoneLease) {
  auto granted = parse_lease_response(
      json::parse(R"({"header": {"revision": "2"}, "ID": "4111120476303330826", "TTL": "5"})"));
  ASSERT_TRUE(granted.is_ok());
  EXPECT_EQ(granted->id, 4111120476303330826);
  EXPECT_EQ(granted->ttl_seconds, 5);
  auto renewed = parse_lease_response(
      json::parse(R"({"result": {"header": {}, "ID": "4111120476303330828", "TTL": "3"}})"));
  ASSERT_TRUE(renewed.is_ok());
  EXPECT_EQ(renewed->ttl_seconds, 3);
  // keepalive of an expired or revoked lease: HTTP 200, no TTL.
  auto gone = parse_lease_response(
      json::parse(R"({"result": {"header": {}, "ID": "4111120476303330828"}})"));
  ASSERT_FALSE(gone.is_ok());
  EXPECT_TRUE(gone.status().is_not_found());
}

TEST(EtcdMessages, ErrorAnswersMapToStatusCodes) {
  auto too_many = etcd_error_status(
      400,
      R"({"error":"etcdserver: too many operations in txn request","message":"etcdserver: too many operations in txn request","code":3})",
      "etcd h:1: POST /v3/kv/txn");
  EXPECT_TRUE(too_many.is_invalid());
  EXPECT_EQ(too_many.message(),
            "etcd h:1: POST /v3/kv/txn: etcdserver: too many operations in txn request");
  EXPECT_TRUE(etcd_error_status(503, R"({"message":"etcdserver: no leader","code":14})", "x")
                  .is_unavailable());
  EXPECT_TRUE(
      etcd_error_status(404, R"({"message":"etcdserver: requested lease not found","code":5})", "x")
          .is_not_found());
  EXPECT_TRUE(etcd_error_status(
                  400, R"({"message":"mvcc: required revision has been compacted","code":11})", "x")
                  .is_unavailable());
  Status html = etcd_error_status(502, "<html>bad gateway</html>", "x");
  EXPECT_EQ(html.code(), ErrorCode::Internal);
  EXPECT_NE(html.message().find("HTTP 502"), std::string::npos);
}

// The lines etcd 3.4.23's gateway streamed for a watch on /w/ from revision 1 while /w/a and
// /w/b were put and /w/a deleted, then for a watch from a compacted revision.
TEST(EtcdMessages, ParsesWatchAnswers) {
  EXPECT_EQ(watch_create_request("/w/", "/w0", 5), json::parse(R"({"create_request": {
      "key": "L3cv", "range_end": "L3cw", "start_revision": "5", "progress_notify": true}})"));
  EXPECT_EQ(watch_create_request("/w/", "", 0),
            json::parse(R"({"create_request": {"key": "L3cv", "progress_notify": true}})"));

  auto created = parse_watch_response(json::parse(
      R"({"result":{"header":{"cluster_id":"1","member_id":"2","revision":"1","raft_term":"2"},"created":true}})"));
  ASSERT_TRUE(created.is_ok()) << created.status().to_string();
  EXPECT_TRUE(created->created);
  EXPECT_TRUE(created->events.empty());

  auto put = parse_watch_response(json::parse(
      R"({"result":{"header":{"revision":"2"},"events":[{"kv":{"key":"L3cvYQ==","create_revision":"2","mod_revision":"2","version":"1","value":"MQ=="}}]}})"));
  ASSERT_TRUE(put.is_ok()) << put.status().to_string();
  EXPECT_EQ(put->revision, 2);
  ASSERT_EQ(put->events.size(), 1u);
  EXPECT_FALSE(put->events[0].deleted);
  EXPECT_EQ(put->events[0].kv.key, "/w/a");
  EXPECT_EQ(put->events[0].kv.value, "1");
  EXPECT_EQ(put->events[0].kv.mod_revision, 2);

  auto deleted = parse_watch_response(json::parse(
      R"({"result":{"header":{"revision":"4"},"events":[{"type":"DELETE","kv":{"key":"L3cvYQ==","mod_revision":"4"}}]}})"));
  ASSERT_TRUE(deleted.is_ok());
  ASSERT_EQ(deleted->events.size(), 1u);
  EXPECT_TRUE(deleted->events[0].deleted);
  EXPECT_EQ(deleted->events[0].kv.key, "/w/a");

  auto compacted = parse_watch_response(json::parse(
      R"({"result":{"header":{"cluster_id":"1","raft_term":"2"},"canceled":true,"compact_revision":"3"}})"));
  ASSERT_TRUE(compacted.is_ok());
  EXPECT_TRUE(compacted->canceled);
  EXPECT_EQ(compacted->compact_revision, 3);

  auto failed = parse_watch_response(json::parse(
      R"({"error":{"grpc_code":14,"http_code":503,"message":"etcdserver: no leader"}})"));
  EXPECT_TRUE(failed.status().is_unavailable());
  EXPECT_NE(failed.status().message().find("no leader"), std::string::npos);
  EXPECT_TRUE(
      parse_watch_response(json::parse(R"({"result":{"events":{}}})")).status().is_invalid());
  EXPECT_TRUE(parse_watch_response(json::parse(R"({"result":{"events":[{"kv":{"key":"!"}}]}})"))
                  .status()
                  .is_invalid());
}

}  // namespace
}  // namespace cube::broker
