-- wrk script for `npm run bench`: POSTs pre-generated callback bodies in order, each request once, starting at
-- line BENCH_OFFSET (1-based) of BENCH_BODIES, wrapping at the end. Requests are formatted once in init(), so
-- that wrk's Lua is not the bottleneck (wrk.format per request halves wrk's rate with 0.8 KB bodies).
-- done() prints one JSON line; latencies are in microseconds.
local requests = {}
local count = 0
local index = 0

function init(args)
  local path = os.getenv("BENCH_PATH") or "/callback"
  local headers = { ["Content-Type"] = "application/json" }
  for line in io.lines(os.getenv("BENCH_BODIES")) do
    count = count + 1
    requests[count] = wrk.format("POST", path, headers, line)
  end
  index = (tonumber(os.getenv("BENCH_OFFSET") or "1") - 1) % count
end

function request()
  index = index + 1
  if index > count then
    index = 1
  end
  return requests[index]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"durationUs":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,' ..
      '"p50":%d,"p99":%d,"p999":%d,"max":%d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9), latency.max))
end
