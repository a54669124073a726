#compdef dhat-trace
# zsh completion for dhat-trace
# SPDX-License-Identifier: GPL-2.0-or-later

_dhat-trace_json() {
	_files -g '*.json(-.)'
}

_dhat-trace_report() {
	_arguments -s -S \
		'(-n --top)'{-n+,--top=}'[call sites shown]:N:' \
		'(-s --sort)'{-s+,--sort=}'[sort key]:key:(total tgmax tend blocks lifetime)' \
		'--min-bytes=[only sites with at least BYTES of the sort key]:bytes:' \
		'*'{-m+,--match=}'[only sites with a frame that matches]:pattern:' \
		'--frames=[frames shown per site]:N:' \
		'(- *)'{-h,--help}'[give the help list]' \
		'(- *)--usage[give a short usage message]' \
		'(- *)'{-V,--version}'[print the version]' \
		':DHAT file:_dhat-trace_json'
}

_dhat-trace_diff() {
	_arguments -s -S \
		'(-n --top)'{-n+,--top=}'[changed sites shown]:N:' \
		'(-f --frames)'{-f+,--frames=}'[match sites by their N innermost frames]:N:' \
		'(- *)'{-h,--help}'[give the help list]' \
		'(- *)--usage[give a short usage message]' \
		'(- *)'{-V,--version}'[print the version]' \
		':before:_dhat-trace_json' ':after:_dhat-trace_json'
}

_dhat-trace_check() {
	_arguments -s -S \
		'--fail-on-leak=-[fail when more than BYTES are live at t-end]::bytes:' \
		'--max-peak=[fail when more than BYTES are live at t-gmax]:bytes:' \
		'*--ignore-site=[leave out sites that match]:pattern:' \
		'*--ignore-file=[patterns from a file]:file:_files' \
		'(-n --top)'{-n+,--top=}'[offending sites printed]:N:' \
		'(- *)'{-h,--help}'[give the help list]' \
		'(- *)--usage[give a short usage message]' \
		'(- *)'{-V,--version}'[print the version]' \
		':DHAT file:_dhat-trace_json'
}

_dhat-trace_capture() {
	# -A "-*": the first word that is not an option starts the command,
	# whose own options follow it.
	_arguments -s -S -A '-*' \
		'(-p --pid *)'{-p+,--pid=}'[trace the running process PID]:process ID:_pids' \
		'(-d --duration)'{-d+,--duration=}'[stop after TIME]:time (500ms, 30s, 5m):' \
		'(-o --output)'{-o+,--output=}'[DHAT JSON output file]:file:_files' \
		'(-i --interval)'{-i+,--interval=}'[print a peak report every TIME]:time (0 never):' \
		'(-t --top)'{-t+,--top=}'[call sites shown in each report]:N:' \
		'--max-frames=[stack depth to record]:N (1-127):' \
		'--ring-size=[BPF ring buffer size]:size:(8M 16M 64M 256M)' \
		'--max-memory=[cap on the tracer'"'"'s own tables]:size:(64M 256M 1G 0)' \
		'--unwind=[stack unwinding]:mode:(auto dwarf fp)' \
		'--probe-at-entry[probe each function at its first instruction]' \
		'--probe-only[attach probes that record nothing]' \
		'--inject[record in the target through a loaded agent (with -p)]' \
		'--follow-exec[trace each program the target execs]' \
		'--fail-on-leak=-[fail (23) when more than BYTES are live at the end]::bytes:' \
		'--max-peak=[fail (23) when more than BYTES were live at t-gmax]:bytes:' \
		'*--ignore-site=[sites the gates do not count]:pattern:' \
		'*--ignore-file=[patterns, one a line]:file:_files' \
		'--summary-json=[also write a JSON summary]:file:_files' \
		'--snapshot-every=[write the capture so far every TIME]:time:' \
		'--follow-forks[trace the child processes too]' \
		'--pprof=[also write a pprof profile]:file:_files' \
		'--folded=[also write folded stacks for flame graphs]:file:_files' \
		'--folded-weight=[what the folded stacks weigh]:weight:(tend tgmax total)' \
		'--metrics-file=[Prometheus text file rewritten at each report]:file:_files' \
		'--report-format=[periodic reports as text or JSON lines]:format:(text json)' \
		'--report-file=[append the reports there]:file:_files' \
		'(-q --quiet -v --verbose)'{-q,--quiet}'[errors and the final summary only]' \
		'(-q --quiet)*'{-v,--verbose}'[more detail on stderr]' \
		'(- *)'{-h,--help}'[give the help list]' \
		'(- *)--usage[give a short usage message]' \
		'(- *)'{-V,--version}'[print the version]' \
		'(-p --pid):command:_command_names -e' \
		'*::arguments:_normal'
}

_dhat-trace() {
	if (( CURRENT == 2 )) && [[ $words[2] != -* ]]; then
		_alternative 'subcommands:subcommand:((report\:"the top sites of a DHAT file"
			diff\:"compare two DHAT files" check\:"fail on leaks in a DHAT file"))' \
			'commands:command:_command_names -e'
		return
	fi
	case $words[2] in
	report | diff | check)
		shift words
		(( CURRENT-- ))
		_dhat-trace_$words[1] ;;
	*)
		_dhat-trace_capture ;;
	esac
}

_dhat-trace "$@"
