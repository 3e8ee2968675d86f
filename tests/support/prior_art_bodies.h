// Request bodies copied verbatim from the prior orchestrators' READMEs
// (the READMEs of go-cube and orc), byte for byte including their whitespace, so that
// the gateway's tests prove those users' curl calls work unchanged against Cube.
#pragma once

namespace cube::test {

// go-cube README, "API Reference" > "Create Task": a TaskEvent (State 2 = run) with a task that
// uses every field the book's Task has.
inline constexpr const char* kGoCubeApiReferenceBody = R"({
  "ID": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
  "State": 2,
  "Timestamp": "2025-11-23T10:00:00Z",
  "Task": {
    "ID": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
    "Name": "my-task",
    "Image": "nginx:latest",
    "CPU": 0.5,
    "Memory": 536870912,
    "Disk": 1073741824,
    "Env": ["ENV=production"],
    "ExposedPorts": {
      "80/tcp": {}
    },
    "RestartPolicy": "always",
    "HealthCheck": "/health"
  }
})";

// go-cube README, "Example Usage" step 2, the -d argument of its curl call. It is NOT valid JSON:
// the "Task" object is closed but the outer object never is (the README lost a brace).
inline constexpr const char* kGoCubeExampleUsageBody = R"({
    "ID": "123e4567-e89b-12d3-a456-426614174000",
    "State": 2,
    "Task": {
      "ID": "123e4567-e89b-12d3-a456-426614174000",
      "Name": "nginx-server",
      "Image": "nginx:latest",
      "CPU": 0.5,
      "Memory": 268435456,
      "ExposedPorts": {
        "80/tcp": {}
      },
      "RestartPolicy": "always",
      "HealthCheck": "/health"
  })";
// Where nlohmann::json reports the break: the end of the text (byte 362), line 15.
inline constexpr int kGoCubeExampleUsageBreakByte = 362;

// orc README, "Create new task": a TaskEvent (State 2) whose task says State 1.
inline constexpr const char* kOrcCreateTaskBody = R"({
    "ID": "266592cd-960d-4091-981c-8c25c44b1018",
    "State": 2,
    "Task": {
        "State": 1,
        "ID": "266592cd-960d-4091-981c-8c25c44b1018",
        "Name": "test-from-api-777",
        "Image": "strm/helloworld-http"
    }
})";

}  // namespace cube::test
