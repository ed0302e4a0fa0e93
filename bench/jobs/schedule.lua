-- wrk script: POST /schedule with curl's form content type, as dispenserd's clients do.
-- PRIORITIES=n picks priorities 0..n-1 at random per request (default: all 512).
local priorities = tonumber(os.getenv("PRIORITIES") or "0")
local counter = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"

request = function()
  counter = counter + 1
  local body
  if priorities > 0 then
    body = string.format('{"message":"job %d from wrk","priority":%d}', counter, math.random(0, priorities - 1))
  else
    body = string.format('{"message":"job %d from wrk"}', counter)
  end
  return wrk.format(nil, "/schedule", nil, body)
end

local errors = 0
response = function(status, headers, body)
  if status ~= 200 then errors = errors + 1 end
end

done = function(summary, latency, requests)
  io.write(string.format("RESULT schedules=%d errors=%d seconds=%.2f p50_ms=%.2f p99_ms=%.2f\n",
    summary.requests, summary.errors.status, summary.duration / 1e6,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
