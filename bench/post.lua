-- post.lua - the wrk script of bench/run.sh.  Every request is a POST of
-- the bytes in the file $BENCH_BODY with Content-Type: application/json
-- and, when $BENCH_HEADERS names a file, one more header per line of it
-- ("Name: value").  At the end it prints one line, "BENCH " and a JSON
-- object, for run.sh to parse; times are in microseconds.
--
-- wrk counts an answer with status > 399 in summary.errors.status, so
-- 2xx = requests - status (no server under test answers 1xx or 3xx).

local function slurp(path)
	local f = assert(io.open(path, "rb"), "post.lua: cannot open " ..
	    tostring(path))
	local s = f:read("*a")
	f:close()
	return s
end

wrk.method = "POST"
wrk.body = slurp(os.getenv("BENCH_BODY"))
wrk.headers["Content-Type"] = "application/json"

local extra = os.getenv("BENCH_HEADERS")
if extra ~= nil and extra ~= "" then
	for line in io.lines(extra) do
		local name, value = line:match("^([^:]+):%s*(.-)%s*$")
		if name ~= nil then
			wrk.headers[name] = value
		end
	end
end

function done(summary, latency, requests)
	local e = summary.errors
	local secs = summary.duration / 1e6

	io.write(string.format("BENCH {\"requests\":%d,\"duration_us\":%d," ..
	    "\"rps\":%.1f,\"p50_us\":%d,\"p99_us\":%d,\"non2xx\":%d," ..
	    "\"connect\":%d,\"read\":%d,\"write\":%d,\"timeout\":%d}\n",
	    summary.requests, summary.duration,
	    secs > 0 and summary.requests / secs or 0,
	    latency:percentile(50), latency:percentile(99), e.status,
	    e.connect, e.read, e.write, e.timeout))
end
