// NetNamespaceLab: a small routed network built from real Linux network namespaces, for tests
// of agents behind NAT (nat_test.cpp). Three namespaces, named after the test's pid:
//
//   public  (10.231.1.1/24) --veth-- (10.231.1.2/24) router (10.231.2.1/24) --veth-- private
//                                                                          (10.231.2.2/24)
//
// The router forwards (ip_forward=1) and masquerades what leaves on its public side
// (iptables -t nat POSTROUTING MASQUERADE), so connections from the private namespace reach the
// public one from the router's address 10.231.1.2. The private namespace's default route is the
// router; the public namespace has no route to 10.231.2.0/24 at all, like the internet has none
// to a home network: nothing in it can open a connection to the private side.
//
// Nothing is created in the test's own namespace (each veth is created straight into its two
// namespaces), and everything lives inside the three namespaces, so deleting them removes the
// veths, addresses, routes and iptables rules too. The destructor does that even when the test
// failed, after killing whatever still runs inside them (only processes this test started can be
// there: the namespaces are new and named after its pid). Namespaces left by a test process that
// died without its destructor (SIGKILL) are removed, with what runs in them, by the next build().
//
// Needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN) and the `ip` (iproute2) and `iptables` commands.
// Thread-safety: none; used from the test's thread. Every call blocks on short commands.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "tests/support/process.h"

namespace cube::test {

class NetNamespaceLab {
 public:
  // Why no lab can be built on this machine (not root, `ip` or `iptables` missing, namespaces or
  // netfilter refused), found by creating and deleting a throwaway namespace; "" when it can.
  static std::string unavailable_reason();

  NetNamespaceLab();
  ~NetNamespaceLab();  // removes the namespaces (with all they contain); never throws
  NetNamespaceLab(const NetNamespaceLab&) = delete;
  NetNamespaceLab& operator=(const NetNamespaceLab&) = delete;

  // Creates the topology above. Ok, or Internal naming the command that failed and its output;
  // what was created before the failure is still removed by the destructor.
  Status build();

  const std::string& public_ns() const { return public_ns_; }
  const std::string& router_ns() const { return router_ns_; }
  const std::string& private_ns() const { return private_ns_; }
  static constexpr const char* kPublicIp = "10.231.1.1";        // the broker binds here
  static constexpr const char* kRouterPublicIp = "10.231.1.2";  // NAT'ed connections come from here
  static constexpr const char* kPrivateIp = "10.231.2.2";       // the agent's own address

  // {"/usr/sbin/ip", "netns", "exec", ns}: prepend to an argv to run it inside `ns`
  // (ClusterNetwork's prefixes). `ip netns exec` execs in place: the pid is the command's.
  std::vector<std::string> exec_prefix(const std::string& ns) const;
  // Runs argv (argv[0] a path) inside `ns` to completion, up to 15 s.
  CommandResult run_in(const std::string& ns, const std::vector<std::string>& argv) const;

  // Cuts the link between private and public: `iptables -I FORWARD -j DROP` in the router, so
  // packets vanish silently both ways (no RST, no ICMP: what a dead uplink looks like).
  Status cut();
  // Deletes that rule again; connection tracking keeps the NAT mappings of live connections.
  Status restore();

  // Whether the loopback interface of `ns` is up (`ip -n ns link show lo` says UP).
  bool loopback_up(const std::string& ns) const;
  // Packets counted by the router's MASQUERADE rule (connections NAT'ed so far); -1 on error.
  int64_t masqueraded_packets() const;

  // Where `ip` and `iptables` were found (absolute paths; Process needs one).
  static std::string ip_path();
  static std::string iptables_path();

 private:
  Status run_step(const std::vector<std::string>& argv);

  std::string public_ns_;
  std::string router_ns_;
  std::string private_ns_;
};

}  // namespace cube::test
