-- bench/s3-origin-get.lua: wrk script for bench/s3-origin. Every request
-- GETs the next of N objects, PREFIX.."obj-0" .. PREFIX.."obj-(N-1)", so the
-- server cannot answer one hot object from a single cached buffer.
-- Usage: wrk ... -s s3-origin-get.lua URL -- PREFIX N
-- (PREFIX is "/bucket/" for hyperscale, "/" for nginx: the same bytes)

local reqs = {}
local n, i = 0, 0

function init(args)
   local prefix, count = args[1], tonumber(args[2])
   for k = 1, count do
      reqs[k] = wrk.format("GET", prefix .. "obj-" .. (k - 1))
   end
   n = count
end

function request()
   i = i % n + 1
   return reqs[i]
end
