#include "client/cli.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

#include <boost/program_options.hpp>
#include <nlohmann/json.hpp>

#include "client/client.h"
#include "client/node_lookup.h"
#include "client/views.h"
#include "common/config_file.h"
#include "common/shutdown_signal.h"
#include "common/units.h"
#include "protocol/curve.h"
#include "protocol/envelope.h"
#include "protocol/event_json.h"
#include "protocol/keygen_command.h"
#include "protocol/service_json.h"
#include "protocol/task_json.h"
#include "protocol/task_validation.h"

#ifndef CUBE_VERSION
#define CUBE_VERSION "unknown"
#endif

namespace cube {
namespace {

namespace po = boost::program_options;
using nlohmann::json;

constexpr std::string_view kProgram = "cube-client";
// Lazy Pirate tries per request; --timeout is split across them.
constexpr int kTries = 3;
// 5 s in total (three tries of about 1.7 s): long enough for a busy broker on a slow link, short
// enough that a script notices a dead broker quickly.
constexpr std::string_view kDefaultTimeout = "5s";
// With several brokers: how long a request keeps going round them (ClientOptions's reason).
constexpr std::string_view kDefaultFailoverTimeout = "15s";
// How long `submit --wait` waits for Running: pulling a large image can take minutes.
constexpr std::string_view kDefaultWaitTimeout = "5m";
// `logs -f` asks again this long after an answer with nothing new: new lines show up within a
// quarter second, and an idle follower costs four small requests a second.
constexpr Millis kFollowInterval{250};
// How long one EVENTS request waits for an event at the broker (`events`, `--watch`): idle
// output costs one request per this; a --watch table redraws its ages at the same pace.
constexpr Millis kEventWait{10000};
// One try of a LOGS request lasts at least this long: the broker answers within its 5 s fetch
// deadline even when the agent is silent ("agent X did not answer"), and that answer is more
// useful than a retry.
constexpr Millis kLogsTryFloor{6000};

// Thrown inside this file only, for "the user typed something wrong"; run_cli turns it into
// exit code 2. Boost.Program_options errors are converted to it at the parse.
struct UsageError {
  std::string message;
};

struct Io {
  std::ostream& out;
  std::ostream& err;
  std::istream& in;
  const Clock& clock;
};

// What every command gets: the streams, the clock and how to reach the broker.
struct Context {
  Io io;
  std::string command;
  po::variables_map vm;
  std::vector<std::string> args;      // positional arguments after the command
  std::vector<std::string> trailing;  // everything after "--"
  std::string broker_address;         // as given: HOST:PORT or a list of them
  ClientOptions brokers;              // the endpoints, --failover-timeout and the CURVE keys
  Millis timeout{5000};

  // `interrupt_fd` (a ShutdownSignal's): ends a call in flight when readable (`events`,
  // `--watch`, which follow the feed until interrupted).
  Client make_client(int interrupt_fd = -1) const {
    ClientOptions options = brokers;
    options.interrupt_fd = interrupt_fd;
    options.tries = kTries;
    options.timeout_per_try = Millis((timeout.count() + kTries - 1) / kTries);
    // A long --timeout (a slow link) must not leave a list fewer tries than one broker gets.
    options.failover_timeout = std::max(options.failover_timeout, timeout);
    return Client(options, io.clock);
  }

