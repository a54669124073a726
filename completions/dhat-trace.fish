# fish completion for dhat-trace
# SPDX-License-Identifier: GPL-2.0-or-later

# Where the command to launch starts in the words typed so far (the first
# non-option that is not an option's value, or the word after "--"); none
# while options are still being given.  Not for report, diff and check.
function __dhat_trace_command_at
	set -l words (commandline -opc)
	contains -- "$words[2]" report diff check; and return 1
	set -l takes -p --pid -d --duration -o --output -i --interval -t --top --max-frames \
		--ring-size --unwind --max-peak --ignore-site --ignore-file --summary-json \
		--snapshot-every --max-memory --pprof --folded --folded-weight --metrics-file \
		--report-format --report-file
	set -l skip 0
	for i in (seq 2 (count $words))
		if test $skip = 1
			set skip 0
			continue
		end
		switch $words[$i]
			case --
				echo (math $i + 1)
				return 0
			case '-*=*'
			case '-*'
				contains -- $words[$i] $takes; and set skip 1
			case '*'
				echo $i
				return 0
		end
	end
	return 1
end

function __dhat_trace_capture
	set -l words (commandline -opc)
	not contains -- "$words[2]" report diff check; and not __dhat_trace_command_at >/dev/null
end

# The launched command's own completion, as for sudo.
function __dhat_trace_command
	set -l at (__dhat_trace_command_at); or return
	set -l words (commandline -opc) (commandline -ct)
	complete -C (string join -- ' ' (string escape -- $words[$at..-1]))
end

function __dhat_trace_sub
	set -l words (commandline -opc)
	test (count $words) -ge 2; and test "$words[2]" = $argv[1]
end

set -l cap '__dhat_trace_capture'
complete -c dhat-trace -f
complete -c dhat-trace -n "$cap; and test (count (commandline -opc)) = 1" -a 'report diff check'
complete -c dhat-trace -n "$cap" -a '(__fish_complete_command)'
complete -c dhat-trace -n '__dhat_trace_command_at >/dev/null' -a '(__dhat_trace_command)'
complete -c dhat-trace -n "$cap" -s p -l pid -x -a '(__fish_complete_pids)' -d 'Trace the running process PID'
complete -c dhat-trace -n "$cap" -s d -l duration -x -a '500ms 5s 30s 1m 5m' -d 'Stop after TIME'
complete -c dhat-trace -n "$cap" -s o -l output -r -F -d 'DHAT JSON output file'
complete -c dhat-trace -n "$cap" -s i -l interval -x -a '0 5s 10s 1m' -d 'Peak report every TIME'
complete -c dhat-trace -n "$cap" -s t -l top -x -d 'Call sites in each report'
complete -c dhat-trace -n "$cap" -l max-frames -x -d 'Stack depth to record (1-127)'
complete -c dhat-trace -n "$cap" -l ring-size -x -a '8M 16M 64M 256M' -d 'BPF ring buffer size'
complete -c dhat-trace -n "$cap" -l max-memory -x -a '64M 256M 1G 0' -d 'Cap on the tracer tables'
complete -c dhat-trace -n "$cap" -l unwind -x -a 'auto dwarf fp' -d 'Stack unwinding'
complete -c dhat-trace -n "$cap" -l probe-at-entry -d 'Probe at the first instruction'
complete -c dhat-trace -n "$cap" -l probe-only -d 'Probes that record nothing'
complete -c dhat-trace -n "$cap" -l inject -d 'Record in the target through a loaded agent'
complete -c dhat-trace -n "$cap" -l follow-exec -d 'Trace each program the target execs'
complete -c dhat-trace -n "$cap" -l fail-on-leak -f -d 'Fail (23) when BYTES are live at the end'
complete -c dhat-trace -n "$cap" -l max-peak -x -d 'Fail (23) when BYTES were live at t-gmax'
complete -c dhat-trace -n "$cap" -l ignore-site -x -d 'Sites the gates do not count'
complete -c dhat-trace -n "$cap" -l ignore-file -r -F -d 'Patterns, one a line'
complete -c dhat-trace -n "$cap" -l summary-json -r -F -d 'Also write a JSON summary'
complete -c dhat-trace -n "$cap" -l snapshot-every -x -d 'Write the capture so far every TIME'
complete -c dhat-trace -n "$cap" -l follow-forks -d 'Trace the child processes too'
complete -c dhat-trace -n "$cap" -l pprof -r -F -d 'Also write a pprof profile'
complete -c dhat-trace -n "$cap" -l folded -r -F -d 'Also write folded stacks'
complete -c dhat-trace -n "$cap" -l folded-weight -x -a 'tend tgmax total' -d 'Weight of folded stacks'
complete -c dhat-trace -n "$cap" -l metrics-file -r -F -d 'Prometheus text file'
complete -c dhat-trace -n "$cap" -l report-format -x -a 'text json' -d 'Reports as text or JSON'
complete -c dhat-trace -n "$cap" -l report-file -r -F -d 'Append the reports there'
complete -c dhat-trace -n "$cap" -s q -l quiet -d 'Errors and the final summary only'
complete -c dhat-trace -n "$cap" -s v -l verbose -d 'More detail on stderr'
complete -c dhat-trace -n "$cap" -s h -l help -d 'Give the help list'
complete -c dhat-trace -n "$cap" -l usage -d 'Give a short usage message'
complete -c dhat-trace -n "$cap" -s V -l version -d 'Print the version'

# report, diff and check: their options, then DHAT files.
for sub in report diff check
	complete -c dhat-trace -n "__dhat_trace_sub $sub" -k -a '(__fish_complete_suffix .json)'
	complete -c dhat-trace -n "__dhat_trace_sub $sub" -s h -l help -d 'Give the help list'
	complete -c dhat-trace -n "__dhat_trace_sub $sub" -l usage -d 'Give a short usage message'
	complete -c dhat-trace -n "__dhat_trace_sub $sub" -s V -l version -d 'Print the version'
end
set -l r '__dhat_trace_sub report'
complete -c dhat-trace -n "$r" -s n -l top -x -d 'Call sites shown'
complete -c dhat-trace -n "$r" -s s -l sort -x -a 'total tgmax tend blocks lifetime' -d 'Sort key'
complete -c dhat-trace -n "$r" -l min-bytes -x -d 'Only sites with at least BYTES'
complete -c dhat-trace -n "$r" -s m -l match -x -d 'Only sites with a matching frame'
complete -c dhat-trace -n "$r" -l frames -x -d 'Frames shown per site'
set -l d '__dhat_trace_sub diff'
complete -c dhat-trace -n "$d" -s n -l top -x -d 'Changed sites shown'
complete -c dhat-trace -n "$d" -s f -l frames -x -d 'Match by the N innermost frames'
set -l c '__dhat_trace_sub check'
complete -c dhat-trace -n "$c" -l fail-on-leak -f -d 'Fail when BYTES are live at t-end'
complete -c dhat-trace -n "$c" -l max-peak -x -d 'Fail when BYTES were live at t-gmax'
complete -c dhat-trace -n "$c" -l ignore-site -x -d 'Leave out sites that match'
complete -c dhat-trace -n "$c" -l ignore-file -r -F -d 'Patterns from FILE'
complete -c dhat-trace -n "$c" -s n -l top -x -d 'Offending sites printed'
