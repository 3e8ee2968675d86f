#include "client/node_lookup.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace cube {
namespace {

using ::testing::HasSubstr;

protocol::NodeInfo node(std::string id, std::string name) {
  protocol::NodeInfo n;
  n.id = std::move(id);
  n.name = std::move(name);
  return n;
}

TEST(FindNode, AnIdWinsOverANameAndANameFindsItsOneNode) {
  // "b" is the ID of one node and the name of another: the ID wins.
  std::vector<protocol::NodeInfo> nodes = {node("a", "b"), node("b", "web-1")};
  EXPECT_EQ(find_node(nodes, "b")->name, "web-1");
  EXPECT_EQ(find_node(nodes, "web-1")->id, "b");
  EXPECT_EQ(find_node(nodes, "a")->name, "b");
}

TEST(FindNode, UnknownIsNotFoundNamingItAndASharedNameIsAConflictListingTheIds) {
  std::vector<protocol::NodeInfo> nodes = {node("id-1", "twin"), node("id-2", "twin")};
  auto missing = find_node(nodes, "ghost");
  ASSERT_FALSE(missing);
  EXPECT_TRUE(missing.status().is_not_found());
  EXPECT_THAT(missing.status().message(), HasSubstr("\"ghost\""));
  auto twin = find_node(nodes, "twin");
  ASSERT_FALSE(twin);
  EXPECT_EQ(twin.status().code(), ErrorCode::Conflict);
  EXPECT_THAT(twin.status().message(), HasSubstr("id-1, id-2"));
  EXPECT_EQ(find_node(nodes, "id-2")->id, "id-2");
  EXPECT_FALSE(find_node({}, "x"));
}

}  // namespace
}  // namespace cube
