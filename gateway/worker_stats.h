// WorkerStats: a node's latest sample in the shape of the prior orchestrators' worker
// `GET /stats` (the "Build an Orchestrator in Go" book's Stats, which go-cube, orc and Birdman
// serve): {"MemStats", "DiskStats", "CpuStats", "LoadStats", "TaskCount"}, the inner objects
// with the JSON names of goprocinfo's MemInfo, Disk, CPUStat and LoadAvg, so that their scripts
// and the book's helpers (MemUsedKb = mem_total - mem_available, DiskUsed, CpuUsage) read it.
//
// Cube's agents sample less than goprocinfo reads, so some fields are derived and some are 0
// (docs/http.md lists each):
//   MemStats   mem_total, mem_available (kB, as /proc/meminfo); mem_free = mem_available
//   DiskStats  all, used, free (bytes) of the file system holding the agent's data dir
//   CpuStats   not jiffies since boot: the agent's last interval as user = busy and
//              idle = not busy, in thousandths of a core, so (total - idle) / total, the
//              book's CpuUsage(), is the node's busy fraction
//   LoadStats  last1min, last5min, last15min
//   TaskCount  task attempts the agent runs
// Cube adds "SampledAt" (RFC 3339), "Node" and "NodeID"; Go's decoder ignores unknown names.
//
// Thread-safety: pure.
#pragma once

#include <nlohmann/json.hpp>

#include "protocol/messages.h"

namespace cube::gateway {

// The stats of `node`, whose usage must be set (an agent that has sent NODE_STATS).
nlohmann::json worker_stats_json(const protocol::NodeInfo& node);

}  // namespace cube::gateway
