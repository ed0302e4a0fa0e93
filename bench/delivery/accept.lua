-- wrk script: POST / with Dispatcher's body, a fresh UUID per request, the UUID as the body, to
-- the sink at SINK_URL. Prints the number of 202 answers (each one a durable acceptance).
local sink = os.getenv("SINK_URL") or "http://127.0.0.1:18580/in"
local counter = 0
local prefix = string.format("%d-%d-", os.time(), math.random(1, 1000000000))
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

setup = function(thread)
  thread:set("tid", math.random(1, 1000000000))
end

request = function()
  counter = counter + 1
  local id = string.format("%s%s-%d", prefix, tostring(tid), counter)
  local body = string.format('{"UUID":"%s","Url":"%s","Method":"POST","Body":"%s","Header":{"Content-Type":"text/plain"}}', id, sink, id)
  return wrk.format(nil, "/", nil, body)
end

local accepted = 0
response = function(status, headers, body)
  if status == 202 then accepted = accepted + 1 end
end

done = function(summary, latency, requests)
  io.write(string.format("RESULT requests=%d non2xx=%d seconds=%.2f p50_ms=%.2f p99_ms=%.2f\n",
    summary.requests, summary.errors.status, summary.duration / 1e6,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
