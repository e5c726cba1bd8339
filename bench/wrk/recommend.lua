-- wrk script: GET /recommend/{user}?k=10&mode=MODE for random users USER_LO..USER_HI.
-- wrk -s bench/wrk/recommend.lua URL -- MODE USER_LO USER_HI [EXTRA]
-- EXTRA is appended to the query ("&at=893286638&explain=true").
local mode, lo, hi, extra
function init(args)
  mode = args[1] or "blended"
  lo = tonumber(args[2] or "1")
  hi = tonumber(args[3] or "943")
  extra = args[4] or ""
  math.randomseed(os.time() + math.floor(os.clock() * 1e6))
end
function request()
  return wrk.format("GET", "/recommend/" .. math.random(lo, hi) .. "?k=10&mode=" .. mode .. extra)
end
function response(status)
  if status ~= 200 then wrk.thread:stop() end  -- a failure ends the run (and shows in the figures)
end
