-- wrk script: POST /schedule pipelined, PIPELINE requests written back to back per round trip,
-- as dbqueue's pipelining client does (wrk counts every answer). LANE=name as in schedule.lua.
local depth = tonumber(os.getenv("PIPELINE") or "16")
local lane = os.getenv("LANE")
local lane_field = lane and string.format(',"lane":"%s"', lane) or ""
local counter = 0
local headers = { ["Content-Type"] = "application/x-www-form-urlencoded" }

request = function()
  local batch = {}
  for i = 1, depth do
    counter = counter + 1
    batch[i] = wrk.format("POST", "/schedule", headers, string.format('{"message":"job %d from wrk"%s}', counter, lane_field))
  end
  return table.concat(batch)
end

done = function(summary, latency, requests)
  io.write(string.format("RESULT schedules=%d errors=%d seconds=%.2f p50_ms=%.2f p99_ms=%.2f\n",
    summary.requests, summary.errors.status, summary.duration / 1e6,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
