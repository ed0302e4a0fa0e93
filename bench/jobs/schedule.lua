-- wrk script: POST /schedule with curl's form content type, as dispenserd's clients do.
-- PRIORITIES=n picks priorities 0..n-1 at random per request (default: one priority).
-- LANE=name schedules to that lane (default: dispenserd's "main").
local priorities = tonumber(os.getenv("PRIORITIES") or "0")
local lane = os.getenv("LANE")
local lane_field = lane and string.format(',"lane":"%s"', lane) or ""
local counter = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"

request = function()
  counter = counter + 1
  local body
  if priorities > 0 then
    body = string.format('{"message":"job %d from wrk","priority":%d%s}', counter, math.random(0, priorities - 1), lane_field)
  else
    body = string.format('{"message":"job %d from wrk"%s}', counter, lane_field)
  end
  return wrk.format(nil, "/schedule", nil, body)
end

-- no response() callback: wrk then skips handing every body to Lua; summary.errors.status
-- already counts the non-2xx answers

done = function(summary, latency, requests)
  io.write(string.format("RESULT schedules=%d errors=%d seconds=%.2f p50_ms=%.2f p99_ms=%.2f\n",
    summary.requests, summary.errors.status, summary.duration / 1e6,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
