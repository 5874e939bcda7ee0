-- wrk script for bench/orders.py: every request is a new check (order ids "<PREFIX>-<n>").
local n = 0
local prefix = os.getenv("STAMPEDGE_BENCH_PREFIX") or "w"
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

request = function()
  n = n + 1
  local body = '{"order_id":"' .. prefix .. '-' .. n .. '","total":"23.50","till":"till-1"}'
  return wrk.format(nil, "/v1/orders", nil, body)
end
