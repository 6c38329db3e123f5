-- post.lua - the wrk script of bench/run.sh.  Every request is a POST of
-- the bytes in the file $BENCH_BODY with Content-Type: application/json
-- and, when $BENCH_HEADERS names a file, one more header per line of it
-- ("Name: value").  At the end it prints one line, "BENCH " and a JSON
-- object, for run.sh to parse; times are in microseconds.
--
-- When $BENCH_UNIQUE is set, it is a string found once in the body (12
-- characters of [0-9A-Z]), and every request carries another value in its
-- place, so that no two bodies are alike while their length stays the
-- same: 3 characters drawn once per wrk run, the thread's number, then
-- the thread's count of requests in 8 hex digits.  Without it the request
-- is built once and sent as is, which costs wrk the least.
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

-- The per-thread values are globals: setup() sets them in each thread's
-- own Lua state with thread:set(), after this file ran there, so a local
-- of the same name declared here would hide them.
local unique = os.getenv("BENCH_UNIQUE")
if unique ~= nil and unique ~= "" then
	local alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	local first = wrk.body:find(unique, 1, true)

	assert(#unique == 12 and first ~= nil and
	    wrk.body:find(unique, first + 1, true) == nil,
	    "post.lua: BENCH_UNIQUE must be 12 characters found once in the body")

	local function draw(n)
		local f = io.open("/dev/urandom", "rb")
		local bytes = f and f:read(n)
		local out = {}

		if f then
			f:close()
		end
		if bytes == nil or #bytes ~= n then
			math.randomseed(os.time())
			bytes = ""
			for _ = 1, n do
				bytes = bytes .. string.char(math.random(0, 255))
			end
		end
		for i = 1, n do
			local b = bytes:byte(i) % #alphabet + 1
			out[i] = alphabet:sub(b, b)
		end
		return table.concat(out)
	end

	local run_prefix = draw(3)
	local threads = 0

	function setup(thread)
		threads = threads + 1
		assert(threads <= #alphabet, "post.lua: too many threads")
		thread:set("bench_tag", run_prefix ..
		    alphabet:sub(threads, threads))
	end

	function init(_args)
		local req = wrk.format()
		-- The body ends the request: its placeholder is the last one.
		local at = #req - #wrk.body + first

		bench_head = req:sub(1, at - 1)
		bench_tail = req:sub(at + #unique)
		bench_count = 0
	end

	function request()
		bench_count = bench_count + 1
		return bench_head .. bench_tag ..
		    string.format("%08X", bench_count) .. bench_tail
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
