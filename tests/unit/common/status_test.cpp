// common/status.h: Status and Result<T> behave as values; error codes are the wire enum.
#include "common/status.h"

#include <gtest/gtest.h>

#include <memory>

namespace cube {
namespace {

TEST(Status, DefaultIsOk) {
  Status s;
  EXPECT_TRUE(s.is_ok());
  EXPECT_EQ(s.code(), ErrorCode::Ok);
  EXPECT_EQ(s.message(), "");
  EXPECT_EQ(s.to_string(), "ok");
  EXPECT_EQ(s, Status::ok());
}

TEST(Status, NamedConstructorsAndPredicates) {
  EXPECT_EQ(Status::not_found("m").code(), ErrorCode::NotFound);
  EXPECT_TRUE(Status::not_found("m").is_not_found());
  EXPECT_EQ(Status::invalid("m").code(), ErrorCode::Invalid);
  EXPECT_TRUE(Status::invalid("m").is_invalid());
  EXPECT_EQ(Status::conflict("m").code(), ErrorCode::Conflict);
  EXPECT_EQ(Status::unavailable("m").code(), ErrorCode::Unavailable);
  EXPECT_TRUE(Status::unavailable("m").is_unavailable());
  EXPECT_EQ(Status::unauthorized("m").code(), ErrorCode::Unauthorized);
  EXPECT_EQ(Status::internal("m").code(), ErrorCode::Internal);
  EXPECT_FALSE(Status::internal("m").is_ok());
  EXPECT_FALSE(Status::invalid("m").is_not_found());
}

TEST(Status, ToStringAndContext) {
  Status s = Status::invalid("\"12XB\" is not a size");
  EXPECT_EQ(s.to_string(), "invalid: \"12XB\" is not a size");
  Status c = s.with_context("field \"Memory\"");
  EXPECT_EQ(c.code(), ErrorCode::Invalid);
  EXPECT_EQ(c.message(), "field \"Memory\": \"12XB\" is not a size");
  EXPECT_EQ(s.message(), "\"12XB\" is not a size") << "with_context returns a copy";
  EXPECT_TRUE(Status::ok().with_context("ignored").is_ok());
  EXPECT_EQ(Status::ok().with_context("ignored").message(), "");
  EXPECT_EQ(Status::not_found("task x").to_string(), "not_found: task x");
}

TEST(Status, Equality) {
  EXPECT_EQ(Status::invalid("a"), Status::invalid("a"));
  EXPECT_NE(Status::invalid("a"), Status::invalid("b"));
  EXPECT_NE(Status::invalid("a"), Status::conflict("a"));
}

TEST(ErrorCode, NamesAreTheWireNames) {
  const std::pair<ErrorCode, std::string_view> names[] = {
      {ErrorCode::Ok, "ok"},
      {ErrorCode::NotFound, "not_found"},
      {ErrorCode::Invalid, "invalid"},
      {ErrorCode::Conflict, "conflict"},
      {ErrorCode::Unavailable, "unavailable"},
      {ErrorCode::Unauthorized, "unauthorized"},
      {ErrorCode::Internal, "internal"},
  };
  int expected_number = 0;
  for (const auto& [code, name] : names) {
    EXPECT_EQ(static_cast<int>(code), expected_number++) << "wire numbers are frozen";
    EXPECT_EQ(error_code_name(code), name);
    EXPECT_EQ(error_code_from_name(name), code);
    EXPECT_EQ(error_code_from_int(static_cast<int>(code)), code);
  }
  EXPECT_EQ(error_code_from_name("NotFound"), std::nullopt);
  EXPECT_EQ(error_code_from_name(""), std::nullopt);
}

TEST(ErrorCode, UnknownNumbersAreInternalNeverOk) {
  EXPECT_EQ(error_code_from_int(7), ErrorCode::TooOld);  // EVENTS' too_old (docs/events.md)
  EXPECT_EQ(error_code_name(ErrorCode::TooOld), "too_old");
  EXPECT_EQ(error_code_from_name("too_old"), ErrorCode::TooOld);
  EXPECT_EQ(error_code_from_int(8), ErrorCode::Internal);
  EXPECT_EQ(error_code_from_int(255), ErrorCode::Internal);
  EXPECT_EQ(error_code_from_int(-1), ErrorCode::Internal);
  EXPECT_EQ(error_code_from_int(INT64_MIN), ErrorCode::Internal);
}

TEST(Result, HoldsAValue) {
  Result<int> r = 42;
  EXPECT_TRUE(r.is_ok());
  EXPECT_TRUE(static_cast<bool>(r));
  EXPECT_EQ(*r, 42);
  EXPECT_EQ(r.value(), 42);
  EXPECT_TRUE(r.status().is_ok());
  *r = 7;
  EXPECT_EQ(r.value(), 7);
}

TEST(Result, HoldsAnError) {
  Result<int> r = Status::not_found("no task abc");
  EXPECT_FALSE(r.is_ok());
  EXPECT_FALSE(static_cast<bool>(r));
  EXPECT_EQ(r.status(), Status::not_found("no task abc"));
}

TEST(Result, MoveOnlyValuesAndArrow) {
  Result<std::unique_ptr<std::string>> r = std::make_unique<std::string>("owned");
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ((*r)->size(), 5u);
  std::unique_ptr<std::string> taken = std::move(r).value();
  EXPECT_EQ(*taken, "owned");

  Result<std::string> s = std::string("abc");
  EXPECT_EQ(s->size(), 3u);
}

TEST(ResultDeathTest, ValueOfAnErrorCrashesWithTheStatus) {
  Result<int> r = Status::invalid("broken input");
  EXPECT_DEATH((void)r.value(), "broken input");
}

TEST(ResultDeathTest, ResultFromOkStatusIsAnInvariantViolation) {
  EXPECT_DEATH(
      {
        Result<int> r = Status::ok();
        (void)r;
      },
      "OK Status has no value");
}

Status fails_at(int step, int failing_step, int* reached) {
  *reached = step;
  if (step == failing_step)
    return Status::conflict("step " + std::to_string(step));
  return Status::ok();
}

Status run_steps(int failing_step, int* reached) {
  CUBE_RETURN_IF_ERROR(fails_at(1, failing_step, reached));
  CUBE_RETURN_IF_ERROR(fails_at(2, failing_step, reached));
  CUBE_RETURN_IF_ERROR(fails_at(3, failing_step, reached));
  return Status::ok();
}

Result<int> run_steps_result(int failing_step) {
  int reached = 0;
  CUBE_RETURN_IF_ERROR(run_steps(failing_step, &reached));
  return reached;
}

TEST(ReturnIfError, StopsAtTheFirstError) {
  int reached = 0;
  EXPECT_EQ(run_steps(2, &reached), Status::conflict("step 2"));
  EXPECT_EQ(reached, 2);
  EXPECT_TRUE(run_steps(0, &reached).is_ok());
  EXPECT_EQ(reached, 3);
  EXPECT_EQ(run_steps_result(1).status(), Status::conflict("step 1"));
  EXPECT_EQ(*run_steps_result(0), 3);
}

}  // namespace
}  // namespace cube
