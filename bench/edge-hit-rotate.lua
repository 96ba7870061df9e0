-- bench/edge-hit: GET PREFIX..i..SUFFIX for i = 0 .. N-1 in turn, so every
-- connection of the run cycles over the same N cached objects.
-- wrk -s edge-hit-rotate.lua URL -- PREFIX N [SUFFIX]
local reqs, n, i = {}, 0, 0

function init(args)
   local prefix, count, suffix = args[1], tonumber(args[2]), args[3] or ""
   for k = 0, count - 1 do
      reqs[k + 1] = wrk.format("GET", prefix .. k .. suffix)
   end
   n = count
end

function request()
   i = i % n + 1
   return reqs[i]
end
