#include "broker/security_flags.h"

#include <string>
#include <vector>

#include "common/units.h"
#include "protocol/curve.h"

namespace po = boost::program_options;

namespace cube::broker {

void add_security_options(po::options_description& desc) {
  desc.add_options()("curve-secret", po::value<std::string>(),
                     "encrypt and authenticate every connection with CURVE, using this broker "
                     "secret key file (make one with `cube-broker keygen --out DIR`)")(
      "authorized-agents", po::value<std::string>(),
      "with --curve-secret: the agents' public keys, one \"KEY NAME\" per line (an agent's name "
      "is its key's name); re-read on SIGHUP")(
      "authorized-clients", po::value<std::string>(),
      "with --curve-secret: the clients' public keys, one \"KEY NAME\" "
      "per line; re-read on SIGHUP")(
      "allow-image", po::value<std::vector<std::string>>()->composing(),
      "only accept tasks whose image matches this glob (repeatable; default: any image)")(
      "max-task-cpu", po::value<double>(), "refuse tasks asking for more CPU cores than this")(
      "max-task-memory", po::value<std::string>(),
      "refuse tasks asking for more memory than this (e.g. 4GiB)")(
      "allow-exec", po::value<std::string>()->implicit_value("yes"),
      "allow (yes) or refuse (no) tasks of the exec driver, which run commands directly on agent "
      "hosts (default: yes on a loopback --bind, no otherwise)")(
      "client-rate", po::value<std::string>(),
      "SUBMITs allowed per client, e.g. 50/s (default: no limit); beyond it: retry later")(
      "client-burst", po::value<double>(),
      "SUBMITs a client may send at once before --client-rate applies (default: one second's "
      "worth)")("max-pending", po::value<size_t>(),
                "refuse SUBMITs while this many tasks wait for placement (default: no bound)")(
      "event-buffer", po::value<size_t>(),
      "recent events kept for `cube-client events --since` and GET /events resumes "
      "(default: 65536; docs/events.md)")(
      "event-subscribers", po::value<size_t>(),
      "event feed requests that may wait at once; beyond it: unavailable (default: 4096)");
}

Status read_security_options(const po::variables_map& vm, bool loopback, BrokerOptions& options) {
  bool has_secret = vm.count("curve-secret") > 0;
  bool has_agents = vm.count("authorized-agents") > 0;
  bool has_clients = vm.count("authorized-clients") > 0;
  if (has_secret && (!has_agents || !has_clients)) {
    return Status::invalid(
        "--curve-secret needs --authorized-agents FILE and --authorized-clients FILE (a file may "
        "be empty)");
  }
  if (!has_secret && (has_agents || has_clients))
    return Status::invalid("--authorized-agents/--authorized-clients need --curve-secret FILE");
  if (has_secret) {
    auto keys = protocol::load_curve_secret(vm["curve-secret"].as<std::string>());
    if (!keys.is_ok())
      return keys.status().with_context("--curve-secret");
    options.curve_secret = keys->secret_key;
    auto agents = protocol::load_authorized_keys(vm["authorized-agents"].as<std::string>());
    if (!agents.is_ok())
      return agents.status().with_context("--authorized-agents");
    options.authorized_agents = *agents;
    options.authorized_agents_file = vm["authorized-agents"].as<std::string>();
    auto clients = protocol::load_authorized_keys(vm["authorized-clients"].as<std::string>());
    if (!clients.is_ok())
      return clients.status().with_context("--authorized-clients");
    options.authorized_clients = *clients;
    options.authorized_clients_file = vm["authorized-clients"].as<std::string>();
  }

  TaskPolicy& policy = options.task_policy;
  if (vm.count("allow-image"))
    policy.allowed_images = vm["allow-image"].as<std::vector<std::string>>();
  if (vm.count("max-task-cpu")) {
    policy.max_cpu = vm["max-task-cpu"].as<double>();
    if (!(policy.max_cpu > 0))
      return Status::invalid("--max-task-cpu must be more than 0");
  }
  if (vm.count("max-task-memory")) {
    auto size = parse_size(vm["max-task-memory"].as<std::string>());
    if (!size.is_ok())
      return size.status().with_context("--max-task-memory");
    if (*size <= 0)
      return Status::invalid("--max-task-memory must be more than 0");
    policy.max_memory_bytes = *size;
  }
  policy.allow_exec = loopback;
  if (vm.count("allow-exec")) {
    std::string value = vm["allow-exec"].as<std::string>();
    if (value == "yes" || value == "true" || value == "1")
      policy.allow_exec = true;
    else if (value == "no" || value == "false" || value == "0")
      policy.allow_exec = false;
    else
      return Status::invalid("--allow-exec: use yes or no, not \"" + value + "\"");
  }

  if (vm.count("client-rate")) {
    auto rate = parse_rate(vm["client-rate"].as<std::string>());
    if (!rate.is_ok())
      return rate.status().with_context("--client-rate");
    options.client_rate.per_second = *rate;
  }
  if (vm.count("client-burst")) {
    options.client_rate.burst = vm["client-burst"].as<double>();
    if (!(options.client_rate.burst >= 1))
      return Status::invalid("--client-burst must be 1 or more");
  }
  if (vm.count("max-pending"))
    options.max_pending = vm["max-pending"].as<size_t>();
  if (vm.count("event-buffer")) {
    options.event_buffer = vm["event-buffer"].as<size_t>();
    if (options.event_buffer < 1)
      return Status::invalid("--event-buffer must be 1 or more");
  }
  if (vm.count("event-subscribers"))
    options.max_event_subscribers = vm["event-subscribers"].as<size_t>();
  return Status::ok();
}

}  // namespace cube::broker
