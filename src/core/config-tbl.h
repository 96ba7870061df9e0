/*
 * Every configuration key, in one table: the config file, HYPERSCALE_*
 * environment variables, command-line flags, `hyperscale config` and
 * docs/configuration.md are all derived from it.
 *
 * HS_CFG(field, "key", TYPE, "default", "help")
 *   TYPE is one of INT, SIZE (bytes, k/m/g suffixes), DURATION (stored in
 *   milliseconds; ms/s/m/h suffixes), BOOL, STR, ADDR (host:port), LEVEL.
 * The environment name of "http.header_timeout" is
 * HYPERSCALE_HTTP_HEADER_TIMEOUT.
 */
HS_CFG(workers, "workers", INT, "0", "worker threads (event loops) per worker process; 0 = one per core")
HS_CFG(listen, "listen", ADDR, "0.0.0.0:8080", "public listening address")
HS_CFG(admin_listen, "admin.listen", ADDR, "127.0.0.1:9090", "admin endpoint: /metrics, /healthz, admin API")
HS_CFG(data, "data", STR, "./data", "data directory")
HS_CFG(log_level, "log.level", LEVEL, "info", "debug, info, warn, error or off")
HS_CFG(http_max_header_bytes, "http.max_header_bytes", SIZE, "16k", "request line plus headers; larger heads get 431 (414 for a long target)")
HS_CFG(http_max_headers, "http.max_headers", INT, "100", "header fields per request; more get 431")
HS_CFG(http_max_body_bytes, "http.max_body_bytes", SIZE, "5g", "request body size; larger bodies get 413")
HS_CFG(http_header_timeout, "http.header_timeout", DURATION, "10s", "time to receive a complete request head; then 408 and close")
HS_CFG(http_body_timeout, "http.body_timeout", DURATION, "30s", "longest pause between request body bytes; then 408 and close")
HS_CFG(http_idle_timeout, "http.idle_timeout", DURATION, "60s", "keep-alive idle time before the server closes a connection")
HS_CFG(http_send_timeout, "http.send_timeout", DURATION, "30s", "longest stall writing a response before the connection is closed")
HS_CFG(http_max_connections, "http.max_connections", INT, "100000", "open client connections per worker thread; past it new ones get 503 and close")
HS_CFG(http_max_requests_per_conn, "http.max_requests_per_connection", INT, "0", "requests served on one connection before it closes; 0 = no limit")
HS_CFG(drain_timeout, "shutdown.drain_timeout", DURATION, "10s", "on SIGTERM or reload: time given to in-flight requests before connections are closed")
HS_CFG(upstream_connect_timeout, "upstream.connect_timeout", DURATION, "3s", "connect timeout to an upstream (origin) server")
HS_CFG(upstream_read_timeout, "upstream.read_timeout", DURATION, "30s", "longest wait for upstream bytes")
HS_CFG(upstream_max_idle, "upstream.max_idle", INT, "64", "idle keep-alive connections kept per upstream per worker thread")
HS_CFG(static_root, "static.root", STR, "", "directory `hyperscale static` serves")
HS_CFG(static_dir_index, "static.directory_index", BOOL, "false", "list directories without index.html")
HS_CFG(static_cache_bytes, "static.cache_bytes", SIZE, "64m", "small files kept in memory per worker thread (0 = off)")
HS_CFG(static_cache_file_max, "static.cache_file_max", SIZE, "256k", "largest file kept in memory; larger files are sent with sendfile")
HS_CFG(static_revalidate, "static.revalidate", DURATION, "1s", "how long a cached file is trusted before it is stat(2)ed again")
HS_CFG(objects_drives, "objects.drives", INT, "0", "drive directories (DATA/objects/drives/dNN) of a new object store; 0 = 6")
HS_CFG(objects_drive_dirs, "objects.drive_dirs", STR, "", "comma-separated drive directories of a new object store (instead of objects.drives)")
HS_CFG(objects_chunk_min, "objects.chunk_min", SIZE, "16k", "FastCDC minimum chunk size of a new object store")
HS_CFG(objects_chunk_avg, "objects.chunk_avg", SIZE, "32k", "FastCDC average chunk size (a power of two) of a new object store")
HS_CFG(objects_chunk_max, "objects.chunk_max", SIZE, "128k", "FastCDC maximum chunk size of a new object store")
HS_CFG(objects_scrub_rate, "objects.scrub_rate", SIZE, "64m", "bytes per second the scrubber reads (0 = unbounded)")
HS_CFG(objects_tier_half_life, "objects.tier_half_life", DURATION, "24h", "half-life of an object's access score")
HS_CFG(objects_tier_hot_window, "objects.tier_hot_window", DURATION, "24h", "objects whose next access is predicted within this stay hot")
HS_CFG(objects_tier_warm_window, "objects.tier_warm_window", DURATION, "720h", "within this (and beyond the hot window): warm; beyond it: cold")
HS_CFG(objects_tier_min_age, "objects.tier_min_age", DURATION, "1h", "objects younger than this are not moved between tiers")
HS_CFG(edge_origin, "edge.origin", STR, "", "origin `hyperscale edge` fetches from: http://HOST:PORT (numeric host or localhost)")
HS_CFG(edge_origin_host, "edge.origin_host", STR, "", "Host field sent to the origin; empty = the client's Host")
HS_CFG(edge_memory_bytes, "edge.memory_bytes", SIZE, "256m", "edge memory tier per worker thread (objects, headers and keys)")
HS_CFG(edge_object_max, "edge.object_max", SIZE, "8m", "largest response the edge keeps in memory; larger ones stream through uncached")
HS_CFG(edge_heuristic_max, "edge.heuristic_max", DURATION, "24h", "cap on heuristic freshness (10% of the time since Last-Modified)")
HS_CFG(edge_pass_ttl, "edge.pass_ttl", DURATION, "10s", "after an uncacheable answer, how long requests for that URL go to the origin without coalescing")
HS_CFG(edge_targeted_fields, "edge.targeted_fields", STR, "CDN-Cache-Control", "comma-separated targeted cache-control fields obeyed before Cache-Control, first present wins (RFC 9213); empty = none")
HS_CFG(edge_purge_token, "edge.purge_token", STR, "", "token a PURGE request must carry in Purge-Token; empty = PURGE disabled")
HS_CFG(edge_disk_path, "edge.disk_path", STR, "", "edge disk tier directory (one subdirectory per worker thread, kept across restarts); empty = no disk tier")
HS_CFG(edge_disk_bytes, "edge.disk_bytes", SIZE, "1g", "edge disk tier size per worker thread")
/* ---- origin (S3 API) ---- */
HS_CFG(origin_region, "origin.region", STR, "us-east-1", "region the S3 API signs with and reports")
HS_CFG(origin_max_skew, "origin.max_skew", DURATION, "15m", "largest difference between a request's signed time and ours (else RequestTimeTooSkewed)")
HS_CFG(origin_cache_bytes, "origin.cache_bytes", SIZE, "256m", "L2 cache of hot metadata and small objects, per process")
HS_CFG(origin_cache_object_max, "origin.cache_object_max", SIZE, "256k", "largest object body the L2 cache keeps")
/* ---- shield ---- */
/* ---- balance ---- */
