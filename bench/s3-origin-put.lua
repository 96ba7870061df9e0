-- bench/s3-origin-put.lua: wrk script for bench/s3-origin. Every request
-- PUTs SIZE bytes to the next of the presigned URLs (path and query, one a
-- line) in URLFILE.
-- Usage: wrk ... -s s3-origin-put.lua URL -- URLFILE SIZE POOLFILE NONCE
--
-- The object store deduplicates content-defined chunks (16 KiB minimum) by
-- SHA-256, so a body sent twice would cost hyperscale almost nothing. Each
-- body is therefore the random bytes of POOLFILE with (NONCE, request
-- number) stamped every 1 KiB: every chunk of every PUT is new, and no bytes
-- repeat between runs (the bench passes a fresh NONCE each run).

local ffi = require("ffi")

local paths = {}
local n, i, count = 0, 0, 0
local size, buf, words, nonce

function init(args)
   for line in io.lines(args[1]) do
      paths[#paths + 1] = line
   end
   n = #paths
   size = tonumber(args[2])
   local f = assert(io.open(args[3], "rb"))
   local pool = f:read(size)
   f:close()
   assert(pool and #pool == size, "pool file shorter than SIZE")
   buf = ffi.new("uint8_t[?]", size)
   ffi.copy(buf, pool, size)
   words = ffi.cast("uint64_t *", buf)
   nonce = tonumber(args[4])
end

function request()
   i = i % n + 1
   count = count + 1
   for w = 0, size / 8 - 2, 128 do
      words[w] = nonce
      words[w + 1] = count
   end
   return wrk.format("PUT", paths[i], nil, ffi.string(buf, size))
end
