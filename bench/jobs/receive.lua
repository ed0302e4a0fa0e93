-- wrk script: POST /receive_noblock; counts answers that carried a job (code 0) apart from
-- "empty queue" (code 2), so a drained lane cannot inflate the figure.
-- LANE=name receives from that lane (default: dispenserd's "main").
wrk.method = "POST"
local lane = os.getenv("LANE")
wrk.body = lane and string.format('{"lane":"%s"}', lane) or ""
wrk.path = "/receive_noblock"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"

local threads = {}
setup = function(thread)
  table.insert(threads, thread)
end

init = function()
  jobs = 0
  empty = 0
end

response = function(status, headers, body)
  if string.find(body, '"code": 0', 1, true) then
    jobs = jobs + 1
  else
    empty = empty + 1
  end
end

done = function(summary, latency, requests)
  local total_jobs, total_empty = 0, 0
  for _, thread in ipairs(threads) do
    total_jobs = total_jobs + thread:get("jobs")
    total_empty = total_empty + thread:get("empty")
  end
  io.write(string.format("RESULT receives=%d empty=%d seconds=%.2f p50_ms=%.2f p99_ms=%.2f\n",
    total_jobs, total_empty, summary.duration / 1e6, latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
