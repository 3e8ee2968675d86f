#include "tests/integration/net_namespace_lab.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <sstream>

namespace cube::test {

namespace {

using namespace std::chrono_literals;

// Every namespace of a lab starts with this and the pid of the test process that made it.
constexpr const char* kNamePrefix = "cube-nat-";

std::string find_program(const std::string& name) {
  std::vector<std::string> dirs;
  if (const char* path = std::getenv("PATH")) {
    std::stringstream in(path);
    for (std::string dir; std::getline(in, dir, ':');)
      dirs.push_back(dir);
  }
  // `ip` and `iptables` live in sbin, which a non-login PATH may lack.
  for (const char* dir : {"/usr/sbin", "/sbin", "/usr/bin", "/bin"})
    dirs.emplace_back(dir);
  for (const auto& dir : dirs) {
    std::string candidate = dir + "/" + name;
    if (!dir.empty() && ::access(candidate.c_str(), X_OK) == 0)
      return candidate;
  }
  return "";
}

std::string describe(const std::vector<std::string>& argv, const CommandResult& r) {
  std::string command;
  for (const auto& a : argv)
    command += (command.empty() ? "" : " ") + a;
  std::string why = r.status.exited() ? "exit code " + std::to_string(r.status.code)
                                      : "signal " + std::to_string(r.status.signal);
  return "`" + command + "` failed (" + why + "): " + r.err + r.out;
}

bool succeeded(const CommandResult& r) {
  return r.status.exited() && r.status.code == 0;
}

CommandResult run(const std::vector<std::string>& argv) {
  return run_command(argv, 15s);
}

// Kills what still runs in `ns` (its pids, from `ip netns pids`) and deletes it. Errors are
// ignored: this is cleanup, and a namespace that does not exist is already clean.
void remove_namespace(const std::string& ns, bool kill_members) {
  const std::string ip = NetNamespaceLab::ip_path();
  if (ip.empty() || ns.empty())
    return;
  if (kill_members) {
    std::stringstream pids(run({ip, "netns", "pids", ns}).out);
    for (pid_t pid = 0; pids >> pid;) {
      if (pid > 1 && pid != ::getpid())
        ::kill(pid, SIGKILL);
    }
  }
  (void)run({ip, "netns", "delete", ns});
}

// Deletes the namespaces of labs whose test process is gone (killed before its destructor ran),
// with what still runs in them: brokers and agents that test started, which nothing else would
// ever stop.
void remove_stale_namespaces() {
  const std::string ip = NetNamespaceLab::ip_path();
  std::stringstream list(run({ip, "netns", "list"}).out);
  for (std::string line; std::getline(list, line);) {
    std::string name = line.substr(0, line.find(' '));
    if (name.rfind(kNamePrefix, 0) != 0)
      continue;
    pid_t owner = static_cast<pid_t>(std::atoi(name.c_str() + std::string(kNamePrefix).size()));
    if (owner <= 0 || owner == ::getpid())
      continue;
    if (::kill(owner, 0) != 0 && errno == ESRCH)
      remove_namespace(name, /*kill_members=*/true);
  }
}

}  // namespace

std::string NetNamespaceLab::ip_path() {
  static const std::string path = find_program("ip");
  return path;
}

std::string NetNamespaceLab::iptables_path() {
  static const std::string path = find_program("iptables");
  return path;
}

std::string NetNamespaceLab::unavailable_reason() {
  if (ip_path().empty())
    return "the `ip` command (Debian package iproute2) is not installed";
  if (iptables_path().empty())
    return "the `iptables` command (Debian package iptables) is not installed";
  std::string probe = kNamePrefix + std::to_string(::getpid()) + "-probe";
  std::vector<std::string> add = {ip_path(), "netns", "add", probe};
  auto added = run(add);
  if (!succeeded(added)) {
    return describe(add, added) +
           " (network namespaces need root: CAP_SYS_ADMIN and CAP_NET_ADMIN)";
  }
  std::vector<std::string> nat = {ip_path(), "netns", "exec", probe, iptables_path(),
                                  "-t",      "nat",   "-L",   "-n"};
  auto listed = run(nat);
  remove_namespace(probe, /*kill_members=*/false);
  if (!succeeded(listed))
    return describe(nat, listed) + " (iptables NAT is not available in a namespace)";
  return "";
}

NetNamespaceLab::NetNamespaceLab() {
  std::string base = kNamePrefix + std::to_string(::getpid());
  public_ns_ = base + "-pub";
  router_ns_ = base + "-rtr";
  private_ns_ = base + "-prv";
}

NetNamespaceLab::~NetNamespaceLab() {
  for (const auto& ns : {private_ns_, router_ns_, public_ns_})
    remove_namespace(ns, /*kill_members=*/true);
}

Status NetNamespaceLab::run_step(const std::vector<std::string>& argv) {
  auto r = run(argv);
  return succeeded(r) ? Status::ok() : Status::internal(describe(argv, r));
}

Status NetNamespaceLab::build() {
  remove_stale_namespaces();
  const std::string ip = ip_path();
  auto in = [&](const std::string& ns, std::vector<std::string> argv) {
    std::vector<std::string> full = {ip, "-n", ns};
    full.insert(full.end(), argv.begin(), argv.end());
    return full;
  };
  std::vector<std::vector<std::string>> steps = {
      {ip, "netns", "add", public_ns_},
      {ip, "netns", "add", router_ns_},
      {ip, "netns", "add", private_ns_},
      // Each pair is born in its two namespaces: no name is ever taken in the test's own.
      {ip, "link", "add", "name", "pub0", "netns", public_ns_, "type", "veth", "peer", "name",
       "rtr-pub", "netns", router_ns_},
      {ip, "link", "add", "name", "prv0", "netns", private_ns_, "type", "veth", "peer", "name",
       "rtr-prv", "netns", router_ns_},
      in(public_ns_, {"addr", "add", std::string(kPublicIp) + "/24", "dev", "pub0"}),
      in(router_ns_, {"addr", "add", std::string(kRouterPublicIp) + "/24", "dev", "rtr-pub"}),
      in(router_ns_, {"addr", "add", "10.231.2.1/24", "dev", "rtr-prv"}),
      in(private_ns_, {"addr", "add", std::string(kPrivateIp) + "/24", "dev", "prv0"}),
      // New namespaces start with lo down; ZeroMQ and the processes may use it.
      in(public_ns_, {"link", "set", "lo", "up"}),
      in(router_ns_, {"link", "set", "lo", "up"}),
      in(private_ns_, {"link", "set", "lo", "up"}),
      in(public_ns_, {"link", "set", "pub0", "up"}),
      in(router_ns_, {"link", "set", "rtr-pub", "up"}),
      in(router_ns_, {"link", "set", "rtr-prv", "up"}),
      in(private_ns_, {"link", "set", "prv0", "up"}),
      in(private_ns_, {"route", "add", "default", "via", "10.231.2.1"}),
      // /proc/sys/net shows the namespace of the process that opens it.
      {ip, "netns", "exec", router_ns_, "/bin/sh", "-c", "echo 1 > /proc/sys/net/ipv4/ip_forward"},
      {ip, "netns", "exec", router_ns_, iptables_path(), "-t", "nat", "-A", "POSTROUTING", "-o",
       "rtr-pub", "-j", "MASQUERADE"},
  };
  for (const auto& step : steps) {
    Status s = run_step(step);
    if (!s.is_ok())
      return s;
  }
  return Status::ok();
}

std::vector<std::string> NetNamespaceLab::exec_prefix(const std::string& ns) const {
  return {ip_path(), "netns", "exec", ns};
}

CommandResult NetNamespaceLab::run_in(const std::string& ns,
                                      const std::vector<std::string>& argv) const {
  std::vector<std::string> full = exec_prefix(ns);
  full.insert(full.end(), argv.begin(), argv.end());
  return run(full);
}

Status NetNamespaceLab::cut() {
  return run_step(
      {ip_path(), "netns", "exec", router_ns_, iptables_path(), "-I", "FORWARD", "-j", "DROP"});
}

Status NetNamespaceLab::restore() {
  return run_step(
      {ip_path(), "netns", "exec", router_ns_, iptables_path(), "-D", "FORWARD", "-j", "DROP"});
}

bool NetNamespaceLab::loopback_up(const std::string& ns) const {
  auto r = run({ip_path(), "-n", ns, "link", "show", "lo"});
  // "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 ..."
  std::string flags = r.out.substr(0, r.out.find('>'));
  return succeeded(r) && flags.find(",UP") != std::string::npos;
}

int64_t NetNamespaceLab::masqueraded_packets() const {
  auto r =
      run_in(router_ns_, {iptables_path(), "-t", "nat", "-L", "POSTROUTING", "-v", "-n", "-x"});
  if (!succeeded(r))
    return -1;
  std::stringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    if (line.find("MASQUERADE") == std::string::npos)
      continue;
    std::stringstream fields(line);  // "pkts bytes target prot opt in out source destination"
    int64_t packets = -1;
    fields >> packets;
    return packets;
  }
  return -1;
}

}  // namespace cube::test