  bool has(const char* name) const { return vm.count(name) > 0 && !vm[name].defaulted(); }
  std::string get(const char* name) const {
    return vm.count(name) ? vm[name].as<std::string>() : std::string();
  }
  std::vector<std::string> get_list(const char* name) const {
    return vm.count(name) ? vm[name].as<std::vector<std::string>>() : std::vector<std::string>();
  }
};

// Prints a failed request and picks the exit code: 3 when the broker never answered, 4 when it
// refused the connection's handshake (keys), 1 when it answered with an error.
int report_failure(const Context& ctx, const Client& client, const Status& status) {
  if (client.was_refused()) {
    ctx.io.err << kProgram << ": " << status.message() << "\n";
    return kExitRefused;
  }
  if (client.was_unanswered()) {
    ctx.io.err << kProgram << ": " << status.message()
               << "; is cube-broker running there? (set --broker or CUBE_BROKER)\n";
    return kExitUnreachable;
  }
  ctx.io.err << kProgram << ": " << status.to_string() << "\n";
  return kExitBrokerError;
}

std::string output_format(const Context& ctx, std::initializer_list<std::string_view> allowed) {
  std::string format = ctx.get("output");
  if (std::find(allowed.begin(), allowed.end(), format) == allowed.end()) {
    std::string names;
    for (auto a : allowed)
      names += (names.empty() ? "" : ", ") + std::string(a);
    throw UsageError{"output format \"" + format + "\" is not one of " + names};
  }
  return format;
}

// --- building a task from flags ---

void add_spec_options(po::options_description& desc, bool with_name_and_image) {
  // clang-format off
  if (with_name_and_image) {
    desc.add_options()
      ("name", po::value<std::string>()->value_name("NAME"),
       "task name (default: the image name without registry and tag, or the command)")
      ("image", po::value<std::string>()->value_name("IMAGE"),
       "container image, e.g. nginx:1.25 (required for the docker driver)");
  }
  desc.add_options()
    ("id", po::value<std::string>()->value_name("UUID"),
     "task ID (default: the broker assigns one); submitting the same ID again is a no-op")
    ("driver", po::value<std::string>()->value_name("DRIVER"), "docker (default), exec or sim")
    ("cpu", po::value<std::string>()->value_name("CORES"), "CPU cores to reserve, e.g. 0.5")
    ("memory", po::value<std::string>()->value_name("SIZE"), "memory to reserve, e.g. 512MiB")
    ("disk", po::value<std::string>()->value_name("SIZE"), "disk to reserve, e.g. 1GiB")
    ("port,p", po::value<std::vector<std::string>>()->value_name("PORT[/PROTO]"),
     "port to expose, e.g. 80/tcp (repeatable)")
    ("env,e", po::value<std::vector<std::string>>()->value_name("K=V"),
     "environment variable (repeatable)")
    ("restart", po::value<std::string>()->value_name("POLICY"), "no, on-failure or always")
    ("health", po::value<std::string>()->value_name("PATH"), "HTTP health check path, e.g. /health")
    ("health-interval", po::value<std::string>()->value_name("DURATION"),
     "time between health probes, and the grace before the first (default: the agent's, 10s)")
    ("health-timeout", po::value<std::string>()->value_name("DURATION"),
     "a health probe not answered within this fails (default: the agent's, 2s)")
    ("health-retries", po::value<std::string>()->value_name("N"),
     "failed probes in a row that fail the task (default: the agent's, 3)")
    ("constraint", po::value<std::vector<std::string>>()->value_name("K=V"),
     "only place on nodes with this label (repeatable)")
    ("label", po::value<std::vector<std::string>>()->value_name("K=V"),
     "label to attach to the task (repeatable)")
    ("duration", po::value<std::string>()->value_name("DURATION"),
     "sim driver: how long the task runs, e.g. 5s")
    ("wait", po::bool_switch(), "wait until the task (every task) runs (exit 1 if one fails)")
    ("wait-timeout", po::value<std::string>()->default_value(std::string(kDefaultWaitTimeout))
                         ->value_name("DURATION"),
     "how long --wait waits");
  // clang-format on
}

// The flags that describe a task (everything but --wait), to reject mixing them with -f.
constexpr const char* kSpecFlags[] = {
    "name",           "image",          "id",         "driver",  "cpu",     "memory",
    "disk",           "port",           "env",        "restart", "health",  "health-interval",
    "health-timeout", "health-retries", "constraint", "label",   "duration"};

Millis duration_flag(const Context& ctx, const char* name) {
  std::string text = ctx.get(name);
  auto d = parse_duration(text);
  if (!d)
    throw UsageError{"--" + std::string(name) + ": " + d.status().message()};
  return *d;
}

// Sets the TaskSpec fields whose flags were given (and the command, when one follows --);
// leaves the others as they are. --name, --image and --id are the caller's.
void apply_task_flags(const Context& ctx, Task& task) {
  if (ctx.has("driver"))
    task.driver = ctx.get("driver");
  if (!ctx.trailing.empty())
    task.cmd = ctx.trailing;
  if (ctx.has("env"))
    task.env = ctx.get_list("env");
  if (ctx.has("port"))
    task.exposed_ports = ctx.get_list("port");
  if (ctx.has("restart"))
    task.restart_policy = ctx.get("restart");
  if (ctx.has("health"))
    task.health_check = ctx.get("health");
  if (ctx.has("constraint"))
    task.constraints = ctx.get_list("constraint");
  if (ctx.has("cpu")) {
    std::string text = ctx.get("cpu");
    char* end = nullptr;
    errno = 0;
    double cores = std::strtod(text.c_str(), &end);
    if (text.empty() || end != text.c_str() + text.size() || errno != 0 || !std::isfinite(cores))
      throw UsageError{"--cpu: \"" + text + "\" is not a number of cores (for example 0.5)"};
    task.cpu = cores;
  }
  for (const char* flag : {"memory", "disk"}) {
    if (!ctx.has(flag))
      continue;
    auto size = parse_size(ctx.get(flag));
    if (!size)
      throw UsageError{"--" + std::string(flag) + ": " + size.status().message()};
    (std::string_view(flag) == "memory" ? task.memory_bytes : task.disk_bytes) = *size;
  }
  if (ctx.has("duration"))
    task.duration_ms = duration_flag(ctx, "duration").count();
  for (const char* flag : {"health-interval", "health-timeout"}) {
    if (!ctx.has(flag))
      continue;
    Millis d = duration_flag(ctx, flag);
    if (d.count() <= 0)
      throw UsageError{"--" + std::string(flag) + " must be more than 0"};
    (std::string_view(flag) == "health-interval" ? task.health_interval_ms
                                                 : task.health_timeout_ms) = d.count();
  }
  if (ctx.has("health-retries")) {
    std::string text = ctx.get("health-retries");
    char* end = nullptr;
    errno = 0;
    long n = std::strtol(text.c_str(), &end, 10);
    if (text.empty() || end != text.c_str() + text.size() || errno != 0 || n < 1 || n > 1000)
      throw UsageError{"--health-retries: \"" + text + "\" is not a number from 1 to 1000"};
    task.health_retries = static_cast<int32_t>(n);
  }
  if (ctx.has("label"))
    task.labels.clear();
  for (const auto& label : ctx.get_list("label")) {
    auto eq = label.find('=');
    if (eq == std::string::npos || eq == 0)
      throw UsageError{"--label: \"" + label + "\" is not key=value"};
    task.labels[label.substr(0, eq)] = label.substr(eq + 1);
  }
}

Task task_from_flags(const Context& ctx, std::string name, std::string image) {
  Task task;
  task.name = std::move(name);
  task.image = std::move(image);
  task.id = ctx.get("id");
  apply_task_flags(ctx, task);
  return task;
}

// "stdin" for "-", else the path: how messages name a task file.
std::string file_name(const std::string& path) {
  return path == "-" ? std::string("stdin") : "\"" + path + "\"";
}

// The tasks in task file `path` ("-" reads stdin): one task or TaskEvent, a JSON array of them, or
// one per line (tasks_from_json_text).
// The text of file `path` ("-" reads stdin); a usage error naming the `kind` of file ("task")
// when it cannot be read.
std::string read_input_file(const Context& ctx, const std::string& path, std::string_view kind) {
  std::string text;
  if (path == "-") {
    text.assign(std::istreambuf_iterator<char>(ctx.io.in), std::istreambuf_iterator<char>());
    return text;
  }
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    throw UsageError{"cannot read " + std::string(kind) + " file \"" + path +
                     "\": " + std::strerror(errno)};
  }
  text.assign(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
  return text;
}

TaskList tasks_from_file(const Context& ctx, const std::string& path) {
  auto tasks = tasks_from_json_text(read_input_file(ctx, path, "task"));
  if (!tasks)
    throw UsageError{"task file " + file_name(path) + ": " + tasks.status().message()};
  return std::move(tasks).value();
}

// With --wait: waits, within `wait_timeout` in all, until each task of `ids` runs or has ended.
// Returns kExitOk, kExitBrokerError when one failed (each is named), or report_failure's code
// when the broker stops answering or the time runs out.
int wait_until_running(Context& ctx, Client& client, const std::vector<std::string>& ids,
                       Millis wait_timeout) {
  if (!ctx.vm["wait"].as<bool>())
    return kExitOk;
  SteadyTime deadline = ctx.io.clock.now() + wait_timeout;
  int exit_code = kExitOk;
  for (const std::string& id : ids) {
    auto done = client.wait_for(
        id, [](const Task& t) { return t.state == TaskState::Running || is_terminal(t.state); },
        deadline);
    if (!done)
      return report_failure(ctx, client, done.status());
    if (done->state == TaskState::Failed) {
      ctx.io.err << kProgram << ": task " << done->id
                 << " failed: " << (done->reason.empty() ? "no reason given" : done->reason)
                 << "\n";
      exit_code = kExitBrokerError;
    }
  }
  return exit_code;
}

// Submits `task` (validated here first, for an error before anything is sent), prints its ID and
// honours --wait.
int submit_task(Context& ctx, Task task) {
  Status valid = validate_task_spec(task);
  if (!valid.is_ok())
    throw UsageError{valid.message()};
  Millis wait_timeout = duration_flag(ctx, "wait-timeout");
  Client client = ctx.make_client();
  auto stored = client.submit(task);
  if (!stored)
    return report_failure(ctx, client, stored.status());
  ctx.io.out << stored->id << "\n";
  ctx.io.out.flush();
  return wait_until_running(ctx, client, {stored->id}, wait_timeout);
}

// Submits the tasks of a file that holds several, in as few requests as it can
// (Client::submit_many). Each task is judged by the broker on its own: prints one line per task,
// in the file's order, its ID on stdout or "ERROR <place> (<Name>): <error>" on stderr, then
// honours --wait for the stored ones. Exit 1 when any was refused or failed.
int submit_tasks(Context& ctx, const std::string& path, TaskList list) {
  if (list.tasks.empty())
    throw UsageError{"task file " + file_name(path) + " holds no task"};
  Status distinct = check_distinct_task_ids(list.tasks, [&](size_t i) { return list.where(i); });
  if (!distinct.is_ok())
    throw UsageError{"task file " + file_name(path) + ": " + distinct.message()};
  Millis wait_timeout = duration_flag(ctx, "wait-timeout");
  // The IDs are chosen here rather than inside submit_many so that, when the broker does not
  // answer, each task's ID can be given for a retry that stores it at most once.
  for (Task& task : list.tasks)
    choose_task_id(task, ctx.io.clock.wall());
  // Where the task is in the file, so a script can match each line to its task even when the
  // stdout lines (IDs) are fewer than the tasks; and its Name, for a reader.
  auto place = [&](size_t i) {
    const std::string& name = list.tasks[i].name;
    return list.where(i) + (name.empty() ? "" : " (" + name + ")");
  };
  Client client = ctx.make_client();
  auto outcomes = client.submit_many(list.tasks);
  if (!outcomes) {
    if (client.was_unanswered()) {
      for (size_t i = 0; i < list.tasks.size(); ++i) {
        if (list.tasks[i].id.empty())
          continue;  // a stop by State 3 without an ID is refused whatever happens
        ctx.io.err << "ERROR " << place(i) << ": no answer, so it may have been stored, as "
                   << list.tasks[i].id << ": submit it again with that ID to store it once\n";
      }
    }
    return report_failure(ctx, client, outcomes.status());
  }
  std::vector<std::string> stored;
  for (size_t i = 0; i < outcomes->size(); ++i) {
    const protocol::SubmitOutcome& outcome = (*outcomes)[i];
    if (outcome.error_code == ErrorCode::Ok) {
      ctx.io.out << outcome.task_id << "\n" << std::flush;
      stored.push_back(outcome.task_id);
    } else {
      ctx.io.err << "ERROR " << place(i) << ": " << outcome.status().to_string() << "\n"
                 << std::flush;
    }
  }
  int waited = wait_until_running(ctx, client, stored, wait_timeout);
  if (waited != kExitOk)
    return waited;
  return stored.size() == outcomes->size() ? kExitOk : kExitBrokerError;
}

// Like `docker run`, a task submitted without --name is named after what it runs: the image's
// last path component without tag or digest ("no-such/image:1" -> "image"), else the command.
std::string default_task_name(const Context& ctx) {
  std::string source = ctx.has("image")       ? ctx.get("image")
                       : ctx.trailing.empty() ? std::string()
                                              : ctx.trailing.front();
  source = source.substr(0, source.find('@'));
  if (auto slash = source.rfind('/'); slash != std::string::npos)
    source = source.substr(slash + 1);
  return source.substr(0, source.find(':'));
}

int cmd_submit(Context& ctx) {
  if (!ctx.args.empty()) {
    throw UsageError{"unexpected argument \"" + ctx.args.front() +
                     "\"; put the task's command after --"};
  }
  if (ctx.has("file")) {
    bool mixed = !ctx.trailing.empty() || std::any_of(std::begin(kSpecFlags), std::end(kSpecFlags),
                                                      [&](const char* f) { return ctx.has(f); });
    if (mixed)
      throw UsageError{"give the task either with -f FILE or with flags, not both"};
    std::string path = ctx.get("file");
    TaskList list = tasks_from_file(ctx, path);
    if (list.form == TaskList::Form::Single)
      return submit_task(ctx, std::move(list.tasks.front()));
    return submit_tasks(ctx, path, std::move(list));
  }
  std::string name = ctx.has("name") ? ctx.get("name") : default_task_name(ctx);
  if (name.empty())
    throw UsageError{"submit needs -f FILE, --name NAME or --image IMAGE"};
  return submit_task(ctx, task_from_flags(ctx, name, ctx.get("image")));
}

int cmd_run(Context& ctx) {
  if (ctx.args.size() != 2) {
    throw UsageError{ctx.args.size() < 2 ? "run needs NAME and IMAGE"
                                         : "unexpected argument \"" + ctx.args[2] +
                                               "\"; put the task's command after --"};
  }
  return submit_task(ctx, task_from_flags(ctx, ctx.args[0], ctx.args[1]));
}

// --- the event feed: `events`, `list --watch`, `nodes --watch` (docs/events.md) ---

// `--filter KEY=VALUE` flags (task=ID, node=NAME, type=TYPE, service=NAME) as one filter.
protocol::EventFilter event_filter_from_flags(const Context& ctx) {
  protocol::EventFilter filter;
  for (const std::string& item : ctx.get_list("filter")) {
    size_t eq = item.find('=');
    std::string key = item.substr(0, eq);
    std::string value = eq == std::string::npos ? "" : item.substr(eq + 1);
    std::string* field = key == "task"      ? &filter.task
                         : key == "node"    ? &filter.node
                         : key == "type"    ? &filter.type
                         : key == "service" ? &filter.service
                                            : nullptr;
    if (field == nullptr || eq == std::string::npos || value.empty()) {
      throw UsageError{"--filter \"" + item +
                       "\": expected task=ID, node=NAME, type=task|node|service or service=NAME"};
    }
    *field = value;
  }
  return filter;
}

uint64_t since_flag(const Context& ctx) {
  if (!ctx.has("since"))
    return 0;
  std::string text = ctx.get("since");
  char* end = nullptr;
  errno = 0;
  unsigned long long n = std::strtoull(text.c_str(), &end, 10);
  if (text.empty() || text[0] == '-' || end != text.c_str() + text.size() || errno != 0)
    throw UsageError{"--since: \"" + text + "\" is not an event index (a whole number)"};
  return n;
}

int cmd_events(Context& ctx) {
  if (!ctx.args.empty())
    throw UsageError{"unexpected argument \"" + ctx.args.front() + "\""};
  std::string format = output_format(ctx, {"table", "json"});
  protocol::EventFilter filter = event_filter_from_flags(ctx);
  uint64_t since = since_flag(ctx);
  ShutdownSignal stop;
  Client client = ctx.make_client(stop.fd());
  while (true) {
    auto page = client.events(since, filter, kEventWait);
    if (!page)
      return client.was_interrupted() ? kExitOk : report_failure(ctx, client, page.status());
    if (page->too_old) {
      // The events after `since` are gone (or the broker restarted): say so, as the SSE stream
      // does, and go on from now. A script reloads its snapshot (list, nodes) on this line.
      if (format == "json") {
        ctx.io.out << json{{"Type", "reset"}, {"NextIndex", page->next_index}}.dump() << "\n";
      } else {
        ctx.io.err << kProgram << ": " << page->message << "\n";
      }
    }
    for (const auto& event : page->events)
      ctx.io.out << (format == "json" ? feed_event_to_json(event).dump() : feed_event_line(event))
                 << "\n";
    ctx.io.out.flush();
    since = page->next_index;
  }
}

// `list --watch`, `nodes --watch`: draws with `draw` (a snapshot from the broker), then again
// after every change the feed reports (matching `filter`) and, with nothing new, every
// kEventWait for the ages. On a terminal each drawing replaces the last.
int watch(Context& ctx, const protocol::EventFilter& filter,
          const std::function<Status(Client&)>& draw) {
  ShutdownSignal stop;
  Client client = ctx.make_client(stop.fd());
  // Where the feed is now, before the snapshot: nothing that happens after it is missed.
  auto start = client.events(0, filter, Millis(0));
  if (!start)
    return report_failure(ctx, client, start.status());
  uint64_t since = start->next_index;
  const bool terminal = &ctx.io.out == &std::cout && ::isatty(STDOUT_FILENO) == 1;
  while (true) {
    if (terminal)
      ctx.io.out << "\x1b[H\x1b[2J";  // home, clear: the new table replaces the old
    if (Status s = draw(client); !s.is_ok())
      return client.was_interrupted() ? kExitOk : report_failure(ctx, client, s);
    ctx.io.out.flush();
    auto page = client.events(since, filter, kEventWait);
    if (!page)
      return client.was_interrupted() ? kExitOk : report_failure(ctx, client, page.status());
    since = page->next_index;
  }
}

int cmd_list(Context& ctx) {
  if (!ctx.args.empty())
    throw UsageError{"unexpected argument \"" + ctx.args.front() + "\""};
  std::string format = output_format(ctx, {"table", "wide", "json"});
  if (ctx.vm["watch"].as<bool>()) {
    if (format == "json")
      throw UsageError{"--watch draws a table: use -o table or -o wide (for JSON, `events`)"};
    protocol::EventFilter tasks_only;
    tasks_only.type = "task";
    return watch(ctx, tasks_only, [&](Client& client) {
      auto tasks = client.list();
      if (!tasks)
        return tasks.status();
      ctx.io.out << render_task_table(*tasks, ctx.io.clock.wall(), format == "wide") << "\n";
      return Status::ok();
    });
  }
  Client client = ctx.make_client();
  auto tasks = client.list();
  if (!tasks)
    return report_failure(ctx, client, tasks.status());
  if (format == "json") {
    json out = json::array();
    for (const auto& t : *tasks)
      out.push_back(task_to_json(t));
    ctx.io.out << out.dump(2) << "\n";
  } else {
    ctx.io.out << render_task_table(*tasks, ctx.io.clock.wall(), format == "wide");
  }
  return kExitOk;
}

const std::string& single_id(const Context& ctx) {
  if (ctx.args.empty())
    throw UsageError{ctx.command + " needs a task ID"};
  if (ctx.args.size() > 1)
    throw UsageError{"unexpected argument \"" + ctx.args[1] + "\" (one task ID at a time)"};
  return ctx.args.front();
}

int cmd_get(Context& ctx) {
  const std::string& id = single_id(ctx);
  std::string format = output_format(ctx, {"table", "json"});
  Client client = ctx.make_client();
  auto details = client.get(id);
  if (!details)
    return report_failure(ctx, client, details.status());
  if (format == "json") {
    json out = task_to_json(details->task);
    json events = json::array();
    for (const auto& e : details->events)
      events.push_back(task_event_to_json(e));
    out["Events"] = events;
    out["Stats"] = details->stats ? task_stats_to_json(*details->stats) : json(nullptr);
    ctx.io.out << out.dump(2) << "\n";
  } else {
    ctx.io.out << render_task_details(*details, ctx.io.clock.wall());
  }
  return kExitOk;
}

int cmd_stop(Context& ctx) {
  const std::string& id = single_id(ctx);
  Client client = ctx.make_client();
  auto task = client.stop(id);
  if (!task)
    return report_failure(ctx, client, task.status());
  ctx.io.out << (task->id.empty() ? id : task->id) << "\n";
  return kExitOk;
}

// --- services (docs/services.md) ---

// The flags `service` takes besides the task flags, and which subcommand each belongs to.
constexpr const char* kServiceCreateFlags[] = {"replicas",       "update-parallelism",
                                               "update-delay",   "update-failure-action",
                                               "update-monitor", "update-order"};

// Replicas from text: a whole number 0..kMaxReplicas, else a usage error naming `what`.
uint32_t parse_replicas(const std::string& text, const std::string& what) {
  char* end = nullptr;
  errno = 0;
  long long n = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || end != text.c_str() + text.size() || errno != 0)
    throw UsageError{what + ": \"" + text + "\" is not a number of replicas"};
  if (n < 0)
    throw UsageError{what + ": replicas must not be negative (got " + text + ")"};
  if (n > static_cast<long long>(kMaxReplicas)) {
    throw UsageError{what + ": " + text + " is above the limit of " + std::to_string(kMaxReplicas) +
                     " replicas per service"};
  }
  return static_cast<uint32_t>(n);
}

// The one NAME a service subcommand takes.
const std::string& service_name_arg(const Context& ctx, std::string_view sub) {
  if (ctx.args.size() < 2)
    throw UsageError{"service " + std::string(sub) + " needs a service NAME"};
  if (ctx.args.size() > 2)
    throw UsageError{"unexpected argument \"" + ctx.args[2] + "\" (one service at a time)"};
  return ctx.args[1];
}

// Refuses the task and create flags for the subcommands that take none.
void refuse_create_flags(const Context& ctx, std::string_view sub) {
  auto given = [&](const char* f) { return ctx.has(f); };
  const char* flag = nullptr;
  for (const char* f : kSpecFlags) {
    if (given(f))
      flag = f;
  }
  for (const char* f : kServiceCreateFlags) {
    if (given(f))
      flag = f;
  }
  if (given("file"))
    flag = "file";
  if (flag != nullptr) {
    throw UsageError{"--" + std::string(flag) +
                     " belongs to `service create` and `service update`, not `service " +
                     std::string(sub) + "`"};
  }
  if (!ctx.trailing.empty())
    throw UsageError{"service " + std::string(sub) + " takes no command after --"};
}

// Sets the update policy fields whose --update-* flags were given.
void apply_update_flags(const Context& ctx, UpdatePolicy& u) {
  if (ctx.has("update-parallelism")) {
    uint32_t n = parse_replicas(ctx.get("update-parallelism"), "--update-parallelism");
    if (n == 0)
      throw UsageError{"--update-parallelism must be at least 1"};
    u.parallelism = n;
  }
  if (ctx.has("update-delay"))
    u.delay_ms = duration_flag(ctx, "update-delay").count();
  if (ctx.has("update-monitor"))
    u.monitor_ms = duration_flag(ctx, "update-monitor").count();
  if (ctx.has("update-failure-action"))
    u.failure_action = ctx.get("update-failure-action");
  if (ctx.has("update-order"))
    u.order = ctx.get("update-order");
}

Service service_from_flags(const Context& ctx) {
  if (!ctx.has("name"))
    throw UsageError{"service create needs --name NAME (or -f FILE)"};
  if (ctx.has("id"))
    throw UsageError{"--id: a service's tasks each get their own ID"};
  Service service;
  service.name = ctx.get("name");
  service.task_template = task_from_flags(ctx, "", ctx.get("image"));
  service.replicas = ctx.has("replicas") ? parse_replicas(ctx.get("replicas"), "--replicas") : 1;
  apply_update_flags(ctx, service.update);
  return service;
}

Service service_from_file(const Context& ctx, const std::string& path) {
  auto service = service_from_json_text(read_input_file(ctx, path, "service"));
  if (!service)
    throw UsageError{"service file " + file_name(path) + ": " + service.status().message()};
  return std::move(service).value();
}

// Whether a task or service flag (or a command after --) was given: -f FILE takes none.
bool service_flags_given(const Context& ctx) {
  auto given = [&](const char* f) { return ctx.has(f); };
  return !ctx.trailing.empty() ||
         std::any_of(std::begin(kSpecFlags), std::end(kSpecFlags), given) ||
         std::any_of(std::begin(kServiceCreateFlags), std::end(kServiceCreateFlags), given);
}

int service_create(Context& ctx) {
  if (ctx.args.size() > 1)
    throw UsageError{"unexpected argument \"" + ctx.args[1] + "\"; put the command after --"};
  if (ctx.vm.count("wait") && ctx.vm["wait"].as<bool>())
    throw UsageError{"--wait is not supported by service create yet; watch `service ls`"};
  Service service;
  if (ctx.has("file")) {
    if (service_flags_given(ctx))
      throw UsageError{"give the service either with -f FILE or with flags, not both"};
    service = service_from_file(ctx, ctx.get("file"));
  } else {
    service = service_from_flags(ctx);
  }
  // Checked here first, for an error before anything is sent; the broker checks again.
  if (Status valid = validate_service(service); !valid.is_ok())
    throw UsageError{valid.message()};
  Client client = ctx.make_client();
  auto created = client.service_create(service);
  if (!created)
    return report_failure(ctx, client, created.status());
  ctx.io.out << created->service.name << "\n";
  return kExitOk;
}

int service_ls(Context& ctx) {
  if (ctx.args.size() > 1)
    throw UsageError{"unexpected argument \"" + ctx.args[1] + "\""};
  std::string format = output_format(ctx, {"table", "json"});
  Client client = ctx.make_client();
  auto services = client.service_list();
  if (!services)
    return report_failure(ctx, client, services.status());
  if (format == "json") {
    json out = json::array();
    for (const auto& info : *services)
      out.push_back(service_info_to_json(info));
    ctx.io.out << out.dump(2) << "\n";
  } else {
    ctx.io.out << render_service_table(*services);
  }
  return kExitOk;
}

int service_ps_or_inspect(Context& ctx, std::string_view sub) {
  const std::string& name = service_name_arg(ctx, sub);
  std::string format = output_format(ctx, {"table", "json"});
  Client client = ctx.make_client();
  auto details = client.service_inspect(name);
  if (!details)
    return report_failure(ctx, client, details.status());
  json tasks = json::array();
  for (const auto& t : details->tasks)
    tasks.push_back(task_to_json(t));
  if (format == "json" && sub == "ps") {
    ctx.io.out << tasks.dump(2) << "\n";
  } else if (format == "json") {
    json out = service_info_to_json(details->info);
    out["TaskList"] = tasks;
    ctx.io.out << out.dump(2) << "\n";
  } else if (sub == "ps") {
    ctx.io.out << render_service_tasks(details->tasks, ctx.io.clock.wall());
  } else {
    ctx.io.out << render_service_details(*details, ctx.io.clock.wall());
  }
  return kExitOk;
}

int service_scale(Context& ctx) {
  if (ctx.args.size() < 2)
    throw UsageError{"service scale needs NAME=REPLICAS (one or more)"};
  std::vector<std::pair<std::string, uint32_t>> targets;
  for (size_t i = 1; i < ctx.args.size(); ++i) {
    const std::string& arg = ctx.args[i];
    auto eq = arg.find('=');
    if (eq == std::string::npos || eq == 0)
      throw UsageError{"\"" + arg + "\" is not NAME=REPLICAS"};
    targets.emplace_back(arg.substr(0, eq), parse_replicas(arg.substr(eq + 1), arg.substr(0, eq)));
  }
  Client client = ctx.make_client();
  int exit_code = kExitOk;
  for (const auto& [name, replicas] : targets) {
    auto scaled = client.service_scale(name, replicas);
    if (!scaled) {
      int code = report_failure(ctx, client, scaled.status());
      if (client.was_unanswered() || client.was_refused())
        return code;
      exit_code = code;
      continue;
    }
    ctx.io.out << name << " scaled to " << replicas << "\n";
  }
  return exit_code;
}

// `service update NAME [flags] [-- CMD]` or `service update NAME -f FILE`: the flags change
// what they name in the service as it is now; the update is refused when the service changed
// in between (expected_version), so two racing updates never interleave.
int service_update(Context& ctx) {
  const std::string& name = service_name_arg(ctx, "update");
  if (ctx.has("name") || ctx.has("id"))
    throw UsageError{std::string(ctx.has("name") ? "--name" : "--id") +
                     " cannot change: a service keeps its name and its tasks get their own IDs"};
  {
    // The flags' own errors come before any round trip (the service is read next).
    Task parsed;
    apply_task_flags(ctx, parsed);
    UpdatePolicy policy;
    apply_update_flags(ctx, policy);
    if (Status valid = validate_update_policy(policy); !valid.is_ok())
      throw UsageError{valid.message()};
  }
  Client client = ctx.make_client();
  auto current = client.service_inspect(name);
  if (!current)
    return report_failure(ctx, client, current.status());
  const Service& before = current->info.service;
  Service after = before;
  if (ctx.has("file")) {
    if (service_flags_given(ctx))
      throw UsageError{"give the new definition either with -f FILE or with flags, not both"};
    after = service_from_file(ctx, ctx.get("file"));
    if (after.name.empty())
      after.name = name;
    if (after.name != name) {
      throw UsageError{"service file " + file_name(ctx.get("file")) + " names service \"" +
                       after.name + "\", not \"" + name + "\""};
    }
  } else {
    if (ctx.has("image"))
      after.task_template.image = ctx.get("image");
    apply_task_flags(ctx, after.task_template);
    if (ctx.has("replicas"))
      after.replicas = parse_replicas(ctx.get("replicas"), "--replicas");
    apply_update_flags(ctx, after.update);
  }
  if (Status valid = validate_service(after); !valid.is_ok())
    throw UsageError{valid.message()};
  auto updated = client.service_update(after, before.version);
  if (!updated)
    return report_failure(ctx, client, updated.status());
  const Service& now = updated->service;
  if (now.version == before.version)
    ctx.io.out << name << ": nothing to change (version " << now.version << ")\n";
  else if (now.template_version != before.template_version)
    ctx.io.out << name << ": rolling out version " << now.template_version << "\n";
  else
    ctx.io.out << name << ": updated to version " << now.version << " (no rollout)\n";
  return kExitOk;
}

// `service rollback NAME` and `service restart NAME`.
int service_rollback_or_restart(Context& ctx, std::string_view sub) {
  const std::string& name = service_name_arg(ctx, sub);
  Client client = ctx.make_client();
  auto changed = sub == "rollback" ? client.service_rollback(name) : client.service_restart(name);
  if (!changed)
    return report_failure(ctx, client, changed.status());
  ctx.io.out << name << ": " << (sub == "rollback" ? "rolling back to" : "restarting at")
             << " template version " << changed->service.template_version << "\n";
  return kExitOk;
}

int service_rm(Context& ctx) {
  const std::string& name = service_name_arg(ctx, "rm");
  Client client = ctx.make_client();
  auto removed = client.service_remove(name);
  if (!removed)
    return report_failure(ctx, client, removed.status());
  ctx.io.out << name << "\n";
  return kExitOk;
}

int cmd_service(Context& ctx) {
  if (ctx.args.empty())
    throw UsageError{
        "service needs a subcommand: create, ls, ps, inspect, scale, update, rollback, restart "
        "or rm"};
  std::string sub = ctx.args.front();
  if (sub == "create")
    return service_create(ctx);
  if (sub == "update")
    return service_update(ctx);
  refuse_create_flags(ctx, sub);
  if (sub == "ls" || sub == "list")
    return service_ls(ctx);
  if (sub == "ps" || sub == "inspect")
    return service_ps_or_inspect(ctx, sub);
  if (sub == "scale")
    return service_scale(ctx);
  if (sub == "rollback" || sub == "restart")
    return service_rollback_or_restart(ctx, sub);
  if (sub == "rm" || sub == "remove")
    return service_rm(ctx);
  throw UsageError{"unknown service subcommand \"" + sub +
                   "\" (create, ls, ps, inspect, scale, update, rollback, restart or rm)"};
}

int cmd_logs(Context& ctx) {
  const std::string& id = single_id(ctx);
  int64_t tail = 0;
  if (ctx.has("tail")) {
    std::string text = ctx.get("tail");
    char* end = nullptr;
    errno = 0;
    long long n = std::strtoll(text.c_str(), &end, 10);
    if (text.empty() || end != text.c_str() + text.size() || errno != 0 || n < 0)
      throw UsageError{"--tail: \"" + text + "\" is not a number of lines (0 or more)"};
    tail = n;
  }
  const bool follow = ctx.vm["follow"].as<bool>();

  ClientOptions options = ctx.brokers;
  options.tries = static_cast<int>(std::clamp<int64_t>(ctx.timeout / kLogsTryFloor, 1, kTries));
  options.timeout_per_try = std::max(kLogsTryFloor, Millis(ctx.timeout.count() / options.tries));
  Client client(options, ctx.io.clock);

  int64_t offset = 0;
  bool first = true;
  bool told_waiting = false;
  while (true) {
    const bool tail_request = first && ctx.has("tail");
    // --tail 0 asks for the last line only to learn where the log ends, and prints from there.
    auto chunk = client.logs(id, offset, 0, tail_request ? std::max<int64_t>(tail, 1) : 0);
    if (!chunk) {
      // Following a task that is not placed yet, or whose agent is away or slow: wait for it.
      if (follow && chunk.status().is_unavailable() && !client.was_unanswered()) {
        if (!told_waiting)
          ctx.io.err << kProgram << ": waiting: " << chunk.status().message() << "\n";
        told_waiting = true;
        ctx.io.clock.sleep_for(kFollowInterval);
        continue;
      }
      return report_failure(ctx, client, chunk.status());
    }
    if (!(tail_request && tail == 0)) {
      ctx.io.out.write(chunk->data.data(), static_cast<std::streamsize>(chunk->data.size()));
      ctx.io.out.flush();
    }
    first = false;
    offset = chunk->next_offset;
    if (chunk->eof)
      return kExitOk;
    const bool caught_up = static_cast<int64_t>(chunk->data.size()) < protocol::kMaxLogChunkBytes;
    if (caught_up) {
      if (!follow)
        return kExitOk;
      ctx.io.clock.sleep_for(kFollowInterval);
    }
  }
}

// `nodes NAME`: one node in detail, with the tasks on it.
int show_node(Context& ctx, Client& client, std::vector<protocol::NodeInfo> nodes,
              const std::string& format) {
  if (format == "wide")
    throw UsageError{"-o wide lists every node; for one node use -o table or -o json"};
  auto node = find_node(std::move(nodes), ctx.args.front());
  if (!node) {
    ctx.io.err << kProgram << ": " << node.status().message()
               << (node.status().is_not_found() ? " (cube-client nodes lists them)" : "") << "\n";
    return kExitBrokerError;
  }
  if (format == "json") {
    ctx.io.out << node_to_json(*node).dump(2) << "\n";
    return kExitOk;
  }
  auto tasks = client.list();
  if (!tasks)
    return report_failure(ctx, client, tasks.status());
  std::vector<Task> here;
  for (auto& t : *tasks) {
    if (t.node_id == node->id)
      here.push_back(std::move(t));
  }
  ctx.io.out << render_node_details(*node, here, ctx.io.clock.wall());
  return kExitOk;
}

int cmd_nodes(Context& ctx) {
  if (ctx.args.size() > 1)
    throw UsageError{"unexpected argument \"" + ctx.args[1] + "\" (nodes takes at most one NAME)"};
  std::string format = output_format(ctx, {"table", "wide", "json"});
  if (ctx.vm["watch"].as<bool>()) {
    if (format == "json" || !ctx.args.empty())
      throw UsageError{"--watch draws the node table: give no NAME and use -o table or -o wide"};
    // Every event: the table's task counts change with the tasks.
    return watch(ctx, {}, [&](Client& client) {
      auto nodes = client.nodes();
      if (!nodes)
        return nodes.status();
      ctx.io.out << render_node_table(*nodes, ctx.io.clock.wall(), format == "wide") << "\n";
      return Status::ok();
    });
  }
  Client client = ctx.make_client();
  auto nodes = client.nodes();
  if (!nodes)
    return report_failure(ctx, client, nodes.status());
  if (!ctx.args.empty())
    return show_node(ctx, client, std::move(*nodes), format);
  if (format == "json") {
    json out = json::array();
    for (const auto& n : *nodes)
      out.push_back(node_to_json(n));
    ctx.io.out << out.dump(2) << "\n";
  } else {
    ctx.io.out << render_node_table(*nodes, ctx.io.clock.wall(), format == "wide");
  }
  return kExitOk;
}

int cmd_status(Context& ctx) {
  if (!ctx.args.empty())
    throw UsageError{"unexpected argument \"" + ctx.args.front() + "\""};
  std::string format = output_format(ctx, {"table", "json"});
  Client client = ctx.make_client();
  auto status = client.status();
  if (!status)
    return report_failure(ctx, client, status.status());
  if (format == "json") {
    json out = {{"Broker", client.address()},
                {"Version", status->version},
                {"Epoch", status->epoch},
                {"StartedAt", format_rfc3339(status->started_ms)},
                {"NodesReady", status->nodes_ready},
                {"NodesTotal", status->nodes_total},
                {"Nodes", status->nodes_by_state},
                {"Store", status->store},
                {"Scheduler", status->scheduler},
                {"Role", status->role.empty() ? "leader" : status->role},
                {"Leader", status->leader},
                {"Standbys", status->standbys},
                {"Tasks", status->tasks_by_state},
                {"Counters", status->counters}};
    ctx.io.out << out.dump(2) << "\n";
  } else {
    ctx.io.out << render_broker_status(*status, client.address(), ctx.io.clock.wall(),
                                       ctx.vm["counters"].as<bool>());
  }
  return kExitOk;
}

// --- the command table and help ---

struct CommandSpec {
  std::string_view name;
  std::string_view summary;
  std::string_view usage;
  std::string_view description;
  std::string_view examples;
  bool takes_trailing_command;  // accepts "-- CMD ARGS..."
  std::function<void(po::options_description&)> add_options;
  int (*run)(Context&);
};

void add_output_option(po::options_description& desc, const char* formats) {
  desc.add_options()(
      "output,o", po::value<std::string>()->default_value("table")->value_name("FORMAT"), formats);
}

const std::vector<CommandSpec>& commands() {
  static const std::vector<CommandSpec> kCommands = {
      {"submit", "Submit tasks from a JSON file, or one from flags; prints their IDs",
       "submit -f FILE [--wait]\n"
       "       cube-client submit --name NAME [--image IMAGE] [options] [-- CMD ARGS...]",
       "Submits a task and prints ONLY its ID on stdout. FILE (\"-\" for stdin) holds the task\n"
       "JSON of go-cube, orc, Birdman and friends, bare or wrapped as a TaskEvent\n"
       "{ID, State, Timestamp, Task}. The task is checked here first; the broker checks again.\n"
       "\n"
       "FILE may also hold many tasks: a JSON array of them, or one per line (NDJSON; blank\n"
       "lines are skipped). They go to the broker in as few requests as possible (1,000 tasks\n"
       "each), and the broker judges each on its own: one bad task does not stop the others.\n"
       "One line per task, in FILE's order: its ID on stdout, or on stderr\n"
       "  ERROR <task #N (from 0) or line N> [(<Name>)]: <why it was refused>\n"
       "Exit 1 when any task was refused (or, with --wait, failed). A parse error names the\n"
       "task (task #N or line N) and the field, and nothing is sent. --wait waits for every\n"
       "task, within --wait-timeout in all.",
       "  cube-client submit -f task.json\n"
       "  cat task.json | cube-client submit -f -\n"
       "  cube-client submit -f tasks.ndjson --wait\n"
       "  cube-client submit --name web --image nginx:1.25 -p 80/tcp --memory 256MiB \\\n"
       "      --restart always --health / --wait\n"
       "  cube-client submit --name job --driver exec -e GREETING=hi -- sh -c 'echo $GREETING'\n"
       "  cube-client submit --name sim-1 --driver sim --duration 30s",
       true,
       [](po::options_description& d) {
         d.add_options()("file,f", po::value<std::string>()->value_name("FILE"),
                         "task JSON file (one task, an array, or one per line), or - for stdin");
         add_spec_options(d, true);
       },
       cmd_submit},
      {"run", "Submit a task by name and image (shorthand for submit)",
       "run NAME IMAGE [options] [-- CMD ARGS...]",
       "The same as `submit --name NAME --image IMAGE`, for Rust-Orch users. Prints the ID.",
       "  cube-client run web nginx:1.25 -p 80/tcp\n"
       "  cube-client run hello busybox:latest -- echo hello",
       true, [](po::options_description& d) { add_spec_options(d, false); }, cmd_run},
      {"list", "List tasks", "list [-o table|wide|json] [--watch]",
       "Lists every task: ID, NAME, STATE, NODE, AGE, and why a Pending or Failed task is\n"
       "stuck. -o wide adds image, driver, resources and ports; -o json prints the tasks in the\n"
       "prior orchestrators' JSON (PascalCase, numeric State).\n"
       "--watch draws the table again whenever a task changes (driven by the broker's event\n"
       "feed, see `events`; idle, every 10 s for the ages) until Ctrl-C.",
       "  cube-client list\n"
       "  cube-client list --watch\n"
       "  cube-client list -o json | jq '.[] | select(.State == 2) | .ID'",
       false,
       [](po::options_description& d) {
         add_output_option(d, "table, wide or json");
         d.add_options()("watch,w", po::bool_switch(),
                         "redraw the table on every task change until interrupted");
       },
       cmd_list},
      {"events", "Follow the broker's event feed (task, node and service changes)",
       "events [--since INDEX] [--filter KEY=VALUE ...] [-o table|json]",
       "Prints one line per change the broker made and stored, as it happens, until Ctrl-C\n"
       "(SIGINT or SIGTERM; exit 0): task state changes (with the reason and node), nodes\n"
       "joining, lost and back, service changes and rollout ends. Each event has an index;\n"
       "--since INDEX starts after that one (the broker keeps the last --event-buffer events,\n"
       "65,536 by default), else from now. When INDEX is no longer kept (or the broker\n"
       "restarted since) the output says so (-o json: {\"Type\":\"reset\",\"NextIndex\":N}) and\n"
       "goes on from now. --filter (repeatable, all must match): task=ID, node=NAME (that\n"
       "node and the tasks on it), type=task|node|service, service=NAME (the service and its\n"
       "tasks). -o json prints one JSON object per line (NDJSON), the same objects as the\n"
       "gateway's GET /events (docs/events.md).",
       "  cube-client events\n"
       "  cube-client events --filter type=node\n"
       "  cube-client events --filter service=web -o json | jq -c .Task\n"
       "  cube-client events --since 1200 -o json",
       false,
       [](po::options_description& d) {
         add_output_option(d, "table (one line per event) or json (NDJSON)");
         d.add_options()("since", po::value<std::string>()->value_name("INDEX"),
                         "start after event INDEX (default: from now)")(
             "filter", po::value<std::vector<std::string>>()->value_name("KEY=VALUE"),
             "task=ID, node=NAME, type=task|node|service or service=NAME; repeatable");
       },
       cmd_events},
      {"get", "Show one task and its history", "get ID [-o table|json]",
       "Shows a task's fields, ports, exit code and reason, and its state history in local\n"
       "time. -o json prints the task JSON with an \"Events\" array.",
       "  cube-client get 0190a3c4-5f1e-7c2a-9b3d-2f4e6a8c0d12\n"
       "  cube-client get 0190a3c4-5f1e-7c2a-9b3d-2f4e6a8c0d12 -o json",
       false, [](po::options_description& d) { add_output_option(d, "table or json"); }, cmd_get},
      {"stop", "Stop a task", "stop ID",
       "Asks the broker to stop the task (it ends Completed with reason \"stopped\") and prints\n"
       "its ID. Stopping a stopped task is not an error.",
       "  cube-client stop 0190a3c4-5f1e-7c2a-9b3d-2f4e6a8c0d12", false,
       [](po::options_description&) {}, cmd_stop},
      {"logs", "Show a task's output (stdout and stderr)", "logs ID [-f] [--tail N]",
       "Prints what the task wrote to stdout and stderr, as the agent that runs it (or ran it\n"
       "last) has it: the container's log for docker tasks, the log file for exec tasks. The\n"
       "broker fetches it over the agent's own connection. -f keeps printing new output until\n"
       "the task ends; --tail N starts with the last N lines.",
       "  cube-client logs 0190a3c4-5f1e-7c2a-9b3d-2f4e6a8c0d12\n"
       "  cube-client logs 0190a3c4-5f1e-7c2a-9b3d-2f4e6a8c0d12 -f --tail 20",
       false,
       [](po::options_description& d) {
         d.add_options()("follow,f", po::bool_switch(),
                         "keep printing new output until the task ends")(
             "tail", po::value<std::string>()->value_name("N"), "start with the last N lines");
       },
       cmd_logs},
      {"nodes", "List the agents (nodes), or show one",
       "nodes [NAME|ID] [-o table|wide|json] [--watch]",
       "Lists the agents the broker knows: name, ID, state (ready, suspect, lost), tasks\n"
       "running/slots, live CPU, memory and disk use of the host (used/total, from the agent's\n"
       "latest stats), load average, labels and when the broker last heard from each.\n"
       "-o wide adds the capacity the scheduler places against and what it has allocated;\n"
       "-o json gives every number in bytes and cores.\n"
       "With a NAME (or ID), shows that agent in detail and the tasks placed on it.\n"
       "--watch draws the table again on every change the event feed reports.",
       "  cube-client nodes\n"
       "  cube-client nodes worker-1\n"
       "  cube-client nodes -o json\n"
       "  cube-client nodes --watch",
       false,
       [](po::options_description& d) {
         add_output_option(d, "table, wide or json");
         d.add_options()("watch,w", po::bool_switch(),
                         "redraw the node table on every change (event feed) until interrupted");
       },
       cmd_nodes},
      {"service",
       "Keep N replicas of a task running (create, ls, ps, inspect, scale, update, rollback, "
       "restart, rm)",
       "service create --name NAME [--replicas N] [task options] [update options] [-- CMD...]\n"
       "       cube-client service create -f FILE\n"
       "       cube-client service ls [-o table|json]\n"
       "       cube-client service ps NAME [-o table|json]\n"
       "       cube-client service inspect NAME [-o table|json]\n"
       "       cube-client service scale NAME=N [NAME=N...]\n"
       "       cube-client service update NAME [--replicas N] [task options] [update options]\n"
       "                                       [-- CMD...]   (or -f FILE)\n"
       "       cube-client service rollback NAME\n"
       "       cube-client service restart NAME\n"
       "       cube-client service rm NAME",
       "A service is N replicas of one task template that the broker keeps running, named\n"
       "NAME.1 ... NAME.N (slot numbers stay with a replica when it is replaced). A replica\n"
       "that fails or whose node is lost is replaced (the template's --restart decides;\n"
       "default for a service: always); replicas are spread over the nodes (one per node\n"
       "while there are enough). Scaling down stops the highest slots first; rm stops every\n"
       "task of the service. FILE (\"-\" for stdin) holds {\"Name\", \"Replicas\", \"Template\": "
       "a\n"
       "task as in submit, \"UpdateConfig\"}.\n"
       "\n"
       "update changes what its flags name (a list flag such as --env or -p replaces the\n"
       "list); a new template is rolled out: --update-parallelism slots at a time, each\n"
       "new task watched for --update-monitor (it must keep running, and pass its health\n"
       "check), --update-delay between slots, the old task stopped first (stop-first) or\n"
       "after the new one passed (start-first). A new task that fails pauses the rollout\n"
       "(service ls shows why) or rolls back (--update-failure-action rollback). rollback\n"
       "returns to the template before the last update; restart replaces every replica\n"
       "with a fresh task of the same template, in the same rolling steps.",
       "  cube-client service create --name web --replicas 3 --image nginx:1.25 -p 80/tcp\n"
       "  cube-client service create --name pinger --replicas 2 --driver exec -- sleep 3600\n"
       "  cube-client service ls\n"
       "  cube-client service ps web\n"
       "  cube-client service scale web=5 pinger=1\n"
       "  cube-client service update web --image nginx:1.26 --update-parallelism 2\n"
       "  cube-client service rollback web\n"
       "  cube-client service restart web\n"
       "  cube-client service rm web",
       true,
       [](po::options_description& d) {
         // clang-format off
         d.add_options()
           ("file,f", po::value<std::string>()->value_name("FILE"),
            "create/update: service JSON file, or - for stdin")
           ("replicas", po::value<std::string>()->value_name("N"),
            "create/update: how many replicas to keep running (default 1, at most 10000)")
           ("update-parallelism", po::value<std::string>()->value_name("N"),
            "create/update: slots replaced at a time by a rolling update (default 1)")
           ("update-delay", po::value<std::string>()->value_name("DURATION"),
            "create/update: wait after a slot is updated before the next one (default 0s)")
           ("update-failure-action", po::value<std::string>()->value_name("ACTION"),
            "create/update: pause or rollback when a new task fails (default pause)")
           ("update-monitor", po::value<std::string>()->value_name("DURATION"),
            "create/update: how long a new task must keep running to count as updated "
            "(default 5s)")
           ("update-order", po::value<std::string>()->value_name("ORDER"),
            "create/update: stop-first or start-first (default stop-first)");
         // clang-format on
         add_spec_options(d, true);
         add_output_option(d, "ls/ps/inspect: table or json");
       },
       cmd_service},
      {"status", "Show the broker's status", "status [--counters] [-o table|json]",
       "Shows the broker's role (and its leader and standbys on a shared store), version,\n"
       "uptime, store, placement policy, nodes and tasks by state, the p99 of placement and\n"
       "store commit times, and the connections its key allowlists refused. --counters adds\n"
       "every raw counter; -o json has everything.",
       "  cube-client status\n"
       "  cube-client status --counters\n"
       "  cube-client --broker 10.0.0.5:7100 status -o json",
       false,
       [](po::options_description& d) {
         add_output_option(d, "table or json");
         d.add_options()("counters", po::bool_switch(), "also print every raw counter");
       },
       cmd_status},
  };
  return kCommands;
}

const CommandSpec* find_command(std::string_view name) {
  for (const auto& c : commands()) {
    if (c.name == name)
      return &c;
  }
  return nullptr;
}

// The global options that are settings: also read from CUBE_* variables and client.conf
// (common/config_file.h). The commands' own options are not: a config file naming a task's
// image or a CUBE_NAME variable would change what every `submit` sends.
po::options_description setting_options() {
  po::options_description desc;
  // clang-format off
  desc.add_options()
    ("broker", po::value<std::string>()->default_value(std::string(kDefaultBrokerAddress))
                   ->value_name("HOST:PORT[,HOST:PORT...]"),
     "broker address, or the brokers of an HA set: requests follow not_leader answers to the "
     "leader and go round the list when one is silent (env CUBE_BROKER)")
    ("timeout", po::value<std::string>()->default_value(std::string(kDefaultTimeout))
                    ->value_name("DURATION"),
     "give up on a silent broker after this long (split across 3 tries; with several "
     "brokers, each try goes to one)")
    ("failover-timeout",
     po::value<std::string>()->default_value(std::string(kDefaultFailoverTimeout))
         ->value_name("DURATION"),
     "with several brokers: how long a request keeps trying them, to ride out a leader "
     "takeover (at least --timeout)")
    ("curve-secret", po::value<std::string>()->value_name("FILE"),
     "encrypt with CURVE using this client secret key (make one with `cube-client keygen "
     "--out DIR`); the broker must list its public key")
    ("broker-key", po::value<std::string>()->value_name("KEY|FILE"),
     "the broker's public key, Z85 text or a .pub file (env CUBE_BROKER_KEY)");
  // clang-format on
  return desc;
}

po::options_description global_options(const po::options_description& settings) {
  po::options_description desc("Global options (before or after the command)");
  desc.add(settings);
  desc.add_options()("help,h", po::bool_switch(), "show help")("version", po::bool_switch(),
                                                               "print the version");
  add_config_options(desc);
  return desc;
}

po::options_description global_options() {
  return global_options(setting_options());
}

// Where cube-client looks for a config file when no --config is given, the user's first.
std::vector<std::filesystem::path> default_config_files() {
  std::vector<std::filesystem::path> files;
  const char* config_home = std::getenv("XDG_CONFIG_HOME");
  const char* home = std::getenv("HOME");
  if (config_home != nullptr && *config_home != '\0')
    files.push_back(std::filesystem::path(config_home) / "cube" / "client.conf");
  else if (home != nullptr && *home != '\0')
    files.push_back(std::filesystem::path(home) / ".config" / "cube" / "client.conf");
  files.push_back("/etc/cube/client.conf");
  return files;
}

void print_overall_help(std::ostream& out) {
  out << "Usage: cube-client [--broker HOST:PORT[,HOST:PORT...]] [--timeout DURATION] COMMAND "
         "[ARGS]\n\n"
         "Submits and inspects tasks on a Cube broker.\n\nCommands:\n";
  for (const auto& c : commands()) {
    std::string name(c.name);
    name.resize(9, ' ');
    out << "  " << name << c.summary << "\n";
  }
  out << "\n" << global_options() << "\n";
  out << "Examples:\n"
         "  cube-client submit --name web --image nginx:1.25 -p 80/tcp --memory 256MiB\n"
         "  cube-client list\n"
         "  cube-client get ID\n"
         "  CUBE_BROKER=10.0.0.5:7100 cube-client nodes\n"
         "  cube-client --broker 10.0.0.1:7100,10.0.0.2:7100,10.0.0.3:7100 list\n\n"
         "Exit codes: 0 ok, 1 error from the broker (or the task failed), 2 usage error,\n"
         "3 broker unreachable, 4 refused by the broker's CURVE keys (the message says why).\n"
         "Run 'cube-client COMMAND --help' for a command's options and examples.\n";
}

void print_command_help(std::ostream& out, const CommandSpec& c) {
  out << "Usage: cube-client " << c.usage << "\n\n" << c.description << "\n\n";
  po::options_description own("Options");
  c.add_options(own);
  if (!own.options().empty())
    out << own << "\n";
  out << global_options() << "\n";
  out << "Examples:\n" << c.examples << "\n";
}

// True when `arg` names a global option; `takes_value` says whether its value is the next
// argument ("--broker X"; "--broker=X" carries its own).
bool is_global_option(const po::options_description& globals, const std::string& arg,
                      bool& takes_value) {
  std::string name;
  bool inline_value = false;
  if (arg.starts_with("--")) {
    name = arg.substr(2);
    auto eq = name.find('=');
    if (eq != std::string::npos) {
      name.resize(eq);
      inline_value = true;
    }
    const auto* option = globals.find_nothrow(name, /*approx=*/false);
    if (option == nullptr)
      return false;
    takes_value = !inline_value && option->semantic()->max_tokens() > 0;
    return true;
  }
  // Short options: only -h is global, and it takes no value.
  takes_value = false;
  return arg == "-h";
}

int usage_error(const Io& io, const std::string& message, const std::string& command) {
  io.err << kProgram << ": " << message << "\n"
         << "Try 'cube-client " << (command.empty() ? "" : command + " ") << "--help'.\n";
  return kExitUsage;
}

int run(int argc, char** argv, const Io& io) {
  if (protocol::is_keygen_command(argc, argv))
    return protocol::run_keygen(kProgram, "client", argc, argv);
  std::vector<std::string> args(argv + std::min(argc, 1), argv + argc);
  // Everything after the first "--" is the task's command, never options of ours.
  std::vector<std::string> trailing;
  bool has_trailing = false;
  if (auto dd = std::find(args.begin(), args.end(), "--"); dd != args.end()) {
    trailing.assign(dd + 1, args.end());
    args.erase(dd, args.end());
    has_trailing = true;
  }

  // The command is the first argument that is neither a global option nor its value.
  po::options_description settings_desc = setting_options();
  po::options_description globals = global_options(settings_desc);
  std::optional<size_t> command_at;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg.size() > 1 && arg[0] == '-') {
      bool takes_value = false;
      if (!is_global_option(globals, arg, takes_value)) {
        return usage_error(io,
                           "option " + arg + " belongs after the command (cube-client COMMAND " +
                               arg + " ...), or is unknown",
                           "");
      }
      if (takes_value)
        ++i;
      continue;
    }
    command_at = i;
    break;
  }

  std::string command_name = command_at ? args[*command_at] : "";
  if (command_name == "help") {
    // "cube-client help [COMMAND]"
    if (*command_at + 1 < args.size()) {
      const CommandSpec* c = find_command(args[*command_at + 1]);
      if (c == nullptr)
        return usage_error(io, "unknown command \"" + args[*command_at + 1] + "\"", "");
      print_command_help(io.out, *c);
    } else {
      print_overall_help(io.out);
    }
    return kExitOk;
  }
  const CommandSpec* spec = nullptr;
  if (command_at) {
    spec = find_command(command_name);
    if (spec == nullptr)
      return usage_error(io, "unknown command \"" + command_name + "\"", "");
    args.erase(args.begin() + static_cast<std::ptrdiff_t>(*command_at));
  }

  Context ctx{io, command_name, {}, {}, std::move(trailing), {}, {}, {}};
  po::options_description all;
  all.add(globals);
  if (spec != nullptr) {
    po::options_description own;
    spec->add_options(own);
    all.add(own);
  }
  all.add_options()("args", po::value<std::vector<std::string>>(), "");
  po::positional_options_description positional;
  positional.add("args", -1);
  po::parsed_options flags(&all);
  po::variables_map flag_values;
  try {
    // No guessing of abbreviated long options: a script that works today must not change
    // meaning when a new option shares its prefix.
    auto style = po::command_line_style::default_style & ~po::command_line_style::allow_guessing;
    flags = po::command_line_parser(args).options(all).positional(positional).style(style).run();
    po::store(flags, flag_values);
  } catch (const po::error& e) {
    return usage_error(io, e.what(), command_name);
  }

  if (flag_values["help"].as<bool>()) {
    if (spec != nullptr) {
      print_command_help(io.out, *spec);
    } else {
      print_overall_help(io.out);
    }
    return kExitOk;
  }
  if (flag_values["version"].as<bool>()) {
    io.out << kProgram << " " << CUBE_VERSION << " (protocol " << protocol::kProtocolVersion
           << ")\n";
    return kExitOk;
  }
  // Flags over CUBE_* variables over --config FILE (or the default files) over defaults.
  auto settings = Settings::load({&settings_desc, default_config_files(), {}}, flags);
  if (!settings.is_ok())
    return usage_error(io, settings.status().message(), command_name);
  ctx.vm = settings->values();
  try {
    po::notify(ctx.vm);
  } catch (const po::error& e) {
    return usage_error(io, e.what(), command_name);
  }
  ctx.args = ctx.get_list("args");
  if (spec == nullptr && !settings->print_requested())
    return usage_error(io, "no command given", "");
  if (spec != nullptr && has_trailing && !spec->takes_trailing_command) {
    return usage_error(io, command_name + " takes no command after --", command_name);
  }

  try {
    ctx.broker_address = ctx.get("broker");
    auto brokers = client_options_for(ctx.broker_address);
    if (!brokers)
      throw UsageError{"--broker: " + brokers.status().message()};
    ctx.brokers = std::move(*brokers);
    ctx.brokers.failover_timeout = duration_flag(ctx, "failover-timeout");
    if (ctx.brokers.failover_timeout.count() <= 0)
      throw UsageError{"--failover-timeout must be more than 0"};
    // CUBE_BROKER_KEY is --broker-key's variable (Settings): no separate fallback.
    auto curve = protocol::curve_client_keys(ctx.get("curve-secret"), ctx.get("broker-key"), "");
    if (!curve.is_ok())
      throw UsageError{curve.status().message()};
    ctx.brokers.curve = *curve;
    ctx.timeout = duration_flag(ctx, "timeout");
    if (ctx.timeout.count() <= 0)
      throw UsageError{"--timeout must be more than 0"};
    if (settings->print_requested()) {
      settings->print(io.out);
      return kExitOk;
    }
    return spec->run(ctx);
  } catch (const UsageError& e) {
    return usage_error(io, settings->annotate(e.message), command_name);
  }
}

}  // namespace

int run_cli(int argc, char** argv, std::ostream& out, std::ostream& err, std::istream& in,
            const Clock& clock) {
  Io io{out, err, in, clock};
  try {
    return run(argc, argv, io);
  } catch (const std::exception& e) {
    // Nothing above should throw; this keeps a surprise from becoming std::terminate.
    err << kProgram << ": internal error: " << e.what() << "\n";
    return kExitBrokerError;
  }
}

int run_cli(int argc, char** argv, std::ostream& out, std::ostream& err) {
  return run_cli(argc, argv, out, err, std::cin, system_clock());
}

}  // namespace cube
