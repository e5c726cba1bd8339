-- wrk script: POST /events with BATCH random events per request (users USER_LO..USER_HI,
-- items ITEM_LO..ITEM_HI). wrk -s bench/wrk/events.lua URL -- BATCH USER_LO USER_HI ITEM_LO ITEM_HI
local batch, ulo, uhi, ilo, ihi
function init(args)
  batch = tonumber(args[1] or "1")
  ulo, uhi = tonumber(args[2] or "1"), tonumber(args[3] or "943")
  ilo, ihi = tonumber(args[4] or "1"), tonumber(args[5] or "1682")
  math.randomseed(os.time() + math.floor(os.clock() * 1e6))
end
local function event()
  return string.format('{"user_id":"%d","item_id":"%d","type":"view"}',
                       math.random(ulo, uhi), math.random(ilo, ihi))
end
function request()
  local body
  if batch == 1 then
    body = event()
  else
    local parts = {}
    for i = 1, batch do parts[i] = event() end
    body = "[" .. table.concat(parts, ",") .. "]"
  end
  return wrk.format("POST", "/events", {["Content-Type"] = "application/json"}, body)
end
function response(status)
  if status ~= 200 then wrk.thread:stop() end
end
