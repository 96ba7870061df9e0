-- bench/edge-hit: every request a URL no cache has seen (PATH?u=TOKEN-i),
-- so each one is a miss and goes to the origin. TOKEN keeps runs apart.
-- wrk -s edge-hit-unique.lua URL -- PATH TOKEN
local base, i = "", 0

function init(args)
   base = args[1] .. "?u=" .. args[2] .. "-"
end

function request()
   i = i + 1
   return wrk.format("GET", base .. i)
end
