# proc.sh - process helpers shared by the test harnesses and the
# benchmark (sourced, not run): whether a PID is alive, and a bounded
# wait for a condition.

# True while pid exists and is not a zombie (kill -0 succeeds on zombies).
pid_running()
{
	local stat

	[[ -r /proc/$1/stat ]] || return 1
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	[[ ${stat%% *} != Z ]]
}

# wait_for SECONDS command...: runs command until it succeeds; 1 on timeout.
wait_for()
{
	local deadline=$((SECONDS + $1))

	shift
	until "$@"; do
		((SECONDS >= deadline)) && return 1
		sleep 0.05
	done
	return 0
}
